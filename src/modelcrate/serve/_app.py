"""The HTTP app of a packaged model, derived from its variables: an ASGI app (Starlette).

Routes (JSON in and out, but for the docs page):

    POST /v1/evaluate        {"inputs": {...}} -> {"outputs": {...}}; or a list of input sets
                             -> a list of outputs, evaluated in one `evaluate_batch` call
    GET  /v1/variables       the model's name, version, description and variables (the spec)
    GET  /v1/schema          the JSON Schemas of its inputs and outputs
    GET  /openapi.json       the OpenAPI 3.1 document of these routes, from the variables
    GET  /metrics            Prometheus metrics: requests, latency, batch sizes, failed evaluations
    GET  /health/live        the process answers (never needs the token)
    GET  /health/ready       the model is loaded and the server is not shutting down
    GET  /docs               a page (HTML) showing the variables, with a form to try the model

and the Open Inference Protocol (KServe v2 REST; see `_oip`): GET /v2 (the server),
/v2/health/live, /v2/health/ready, /v2/models/NAME[/versions/VERSION][/ready] (the tensors of
the inputs and outputs) and POST /v2/models/NAME[/versions/VERSION]/infer (a tensor per input,
its rows the input sets; binary tensors too).

The docs page and the files it loads (/docs/docs.js, /docs/docs.css, /docs/icon.svg) are
served from the package with a strict Content-Security-Policy; they hold no model data, so
they never need the token (a browser sends no header when it opens a page): the page asks for
the token and sends it with what it fetches (see `_docs`).

Inputs are checked as the spec says: a value of the wrong kind, a missing required input or one
outside its range under the `error` policy is a 422 naming the variable; under `warn` the answer
carries the warnings. Arrays and images are nested lists, both ways; a float that is not finite
is the string "NaN", "Infinity" or "-Infinity" (as protobuf's JSON does), since JSON has none.
An exception in the model's code is a 500 with its reason on one line, logged with its
traceback; the server goes on serving. Requests are parsed, checked, evaluated and encoded one
at a time in one thread off the event loop, so a model need not be thread-safe and a slow one
(or a large batch) does not stop the health routes answering. With batching, single-set
requests of both protocols that arrive together are evaluated in one call.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import queue
import threading
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from .. import __version__
from .._errors import (
    InputError,
    InputHint,
    MissingInputError,
    ModelcrateError,
    OutputError,
    ValueWarning,
)
from ..model import Model
from ..runtime import Target, resolve_targets
from ..runtime._table import one_line
from ..spec import (
    ArrayVariable,
    DistributionVariable,
    as_input_sets,
    input_schema,
    output_schema,
    parse_json,
    spec_document,
)
from . import _oip
from ._docs import HEADERS as DOCS_HEADERS
from ._docs import docs_files
from ._metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from ._metrics import Metrics
from ._openapi import openapi_document
from ._store import ResultWriter
from ._wire import JSON, Refused, error_response, json_bytes, plain

log = logging.getLogger("modelcrate.serve")

MAX_BODY_BYTES = 16 * 1024 * 1024
"""The largest request body taken by default, in bytes (`--max-body`)."""

TOKEN_ENV = "MODELCRATE_SERVE_TOKEN"
"""The environment variable of the bearer token every route but liveness then requires."""

BATCH_WINDOW = 0.0
"""Seconds a gathered evaluation waits for more single-set requests (`--batch-window`): none by
default, since the requests that queue while the model works on a call make the next one's
batch, and a window would only delay the answers when the load is light."""

MAX_GATHER = 64
"""The most single-set requests gathered into one evaluation (`--max-gather`)."""

MAX_BATCH = 1000
"""The most input sets one request may carry by default (`--max-batch`)."""

_HINT = 'send {"inputs": {"name": value, ...}}, or {"inputs": [{...}, {...}]} for a batch'


def create_app(
    model: Model,
    *,
    token: str | None = None,
    max_body: int = MAX_BODY_BYTES,
    max_batch: int = MAX_BATCH,
    targets: Sequence[str | Target] = (),
    batching: bool | None = None,
    batch_window: float = BATCH_WINDOW,
    max_gather: int = MAX_GATHER,
) -> Starlette:
    """The ASGI app serving `model`; with `token`, every route but liveness and the docs page's
    files requires the header `Authorization: Bearer <token>` (see `check_token` for what a
    token may be). Bodies over `max_body` bytes are refused (413), and batches of more than
    `max_batch` input sets (422). With `targets` (URIs, opened and checked now), each
    evaluation's results are stored there in the background, in batches; the app's shutdown
    stores what waits.

    With `batching` (the default for a model that overrides `evaluate_batch`, a vectorised
    one; off for one that only loops), single-set requests that arrive together are evaluated
    in one `evaluate_batch` call: those waiting when the model is free, and those that arrive
    within `batch_window` seconds after the first, up to `max_gather` sets; each gets its own
    answer, and a set the model fails on fails alone."""
    if max_body < 1 or max_batch < 1:
        raise ValueError(
            f"the body and batch limits must be at least 1, got {max_body}, {max_batch}"
        )
    if token is not None:
        token = check_token(token)
    opened = resolve_targets(targets) if targets else []  # a bad URI fails before serving
    if batching is None:
        batching = vectorised(model)
    if batch_window < 0 or max_gather < 1:
        raise ValueError(
            f"the batch window and size must be positive, got {batch_window}, {max_gather}"
        )
    one_at_a_time = _EvaluationThread(max_gather if batching else 1, batch_window)
    about = {"name": model.name, "version": str(model.version)}
    described = (
        {"description": model.spec.model_description} if model.spec.model_description else {}
    )
    variables = json_bytes(plain({**about, **described, "variables": spec_document(model.spec)}))
    schemas = json_bytes(
        plain({"inputs": input_schema(model.spec), "outputs": output_schema(model.spec)})
    )
    v2_about = json_bytes(_oip.server_metadata(__version__))
    v2_metadata = json_bytes(_oip.model_metadata(model))
    openapi = json_bytes(
        plain(openapi_document(model, max_batch=max_batch, token=token is not None))
    )

    metrics = Metrics()
    writer = (
        ResultWriter(
            model, opened, stored=metrics.results_stored.inc, failed=metrics.results_failed.inc
        )
        if opened
        else None
    )

    def guarded(
        handler: Callable[[Request], Awaitable[Response]], route: str, *, open_route: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            began = time.perf_counter()
            try:
                if token is not None and not open_route:
                    _check_token(request, token)
                response = await handler(request)
            except Refused as refused:
                response = error_response(refused.status, refused.reason, refused.headers)
            except Exception as exc:  # a bug, ours or in the model's code: still one line
                log.error("%s %s failed", request.method, route, exc_info=exc)
                response = error_response(
                    500, f"internal error: {type(exc).__name__}: {one_line(str(exc))}"
                )
            metrics.answered(route, response.status_code, time.perf_counter() - began)
            return response

        return endpoint

    context: _Context = (model, metrics, writer)
    v1, v2 = _Evaluate(max_batch), _Infer(model, max_batch)

    async def evaluated(protocol: Any, payload: Any) -> Response:
        # parsing, checking, evaluating and encoding all leave the event loop, which goes on
        # answering (the health routes, say) whatever the size of the request
        try:
            answer: Response = await one_at_a_time.run(
                context, (protocol, payload), one=_answer, many=_answer_many
            )
        except asyncio.CancelledError:  # the server stops and its grace period is over
            log.warning("stopping: a request was left unanswered, its evaluation still running")
            raise Refused(503, "the server stopped before the model answered; ask again") from None
        return answer

    async def evaluate(request: Request) -> Response:
        return await evaluated(v1, await _read_body(request, max_body))

    def served(request: Request) -> None:
        """Refuse (404) a v2 route's model name or version other than this model's."""
        name = request.path_params["model_name"]
        version = request.path_params.get("model_version", about["version"])
        if name != model.name or version != about["version"]:
            raise Refused(
                404,
                f"no model {name!r}"
                + (f" version {version!r}" if "model_version" in request.path_params else "")
                + f" here; this server serves {model.name} version {about['version']}",
            )

    async def infer(request: Request) -> Response:
        served(request)
        body = await _read_body(request, max_body)
        return await evaluated(v2, (body, request.headers.get(_oip.HEADER_LENGTH)))

    async def v2_server(request: Request) -> Response:
        return Response(v2_about, media_type=JSON)

    async def v2_live(request: Request) -> Response:
        return Response(json_bytes({"live": True}), media_type=JSON)

    async def v2_ready(request: Request) -> Response:
        return Response(json_bytes({"ready": True}), media_type=JSON)

    async def v2_model(request: Request) -> Response:
        served(request)
        return Response(v2_metadata, media_type=JSON)

    async def v2_model_ready(request: Request) -> Response:
        served(request)
        return Response(json_bytes({"name": model.name, "ready": True}), media_type=JSON)

    async def show_variables(request: Request) -> Response:
        return Response(variables, media_type=JSON)

    async def show_schema(request: Request) -> Response:
        return Response(schemas, media_type=JSON)

    async def show_openapi(request: Request) -> Response:
        return Response(openapi, media_type=JSON)

    async def show_metrics(request: Request) -> Response:
        return Response(metrics.text(), media_type=METRICS_CONTENT_TYPE)

    docs = docs_files()

    def show_docs(path: str) -> Callable[[Request], Awaitable[Response]]:
        content, media_type = docs[path]

        async def show(request: Request) -> Response:
            return Response(content, media_type=media_type, headers=DOCS_HEADERS)

        return show

    async def live(request: Request) -> Response:
        return Response(json_bytes({"status": "live"}), media_type=JSON)

    async def ready(request: Request) -> Response:
        return Response(json_bytes({"status": "ready", **about}), media_type=JSON)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        if status == 405:  # with the Allow header Starlette lists the methods in
            allowed = dict(getattr(exc, "headers", None) or {})
            return error_response(
                405, f"{request.method} is not allowed on {request.url.path}", allowed
            )
        return error_response(
            status, f"no route {request.url.path}; see /docs, /v1/variables and /health/live"
        )

    async def failed(request: Request, exc: Exception) -> Response:  # a bug: ours or the model's
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return error_response(500, f"internal error: {type(exc).__name__}: {one_line(str(exc))}")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        one_at_a_time.start()  # again, if an earlier lifespan of this app stopped it
        if writer is not None:
            writer.start()
        yield
        one_at_a_time.stop()  # an evaluation still running is left to end with the process
        if writer is not None:
            writer.close()  # stores what waits

    routes = [
        Route("/v1/evaluate", guarded(evaluate, "/v1/evaluate"), methods=["POST"]),
        Route("/v1/variables", guarded(show_variables, "/v1/variables"), methods=["GET"]),
        Route("/v1/schema", guarded(show_schema, "/v1/schema"), methods=["GET"]),
        Route("/openapi.json", guarded(show_openapi, "/openapi.json"), methods=["GET"]),
        Route("/metrics", guarded(show_metrics, "/metrics"), methods=["GET"]),
        Route("/health/live", guarded(live, "/health/live", open_route=True), methods=["GET"]),
        Route("/health/ready", guarded(ready, "/health/ready"), methods=["GET"]),
        Route("/v2", guarded(v2_server, "/v2"), methods=["GET"]),
        Route(
            "/v2/health/live", guarded(v2_live, "/v2/health/live", open_route=True), methods=["GET"]
        ),
        Route("/v2/health/ready", guarded(v2_ready, "/v2/health/ready"), methods=["GET"]),
        *(
            Route(path, guarded(show_docs(path), path, open_route=True), methods=["GET"])
            for path in docs
        ),
    ]
    for prefix in ("/v2/models/{model_name}", "/v2/models/{model_name}/versions/{model_version}"):
        routes += [
            Route(prefix, guarded(v2_model, "/v2/models/{model}"), methods=["GET"]),
            Route(
                f"{prefix}/ready",
                guarded(v2_model_ready, "/v2/models/{model}/ready"),
                methods=["GET"],
            ),
            Route(f"{prefix}/infer", guarded(infer, "/v2/models/{model}/infer"), methods=["POST"]),
        ]
    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: not_found, Exception: failed},
        lifespan=lifespan,
    )


def check_token(token: str) -> str:
    """The token a server requires: visible ASCII characters (what an HTTP header carries as
    is), without the spaces or line break around it (a token read from a secret file); else a
    `ValueError` saying what to give."""
    token = token.strip()
    if not token:
        raise ValueError(f"{TOKEN_ENV} is set but empty: give it a token, or unset it")
    if not all("!" <= c <= "~" for c in token):
        raise ValueError(
            f"{TOKEN_ENV} holds a space or a character that is not visible ASCII, which a "
            "client's header cannot carry as is: give a token of letters, digits and "
            "punctuation (e.g. from `python -c 'import secrets; print(secrets.token_urlsafe())'`)"
        )
    return token


def _check_token(request: Request, token: str) -> None:
    given = request.headers.get("authorization", "").split(None, 1)
    scheme, value = [*given, "", ""][:2]
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        value.strip().encode("latin-1"), token.encode("ascii")
    ):
        raise Refused(
            401,
            f"this server needs a token: send the header 'Authorization: Bearer <token>' "
            f"with the token in {TOKEN_ENV} where it runs",
            {"WWW-Authenticate": "Bearer"},
        )


async def _read_body(request: Request, limit: int) -> bytes:
    """The request's body, refused (413) past `limit` bytes before more is read."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"the body is {int(declared):,} bytes, more than {limit:,}")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Refused(413, f"the body is more than {limit:,} bytes")
            chunks.append(chunk)
    except ClientDisconnect:  # nobody to answer: not the server's failure
        raise Refused(400, "the client left before sending the whole body") from None
    return b"".join(chunks)


