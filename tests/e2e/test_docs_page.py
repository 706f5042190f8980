"""The docs page of `modelcrate serve` in a real browser: a model served by a real server in a
subprocess, its /docs opened in headless Chromium (Debian's package, driven by Playwright), the
form filled and sent, and what the page shows read back."""

from __future__ import annotations

import http.client
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _projects import serving
from playwright.sync_api import expect, sync_playwright

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
# As root in a container: no sandbox, no GPU, and nothing fetched from the network but the page.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
TOKEN = "Tk7-docs-page-secret"
HOSTILE = "<img src=x onerror=alert(1)>"

PYPROJECT = """\
[project]
name = "spectrometer"
version = "1.0"

[project.entry-points."modelcrate.models"]
spectrometer = "spectrometer.model:Spectrometer"
"""

MODEL = '''\
"""A spectrometer: a number, a spectrum (1-D), a screen image and a response map (2-D) out."""

import numpy as np

from modelcrate import Model
from modelcrate.spec import parse_spec


class Spectrometer(Model):
    version = "1.0"
    spec = parse_spec(
        """
model: {name: spectrometer, description: Counts and a screen image of a test spectrometer.}
input_variables:
  gain: {type: scalar, default: 2.0, range: [0, 10], policy: error, unit: V, description: @HOSTILE@}
  channels: {type: int, default: 3, range: [1, 5]}
  smooth: {type: bool, default: true}
  mode: {type: enum, choices: [linear, square], default: linear}
  weights: {type: array, shape: [3], default: [0.5, 1.0, 1.5]}
  distance: {type: scalar, default: 2.0, read_only: true, unit: m}
output_variables:
  peak: {type: scalar, unit: counts}
  centred: {type: bool}
  spectrum: {type: array, shape: [32]}
  screen: {type: image, shape: [16, 24], x_min: -1, x_max: 1, y_min: -1, y_max: 1}
  response: {type: array, shape: [8, 8]}
""",
        source="variables.yml",
    )

    def evaluate(self, inputs):
        gain = inputs["gain"] ** (2 if inputs["mode"] == "square" else 1)
        peak = gain * float(np.sum(inputs["weights"]))
        y, x = np.mgrid[-1:1:16j, -1:1:24j]
        return {
            "peak": peak,
            "centred": inputs["smooth"],
            "spectrum": gain * np.sin(np.linspace(0, 2 * np.pi, 32)),
            "screen": gain * np.exp(-(x**2 + y**2) * inputs["channels"]),
            "response": np.outer(np.arange(8), np.arange(8)) * gain,
        }
'''.replace("@HOSTILE@", repr(HOSTILE))


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project of one model, written by hand: what `find_model` needs and nothing more."""
    root = tmp_path_factory.mktemp("docs-page") / "spectrometer"
    package = root / "src" / "spectrometer"
    package.mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (package / "__init__.py").write_text("")
    (package / "model.py").write_text(MODEL)
    return root


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium; without it the tests are skipped, saying how to install it (in CI,
    where `.ci/run` installs it, they fail)."""
    if not CHROMIUM.exists():
        message = (
            f"no Chromium at {CHROMIUM}: install Debian's package "
            "(`apt-get install chromium`), as .ci/run does"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), chromium_sandbox=False, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def base(project) -> Iterator[str]:
    with serving(project) as (base, _, _):
        yield base


