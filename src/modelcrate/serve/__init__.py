"""Serving a packaged model over HTTP: the app derived from its variables (see `create_app`),
run by uvicorn (`modelcrate serve`). Needs the `serve` extra (Starlette and uvicorn)."""

from ._app import (
    BATCH_WINDOW,
    MAX_BATCH,
    MAX_BODY_BYTES,
    MAX_GATHER,
    TOKEN_ENV,
    check_token,
    create_app,
    vectorised,
)

__all__ = [
    "BATCH_WINDOW",
    "MAX_BATCH",
    "MAX_BODY_BYTES",
    "MAX_GATHER",
    "TOKEN_ENV",
    "check_token",
    "create_app",
    "vectorised",
]