_Context = tuple[Model, Metrics, "ResultWriter | None"]
"""What answering an evaluation needs: the model, the metrics, and the writer of results (None
without targets)."""


def vectorised(model: Model) -> bool:
    """Whether a model has an `evaluate_batch` of its own (not the loop of the base class)."""
    return type(model).evaluate_batch is not Model.evaluate_batch


@dataclass
class _Decoded:
    """A request read: its input sets, and what its protocol needs to answer it."""

    sets: list[dict[str, Any]] | dict[str, list[Any]]
    """The input sets, or a column of values per input name."""
    size: int
    """How many input sets."""
    batch: bool
    """Whether messages name a set by its place in the request."""
    gatherable: bool
    """Whether it is one input set, which may be evaluated together with others."""
    request: Any
    hint: InputHint | None = None
    """How the error of a missing input says to give it."""


class _Evaluate:
    """The protocol of /v1/evaluate: one input set (an object) or a batch (a list)."""

    def __init__(self, max_batch: int) -> None:
        self.max_batch = max_batch

    def decode(self, body: bytes) -> _Decoded:
        given = _request_inputs(body, self.max_batch)
        if isinstance(given, list):
            return _Decoded(
                given, len(given), batch=True, gatherable=False, request=None, hint="json"
            )
        return _Decoded([given], 1, batch=False, gatherable=True, request=None, hint="json")

    def encode(
        self, decoded: _Decoded, outputs: list[dict[str, Any]], warned: list[str]
    ) -> Response:
        return Response(_encode(decoded.batch, outputs, warned), media_type=JSON)


