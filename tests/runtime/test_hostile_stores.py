"""Targets against hostile stores and crashes: URIs that try to escape, killed writers, altered
documents, strings a database refuses, and a driver that is not installed."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from modelcrate import InputError, Model, PartialWriteError, SaveError, TargetError, TargetWarning
from modelcrate.runtime import (
    FilesystemTarget,
    Result,
    export_results,
    open_target,
    query_results,
    run,
    save_results,
)
from modelcrate.spec import parse_spec


def error_of(call) -> str:
    with pytest.raises(TargetError) as info:
        call()
    return str(info.value)


def result(n: int = 0, **inputs) -> Result:
    return Result(
        model="m", version="1", inputs={"n": n, **inputs}, outputs={"y": np.arange(3.0) * n}
    )


@pytest.fixture(params=["file", "sqlite", "postgresql", "mongodb"])
def any_target(request, tmp_path):
    """A target of each kind (PostgreSQL when a server is given; MongoDB through mongomock)."""
    if request.param == "file":
        return open_target(tmp_path / "results")
    if request.param == "sqlite":
        return open_target(f"sqlite:///{tmp_path / 'results.db'}")
    if request.param == "postgresql":
        return open_target(request.getfixturevalue("postgresql_db"))
    request.getfixturevalue("mongo_client")
    return open_target(f"mongodb://localhost/t{os.getpid()}_{time.monotonic_ns()}")


# -- target URIs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        (
            "postgresql://u:secret@[::1/db",
            "postgresql://u:***@[::1/db: not a valid URI (Invalid IPv6 URL); "
            "write it as scheme://user@host:port/name",
        ),
        (
            "postgresql+asyncpg://u:secret@db/results",
            "postgresql+asyncpg://u:***@db/results: the 'asyncpg' driver cannot store results "
            "here (an async or unsupported driver); write postgresql://... or "
            "postgresql+psycopg or postgresql+psycopg2",
        ),
        (
            "sqlite+aiosqlite:///r.db",
            "sqlite+aiosqlite:///r.db: the 'aiosqlite' driver cannot store results here (an "
            "async or unsupported driver); write sqlite://... or sqlite+pysqlite",
        ),
        (
            "sqlite://u:PASSWORD@",
            "sqlite://u:***@: a SQLite target needs a file, e.g. sqlite:///results.db "
            "(relative) or sqlite:////data/results.db (absolute)",
        ),
    ],
)
def test_malformed_and_unusable_uris_are_one_error_before_any_run(uri, message):
    assert error_of(lambda: open_target(uri)) == message


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        (
            "file://somehost/dir",
            "file://somehost/dir: a file URI names a host ('somehost') here; write "
            "file:///absolute/path (three slashes) or a plain relative path such as results",
        ),
        (
            "file://relative/path",
            "file://relative/path: a file URI names a host ('relative') here; write "
            "file:///absolute/path (three slashes) or a plain relative path such as results",
        ),
        (
            "file://..%2F..%2Fx/y",
            "file://..%2F..%2Fx/y: a file URI names a host ('..%2F..%2Fx') here; write "
            "file:///absolute/path (three slashes) or a plain relative path such as results",
        ),
        (
            "file:..%2F..%2Fx/y",
            "file:..%2F..%2Fx/y: the path segment '..%2F..%2Fx' decodes to '../../x'; "
            "a file URI may not percent-encode '/' or NUL",
        ),
        (
            "file:///data/%2e%2e/etc",
            "file:///data/%2e%2e/etc: a file URI may not go up a directory ('..'); write "
            "file:///absolute/path (three slashes) or a plain relative path such as results",
        ),
        (
            "file:///data/a%00b",
            "file:///data/a%00b: the path segment 'a%00b' decodes to 'a\\x00b'; "
            "a file URI may not percent-encode '/' or NUL",
        ),
    ],
)
def test_file_uris_are_read_as_rfc_8089_says(uri, message):
    assert error_of(lambda: open_target(uri)) == message


def test_file_uris_of_this_host_still_work(tmp_path):
    root = tmp_path / "a b"
    for uri in (root.as_uri(), f"file://localhost{root}", f"file:{root}"):
        assert open_target(uri).root == root


# -- temporary files of killed writers ------------------------------------------------------------

KILLED_WRITER = """
import os, sys, time
from modelcrate.runtime import FilesystemTarget, Result

