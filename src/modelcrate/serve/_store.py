"""Storing what a model's HTTP app evaluated, off the request path: the evaluations go to a
queue, and one thread makes their result documents and stores them in the targets in batches.
A stop drains the queue; a store that fails is counted and logged, never silent."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from .._errors import ModelcrateError
from ..model import Model
from ..runtime import Target, make_results, save_results

log = logging.getLogger("modelcrate.serve")

BATCH = 500
"""The most results stored in one call."""

WAIT_SECONDS = 0.5
"""How long a batch waits for more results before it is stored."""

MAX_PENDING = 100_000
"""The most results waiting to be stored; beyond it, new ones are counted as failed."""


class ResultWriter:
    """Stores the evaluations handed to it (`put`) in `targets`, in batches, from a thread of
    its own; `stored` and `failed` are called with the counts of each batch."""

    def __init__(
        self,
        model: Model,
        targets: Sequence[Target],
        *,
        stored: Callable[[int], None],
        failed: Callable[[int], None],
    ) -> None:
        self.model, self.targets = model, list(targets)
        self._stored, self._failed = stored, failed
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=MAX_PENDING)
        self._thread = threading.Thread(target=self._work, name="modelcrate-store", daemon=True)
        self._thread.start()
        self._full_since: float | None = None

    def put(self, inputs: Sequence[dict[str, Any]], outputs: Sequence[dict[str, Any]]) -> None:
        """Queue evaluations (prepared inputs and checked outputs, in pairs) to be stored."""
        for pair in zip(inputs, outputs, strict=True):
            try:
                self._queue.put_nowait(pair)
            except queue.Full:
                self._failed(1)
                now = time.monotonic()
                if self._full_since is None or now - self._full_since > 60:
                    self._full_since = now
                    log.error(
                        "%d results wait to be stored in %s, which does not keep up: new "
                        "results are not stored (counted in modelcrate_results_failed_total)",
                        MAX_PENDING, ", ".join(t.name for t in self.targets),
                    )  # fmt: skip

    def start(self) -> None:
        """Run again after `close` (an app whose lifespan starts more than once)."""
        if not self._thread.is_alive():
            self._thread = threading.Thread(target=self._work, name="modelcrate-store", daemon=True)
            self._thread.start()

    def close(self, timeout: float = 30.0) -> None:
        """Store what waits (for up to `timeout` seconds), then end the thread."""
        self._queue.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("the results still waiting after %.0f s were not stored", timeout)

    def _work(self) -> None:
        ending = False
        while not ending:
            batch: list[tuple[dict[str, Any], dict[str, Any]]] = []
            deadline: float | None = None
            while len(batch) < BATCH:
                timeout: float | None = None
                if deadline is not None:
                    timeout = max(0.0, deadline - time.monotonic())
                try:
                    item = self._queue.get(timeout=timeout)
                except queue.Empty:
                    break
                if item is None:
                    ending = True
                    break
                batch.append(item)
                deadline = deadline or time.monotonic() + WAIT_SECONDS
            if batch:
                self._store(batch)

    def _store(self, batch: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        try:
            results = make_results(self.model, [i for i, _ in batch], [o for _, o in batch])
            stored = save_results(results, self.targets)
        except ModelcrateError as exc:  # a target refused or failed: its message masks secrets
            kept = len(getattr(exc, "stored", None) or [])
            self._stored(kept)
            self._failed(len(batch) - kept)
            log.error("%d results were not stored: %s", len(batch) - kept, exc)
        except Exception as exc:  # a bug: still counted and said, the server goes on
            self._failed(len(batch))
            log.exception("%d results were not stored: %s", len(batch), type(exc).__name__)
        else:
            self._stored(len(stored))
