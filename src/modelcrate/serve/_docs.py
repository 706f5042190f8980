"""The docs page of a served model (`GET /docs`): HTML, JavaScript and CSS shipped in the package
(`static/`), with no model data in them. The page fetches the model's variables from
/v1/variables, shows them as tables and as a form, and evaluates the model through
/v1/evaluate, sending the token it asks for when the server has one.

The page and its files never need the token: a browser sends no header when it opens a page
or loads its script, and they hold nothing of the model; what they fetch does need it.
"""

from __future__ import annotations

from importlib.resources import files

PAGE = "docs.html"
"""The page's file; the other files of `static/` are served beside it, under /docs/."""

ASSETS = {
    "docs.js": "text/javascript; charset=utf-8",
    "docs.css": "text/css; charset=utf-8",
    "icon.svg": "image/svg+xml",
}
"""The files the page loads, by name, with their content types: nothing else is served."""

HEADERS = {
    # Only this server's own script, style and fetches: no inline script, nothing from elsewhere.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # a new version of the server is seen at once
}
"""The headers of the page and of each of its files."""


def docs_files() -> dict[str, tuple[bytes, str]]:
    """The page and its files by the path they are served at (/docs, /docs/docs.js, ...): their
    bytes and content type, read from the package."""
    static = files(__package__ or "modelcrate.serve").joinpath("static")
    served = {"/docs": (static.joinpath(PAGE).read_bytes(), "text/html; charset=utf-8")}
    for name, media_type in ASSETS.items():
        served[f"/docs/{name}"] = (static.joinpath(name).read_bytes(), media_type)
    return served
