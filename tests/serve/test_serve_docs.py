"""The docs page of a served model (GET /docs): the page and its files as served (types,
headers, the token), nothing else reachable beside them, and a page that holds no model data
and never writes HTML. What it shows in a browser is tested in tests/e2e/test_docs_page.py."""

from __future__ import annotations

import asyncio
import re
from importlib.resources import files
from urllib.parse import unquote

import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient

from modelcrate import Model
from modelcrate.serve import create_app
from modelcrate.spec import parse_spec

HOSTILE = "<img src=x onerror=alert(1)>"
STATIC = files("modelcrate.serve").joinpath("static")
FILES = {
    "/docs": ("docs.html", "text/html; charset=utf-8"),
    "/docs/docs.js": ("docs.js", "text/javascript; charset=utf-8"),
    "/docs/docs.css": ("docs.css", "text/css; charset=utf-8"),
    "/docs/icon.svg": ("icon.svg", "image/svg+xml"),
}


class Lens(Model):
    spec = parse_spec(
        f"""
model: {{name: lens, description: "A lens <b>described</b>."}}
input_variables:
  focal: {{type: scalar, default: 0.2, description: {HOSTILE!r}}}
output_variables:
  spot: {{type: scalar}}
""",
        source="lens.yml",
    )

    def evaluate(self, inputs):
        return {"spot": 2 * inputs["focal"]}


@pytest.fixture
def client():
    with TestClient(create_app(Lens())) as client:
        yield client


@pytest.mark.parametrize("path", list(FILES))
def test_the_page_and_its_files_are_served_from_the_package_with_their_types(client, path):
    name, media_type = FILES[path]
    answer = client.get(path)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == media_type
    assert answer.content == STATIC.joinpath(name).read_bytes()
    assert answer.headers["x-content-type-options"] == "nosniff"
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in answer.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == policy["script-src"] == policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'" and policy["object-src"] == "'none'"
    assert "unsafe" not in answer.headers["content-security-policy"]


def test_the_page_loads_only_its_own_files_and_no_inline_script_or_style(client):
    html = client.get("/docs").text
    assert sorted(re.findall(r'(?:src|href)="([^"]*)"', html)) == [
        "docs/docs.css", "docs/docs.js", "docs/icon.svg"
    ]  # fmt: skip
    assert [s for s in re.findall(r"<script[^>]*>", html) if "src=" not in s] == []
    assert not re.search(r"<style|\sstyle=|\son\w+=|javascript:", html, re.IGNORECASE)


def test_the_page_holds_no_model_data_and_its_script_never_writes_html(client):
    html = client.get("/docs").text
    assert "lens" not in html and "focal" not in html and HOSTILE not in html
    script = STATIC.joinpath("docs.js").read_text(encoding="utf-8")
    for writes_html in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                        "eval(", "new Function", "setAttribute(\"on"):  # fmt: skip
        assert writes_html not in script
    about = client.get("/v1/variables").json()  # what the page shows, fetched
    assert about["description"] == "A lens <b>described</b>."
    assert about["variables"]["input_variables"]["focal"]["description"] == HOSTILE


def test_a_model_without_a_description_has_none_in_its_variables():
    class Plain(Model):
        spec = parse_spec("input_variables: {x: {type: scalar, default: 1}}\n"
                          "output_variables: {y: {type: scalar}}", source="plain.yml")  # fmt: skip

    with TestClient(create_app(Plain())) as client:
        assert "description" not in client.get("/v1/variables").json()


def test_with_a_token_the_page_and_its_files_are_open_and_what_it_fetches_is_not():
    with TestClient(create_app(Lens(), token="s3cret-token")) as client:
        for path in FILES:
            assert client.get(path).status_code == 200, path
        assert client.get("/v1/variables").status_code == 401
        assert client.post("/v1/evaluate", json={"inputs": {}}).status_code == 401
        right = {"Authorization": "Bearer s3cret-token"}
        assert client.get("/v1/variables", headers=right).json()["name"] == "lens"
        answer = client.post("/v1/evaluate", json={"inputs": {"focal": 0.5}}, headers=right)
        assert answer.json() == {"outputs": {"spot": 1.0}}


def _get(app, raw_path: str) -> tuple[int, bytes]:
    """GET `raw_path` as a client sends it (dot segments and %2f kept, no client tidying it),
    handed to the app as uvicorn hands it: the path percent-decoded, the raw path as sent."""
    answer: dict[str, object] = {"body": b""}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": unquote(raw_path), "raw_path": raw_path.encode(),
        "query_string": b"", "root_path": "", "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 40000), "server": ("test", 80),
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))
    return answer["status"], answer["body"]


@pytest.mark.parametrize(
    "path",
    [
        "/docs/../_app.py",
        "/docs/..%2f_app.py",
        "/docs/%2e%2e/_app.py",
        "/docs/..%2f..%2f__init__.py",
        "/static/..%2f..",
        "/static/docs.js",
        "/docs/static/docs.js",
        "/docs/docs.html",
        "/docs/_docs.py",
        "/docs/__init__.py",
        "/docs/docs.js/..%2f_app.py",
        "/docs/%2fetc%2fpasswd",
    ],
)
def test_nothing_but_the_page_and_its_files_is_served_beside_them(path):
    status, body = _get(create_app(Lens()), path)
    assert status == 404
    assert body.startswith(b'{"error":"no route ') and b"import" not in body


def test_the_page_is_no_route_of_the_openapi_document(client):
    assert not [path for path in client.get("/openapi.json").json()["paths"] if "docs" in path]
