"""`modelcrate registry list|show|promote|retire`: tables for people, JSON for tools, and one
`error:` line (never a traceback, never a password) for what cannot be done."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
import sqlalchemy as sa

from modelcrate.deploy import open_registry

MODEL = "injector-surrogate"
HOSTILE = 'Robert\'); DROP TABLE x;-- "模型" 🚀'


@pytest.fixture(autouse=True)
def no_modelcrate_env(monkeypatch):
    """No MODELCRATE_* variable of the surrounding environment changes what a test sees."""
    for key in list(os.environ):
        if key.upper().startswith("MODELCRATE_"):
            monkeypatch.delenv(key)


def fill(url: str) -> None:
    """Two models: the injector with three versions (1.1.0 live and deployed, 1.0.0 retired),
    and a hostile-named one with none."""
    with open_registry(url) as registry:
        registry.register_model(MODEL, author="A. Physicist", facility="LCLS")
        for version in ("1.0.0", "1.1.0", "2.0.0"):
            registry.register_version(
                MODEL, version, wheel_sha256=hashlib.sha256(version.encode()).hexdigest(),
                package="injector_surrogate", variables={"laser_radius": {}, "sigma_x": {}},
                entry_points={"modelcrate.models": {MODEL: "injector_surrogate.model:Model"}},
            )  # fmt: skip
        registry.promote(MODEL, "1.0.0")
        registry.promote(MODEL, "1.1.0")
        registry.record_deployment(MODEL, "1.1.0", deployment_id="3c9e", name="injector-1.1.0",
                                   work_pool="local")  # fmt: skip
        registry.retire(MODEL, "1.0.0")
        registry.register_model(HOSTILE, description="line one\nline two\x1b[31m")


@pytest.fixture
def url(tmp_path, monkeypatch) -> str:
    """A filled SQLite registry, named by MODELCRATE_REGISTRY."""
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    fill(url)
    monkeypatch.setenv("MODELCRATE_REGISTRY", url)
    return url


def rows(out: str) -> list[list[str]]:
    return [line.split("  ") and [c.strip() for c in line.split("  ") if c.strip()]
            for line in out.strip().splitlines()]  # fmt: skip


def one_error_line(code: int, err: str) -> str:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err and "Error:" not in err
    return lines[0]


def test_list_is_a_table_of_every_version(run_cli, url):
    code, out, err = run_cli("registry", "list")
    assert (code, err) == (0, "")
    table = rows(out)
    assert table[0] == ["model", "version", "status", "deployed", "created"]
    assert [r[:4] for r in table[1:-1]] == [  # by name, as the characters' codes sort
        [HOSTILE, "-", "no versions", table[1][3]],
        [MODEL, "1.0.0", "retired", "-"],
        [MODEL, "1.1.0", "live", "injector-1.1.0 (local)"],
        [MODEL, "2.0.0", "registered", "-"],
    ]
    assert table[-1] == [f"2 models, 3 versions in {url}"]


def test_list_as_json(run_cli, url):
    code, out, _ = run_cli("registry", "list", "--json", "--model", MODEL)
    assert code == 0
    data = json.loads(out)
    assert data["registry"] == url
    [model] = data["models"]
    assert (model["name"], model["live_version"], model["facility"]) == (MODEL, "1.1.0", "LCLS")
    assert [(v["version"], v["status"]) for v in model["versions"]] == [
        ("1.0.0", "retired"), ("1.1.0", "live"), ("2.0.0", "registered")]  # fmt: skip
    assert model["versions"][1]["deployments"][0]["deployment_id"] == "3c9e"


def test_the_json_shapes_are_the_documented_ones(run_cli, url):
    """What `--json` prints has exactly the keys of the TypedDicts that describe it."""
    from modelcrate.deploy.registry import DeploymentJSON, ModelJSON, OutcomeJSON, VersionJSON

    [model] = json.loads(run_cli("registry", "list", "--json", "-m", MODEL)[1])["models"]
    version = model["versions"][1]
    assert set(model) == set(ModelJSON.__annotations__)
    assert set(version) == set(VersionJSON.__annotations__)
    assert set(version["deployments"][0]) == set(DeploymentJSON.__annotations__)
    outcome = json.loads(run_cli("registry", "promote", f"{MODEL}@2.0.0", "--json")[1])
    assert set(outcome) == {"registry", *OutcomeJSON.__annotations__}


def test_an_empty_registry_says_so(run_cli, tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert run_cli("registry", "list", "--registry", url) == (0, f"No models in {url}\n", "")
    _, out, _ = run_cli("registry", "list", "--registry", url, "--json")
    assert json.loads(out) == {"registry": url, "models": []}


def test_show_a_model_and_a_version(run_cli, url):
    code, out, _ = run_cli("registry", "show", MODEL)
    assert code == 0
    assert f"model        {MODEL}\nlive         1.1.0\n" in out
    assert "1.1.0    live        injector-1.1.0 (local)" in out
    code, out, _ = run_cli("registry", "show", f"{MODEL}@1.1.0")
    assert code == 0
    assert "status    live\n" in out and "package   injector_surrogate\n" in out
    assert "modelcrate.models  injector-surrogate  injector_surrogate.model:Model" in out
    assert "variables (2): laser_radius, sigma_x" in out
    assert "injector-1.1.0  local      3c9e" in out
    code, out, _ = run_cli("registry", "show", f"{MODEL}@1.1.0", "--json")
    version = json.loads(out)["version"]
    assert (version["version"], version["is_live"], version["package"]) == (
        "1.1.0", True, "injector_surrogate")  # fmt: skip


def test_a_hostile_name_is_shown_on_one_line_and_exactly_in_json(run_cli, url):
    code, out, _ = run_cli("registry", "show", HOSTILE)
    assert code == 0
    assert f"model        {HOSTILE}\n" in out
    assert "description  line one\\nline two\\x1b[31m\n" in out  # escaped, not obeyed
    code, out, _ = run_cli("registry", "show", HOSTILE, "--json")
    assert json.loads(out)["model"]["description"] == "line one\nline two\x1b[31m"


def test_promote_and_retire(run_cli, url):
    code, out, _ = run_cli("registry", "promote", f"{MODEL}@2.0.0")
    assert (code, out) == (0, f"{MODEL}@2.0.0 is live now (was 1.1.0)\n")
    code, out, _ = run_cli("registry", "promote", f"{MODEL}@2.0.0", "--json")
    data = json.loads(out)
    assert (data["changed"], data["live"], data["record"]["status"]) == (False, "2.0.0", "live")
    code, out, _ = run_cli("registry", "retire", f"{MODEL}@2.0.0")
    assert code == 0
    assert out == (
        f"retired {MODEL}@2.0.0; it was the live version, so {MODEL} has no live version now "
        f"(promote one: modelcrate registry promote {MODEL}@VERSION)\n"
    )
    code, out, _ = run_cli("registry", "retire", f"{MODEL}@1.1.0", "--json")
    assert json.loads(out)["previous_live"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "nope"], "error: no model 'nope' in registry sqlite:///"),
        (["show", f"{MODEL}@9.9"], f"error: model '{MODEL}' has no version '9.9'"),
        (["promote", f"{MODEL}@9.9"], f"error: model '{MODEL}' has no version '9.9'"),
        (["promote", f"{MODEL}@1.0.0"], "was retired on"),
        (["promote", MODEL], f"error: Invalid value for MODEL@VERSION: '{MODEL}' is not MODEL@VERSION; write e.g. injector-surrogate@1.2.0; see 'modelcrate registry promote --help'"),
        (["retire", f"{MODEL}@"], "is not MODEL@VERSION"),
        (["show", "@1.0"], "is not MODEL or MODEL@VERSION"),
        (["show", "\n"], "error: Invalid value for MODEL or MODEL@VERSION: '\\n' is not MODEL or"),
        (["show", f"{MODEL}@9.9\n"], f"error: model '{MODEL}' has no version '9.9'"),
        (["show", "\x1b[31mm"], "error: no model '\\x1b[31mm' in registry"),
    ],
)  # fmt: skip
def test_bad_input_is_one_error_line(run_cli, url, args, message):
    code, out, err = run_cli("registry", *args)
    assert message in one_error_line(code, err) and out == ""


@pytest.mark.parametrize(
    "registry",
    [
        "postgresql://admin:pa55word@127.0.0.1:1/registry",
        "mysql+pymysql://admin:pa55word@127.0.0.1:1/registry",
        "mysql+mysqldb://admin:pa55word@127.0.0.1:1/registry",
        "oracle://admin:pa55word@db.example/registry",
    ],
)
def test_an_unusable_registry_is_one_error_line_without_its_password(run_cli, registry):
    for args in (["list"], ["list", "--json"], ["show", MODEL], ["promote", f"{MODEL}@1"]):
        code, out, err = run_cli("registry", *args, "--registry", registry)
        line = one_error_line(code, err)
        assert "pa55word" not in out + err and "admin:***@" in line


def test_the_password_of_a_real_server_is_never_shown(run_cli, mariadb_db):
    password = sa.make_url(mariadb_db).password
    assert password
    fill(mariadb_db)
    shown = mariadb_db.replace(f":{password}@", ":***@")
    outputs = []
    for args in (["list"], ["list", "--json"], ["show", MODEL, "--json"],
                 ["show", f"{MODEL}@1.1.0"], ["promote", f"{MODEL}@2.0.0", "--json"],
                 ["show", "nope"]):  # fmt: skip
        _, out, err = run_cli("registry", *args, "--registry", mariadb_db)
        outputs.append(out + err)
    assert all(password not in text for text in outputs)
    assert json.loads(outputs[1])["registry"] == shown
    assert shown in outputs[-1]
