"""`modelcrate run --target` into several targets, and `modelcrate results list|show|export`."""

from __future__ import annotations

import csv
import io
import json
import os
import re

import pytest

from modelcrate.runtime import FilesystemTarget, Result, open_target, query_results

MODEL = "injector-surrogate"
UNREACHABLE = "postgresql://u:secret@127.0.0.1:1/db"


@pytest.fixture(autouse=True)
def no_modelcrate_env(monkeypatch):
    """No MODELCRATE_* variable of the surrounding environment changes what a test sees."""
    for key in list(os.environ):
        if key.upper().startswith("MODELCRATE_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="module")
def stored(project, tmp_path_factory):
    """Two runs (laser_radius 0.5, then 0.3), each stored in a directory and a SQLite file."""
    from modelcrate.cli import main

    root = tmp_path_factory.mktemp("stored")
    uris = {"dir": str(root / "results"), "sqlite": f"sqlite:///{root / 'results.db'}"}
    for radius in ("0.5", "0.3"):
        args = ["run", str(project), "--set", f"laser_radius={radius}"]
        assert main([*args, "-t", uris["dir"], "-t", uris["sqlite"]]) == 0
    results = query_results(uris["dir"])
    assert [r.inputs["laser_radius"] for r in results] == [0.5, 0.3]
    return uris, results


@pytest.fixture(params=["dir", "sqlite"])
def uri(request, stored):
    return stored[0][request.param]


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


def table_rows(out: str, first_column: str) -> list[list[str]]:
    """The rows of a plain text table after its header line, split on runs of 2+ spaces."""
    lines = out.strip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == [first_column])
    rows = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


def list_rows(out: str) -> list[list[str]]:
    """The rows of `results list`: between the header line and the count line."""
    return table_rows(out.strip().rsplit("\n", 1)[0], "id")


# -- run --target ---------------------------------------------------------------------------------


def test_run_stores_in_every_target_and_prints_each_location(run_cli, project, tmp_path):
    directory, database = tmp_path / "results", tmp_path / "results.db"
    code, out, err = run_cli(
        "run", project, "--set", "laser_radius=0.5", "-t", directory, "-t", f"sqlite:///{database}"
    )
    assert code == 0, err
    [in_dir] = FilesystemTarget(directory).list()
    [in_db] = query_results(f"sqlite:///{database}")
    assert in_dir == in_db and in_dir.inputs["laser_radius"] == 0.5
    lines = out.splitlines()
    assert lines[0].startswith(f"Stored result {in_dir.hash[:12]} of {MODEL} ")
    assert lines[1:3] == [
        f"  {directory / MODEL / in_dir.hash}.json",
        f"  sqlite:///{database}#{in_dir.hash}",
    ]


def test_run_to_a_named_target(run_cli, project, tmp_path, monkeypatch):
    monkeypatch.setenv("MODELCRATE_TARGETS__LAB", str(tmp_path / "lab"))
    code, out, err = run_cli("run", project, "-t", "@lab")
    assert code == 0, err
    assert str(tmp_path / "lab" / MODEL) in out
    code, out, _ = run_cli("results", "list", "-t", "@lab")
    assert code == 0 and f"1 result in {(tmp_path / 'lab').as_uri()}" in out


def test_run_uses_modelcrate_target_by_default(run_cli, project, tmp_path, monkeypatch):
    database = tmp_path / "env.db"
    monkeypatch.setenv("MODELCRATE_TARGET", f"{tmp_path / 'env'},sqlite:///{database}")
    code, out, err = run_cli("run", project, "--set", "laser_radius=0.7")
    assert code == 0, err
    assert str(tmp_path / "env" / MODEL) in out and f"sqlite:///{database}#" in out
    assert not (project / "results").exists()
    # `results` reads the first of them by default
    code, out, err = run_cli("results", "list")
    assert code == 0
    assert out.strip().splitlines()[-1] == f"1 result in {(tmp_path / 'env').as_uri()}"
    assert err == (
        f"Reading {(tmp_path / 'env').as_uri()}, the first of 2 targets in $MODELCRATE_TARGET; "
        "give -t to read another.\n"
    )
    assert "laser_radius=0.7" in out
    assert len(query_results(f"sqlite:///{database}")) == 1


