"""Many processes writing one target at once, and a writer killed mid-write, lose nothing."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import sqlalchemy as sa
from _results import key_marks, result_files

from modelcrate.runtime import FilesystemTarget, Result, open_target
from modelcrate.runtime._result import content_hash

# Writes `count` results (forever if negative), `batch` at a time, into every target URI given,
# after printing "ready" and reading a line so that all writers start at once; prints the
# index of each result once it is stored in every target.
WRITER = """
import sys
from datetime import datetime, timedelta, timezone

import numpy as np

from modelcrate.runtime import Result, open_target

worker, count, size, batch = map(int, sys.argv[1:5])
targets = [open_target(uri) for uri in sys.argv[5:]]
t0 = datetime(2024, 5, 1, tzinfo=timezone.utc)


def make(i):
    return Result(
        model="injector-surrogate",
        version="1.0.0",
        inputs={"worker": worker, "i": i},
        outputs={"profile": np.full(size, worker * 1e5 + i, dtype=np.float32)},
        created=t0 + timedelta(milliseconds=1 + worker * 100_000 + i),
    )


shared = Result(model="injector-surrogate", version="1.0.0", inputs={}, outputs={}, created=t0)
print("ready", flush=True)
sys.stdin.readline()
for target in targets:
    target.save(shared)  # every writer stores this one, all at the same moment
i = 0
while count < 0 or i < count:
    chunk = [make(j) for j in range(i, i + batch if count < 0 else min(i + batch, count))]
    for target in targets:
        target.save_many(chunk)
    print(*range(i, i + len(chunk)), sep="\\n", flush=True)
    i += len(chunk)
"""


@pytest.fixture(scope="module")
def writer_env(tmp_path_factory) -> dict[str, str]:
    """The writers' environment: no MODELCRATE_* settings, and compiled modules cached (in a
    folder of their own) so that eight processes starting at once do not each compile them."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MODELCRATE_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.mktemp("pycache"))
    warm = "import numpy, alembic.command, modelcrate.runtime._sql, modelcrate.runtime._filesystem"
    subprocess.run([sys.executable, "-c", warm], env=env, check=True)
    return env


@pytest.fixture
def start_writers(writer_env):
    """Start writer processes, wait until each is ready, then let them all go at once;
    any still running when the test ends are killed."""
    started: list[subprocess.Popen] = []

    def start(workers: int, count: int, uris: list[str], size=16, batch=1):
        for w in range(workers):
            started.append(
                subprocess.Popen(
                    [sys.executable, "-c", WRITER, *map(str, (w, count, size, batch)), *uris],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=writer_env,
                )
            )
        for process in started:
            line = process.stdout.readline()
            assert line == "ready\n", process.communicate()[1]
        for process in started:
            process.stdin.write("go\n")
            process.stdin.flush()
        return list(started)

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate()


def wait_for(processes) -> None:
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err


def check_stored(target, workers: int, per_worker: int) -> list[Result]:
    """Every result of every writer is stored once, intact."""
    results = target.list()
    assert len(results) == workers * per_worker + 1
    seen = set()
    for result in results:
        if not result.inputs:  # the shared one
            continue
        worker, i = result.inputs["worker"], result.inputs["i"]
        profile = result.outputs["profile"]
        assert profile.dtype == np.float32 and profile.shape == (16,)
        assert profile[0] == np.float32(worker * 1e5 + i)
        seen.add((worker, i))
    assert seen == {(w, i) for w in range(workers) for i in range(per_worker)}
    return results


def migrations_of(uri: str) -> list[str]:
    """The migrations recorded in a database: one row per applied head."""
    url = sa.make_url(uri)
    if url.get_backend_name() == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return list(
                connection.exec_driver_sql(
                    "SELECT version_num FROM modelcrate_alembic_version"
                ).scalars()
            )
    finally:
        engine.dispose()


def intact(document: dict) -> bool:
    """Whether a stored document is a whole result (its content still gives its hash)."""
    result = Result.from_document(document)
    return content_hash(result.model, result.version, result.inputs, result.outputs) == result.hash


@pytest.mark.slow  # eight interpreters starting at once: about 5-10 s
def test_eight_writers_into_one_file_and_one_sqlite_target(tmp_path, start_writers):
    workers, per_worker = 8, 100
    root = tmp_path / "results"
    sqlite_uri = f"sqlite:///{tmp_path / 'results.db'}"  # new: the writers race to create it
    uris = [root.as_uri(), sqlite_uri]
    wait_for(start_writers(workers, per_worker, uris, batch=5))

    files = result_files(root)
    assert len(files) == workers * per_worker + 1
    assert all(p.suffix == ".json" and not p.name.startswith(".") for p in files)
    assert len(key_marks(root)) == workers * per_worker + 1
    from_files = check_stored(FilesystemTarget(root), workers, per_worker)

    sqlite = open_target(sqlite_uri)
    from_sqlite = check_stored(sqlite, workers, per_worker)
    assert [r.to_document() for r in from_sqlite] == [r.to_document() for r in from_files]
    for result in from_sqlite:
        assert sqlite.load(result.id) == result
    target = FilesystemTarget(root)
    for result in from_files[::40]:
        assert target.load(result.id) == result
    assert migrations_of(sqlite_uri) == ["0002"]


def test_four_writers_first_use_one_postgresql_database(postgresql_db, start_writers):
    workers, per_worker = 4, 25
    wait_for(start_writers(workers, per_worker, [postgresql_db]))
    target = open_target(postgresql_db)
    for result in check_stored(target, workers, per_worker):
        assert target.load(result.id) == result
    assert migrations_of(postgresql_db) == ["0002"]


def test_a_writer_killed_mid_write_leaves_whole_results(tmp_path, start_writers):
    root = tmp_path / "results"
    sqlite_uri = f"sqlite:///{tmp_path / 'results.db'}"
    # results of ~100 kB each, written one at a time without end
    [writer] = start_writers(1, -1, [root.as_uri(), sqlite_uri], size=20_000)
    for _ in range(10):
        assert writer.stdout.readline(), writer.communicate()[1]
    time.sleep(random.uniform(0, 0.5))  # then kill it at any point of a write
    writer.send_signal(signal.SIGKILL)
    out, _ = writer.communicate(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    done = 10 + len(out.split())  # results stored in both targets before the kill

    files = list(root.rglob("*.json"))
    for path in files:
        assert intact(json.loads(path.read_text())), path
    from_files = FilesystemTarget(root).list()  # skips a half-written temporary file
    assert done + 1 <= len(from_files) == len(files) <= done + 2

    sqlite = open_target(sqlite_uri)
    from_sqlite = sqlite.list()
    assert done + 1 <= len(from_sqlite) <= done + 2
    for result in from_sqlite:
        loaded = sqlite.load(result.id)
        assert intact(loaded.to_document())
        assert loaded.outputs.get("profile", np.zeros(20_000)).shape == (20_000,)
    assert {r.hash for r in from_sqlite} <= {r.hash for r in from_files}