class _Infer:
    """The protocol of the Open Inference Protocol's infer route: a tensor per variable."""

    def __init__(self, model: Model, max_batch: int) -> None:
        self.model, self.max_batch = model, max_batch

    def decode(self, payload: tuple[bytes, str | None]) -> _Decoded:
        body, header_length = payload
        request = _oip.decode(self.model, body, header_length, self.max_batch)
        one = request.size == 1
        return _Decoded(
            request.columns, request.size, batch=not one, gatherable=one, request=request
        )

    def encode(
        self, decoded: _Decoded, outputs: list[dict[str, Any]], warned: list[str]
    ) -> Response:
        return _oip.encode(self.model, decoded.request, outputs, warned)


def _answer(context: _Context, item: tuple[Any, Any]) -> Response:
    """The answer to an evaluation request (in the evaluation thread): `item` is its protocol
    and what the protocol reads."""
    protocol, payload = item
    return _answer_decoded(context, protocol, protocol.decode(payload))


def _answer_decoded(context: _Context, protocol: Any, decoded: _Decoded) -> Response:
    model, metrics, writer = context
    size = decoded.size
    try:
        prepared, outputs, warned = _evaluate(model, decoded)
    except Refused as refused:
        if refused.status == 500:  # evaluated, and failed (a 422 never reached the model)
            metrics.batch_size.observe(size)
            metrics.evaluate_errors.inc()
        raise
    metrics.batch_size.observe(size)
    if writer is not None:
        writer.put(prepared, outputs)
    return protocol.encode(decoded, outputs, warned)