def test_run_with_an_unsupported_scheme_stores_nothing(run_cli, project, tmp_path):
    directory, database = tmp_path / "results", tmp_path / "results.db"
    code, out, err = run_cli(
        "run", project, "-t", directory, "-t", f"sqlite:///{database}", "-t", "ftp://host/x"
    )
    assert code == 2
    assert "unsupported target scheme 'ftp'" in one_error_line(err)
    assert out == ""
    assert not directory.exists() and not database.exists()  # checked before the run
    assert list(tmp_path.iterdir()) == []


def test_run_with_an_unreachable_target_stores_in_the_others(
    run_cli, project, tmp_path, monkeypatch
):
    monkeypatch.setenv("MODELCRATE_CONNECT_TIMEOUT", "3")
    directory = tmp_path / "results"
    code, out, err = run_cli("run", project, "-t", directory, "-t", UNREACHABLE)
    assert code == 1
    [result] = FilesystemTarget(directory).list()
    assert f"Stored result {result.hash[:12]}" in out
    assert f"  {directory / MODEL / result.hash}.json" in out.splitlines()
    line = one_error_line(err)
    assert line.startswith("error: postgresql://u:***@127.0.0.1:1/db: ")
    assert "secret" not in err and "secret" not in out


def test_run_into_mongodb(run_cli, project, mongo_client):
    target = "mongodb://localhost/modelcrate_cli_test"
    code, out, err = run_cli("run", project, "--set", "laser_radius=0.5", "-t", target)
    assert code == 0, err
    [result] = query_results(target)
    assert f"  {target}#{result.hash}" in out.splitlines()
    code, out, _ = run_cli("results", "list", "-t", target)
    assert code == 0 and result.hash[:12] in out and f"1 result in {target}" in out
    code, out, _ = run_cli("results", "show", result.hash[:10], "-t", target, "--json")
    assert code == 0 and json.loads(out)["id"] == result.hash


def test_run_and_list_in_postgresql(run_cli, project, postgresql_db):
    code, out, err = run_cli("run", project, "--set", "laser_radius=0.5", "-t", postgresql_db)
    assert code == 0, err
    [result] = query_results(postgresql_db)
    assert result.outputs["beam_image"].shape == (64, 64)
    name = open_target(postgresql_db).name
    assert f"  {name}#{result.hash}" in out.splitlines()
    code, out, err = run_cli("results", "list", "-t", postgresql_db)
    assert code == 0, err
    assert [row[:2] for row in list_rows(out)] == [[result.hash[:12], MODEL]]
    assert out.strip().splitlines()[-1] == f"1 result in {name}"


# -- results list ---------------------------------------------------------------------------------


def test_list_table(run_cli, uri, stored):
    _, results = stored
    code, out, err = run_cli("results", "list", "-t", uri)
    assert code == 0, err
    assert out.splitlines()[0].split() == ["id", "model", "version", "code", "created", "inputs"]
    rows = list_rows(out)
    assert [row[0] for row in rows] == [r.hash[:12] for r in results]  # oldest first
    assert all(row[1] == MODEL for row in rows)
    assert [row[3] for row in rows] == [r.fingerprint[:12] for r in results]
    assert rows[0][5].startswith("laser_radius=0.5, bunch_charge=100")
    assert out.strip().splitlines()[-1] == f"2 results in {open_target(uri).name}"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--model", MODEL], [0.5, 0.3]),
        (["-m", "other-model"], []),
        (["--since", "1h"], [0.5, 0.3]),
        (["--since", "2000-01-01"], [0.5, 0.3]),
        (["--until", "2000-01-01"], []),
        (["--until", "1h"], []),
        (["--limit", "1"], [0.3]),
        (["-n", "5", "--since", "7d"], [0.5, 0.3]),
    ],
)
def test_list_filters(run_cli, uri, options, expected):
    code, out, err = run_cli("results", "list", "-t", uri, *options, "--json")
    assert code == 0, err
    assert [doc["inputs"]["laser_radius"] for doc in json.loads(out)] == expected