def stuck(*args):  # the file is written; the writer dies before linking it into place
    print("written", flush=True)
    time.sleep(600)

os.link = stuck
FilesystemTarget(sys.argv[1]).save(Result(model="m", version="1", inputs={"n": -1}, outputs={}))
"""


def killed_mid_write(root: Path) -> Path:
    """Run a writer, kill -9 it with its temporary file written, and return that file."""
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(root)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout.readline().strip() == "written"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    (left,) = (root / "m").glob(".*.tmp")
    return left


def test_a_killed_writer_s_temporary_file_is_reported_then_removed(tmp_path):
    root = tmp_path / "results"
    target = FilesystemTarget(root)
    target.save(result(1))
    left = killed_mid_write(root)

    with pytest.warns(TargetWarning) as caught:
        listed = target.list()
    assert [r.inputs["n"] for r in listed] == [1]
    (message,) = [str(w.message) for w in caught]
    assert message == (
        f"{target.name}: 1 temporary file of writers that were stopped mid-write (such as "
        f"{left}); they hold no result, and the next write to their folder removes them"
    )

    FilesystemTarget(root).save(result(2))  # the next write to that folder
    assert not left.exists()
    assert list((root / "m").glob(".*.tmp")) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(target.list()) == 2


def test_a_forked_writer_names_itself_not_its_parent():
    from modelcrate.runtime._filesystem import _writer

    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports and leaves at once
        os.write(write, _writer().encode())
        os._exit(0)
    os.waitpid(child, 0)
    named = os.read(read, 1024).decode()
    assert named.rsplit("~", 1)[1] == str(child) != str(os.getpid())


def test_a_live_writer_s_temporary_file_is_left_alone(tmp_path):
    root = tmp_path / "results"
    (root / "m").mkdir(parents=True)
    from modelcrate.runtime._filesystem import _writer

    host, namespace, _ = _writer().split("~")
    live = root / "m" / f".{host}~{namespace}~{os.getpid()}.abcdefgh.tmp"  # this process
    elsewhere = root / "m" / ".otherhost~1~1.abcdefgh.tmp"  # a writer on another host
    live.write_text("{")
    elsewhere.write_text("{")
    FilesystemTarget(root).save(result(1))
    assert live.exists() and elsewhere.exists()

    hour_ago = time.time() - 3700  # nobody wrote to it for an hour: its writer is gone
    os.utime(elsewhere, (hour_ago, hour_ago))
    FilesystemTarget(root).save(result(2))
    assert live.exists() and not elsewhere.exists()


# -- a killed batch in SQLite ---------------------------------------------------------------------

KILLED_BATCH = """
import sys
from modelcrate.runtime import Result, open_target

target = open_target(sys.argv[1])
results = [Result(model="m", version="1", inputs={"n": n}, outputs={"y": n * 0.5})
           for n in range(200_000)]
print("writing", flush=True)
target.save_many(results)
"""


def test_a_batch_killed_mid_write_keeps_whole_committed_chunks(tmp_path):
    database = tmp_path / "r.db"
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_BATCH, f"sqlite:///{database}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "writing"
        count = 0
        for _ in range(600):  # until the first chunks are committed
            if database.exists():
                with sqlite3.connect(database, timeout=60) as connection:
                    try:
                        count = connection.execute(
                            "SELECT count(*) FROM modelcrate_results"
                        ).fetchone()[0]
                    except sqlite3.OperationalError:  # the table is not made yet
                        count = 0
            if count >= 2000:
                break
            time.sleep(0.05)
        assert count >= 2000
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every stored document is whole and verified
        stored = open_target(f"sqlite:///{database}").list()
    assert len(stored) % 1000 == 0 and len(stored) < 200_000
    assert sorted(r.inputs["n"] for r in stored) == list(range(len(stored)))


# -- reading verifies what is stored --------------------------------------------------------------


def forge(document: dict) -> dict:
    """The document of another result under this one's id (content changed, hash kept)."""
    forged = json.loads(json.dumps(document))
    forged["inputs"]["n"] = 666
    return forged