def _encode(batch: bool, outputs: list[dict[str, Any]], warned: list[str]) -> bytes:
    """The JSON answer carrying `outputs` (a list for a batch request, else the one set)."""
    answer: dict[str, Any] = {"outputs": outputs if batch else outputs[0]}
    if warned:
        answer["warnings"] = warned
    try:  # plain numbers, text and true/false: as they are
        return json_bytes(answer)
    except (TypeError, ValueError):  # arrays, numpy numbers, NaN
        answer["outputs"] = [plain(out) for out in outputs] if batch else plain(outputs[0])
        return json_bytes(answer)


def _answer_many(
    context: _Context, items: list[tuple[Any, Any]]
) -> list[tuple[Any, BaseException | None]]:
    """The answers to evaluation requests that arrived together, as (answer, None) or (None,
    error) each: the single input sets among them (of any protocol) evaluated in one
    `evaluate_batch` call, each checked and answered on its own; a batch request alone. If the
    model fails on the combined call, each set is evaluated again alone, so that only the one
    it fails on fails."""
    model, metrics, writer = context
    outcomes: list[tuple[Any, BaseException | None]] = [(None, None)] * len(items)
    singles: list[tuple[int, Any, _Decoded, dict[str, Any], list[str]]] = []
    for i, (protocol, payload) in enumerate(items):
        try:
            decoded = protocol.decode(payload)
            if not decoded.gatherable:
                outcomes[i] = (_answer_decoded(context, protocol, decoded), None)
                continue
            (prepared,), warned = _prepare(model, decoded)
            singles.append((i, protocol, decoded, prepared, warned))
        except BaseException as exc:
            outcomes[i] = (None, exc)
    if not singles:
        return outcomes
    try:
        raw = model.evaluate_batch(_given_to_model(model, [single[3] for single in singles]))
        if not isinstance(raw, list) or len(raw) != len(singles):
            count = len(raw) if isinstance(raw, list) else type(raw).__name__
            raise OutputError(f"evaluate_batch returned {count} results for {len(singles)} sets")
    except BaseException as exc:  # find the set it fails on: each alone
        metrics.batch_fallbacks.inc()
        log.warning(
            "%s failed on %d requests evaluated together (%s: %s); evaluating each alone",
            model.name, len(singles), type(exc).__name__, one_line(str(exc))[:300],
        )  # fmt: skip
        for i, *_ in singles:  # read again: the failed call may have changed what it was given
            try:
                outcomes[i] = (_answer(context, items[i]), None)
            except BaseException as exc:
                outcomes[i] = (None, exc)
        return outcomes
    metrics.batch_size.observe(len(singles))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ValueWarning)
        try:  # all at once where nothing is wrong, else each on its own below
            together: list[dict[str, Any]] | None = model.check_outputs_many(raw, start=None)
        except BaseException:
            together = None
    if together is not None and not caught:
        for (i, protocol, decoded, _, warned), checked in zip(singles, together, strict=True):
            try:
                outcomes[i] = (protocol.encode(decoded, [checked], warned), None)
            except BaseException as exc:  # an output a protocol cannot carry (Refused)
                outcomes[i] = (None, exc)
        if writer is not None:
            writer.put([single[3] for single in singles], together)
        return outcomes
    done_inputs, done_outputs = [], []
    for (i, protocol, decoded, prepared, warned), out in zip(singles, raw, strict=True):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ValueWarning)
            try:
                checked = model.check_outputs(out)
                answer = protocol.encode(decoded, [checked], warned + _warning_lines(caught))
            except Refused as refused:
                outcomes[i] = (None, refused)
                continue
            except ModelcrateError as exc:
                metrics.evaluate_errors.inc()
                log.error("evaluating %s failed: %s", model.name, exc)
                outcomes[i] = (None, Refused(500, one_line(str(exc))))
                continue
            except BaseException as exc:  # an output that cannot even be looked at
                metrics.evaluate_errors.inc()
                log.exception("evaluating %s failed", model.name)
                reason = f"{type(exc).__name__}: {one_line(str(exc))}"
                outcomes[i] = (None, Refused(500, reason))
                continue
        done_inputs.append(prepared)
        done_outputs.append(checked)
        outcomes[i] = (answer, None)
    if writer is not None and done_inputs:
        writer.put(done_inputs, done_outputs)
    return outcomes