class Page:
    """A new browser page (its own session storage) that records the dialogs it opened and the
    errors its console showed (a script or style the Content-Security-Policy blocked, say)."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on(
            "dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss())
        )
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def open(self, url: str) -> Any:
        answer = self.page.goto(url)
        assert answer is not None and answer.status == 200
        return self.page

    def evaluate_form(self) -> None:
        """Send the form, and wait for the outputs or an error beside it."""
        self.page.get_by_role("button", name="Evaluate").click()
        done = "#evaluate-status:text-matches('^Evaluated'), #evaluate-error:not(:empty)"
        self.page.locator(done).first.wait_for()  # (no wait_for_function: the page allows no eval)


@pytest.fixture
def docs(browser) -> Iterator[Page]:
    page = Page(browser)
    yield page
    page.context.close()


def _column(page: Any, table: str) -> list[str]:
    return page.locator(f"#{table} tbody td.name").all_text_contents()


def test_the_page_shows_the_model_and_its_variables(docs, base, tmp_path):
    page = docs.open(f"{base}/docs")
    page.locator("#inputs-table tbody tr").first.wait_for()
    picture = tmp_path / "docs.png"
    page.screenshot(path=picture, full_page=True)
    assert picture.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and picture.stat().st_size > 1000
    assert page.locator("#model-name").text_content() == "spectrometer"
    assert page.locator("#model-version").text_content() == "1.0"
    description = "Counts and a screen image of a test spectrometer."
    assert page.locator("#model-description").text_content() == description
    inputs = ["gain", "channels", "smooth", "mode", "weights", "distance"]
    assert _column(page, "inputs-table") == inputs
    assert _column(page, "outputs-table") == ["peak", "centred", "spectrum", "screen", "response"]
    gain = page.locator("#inputs-table tbody tr").first.locator("td").all_text_contents()
    assert gain == ["gain", "scalar", "V", "2", "[0, 10], refused outside", "", HOSTILE]
    assert page.get_by_label("gain (V)").input_value() == "2"
    assert page.get_by_label("smooth").is_checked()
    assert page.get_by_label("mode").input_value() == "0"  # the first choice, linear
    assert page.get_by_label("weights").input_value() == "[0.5,1,1.5]"
    assert page.get_by_label("distance (m)").is_disabled()  # read-only
    assert docs.errors == []


def test_the_form_evaluates_the_model_and_draws_its_outputs(docs, base, project):
    from modelcrate.runtime import find_model

    model, _ = find_model(project)  # in this process too, to compare
    page = docs.open(f"{base}/docs")
    page.get_by_label("gain (V)").fill("2.5")
    page.get_by_label("mode").select_option(label="square")
    docs.evaluate_form()
    assert page.locator("#evaluate-error").text_content() == ""
    peak = page.locator("#scalar-outputs tr[data-output='peak'] td.value").text_content()
    assert float(peak) == model({"gain": 2.5, "mode": "square"})["peak"] == 7.5 * 2.5
    centred = page.locator("#scalar-outputs tr[data-output='centred'] td.value")
    assert centred.text_content() == "true"
    for name, size in (("screen", [24, 16]), ("response", [8, 8])):
        drawn = page.locator(f"figure[data-output='{name}'] canvas.picture").evaluate(
            """canvas => {
                const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
                let lit = 0;
                for (let i = 0; i < data.length; i += 4) if (data[i + 3] && data[i] + data[i + 1] + data[i + 2]) lit++;
                return [canvas.width, canvas.height, lit];
            }"""
        )
        assert drawn[:2] == size and drawn[2] == size[0] * size[1], name
    line = page.locator("figure[data-output='spectrum'] svg path.line").get_attribute("d")
    assert line is not None and line.startswith("M") and line.count("L") == 31
    assert page.locator("#warnings li").count() == 0
    page.get_by_label("channels").fill("9")  # outside its range, which only warns
    docs.evaluate_form()
    assert "channels" in page.locator("#warnings li").first.text_content()
    assert docs.errors == []


@pytest.mark.parametrize(
    ("label", "value", "reason"),
    [
        ("gain (V)", "20", "input 'gain' is 20 outside the range [0, 10]"),
        ("weights", "[1, 2]", "expects shape (3,), got (2,)"),
        ("weights", "[1, 2", "weights: not valid JSON"),  # said by the page, not sent
    ],
)
def test_an_input_refused_shows_the_reason_beside_the_form(docs, base, label, value, reason):
    page = docs.open(f"{base}/docs")
    page.get_by_label(label).fill(value)
    docs.evaluate_form()
    assert reason in page.locator("#evaluate-error").text_content()
    assert page.locator("#results").is_hidden()
    page.get_by_role("button", name="Defaults").click()
    docs.evaluate_form()
    assert page.locator("#evaluate-error").text_content() == ""
    assert page.locator("#results").is_visible()


def test_a_description_holding_html_is_shown_as_text(docs, base):
    page = docs.open(f"{base}/docs")
    cell = page.locator("#inputs-table td.description").first
    cell.wait_for()
    assert cell.text_content() == HOSTILE
    assert cell.locator("img").count() == 0 and page.locator("img").count() == 0
    assert docs.dialogs == []


def test_with_a_token_the_page_asks_for_it_and_sends_it(project, docs):
    with serving(project, env={"MODELCRATE_SERVE_TOKEN": TOKEN}) as (base, _, _):
        page = docs.open(f"{base}/docs")  # the page itself: no token needed
        token = page.get_by_label("This server needs a token")
        token.wait_for()
        assert page.locator("#model").is_hidden()
        token.fill("not-it")
        page.get_by_role("button", name="Use the token").click()
        page.get_by_text("the server refused this token").wait_for()
        token.fill(TOKEN)
        page.get_by_role("button", name="Use the token").click()
        page.locator("#inputs-table tbody tr").first.wait_for()
        docs.evaluate_form()
        peak = page.locator("#scalar-outputs tr[data-output='peak'] td.value").text_content()
        assert float(peak) == 2.0 * 3.0
        page.reload()  # kept for the session
        page.locator("#inputs-table tbody tr").first.wait_for()
        forget = page.get_by_role("button", name="Forget it")
        forget.click()
        expect(forget).to_be_hidden()  # once the server has refused the page without it
        expect(page.locator("#model")).to_be_hidden()
        expect(token).to_be_visible()
    # a 401 was expected, and is all the console shows
    assert all("401" in error for error in docs.errors), docs.errors


@pytest.mark.parametrize(
    "path", ["/docs/../serve/_app.py", "/docs/..%2f_docs.py", "/static/..%2f.."]
)
def test_the_server_answers_a_path_out_of_the_page_with_a_404(base, path):
    """As sent, unnormalised (a browser or urllib would tidy the dot segments away)."""
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        assert answer.status == 404 and answer.read().startswith(b'{"error":"no route ')
    finally:
        connection.close()
