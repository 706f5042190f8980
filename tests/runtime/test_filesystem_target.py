"""The filesystem result target: one JSON file per result, written atomically, read back."""

from __future__ import annotations

import json
import multiprocessing
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from _results import assert_same_result, key_marks, result_files

from modelcrate import TargetError
from modelcrate.runtime import (
    TARGET_ENV,
    FilesystemTarget,
    Result,
    Target,
    default_target_uri,
    open_target,
)
from modelcrate.runtime._filesystem import stale_temporary_files

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)


def make(i=0, model="injector-surrogate", created=None, **outputs):
    return Result(
        model=model,
        version="1.0.0",
        inputs={"QUAD:IN20:121:BACT": -0.02, "i": i},
        outputs=outputs or {"sigma_x": 0.1 * i},
        units={"QUAD:IN20:121:BACT": "kG", "sigma_x": "mm"},
        created=created or T0 + timedelta(minutes=i),
    )


@pytest.fixture
def target(tmp_path):
    return FilesystemTarget(tmp_path / "results")


# --- saving and loading -------------------------------------------------------------------------

ARRAYS = {
    "float64": np.array([1.5, -2.25]),
    "float32": np.array([0.1, 0.2], dtype=np.float32),
    "int64": np.array([1, 2**40], dtype=np.int64),
    "bool": np.array([True, False]),
    "str": np.array(["QE01", "QE02"]),
    "zero_d": np.array(2.5),
    "empty": np.array([], dtype=np.float32),
    "two_d": np.arange(6, dtype=np.float64).reshape(2, 3),
    "image": np.arange(64, dtype=np.uint16).reshape(8, 8),
}


def test_save_and_load_keep_arrays_exactly(target):
    result = make(**ARRAYS)
    where = target.save(result)
    assert Path(where) == target.root / "injector-surrogate" / f"{result.hash}.json"
    assert Path(where).is_file()

    loaded = target.load(result.id)
    assert_same_result(loaded, result)
    for name, array in ARRAYS.items():
        assert loaded.outputs[name].dtype == array.dtype, name
        assert loaded.outputs[name].shape == array.shape, name
        np.testing.assert_array_equal(loaded.outputs[name], array)


def test_stored_file_is_the_json_document(target):
    result = make(3)
    doc = json.loads(Path(target.save(result)).read_text())
    assert doc["id"] == result.hash
    assert doc["inputs"] == {"QUAD:IN20:121:BACT": -0.02, "i": 3}
    assert doc["units"]["sigma_x"] == "mm"


def test_stored_file_is_readable_as_any_new_file(target):
    import os
    import stat

    stored = target.save(make(3))
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(Path(stored).stat().st_mode) == 0o666 & ~umask


def test_saving_the_same_result_twice_is_a_no_op(target):
    first = make(1)
    where = target.save(first)
    before = Path(where).read_bytes()
    mtime = Path(where).stat().st_mtime_ns

    again = make(1, created=T0 + timedelta(days=3))  # same content, later
    assert again.hash == first.hash
    assert target.save(again) == where
    assert target.save(first) == where
    assert result_files(target.root) == [Path(where)]
    assert key_marks(target.root) == [Path(where).parent / ".keys" / first.key[:2] / first.key]
    assert Path(where).read_bytes() == before
    assert Path(where).stat().st_mtime_ns == mtime
    assert target.load(first.id).created == first.created


def test_no_temporary_files_are_left(target):
    for i in range(20):
        target.save(make(i))
        target.save(make(i))
    names = [p.name for p in result_files(target.root)]
    assert len(names) == 20
    assert all(name.endswith(".json") and not name.startswith(".") for name in names)
    assert not [n for n in names if n.endswith(".tmp")]


def test_load_by_id_prefix(target):
    result = make(5)
    target.save(result)
    target.save(make(6))
    assert target.load(result.id[:12]).hash == result.hash
    assert target.load(result.id).hash == result.hash


def test_ambiguous_prefix_is_an_error(target):
    results = [make(i) for i in range(17)]  # 17 hashes: two share a first hex digit
    for result in results:
        target.save(result)
    by_first: dict[str, list[Result]] = {}
    for result in results:
        by_first.setdefault(result.id[0], []).append(result)
    prefix, shared = next((k, v) for k, v in by_first.items() if len(v) > 1)
    with pytest.raises(TargetError) as info:
        target.load(prefix)
    message = str(info.value)
    assert target.uri in message
    assert f"id {prefix!r} matches {len(shared)} results; give more of it" in message


def test_unknown_id_is_an_error(target):
    target.save(make(1))
    with pytest.raises(TargetError) as info:
        target.load("not-a-hash")
    assert target.uri in str(info.value)
    assert "no result with id 'not-a-hash'" in str(info.value)


def test_loading_from_an_empty_or_missing_directory(tmp_path):
    empty = FilesystemTarget(tmp_path / "never-created")
    assert empty.list() == []
    with pytest.raises(TargetError, match="no result with id 'abc'"):
        empty.load("abc")
    assert not (tmp_path / "never-created").exists()  # reading creates nothing