def _request_inputs(body: bytes, max_batch: int) -> dict[str, Any] | list[dict[str, Any]]:
    """The input set (an object) or sets (a list) of an evaluate request, or a 422 saying what
    is wrong with the body."""
    try:
        text = body.decode("utf-8")
        loaded = parse_json(text, source="the request body", hint=_HINT)
    except UnicodeDecodeError:
        raise Refused(422, f"the request body is not UTF-8 text; {_HINT}") from None
    except InputError as exc:
        raise Refused(422, str(exc)) from None
    if not isinstance(loaded, dict) or set(loaded) != {"inputs"}:
        raise Refused(422, f"the request body must be an object with one key, inputs; {_HINT}")
    given = loaded["inputs"]
    if isinstance(given, list) and len(given) > max_batch:
        raise Refused(
            422,
            f"the batch has {len(given):,} input sets, more than {max_batch:,}: send fewer at a "
            "time (the server's --max-batch)",
        )
    try:
        sets = as_input_sets(given, source="inputs")
    except InputError as exc:
        raise Refused(422, f"{exc}; {_HINT}") from None
    return sets if isinstance(given, list) else sets[0]


def _evaluate(
    model: Model, decoded: _Decoded
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """Check, evaluate and check again (in the evaluation thread): the prepared inputs and the
    outputs of each set, and the warnings of values outside their ranges."""
    prepared, warned = _prepare(model, decoded)
    batch = decoded.batch
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ValueWarning)
        try:
            raw = model.evaluate_batch(_given_to_model(model, prepared))
            if not isinstance(raw, list) or len(raw) != len(prepared):
                raise OutputError(
                    f"{type(model).__name__}.evaluate_batch returned "
                    f"{len(raw) if isinstance(raw, list) else type(raw).__name__} results for "
                    f"{len(prepared)} input sets"
                )
            outputs = model.check_outputs_many(raw, start=0 if batch else None)
        except ModelcrateError as exc:  # outputs that break the variables
            log.error("evaluating %s failed: %s", model.name, exc)
            raise Refused(500, one_line(str(exc))) from None
        except BaseException as exc:  # the model's own code, even a sys.exit in it: no signal
            log.exception("evaluating %s failed", model.name)  # reaches this thread
            raise Refused(500, f"{type(exc).__name__}: {one_line(str(exc))}") from None
    return prepared, outputs, warned + _warning_lines(caught)