def replace_stored(target, good: Result, document: dict) -> None:
    """Overwrite the stored document of `good` in whatever target it is in."""
    if isinstance(target, FilesystemTarget):
        target.path_of(good).write_text(json.dumps(document))
    elif target.uri.startswith("mongodb"):
        target.collection.replace_one({"_id": good.hash}, {"_id": good.hash, **document})
    else:
        import sqlalchemy as sa

        from modelcrate.runtime._sql import results_table

        with target.engine.begin() as connection:
            connection.execute(
                sa.update(results_table)
                .where(results_table.c.id == good.hash)
                .values(document=document)
            )


def test_an_altered_document_is_reported_not_listed(any_target):
    good, altered = result(1), result(2)
    any_target.save_many([good, altered])
    replace_stored(any_target, altered, forge(altered.to_document()))

    with pytest.warns(TargetWarning, match="left out 1 stored document that is not a good"):
        listed = any_target.list()
    assert [r.hash for r in listed] == [good.hash]
    message = error_of(lambda: any_target.load(altered.hash[:12]))
    assert message.endswith(
        f"not a good result (its id {altered.hash[:12]!r} is not the hash of its content "
        f"({Result(**{**altered.model_dump(), 'inputs': {'n': 666}, 'hash': ''}).hash[:12]}): "
        "the document was altered); move it out of the target"
    )
    assert any_target.load(good.hash[:12]) == good


def test_a_file_holding_another_result_is_not_listed_under_its_name(tmp_path):
    target = FilesystemTarget(tmp_path)
    good = result(1)
    target.save(good)
    copy = target.path_of(good).with_name("0" * 64 + ".json")
    copy.write_bytes(target.path_of(good).read_bytes())
    with pytest.warns(TargetWarning, match="holds result .* under another name"):
        assert [r.hash for r in target.list()] == [good.hash]


@pytest.mark.parametrize("kind", ["fifo", "link to a device", "link out of the store"])
def test_what_is_not_a_result_file_is_reported_not_read(tmp_path, kind):
    """A pipe would block a reader forever, a link to /dev/zero fill its memory, a link out of
    the store read another file: none is opened as a result."""
    target = FilesystemTarget(tmp_path / "store")
    good = result(1)
    target.save(good)
    odd = target.path_of(good).with_name("5" * 64 + ".json")
    if kind == "fifo":
        os.mkfifo(odd)
    else:
        outside = tmp_path / "outside.json"
        outside.write_text(json.dumps(good.to_document()))
        odd.symlink_to("/dev/zero" if kind == "link to a device" else outside)
    with pytest.warns(TargetWarning, match="not a readable result"):
        assert [r.hash for r in target.list()] == [good.hash]


def bomb(shape: list[int], dtype: str = "<f8", **array) -> dict:
    """A small document whose one output declares an array of `shape`."""
    document = result(1).to_document()
    document["outputs"]["y"] = {"__ndarray__": {"dtype": dtype, "shape": shape, **array}}
    return document


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (
            bomb([16000, 16000], base64=base64.b64encode(b"\0" * 8).decode()),
            "array of shape (16000, 16000) and dtype float64 needs 2048000000 bytes, 8 are stored",
        ),
        (bomb([16000, 16000], data=[1.0]), "array of shape (16000, 16000) needs 256000000 "),
        (bomb([1], "(16000,16000)f8", data=[1.0]), "is not a plain element type"),
        (bomb([-1], data=[]), "array shape [-1] is not a list of sizes"),
    ],
)
def test_a_document_cannot_make_a_reader_allocate_more_than_it_stores(any_target, document, reason):
    good = result(1)
    any_target.save(good)
    replace_stored(any_target, good, document)
    with pytest.warns(TargetWarning, match=re.escape(reason)):
        assert any_target.list() == []
    assert reason in error_of(lambda: any_target.load(good.hash))


# -- strings every target can store ---------------------------------------------------------------


