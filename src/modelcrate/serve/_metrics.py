"""The Prometheus metrics of a model's HTTP app (`GET /metrics`), in a registry of the app's own.

With `serve --workers N` each process counts its own requests; a scrape reaches one of them.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""The content type of the text the metrics route answers."""

_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_SETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384)


class Metrics:
    """Requests by route and status, their latency, the input sets per evaluation, the
    evaluations that failed, and the results stored and not stored."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "modelcrate_requests", "HTTP requests answered, by route and status code",
            ["route", "status"], registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "modelcrate_request_duration_seconds", "Time to answer a request, by route",
            ["route"], buckets=_SECONDS, registry=self.registry,
        )  # fmt: skip
        self.batch_size = Histogram(
            "modelcrate_batch_size", "Input sets per evaluation (one evaluate_batch call)",
            buckets=_SETS, registry=self.registry,
        )  # fmt: skip
        self.evaluate_errors = Counter(
            "modelcrate_evaluate_errors",
            "Evaluations that failed: the model's code raised, or its outputs break the variables",
            registry=self.registry,
        )

        self.batch_fallbacks = Counter(
            "modelcrate_batch_fallbacks",
            "Gathered evaluations the model failed on as a whole, evaluated again one by one",
            registry=self.registry,
        )
        self.results_stored = Counter(
            "modelcrate_results_stored", "Results stored in every target (--target)",
            registry=self.registry,
        )  # fmt: skip
        self.results_failed = Counter(
            "modelcrate_results_failed",
            "Results not stored: a target refused or failed, or too many waited",
            registry=self.registry,
        )

    def answered(self, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def text(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)