def _prepare(model: Model, decoded: _Decoded) -> tuple[list[dict[str, Any]], list[str]]:
    """The input sets of a request checked and completed (a 422 for one the variables refuse),
    and the warnings of values outside their ranges."""
    sets, start = decoded.sets, 0 if decoded.batch else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ValueWarning)
        try:
            if isinstance(sets, dict):
                prepared = model.prepare_columns(sets, start=start)
            else:
                prepared = model.prepare_many(sets, start=start)
        except MissingInputError as exc:
            raise Refused(422, str(exc.given_by(decoded.hint))) from None
        except InputError as exc:
            raise Refused(422, str(exc)) from None
    return prepared, _warning_lines(caught)


def _given_to_model(model: Model, sets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The input sets as the model gets them: its own dicts, and its own arrays, since a model
    may change what it is given, and what is stored (and read again) is what was sent."""
    if not any(isinstance(v, (ArrayVariable, DistributionVariable)) for v in model.spec.inputs):
        return [dict(inputs) for inputs in sets]
    return [{name: _own(value) for name, value in inputs.items()} for inputs in sets]


def _own(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {key: _own(item) for key, item in value.items()}
    return value


def _warning_lines(caught: list[warnings.WarningMessage]) -> list[str]:
    return [one_line(str(w.message)) for w in caught if issubclass(w.category, ValueWarning)]


class _EvaluationThread:
    """One daemon thread that runs the model's work, one request at a time, in order: a model
    need not be thread-safe, and one that hangs does not keep the process from ending after
    the server's grace period."""

    def __init__(self, gather: int = 1, window: float = 0.0) -> None:
        self._gather, self._window = gather, window
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._held: list[Any] = []  # taken from the queue while gathering, not gatherable
        self._stopped = False
        self._thread = threading.Thread(target=self._work, name="modelcrate-evaluate", daemon=True)
        self._thread.start()

    def start(self) -> None:
        """Run again after `stop` (an app whose lifespan starts more than once)."""
        self._stopped = False
        if not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._work, name="modelcrate-evaluate", daemon=True
            )
            self._thread.start()

    async def run(
        self,
        context: Any,
        item: Any,
        *,
        one: Callable[[Any, Any], Any],
        many: Callable[[Any, list[Any]], list[tuple[Any, BaseException | None]]] | None = None,
    ) -> Any:
        """`one(context, item)` in the thread; with `many`, items that arrive together (up to
        the thread's `gather`) are handed to `many(context, items)` at once instead."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put((loop, future, context, item, one, many))
        return await future

    def stop(self) -> None:
        self._stopped = True
        self._queue.put(None)

    def _next(self, timeout: float | None = None) -> Any:
        if self._held:
            return self._held.pop(0)
        return self._queue.get(timeout=timeout) if timeout is not None else self._queue.get()

    def _work(self) -> None:
        while True:
            job = self._next()
            if job is None:
                if self._stopped:
                    return
                continue  # the stop of an earlier lifespan, started again since
            loop, future, context, item, one, many = job
            if future.cancelled():  # its client left, or the server stopped waiting
                continue
            outcomes: list[tuple[Any, BaseException | None]]
            if many is None or self._gather < 2:
                try:
                    outcomes = [(one(context, item), None)]
                except BaseException as exc:  # handed to the request, which answers it
                    outcomes = [(None, exc)]
                jobs = [job]
            else:
                jobs = self._gathered(job)
                try:
                    outcomes = many(context, [j[3] for j in jobs])
                except BaseException as exc:  # a bug: every request of the group answers it
                    outcomes = [(None, exc)] * len(jobs)
            for (loop, future, *_), (result, error) in zip(jobs, outcomes, strict=True):
                try:
                    loop.call_soon_threadsafe(_settle, future, result, error)
                except RuntimeError:  # its event loop has ended: nobody waits for this one
                    continue

    def _gathered(self, first: Any) -> list[Any]:
        """`first` and the jobs of the same kind waiting, or arriving within the window."""
        jobs, deadline = [first], time.monotonic() + self._window
        while len(jobs) < self._gather and not self._held:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    job = self._queue.get(timeout=left)
                except queue.Empty:
                    break
            if job is None or job[5] is not first[5] or job[0] is not first[0]:
                self._held.append(job)  # the stop, or another kind of job: after these
            elif not job[1].cancelled():
                jobs.append(job)
        return jobs


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
