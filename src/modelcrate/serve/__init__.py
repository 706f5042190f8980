"""Serving a packaged model over HTTP: the app derived from its variables (see `create_app`),
run by uvicorn (`modelcrate serve`). Needs the `serve` extra (Starlette and uvicorn)."""

from ._app import MAX_BATCH, MAX_BODY_BYTES, TOKEN_ENV, check_token, create_app

__all__ = ["MAX_BATCH", "MAX_BODY_BYTES", "TOKEN_ENV", "check_token", "create_app"]