def test_list_nothing_says_so(run_cli, uri):
    name = open_target(uri).name
    code, out, _ = run_cli("results", "list", "-t", uri, "--until", "2000-01-01")
    assert code == 0 and out == f"No results in {name}\n"
    code, out, _ = run_cli("results", "list", "-t", uri, "--model", "other-model")
    assert code == 0 and out == f"No results in {name} of model other-model\n"


def test_list_one_result(run_cli, uri, stored):
    code, out, _ = run_cli("results", "list", "-t", uri, "--limit", "1")
    assert code == 0
    assert [row[0] for row in list_rows(out)] == [stored[1][1].hash[:12]]
    assert out.strip().splitlines()[-1] == f"1 result in {open_target(uri).name}"


def test_list_json_documents_load_back(run_cli, uri, stored):
    code, out, _ = run_cli("results", "list", "-t", uri, "--json")
    assert code == 0
    assert [Result.from_document(doc) for doc in json.loads(out)] == stored[1]


def test_list_defaults_to_results_in_the_cwd(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli("results", "list")
    assert code == 0 and out == f"No results in {(tmp_path / 'results').as_uri()}\n"
    assert not (tmp_path / "results").exists()


# -- results show ---------------------------------------------------------------------------------


def test_show_inputs_and_outputs_with_units(run_cli, uri, stored):
    result = stored[1][0]
    code, out, err = run_cli("results", "show", result.hash[:8], "-t", uri)
    assert code == 0, err
    assert out.splitlines()[:2] == [f"result   {result.hash}", f"model    {MODEL} {result.version}"]
    assert f"target   {open_target(uri).name}" in out
    inputs = {row[0]: row[1:] for row in table_rows(out, "input")}
    assert inputs["laser_radius"] == ["0.5", "mm"]
    assert inputs["bunch_charge"] == ["100", "pC"]
    assert inputs["SOL1:BCTRL"] == ["0.35", "kG*m"]
    outputs = {row[0]: row[1:] for row in table_rows(out, "output")}
    assert sorted(outputs) == ["beam_image", "norm_emit_x", "sigma_x", "sigma_y"]
    assert outputs["sigma_x"][-1] == "mm" and outputs["norm_emit_x"][-1] == "mm*mrad"
    assert outputs["beam_image"][0].startswith("array(64, 64) float64")
    assert outputs["beam_image"][-1] == "pC/mm^2"


def test_show_json(run_cli, uri, stored):
    result = stored[1][1]
    code, out, _ = run_cli("results", "show", result.hash[:12], "-t", uri, "--json")
    assert code == 0
    document = json.loads(out)
    assert document["id"] == result.hash
    assert document["outputs"]["beam_image"]["__ndarray__"]["shape"] == [64, 64]
    assert Result.from_document(document) == result


def test_show_unknown_id(run_cli, uri):
    code, out, err = run_cli("results", "show", "0000dead", "-t", uri)
    assert code == 2 and out == ""
    line = one_error_line(err)
    assert "no result with id '0000dead'" in line and "modelcrate results list" in line


def test_show_an_empty_id(run_cli, uri):
    code, _, err = run_cli("results", "show", "", "-t", uri)
    assert code == 2
    assert "no result id given; `modelcrate results list` shows the ids" in one_error_line(err)


# -- results export -------------------------------------------------------------------------------


def test_export_csv_to_a_file(run_cli, uri, stored, tmp_path):
    output = tmp_path / "out" / "results.csv"
    output.parent.mkdir()
    output.write_text("old content\n")
    code, out, err = run_cli("results", "export", "-t", uri, "-f", "csv", "-o", output)
    assert code == 0, err
    assert out == ""
    assert err == f"Exported 2 results from {open_target(uri).name} to {output}\n"
    assert list(output.parent.iterdir()) == [output]  # no temporary file left beside it
    rows = list(csv.DictReader(io.StringIO(output.read_text())))
    assert [row["id"] for row in rows] == [r.hash for r in stored[1]]
    assert [row["input:laser_radius"] for row in rows] == ["0.5", "0.3"]
    assert [row["fingerprint"] for row in rows] == [r.fingerprint for r in stored[1]]
    image = json.loads(rows[0]["output:beam_image"])
    assert len(image) == 64 and len(image[0]) == 64
    assert float(rows[0]["output:sigma_x"]) == pytest.approx(stored[1][0].outputs["sigma_x"])


def test_export_one_result_says_result(run_cli, uri, tmp_path):
    output = tmp_path / "one.json"
    code, _, err = run_cli("results", "export", "-t", uri, "-n", "1", "-o", output)
    assert code == 0
    assert err.startswith("Exported 1 result from ")
    assert len(json.loads(output.read_text())) == 1


def test_export_json_to_stdout(run_cli, uri, stored):
    code, out, err = run_cli("results", "export", "-t", uri, "-f", "json")
    assert code == 0 and err == ""
    back = [Result.from_document(doc) for doc in json.loads(out)]
    assert back == stored[1]
    assert back[0].outputs["beam_image"].dtype == stored[1][0].outputs["beam_image"].dtype


def test_export_with_filters(run_cli, uri):
    code, out, _ = run_cli("results", "export", "-t", uri, "-f", "csv", "--until", "2000-01-01")
    assert code == 0 and out == "id,model,version,created,flow_run_id,fingerprint,dirty,key\n"


def test_export_bad_format_is_a_usage_error(run_cli, uri):
    code, _, err = run_cli("results", "export", "-t", uri, "-f", "xml")
    assert code == 2 and "'xml' is not one of 'json', 'csv'" in err


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["list", "export"])
@pytest.mark.parametrize("option", ["--since", "--until"])
def test_bad_time_is_one_line(run_cli, uri, verb, option):
    code, out, err = run_cli("results", verb, "-t", uri, option, "yesterday")
    assert code == 2 and out == ""
    assert one_error_line(err).startswith("error: time 'yesterday': ")


