"""`modelcrate run -t` and `results -t` with hostile target URIs, altered stores, missing
drivers and passwords: one `error:` line, never a traceback, never a password."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelcrate.runtime import FilesystemTarget, open_target

PASSWORD = "Pw9xQzsecret"
EXCEPTION_NAME = re.compile(r"\b[A-Z]\w*(Error|Exception|Warning)\b:|Traceback")


@pytest.fixture(autouse=True)
def quick_and_clean(monkeypatch, tmp_path):
    """No MODELCRATE_* variable of the surrounding environment; servers given up on quickly;
    relative targets land in a temporary folder."""
    for key in list(os.environ):
        if key.upper().startswith("MODELCRATE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MODELCRATE_CONNECT_TIMEOUT", "0.3")
    monkeypatch.chdir(tmp_path)


def assert_clean(code: int, out: str, err: str) -> None:
    """Exit 0, or 1 (a target that failed at store time) or 2 with one `error:` line; no
    traceback, no exception class name, no password."""
    assert code in (0, 1, 2), (code, out, err)
    assert PASSWORD not in out + err
    assert not EXCEPTION_NAME.search(out + err), err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == (0 if code == 0 else 1), err
    assert "--verbose" not in err, err  # what modelcrate says of a bug of its own
    others = [line for line in err.splitlines() if not line.startswith(("error: ", "warning: "))]
    assert others == [], err


# -- fuzzing target URIs --------------------------------------------------------------------------

schemes = st.sampled_from(
    [
        "file",
        "sqlite",
        "sqlite+aiosqlite",
        "sqlite+pysqlite",
        "postgresql",
        "postgres",
        "postgresql+asyncpg",
        "postgresql+psycopg",
        "postgresql+pg8000",
        "mongodb",
        "mongodb+srv",
        "ftp",
        "http",
        "SQLITE",
        "c",
    ]
)
users = st.sampled_from(["", "u@", f"u:{PASSWORD}@", f":{PASSWORD}@", f"u%40x:{PASSWORD}@"])
hosts = st.sampled_from(
    ["", "127.0.0.1", "localhost", "[::1]", "[::1", "::1]", "h%41st", "somehost", "..%2F..", "é"]
)
ports = st.sampled_from(["", ":1", ":0", ":99999", ":abc", ":-1", ":"])
segments = st.sampled_from(
    ["db", "results", "..", "%2e%2e", "a%2Fb", "%00", "%ff", "r.db", "a b", "x?y", "#f", ""]
)
queries = st.sampled_from(
    [
        "",
        "?authMechanism=BOGUS",
        f"?password={PASSWORD}",
        "?ssl=maybe",
        "?replicaSet=",
        "?timeout=-1",
        "?&&==",
        f"?sslpassword={PASSWORD}&x=1",
        "?mode=memory",
    ]
)


@st.composite
def target_uris(draw) -> str:
    path = "/".join(draw(st.lists(segments, max_size=3)))
    slashes = draw(st.sampled_from(["://", ":///", ":", ":////"]))
    authority = draw(users) + draw(hosts) + draw(ports) if slashes == "://" else ""
    return f"{draw(schemes)}{slashes}{authority}/{path}{draw(queries)}"


FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(uri=target_uris())
def test_run_with_any_target_uri_is_clean(run_cli, project, uri):
    assert_clean(*run_cli("run", project, "-t", uri))


@FUZZ
@given(uri=target_uris())
def test_results_list_of_any_target_uri_is_clean(run_cli, uri):
    assert_clean(*run_cli("results", "list", "-t", uri))


@pytest.mark.parametrize(
    "uri",
    [
        "postgresql://u@[::1/db",
        "postgresql+asyncpg://u@127.0.0.1:1/db",
        f"sqlite://u:{PASSWORD}@",
        f"mongodb://u:{PASSWORD}@127.0.0.1:1/db?authMechanism=BOGUS",
        "file://somehost/dir",
        "file://..%2F..%2Fx/y",
    ],
)
def test_a_bad_target_fails_before_the_model_runs(run_cli, project, uri, tmp_path):
    code, out, err = run_cli("run", project, "-t", uri, "-t", tmp_path / "r")
    assert code == 2
    assert_clean(code, out, err)
    assert not (tmp_path / "r").exists()  # the model did not run


def test_a_bogus_mongodb_option_is_one_line_and_no_resource_warning(tmp_path):
    uri = f"mongodb://u:{PASSWORD}@127.0.0.1:1/db?authMechanism=BOGUS"
    done = subprocess.run(
        [sys.executable, "-W", "default", "-m", "modelcrate", "results", "list", "-t", uri],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "MODELCRATE_CONNECT_TIMEOUT": "0.3"},
    )
    assert done.returncode == 2
    assert done.stderr.startswith(
        "error: mongodb://u:***@127.0.0.1:1/db?authMechanism=BOGUS: is not a MongoDB URI "
        "(authmechanism must be in ("
    )
    assert done.stderr.count("\n") == 1


@pytest.mark.parametrize("password", ["se/cret", "se#cret", "se?cret"])
def test_a_password_a_driver_reads_to_the_first_at_is_masked(run_cli, project, password):
    """Drivers take `user:pass/word@host` as the password `pass/word`; so does the masking."""
    uri = f"postgresql://u:{password}{PASSWORD}@127.0.0.1:1/db"
    code, out, err = run_cli("run", project, "-t", uri)
    assert code in (1, 2) and err.count("error:") == 1
    assert PASSWORD not in out + err and "cret" not in out + err
    code, out, err = run_cli("results", "list", "-t", uri)
    assert PASSWORD not in out + err and "cret" not in out + err


def test_a_malformed_mounts_variable_does_not_show_a_password(run_cli, monkeypatch):
    monkeypatch.setenv("MODELCRATE_MOUNTS", f"/data:/mnt,postgresql://u:{PASSWORD}@db/x")
    code, out, err = run_cli("results", "list", "-t", "results")
    assert (code, out) == (2, "")
    assert err == (
        "error: MODELCRATE_MOUNTS: mount (not shown) (entry 2 of 2): write HOST:CONTAINER with "
        "absolute paths, e.g. /data/results:/mnt/results; fix the environment variable\n"
    )


# -- what a run prints ----------------------------------------------------------------------------


def test_a_batch_prints_each_target_as_named_password_masked(
    run_cli, project, tmp_path, postgresql_db
):
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps([{"laser_radius": r} for r in (0.2, 0.3)]))
    with_password = postgresql_db.replace("@", f":{PASSWORD}@", 1)  # trust auth ignores it
    code, out, err = run_cli(
        "run", project, "-i", inputs, "-t", "sqlite:///r.db", "-t", "res", "-t", with_password
    )
    assert code == 0, err
    masked = postgresql_db.replace("@", ":***@", 1)
    assert out == (
        f"Stored 2 results of injector-surrogate 0+unknown in:\n  sqlite:///r.db\n  res\n"
        f"  {masked}\n"
    ).replace("0+unknown", out.split()[5])


# -- a driver that is not installed ---------------------------------------------------------------


def test_without_pymongo_the_other_targets_still_store(run_cli, project, no_pymongo):
    code, out, err = run_cli(
        "run", project, "-t", "mongodb://127.0.0.1:1/results", "-t", "sqlite:///r.db"
    )
    assert code == 1
    assert err == (
        "error: mongodb://127.0.0.1:1/results: needs the database driver 'pymongo'; "
        "pip install 'modelcrate[mongodb]'\n"
    )
    assert "Stored result" in out
    assert len(open_target("sqlite:///r.db").list()) == 1

    code, out, err = run_cli("results", "list", "-t", "mongodb://127.0.0.1:1/results")
    assert (code, out) == (2, "")
    assert "needs the database driver 'pymongo'" in err


# -- reading an altered or crashed store ----------------------------------------------------------


def test_results_list_reports_altered_files_and_killed_writers(run_cli, project, tmp_path):
    assert run_cli("run", project, "-t", "res", "--set", "laser_radius=0.2")[0] == 0
    assert run_cli("run", project, "-t", "res", "--set", "laser_radius=0.3")[0] == 0
    target = FilesystemTarget(tmp_path / "res")
    first, second = target.list()
    path = target.path_of(second)
    document = json.loads(path.read_text())
    document["inputs"]["laser_radius"] = 0.9
    path.write_text(json.dumps(document))
    leftover = path.with_name(".otherhost~1~1.abcdefgh.tmp")
    leftover.write_text("{")
    os.utime(leftover, (0, 0))

    code, out, err = run_cli("results", "list", "-t", "res")
    assert code == 0
    assert first.hash[:12] in out and second.hash[:12] not in out
    assert "1 result in" in out
    assert err.count("warning: ") == 2
    assert f"left out 1 stored document that is not a good result: {path}: not a good " in err
    assert f"1 temporary file of writers that were stopped mid-write (such as {leftover})" in err

    code, out, err = run_cli("results", "show", second.hash[:12], "-t", "res")
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {path}: not a good result (its id ")


# -- secrets stay out of Prefect's database -------------------------------------------------------


@pytest.mark.slow
def test_prefect_runs_keep_the_password_out_of_flow_parameters(project, tmp_path, postgresql_db):
    with_password = postgresql_db.replace("@", f":{PASSWORD}@", 1)  # trust auth ignores it
    home = tmp_path / "prefect-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MODELCRATE_"))}
    env.update(PREFECT_HOME=str(home))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelcrate",
            "run",
            str(project),
            "--prefect",
            "-t",
            with_password,
            "-t",
            "sqlite:///r.db",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    assert len(open_target(postgresql_db).list()) == 1  # stored through the named target
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name.startswith("prefect.db") for p in files)
    for file in files:
        assert PASSWORD.encode() not in file.read_bytes(), file
    assert Path(tmp_path / "r.db").exists()