class Labeller(Model):
    spec = parse_spec(
        """
model: {name: labeller}
input_variables:
  label: {type: str, default: ok}
  tags: {type: array, value_type: string, shape: [null], default: [a]}
output_variables:
  echo: {type: str}
""",
        source="labeller.yml",
    )
    version = "1"

    def evaluate(self, inputs):
        return {"echo": inputs["label"]}


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            {"label": "a\x00b"},
            "input 'label' holds a NUL character (\\x00); give text without it",
        ),
        (
            {"label": "a\ud800b"},
            "input 'label' holds a lone surrogate ('\\ud800'), which is not valid Unicode "
            "text; give text without it",
        ),
        (
            {"tags": ["x", "y\x00z"]},
            "input 'tags' holds a NUL character (\\x00); give text without it",
        ),
    ],
)
def test_text_no_target_can_store_is_refused_before_the_model_runs(tmp_path, inputs, message):
    with pytest.raises(InputError) as info:
        run(Labeller(), inputs, [tmp_path])
    assert message in str(info.value)
    assert not (tmp_path / "labeller").exists()


def test_one_bad_string_does_not_take_its_batch_down(any_target):
    good = [result(1), result(2)]
    bad = Result(model="m", version="1", inputs={"n": 3}, outputs={"label": "a\x00b"})
    with pytest.raises(SaveError) as info:
        save_results([good[0], bad, good[1]], [any_target])
    assert str(info.value) == (
        f"{any_target.name}: cannot write 1 of 3 results ({bad.hash[:12]}: "
        "outputs['label'] holds a NUL character (\\x00))"
    )
    assert [s.result for s in info.value.stored] == good
    assert sorted(r.hash for r in any_target.list()) == sorted(r.hash for r in good)


def test_a_row_the_database_refuses_fails_alone(tmp_path):
    # a document the driver cannot write fails the batch insert: the others are then
    # written one by one, and only that one is refused
    target = open_target(f"sqlite:///{tmp_path / 'r.db'}")
    bad = Result(model="m", version="1", inputs={"n": 3}, outputs={"x": float("nan")})
    object.__setattr__(bad, "to_document", lambda: {"x": object()})
    with pytest.raises(PartialWriteError) as info:
        target.save_many([result(1), bad, result(2)])
    assert info.value.locations[1] is None
    assert len(target.list()) == 2


# -- a driver that is not installed ---------------------------------------------------------------


def test_a_missing_driver_fails_its_target_alone(no_pymongo, tmp_path):
    database = f"sqlite:///{tmp_path / 'r.db'}"
    with pytest.raises(SaveError) as info:
        save_results([result(1)], ["mongodb://localhost/results", database])
    assert str(info.value) == (
        "mongodb://localhost/results: needs the database driver 'pymongo'; "
        "pip install 'modelcrate[mongodb]'"
    )
    assert [len(s.locations) for s in info.value.stored] == [1]
    assert len(query_results(database)) == 1
    assert error_of(lambda: query_results("mongodb://localhost/results")) == str(info.value)


# -- CSV export -----------------------------------------------------------------------------------


def test_csv_cells_that_start_like_formulas_are_text():
    hostile = Result(
        model="=cmd|' /C calc'!A0",
        version="1",
        inputs={"a": '=HYPERLINK("http://example.invalid","x")', "b": -1.5, "c": "-2e3"},
        outputs={"d": "+1+1", "e": "@SUM(A1)", "f": "\tx", "g": "\rx", "h": -3, "i": "-x"},
    )
    header, cells = csv.reader(io.StringIO(export_results([hostile], "csv"), newline=""))
    row = dict(zip(header, cells, strict=True))
    assert row["model"] == "'=cmd|' /C calc'!A0"
    assert row["input:a"] == '\'=HYPERLINK("http://example.invalid","x")'
    assert (row["input:b"], row["input:c"], row["output:h"]) == ("-1.5", "-2e3", "-3")
    assert [row[f"output:{k}"] for k in "defgi"] == ["'+1+1", "'@SUM(A1)", "'\tx", "'\rx", "'-x"]


def test_outputs_with_text_no_target_can_store_are_refused(tmp_path):
    class Echo(Labeller):
        def evaluate(self, inputs):
            return {"echo": "x\x00y"}

    from modelcrate import OutputError

    with pytest.raises(OutputError, match=re.escape("holds a NUL character (\\x00)")):
        run(Echo(), {}, [tmp_path])
    assert not (tmp_path / "labeller").exists()
