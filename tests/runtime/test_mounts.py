"""A file target named by a host path, written inside a container through MODELCRATE_MOUNTS."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from _results import result_files

from modelcrate import TargetError
from modelcrate.runtime import (
    FilesystemTarget,
    Mount,
    Result,
    load_file,
    open_target,
    save_results,
)

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)
MOUNTS = "MODELCRATE_MOUNTS"


def make(i=0, model="injector-surrogate") -> Result:
    return Result(
        model=model,
        version="1.0.0",
        inputs={"i": i},
        outputs={"profile": np.arange(4, dtype=np.float32) * i},
        created=T0 + timedelta(seconds=i),
    )


@pytest.fixture
def host(tmp_path) -> Path:
    """The directory as the host names it: it does not exist here, as in a container."""
    return tmp_path / "host" / "data" / "results"


@pytest.fixture
def container(tmp_path) -> Path:
    """Where the host directory is mounted in the container."""
    return tmp_path / "mnt" / "results"


def test_results_go_into_the_mount_and_report_host_paths(host, container, monkeypatch):
    monkeypatch.setenv(MOUNTS, f"{host}:{container}")
    target = open_target(host.as_uri())
    assert isinstance(target, FilesystemTarget)
    assert (target.root, target.storage, target.uri) == (host, container, host.as_uri())

    results = [make(1), make(2)]
    locations = target.save_many(results)
    assert locations == [str(host / "injector-surrogate" / f"{r.hash}.json") for r in results]
    assert result_files(container) == sorted(
        container / Path(p).relative_to(host) for p in locations
    )
    assert not host.parent.parent.exists()  # nothing written at the host path
    keys = [r.key for r in results]
    assert (container / "injector-surrogate" / ".keys" / keys[0][:2] / keys[0]).is_file()
    assert target.stored_keys([*keys, make(3).key]) == set(keys)

    assert [r.hash for r in target.list()] == [r.hash for r in results]
    assert target.load(results[0].id[:10]) == results[0]
    assert open_target(str(host)).load(results[1].id) == results[1]
    # the files are ordinary result files, as the host sees them
    assert [r.hash for r in FilesystemTarget(container).list()] == [r.hash for r in results]


def test_save_results_reports_host_paths(host, container, monkeypatch):
    monkeypatch.setenv(MOUNTS, f"{host}:{container}")
    result = make(1)
    [stored] = save_results([result], [host.as_uri()])
    assert stored.locations == [str(host / "injector-surrogate" / f"{result.hash}.json")]
    assert (container / "injector-surrogate" / f"{result.hash}.json").is_file()


def test_the_documented_example(container, monkeypatch):
    if Path("/data").exists():
        pytest.skip("/data exists on this machine")
    monkeypatch.setenv(MOUNTS, f"/data/results:{container}")
    target = open_target("file:///data/results")
    where = target.save(make(1))
    assert where == f"/data/results/injector-surrogate/{make(1).hash}.json"
    assert (container / "injector-surrogate" / f"{make(1).hash}.json").is_file()
    assert not Path("/data").exists()
    assert target.load(make(1).id) == make(1)


def test_a_folder_inside_a_mount(host, container, monkeypatch):
    monkeypatch.setenv(MOUNTS, f"{host}:{container}")
    target = open_target((host / "scans" / "2024").as_uri())
    assert target.storage == container / "scans" / "2024"
    where = target.save(make(1))
    assert where.startswith(str(host / "scans" / "2024") + "/")
    assert [p.relative_to(container) for p in result_files(container)] == [
        Path("scans", "2024", "injector-surrogate", f"{make(1).hash}.json")
    ]


@pytest.mark.parametrize("deep_first", [True, False])
def test_the_longest_mount_wins(tmp_path, monkeypatch, deep_first):
    host = tmp_path / "host"
    outer, inner = tmp_path / "mnt-outer", tmp_path / "mnt-inner"
    mounts = [f"{host}:{outer}", f"{host / 'results' / 'fast'}:{inner}"]
    monkeypatch.setenv(MOUNTS, ",".join(mounts[::-1] if deep_first else mounts))

    deep = open_target(host / "results" / "fast" / "run1")
    shallow = open_target(host / "results" / "slow")
    assert deep.storage == inner / "run1"
    assert shallow.storage == outer / "results" / "slow"
    deep.save(make(1))
    shallow.save(make(2))
    assert [p.relative_to(tmp_path) for p in result_files(tmp_path)] == [
        Path("mnt-inner", "run1", "injector-surrogate", f"{make(1).hash}.json"),
        Path("mnt-outer", "results", "slow", "injector-surrogate", f"{make(2).hash}.json"),
    ]


def test_a_path_outside_every_mount_is_untouched(tmp_path, host, container, monkeypatch):
    monkeypatch.setenv(MOUNTS, f"{host}:{container}")
    for outside in (tmp_path / "elsewhere", Path(f"{host}-old"), host.parent):
        target = open_target(outside)
        assert target.storage == target.root == outside
        where = target.save(make(1))
        assert Path(where).is_file() and Path(where).is_relative_to(outside)
    assert not container.exists()


def test_docker_style_mount_options_and_trailing_slashes(host, container, monkeypatch):
    monkeypatch.setenv(MOUNTS, f"{host}/:{container}/:rw")
    target = open_target(host)
    assert target.storage == container
    target.save(make(1))
    assert len(result_files(container)) == 1


def test_mounts_given_directly(host, container, monkeypatch):
    monkeypatch.delenv(MOUNTS, raising=False)
    mounted = FilesystemTarget(host, mounts=[Mount(host=str(host), container=str(container))])
    assert mounted.storage == container
    plain = open_target(host)  # no mount set: the path is used as it is
    assert plain.storage == host
    mounted.save(make(1))
    assert plain.list() == []
    assert [r.hash for r in mounted.list()] == [make(1).hash]


# --- reading a result file by the location a run printed ----------------------------------------


def test_load_file_reads_a_result_by_its_host_path(host, container, monkeypatch):
    monkeypatch.setenv(MOUNTS, f"{host}:{container}")
    result = make(3)
    where = open_target(host).save(result)
    assert not Path(where).exists()  # a host path, not visible here...

    for name in (where, Path(where), Path(where).as_uri()):
        loaded = load_file(name)  # ...but read where the mount puts it
        assert isinstance(loaded, Result) and loaded == result
        assert loaded.outputs["profile"].dtype == np.float32

    monkeypatch.delenv(MOUNTS)
    mounts = [Mount(host=str(host), container=str(container))]
    assert load_file(where, mounts=mounts) == result
    with pytest.raises(TargetError, match="no such file; check the path or MODELCRATE_MOUNTS"):
        load_file(where)


def test_load_file_names_both_paths_when_missing(host, container, monkeypatch):
    monkeypatch.setenv(MOUNTS, f"{host}:{container}")
    missing = host / "injector-surrogate" / "0000.json"
    with pytest.raises(TargetError) as info:
        load_file(missing)
    assert str(info.value) == (
        f"{missing} (in this container: {container / 'injector-surrogate' / '0000.json'}): "
        "no such file; check the path or MODELCRATE_MOUNTS"
    )