def test_a_corrupt_file_is_a_target_error(target):
    result = make(1)
    path = Path(target.save(result))
    path.write_text("{not json")
    with pytest.raises(TargetError) as info:
        target.load(result.id)
    assert str(path) in str(info.value) and "not a readable result" in str(info.value)


def test_unwritable_root_is_a_target_error(tmp_path):
    blocker = tmp_path / "results"
    blocker.write_text("a file, not a directory")
    target = FilesystemTarget(blocker)
    with pytest.raises(TargetError) as info:
        target.save(make(1))
    assert target.uri in str(info.value) and "cannot write result" in str(info.value)


# --- listing ------------------------------------------------------------------------------------


def test_list_returns_results_oldest_first(target):
    results = [make(i) for i in (3, 1, 2, 0)]
    for result in results:
        target.save(result)
    listed = target.list()
    assert [r.inputs["i"] for r in listed] == [0, 1, 2, 3]
    assert all(isinstance(r, Result) for r in listed)


def test_list_filters_by_model_and_time(target):
    for i in range(4):
        target.save(make(i, model="injector-surrogate"))
        target.save(make(i, model="QUAD:scan"))  # a name with a colon
    assert len(target.list()) == 8
    assert {r.model for r in target.list(model="injector-surrogate")} == {"injector-surrogate"}
    assert len(target.list(model="injector-surrogate")) == 4
    assert {r.model for r in target.list(model="QUAD:scan")} == {"QUAD:scan"}
    assert target.list(model="no-such-model") == []

    since = T0 + timedelta(minutes=2)
    recent = target.list(since=since)
    assert sorted(r.inputs["i"] for r in recent) == [2, 2, 3, 3]
    assert all(r.created >= since for r in recent)
    both = target.list(model="QUAD:scan", since=since)
    assert [(r.model, r.inputs["i"]) for r in both] == [("QUAD:scan", 2), ("QUAD:scan", 3)]
    assert target.list(since=T0 + timedelta(days=1)) == []


def test_list_skips_temporary_files(target):
    target.save(make(1))
    (target.root / "injector-surrogate" / ".abc123.tmp").write_text("{half a res")
    assert len(target.list()) == 1


# --- the inputs-key marks ----------------------------------------------------------------------


def mark_of(target: FilesystemTarget, result: Result) -> Path:
    return target.path_of(result).parent / ".keys" / result.key[:2] / result.key


def test_each_stored_result_marks_its_key(target):
    results = [make(1), make(2, model="QUAD:scan")]
    target.save_many(results)
    assert key_marks(target.root) == sorted(mark_of(target, r) for r in results)
    assert all(m.stat().st_size == 0 for m in key_marks(target.root))
    keys = [r.key for r in results]
    assert target.stored_keys([*keys, make(3).key]) == set(keys)


def test_key_marks_are_no_results(target, run_cli):
    results = [make(i) for i in range(3)]
    target.save_many(results)
    marks = key_marks(target.root)
    assert len(marks) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no stale or bad files either
        assert [r.hash for r in target.list()] == [r.hash for r in results]
        assert len(list(target.query(model="injector-surrogate"))) == 3
    for mark in marks:
        with pytest.raises(TargetError, match="no result with id"):
            target.load(mark.name[:12])
    assert stale_temporary_files(target.root / "injector-surrogate") == []
    code, out, err = run_cli("results", "list", "-t", target.root)
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == f"3 results in {target.uri}"
    code, out, err = run_cli("results", "export", "-t", target.root)
    assert code == 0 and len(json.loads(out)) == 3


def test_a_result_left_without_its_mark_is_marked_when_stored_again(target):
    result = make(1)
    where = Path(target.save(result))
    mtime = where.stat().st_mtime_ns
    mark_of(target, result).unlink()  # as if the writer were killed between the two steps
    assert target.stored_keys([result.key]) == set()
    assert target.list() == [result]  # the result itself is whole

    assert target.save(make(1, created=T0 + timedelta(days=1))) == str(where)  # a no-op...
    assert where.stat().st_mtime_ns == mtime
    assert target.stored_keys([result.key]) == {result.key}  # ...that marks it


def test_stored_keys_of_a_missing_folder_or_one_with_other_files(tmp_path):
    assert FilesystemTarget(tmp_path / "missing").stored_keys([make(1).key]) == set()
    assert not (tmp_path / "missing").exists()
    target = FilesystemTarget(tmp_path / "results")
    target.save(make(1))
    (target.root / "README").write_text("not a model folder")
    assert target.stored_keys([make(1).key, make(2).key]) == {make(1).key}


def test_stored_keys_of_a_file_that_is_no_folder(tmp_path):
    (tmp_path / "results").write_text("")
    target = FilesystemTarget(tmp_path / "results")
    with pytest.raises(TargetError) as info:
        target.stored_keys([make(1).key])
    assert str(info.value) == f"{target.uri}: cannot read results (Not a directory)"