def test_bad_limit_is_a_usage_error(run_cli, uri):
    code, _, err = run_cli("results", "list", "-t", uri, "--limit", "0")
    assert code == 2 and "--limit" in err


@pytest.mark.parametrize("verb", [["list"], ["show", "abc"], ["export"]])
def test_results_with_an_unsupported_scheme(run_cli, verb):
    code, _, err = run_cli("results", *verb, "-t", "ftp://host/x")
    assert code == 2
    assert "unsupported target scheme 'ftp'" in one_error_line(err)


def test_results_from_an_unreachable_database_masks_the_password(run_cli, monkeypatch):
    monkeypatch.setenv("MODELCRATE_CONNECT_TIMEOUT", "3")
    code, out, err = run_cli("results", "list", "-t", UNREACHABLE)
    assert code == 2 and out == ""
    assert one_error_line(err).startswith("error: postgresql://u:***@127.0.0.1:1/db: ")
    assert "secret" not in err


def test_results_with_a_bad_setting(run_cli, monkeypatch, tmp_path):
    monkeypatch.setenv("MODELCRATE_FSYNC", "maybe")
    code, _, err = run_cli("results", "list", "-t", tmp_path)
    assert code == 2
    assert one_error_line(err).startswith("error: MODELCRATE_FSYNC: ")


def test_results_help(run_cli):
    code, out, _ = run_cli("results", "--help")
    assert code == 0
    for verb in ("list", "show", "export"):
        assert verb in out