# --- a target is named by a URI -----------------------------------------------------------------


def test_filesystem_target_is_a_target(target):
    assert isinstance(target, Target)
    assert target.uri == target.root.as_uri()
    assert target.uri.startswith("file:///")
    assert repr(target) == f"FilesystemTarget({str(target.root)!r})"


def test_open_target_file_uri(tmp_path):
    root = (tmp_path / "store").resolve()
    target = open_target(root.as_uri())
    assert isinstance(target, FilesystemTarget)
    assert target.root == root
    assert open_target(f"file://localhost{root}").root == root


def test_open_target_uri_with_spaces_round_trips(tmp_path):
    root = (tmp_path / "my results").resolve()
    target = FilesystemTarget(root)
    assert "%20" in target.uri
    assert open_target(target.uri).root == root
    result = make(1)
    target.save(result)
    assert open_target(target.uri).load(result.id).hash == result.hash


def test_open_target_plain_paths(tmp_path, monkeypatch):
    base = tmp_path.resolve()
    assert open_target("results", base=base).root == base / "results"
    assert open_target(Path("a/b"), base=base).root == base / "a" / "b"
    assert open_target(str(base / "abs")).root == base / "abs"
    assert open_target(str(base / "abs"), base=Path("/elsewhere")).root == base / "abs"
    monkeypatch.chdir(base)
    assert open_target("here").root == base / "here"


@pytest.mark.parametrize(
    "uri", ["s3://bucket/results", "ftp://host/results", "http://example.org/results"]
)
def test_open_target_unsupported_scheme(uri):
    with pytest.raises(TargetError) as info:
        open_target(uri)
    message = str(info.value)
    assert message.startswith(uri)
    assert "unsupported target scheme" in message
    assert "file:///path" in message


def test_open_target_file_uri_without_path():
    with pytest.raises(TargetError, match="a file target needs a path"):
        open_target("file://")


def test_default_target_uri(tmp_path, monkeypatch):
    monkeypatch.delenv(TARGET_ENV, raising=False)
    assert default_target_uri(tmp_path) == (tmp_path / "results").resolve().as_uri()
    monkeypatch.chdir(tmp_path)
    assert default_target_uri() == (tmp_path / "results").resolve().as_uri()
    monkeypatch.setenv(TARGET_ENV, "file:///data/results")
    assert default_target_uri(tmp_path) == "file:///data/results"


# --- many writers -------------------------------------------------------------------------------

WORKERS = 8
PER_WORKER = 50


def _save_many(root: str, worker: int) -> list[str]:
    target = FilesystemTarget(root)
    paths = []
    for i in range(PER_WORKER):
        result = Result(
            model="injector-surrogate",
            version="1.0.0",
            inputs={"worker": worker, "i": i},
            outputs={"profile": np.full(16, worker * 1000.0 + i, dtype=np.float32)},
        )
        paths.append(target.save(result))
        # every worker also stores one shared result, at a different moment each
        if i == worker * 5:
            shared = Result(model="injector-surrogate", version="1.0.0", inputs={}, outputs={})
            paths.append(target.save(shared))
    return paths


def test_concurrent_writers_lose_nothing(tmp_path):
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    root = tmp_path / "shared-results"
    with multiprocessing.get_context(method).Pool(WORKERS) as pool:
        returned = pool.starmap(_save_many, [(str(root), w) for w in range(WORKERS)])

    files = result_files(root)
    assert not [p for p in files if p.suffix != ".json"], "temporary files left behind"
    assert len(files) == WORKERS * PER_WORKER + 1
    assert {str(p) for p in files} == {p for paths in returned for p in paths}
    assert len(key_marks(root)) == WORKERS * PER_WORKER + 1  # the shared result marked once

    target = FilesystemTarget(root)
    results = target.list(model="injector-surrogate")
    assert len(results) == WORKERS * PER_WORKER + 1
    seen = set()
    for result in results:
        if not result.inputs:
            continue
        key = (result.inputs["worker"], result.inputs["i"])
        profile = result.outputs["profile"]
        assert profile.dtype == np.float32 and profile.shape == (16,)
        assert profile[0] == key[0] * 1000.0 + key[1]
        seen.add(key)
    assert seen == {(w, i) for w in range(WORKERS) for i in range(PER_WORKER)}


# --- known bugs ---------------------------------------------------------------------------------


def test_list_by_model_does_not_mix_models_with_similar_names(target):
    target.save(make(1, model="lcls:injector"))
    target.save(make(2, model="lcls_injector"))
    assert [r.model for r in target.list(model="lcls:injector")] == ["lcls:injector"]


def test_a_model_named_dot_dot_stays_inside_the_target(tmp_path):
    target = FilesystemTarget(tmp_path / "results")
    result = make(1, model="..")
    where = Path(target.save(result))
    assert where.resolve().is_relative_to(target.root)
    assert target.load(result.id).hash == result.hash


def test_list_since_a_naive_datetime(target):
    target.save(make(1))
    assert len(target.list(since=datetime(2000, 1, 1))) == 1
