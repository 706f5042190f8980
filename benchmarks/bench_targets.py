"""How fast each result target stores results, against dumping the same documents as JSON files.

    python benchmarks/bench_targets.py [--repeat N] [--repeat-large N]
        [--postgresql URL] [--mongodb URL] [--small N] [--large N]

Measures, in this process, results written per second by one `save_many` call into a fresh,
empty target (so every result is really written), median of the runs, interleaved:
  (a) small: 10,000 results with a few scalar inputs and outputs (--repeat, default 3);
  (b) large: 100 results each with a 1000x1000 float64 array output, 8 MB of data each
      (stored as base64 in the document; --repeat-large, default 1).
Targets (each first used untimed, so SQL migrations and MongoDB indexes are not counted):
  - a directory, as `modelcrate run` writes it (each file fsynced), and with fsync off
    (MODELCRATE_FSYNC=false);
  - SQLite (a new file per run);
  - PostgreSQL with --postgresql URL or $TEST_POSTGRESQL_URL (a new database per run, dropped
    afterwards, so the URL's user needs CREATEDB), else skipped;
  - MongoDB only with --mongodb URL of a real server (a new database per run, dropped
    afterwards), else skipped.
Baseline: a bare loop of `json.dump(result.to_document(), fh)` into one file per result in a
temporary directory (no fsync, no temporary name). `to_document` is part of both: for the large
results most of the time is its base64 encoding of the arrays.
Prints results/s for each and the ratio to the baseline (above 1: faster than the baseline).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import _common as c

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
ARRAY_SHAPE = (1000, 1000)


def small_results(n: int) -> list[Any]:
    """N results of a few scalar inputs and outputs, a millisecond apart."""
    from modelcrate.runtime import Result

    return [
        Result(
            model="bench-small",
            version="1.0.0",
            inputs={"laser_radius": 0.1 + i * 1e-5, "bunch_charge": 100.0, "index": i},
            outputs={"sigma_x": 0.4 + i * 1e-6, "sigma_y": 0.41, "converged": True},
            units={"laser_radius": "mm", "bunch_charge": "pC", "sigma_x": "mm", "sigma_y": "mm"},
            created=T0 + timedelta(milliseconds=i),
        )
        for i in range(n)
    ]


def large_results(n: int) -> list[Any]:
    """N results, each with its own 1000x1000 float64 array output."""
    import numpy as np

    from modelcrate.runtime import Result

    rng = np.random.default_rng(0)
    return [
        Result(
            model="bench-large",
            version="1.0.0",
            inputs={"index": i},
            outputs={"image": rng.random(ARRAY_SHAPE), "total": float(i)},
            units={"image": "pC/mm^2"},
            created=T0 + timedelta(seconds=i),
        )
        for i in range(n)
    ]


# -- targets: each yields a fresh, empty target (already connected) and cleans up after ----------

Fresh = Callable[[Path], Any]  # a context manager factory: tmp dir -> target


@contextmanager
def fresh_directory(tmp: Path, *, fsync: bool = True) -> Iterator[Any]:
    from modelcrate.runtime import FilesystemTarget

    yield FilesystemTarget(tmp / f"results-{uuid.uuid4().hex[:8]}", fsync=fsync)


@contextmanager
def fresh_sqlite(tmp: Path) -> Iterator[Any]:
    from modelcrate.runtime import _sql, open_target

    target = open_target(f"sqlite:///{tmp / f'results-{uuid.uuid4().hex[:8]}.db'}")
    list(target.query(limit=1))  # creates the table (untimed)
    try:
        yield target
    finally:
        _sql.forget_engines()


def postgresql_factory(url: str) -> tuple[Fresh | None, str]:
    """A factory of new PostgreSQL databases on the server of `url`, or None and why not."""
    import sqlalchemy as sa

    from modelcrate.runtime import _sql, mask_uri

    base = sa.make_url(url).set(drivername="postgresql+psycopg")
    try:
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except Exception as exc:  # any failure means: skip, saying why
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"cannot connect to {mask_uri(url)} ({reason})"

    @contextmanager
    def fresh(tmp: Path) -> Iterator[Any]:
        from modelcrate.runtime import open_target

        name = f"modelcrate_bench_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            target = open_target(base.set(database=name).render_as_string(hide_password=False))
            list(target.query(limit=1))  # creates the table (untimed)
            yield target
        finally:
            _sql.forget_engines()
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return fresh, mask_uri(url)


def mongodb_factory(url: str) -> tuple[Fresh | None, str]:
    """A factory of new databases on the MongoDB server of `url`, or None and why not."""
    from modelcrate.runtime import mask_uri

    try:
        import pymongo

        client = pymongo.MongoClient(url, serverSelectionTimeoutMS=5000)
        client.admin.command("ping")
    except Exception as exc:  # any failure means: skip, saying why
        reason = str(exc).strip().splitlines()[0]
        for noise in (", Timeout:", " (configured timeouts:"):  # pymongo's topology details
            reason = reason.split(noise)[0]
        return None, f"cannot reach {mask_uri(url)} ({reason})"

    @contextmanager
    def fresh(tmp: Path) -> Iterator[Any]:
        from modelcrate.runtime import open_target

        name = f"modelcrate_bench_{uuid.uuid4().hex[:12]}"
        target = open_target(urlunsplit(urlsplit(url)._replace(path=f"/{name}")))
        try:
            list(target.query(limit=1))  # connects and creates the indexes (untimed)
            yield target
        finally:
            client.drop_database(name)

    return fresh, mask_uri(url)


# -- measuring ------------------------------------------------------------------------------------


def time_target(fresh: Fresh, results: list[Any], tmp: Path) -> float:
    """Seconds one `save_many(results)` takes in a fresh target."""
    with fresh(tmp) as target:
        start = time.perf_counter()
        locations = target.save_many(results)
        elapsed = time.perf_counter() - start
    if len(locations) != len(results):
        raise RuntimeError(f"{target!r} returned {len(locations)} locations for {len(results)}")
    return elapsed


def time_baseline(results: list[Any], tmp: Path) -> float:
    """Seconds a bare loop of json.dump(result.to_document(), fh), one file each, takes."""
    directory = tmp / f"baseline-{uuid.uuid4().hex[:8]}"
    directory.mkdir()
    start = time.perf_counter()
    for result in results:
        with open(directory / f"{result.hash}.json", "w", encoding="utf-8") as fh:
            json.dump(result.to_document(), fh)
    return time.perf_counter() - start


def measure(
    results: list[Any], variants: dict[str, Fresh | None], repeat: int
) -> dict[str, list[float]]:
    """Seconds of each variant (None: the baseline), `repeat` interleaved runs."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeat):
        for name, fresh in variants.items():
            with c.workdir("bench-targets-") as tmp:
                if fresh is None:
                    times[name].append(time_baseline(results, tmp))
                else:
                    times[name].append(time_target(fresh, results, tmp))
    return times


def report(title: str, n: int, times: dict[str, list[float]], baseline: str, mb: float) -> None:
    base_rate = n / statistics.median(times[baseline])
    width = max(len(name) for name in times)
    print(f"\n  {title}")
    print(f"    {'target':<{width}}  {'results/s':>10}  {'(min..max)':>19}  {'vs baseline':>11}")
    for name, seconds in times.items():
        rate = n / statistics.median(seconds)
        low, high = n / max(seconds), n / min(seconds)
        extra = f"  {rate * mb:6.0f} MB/s" if mb else ""
        print(
            f"    {name:<{width}}  {rate:10.1f}  {f'({low:.1f}..{high:.1f})':>19}"
            f"  {rate / base_rate:10.2f}x{extra}"
        )


def main() -> int:
    p = c.parser(__doc__.splitlines()[0], repeat=3)
    p.add_argument(
        "--repeat-large",
        type=int,
        default=1,
        help="timed runs of the large results (default: 1)",
    )
    p.add_argument("--small", type=int, default=10_000, help="small results (default: 10000)")
    p.add_argument("--large", type=int, default=100, help="large results (default: 100)")
    p.add_argument(
        "--postgresql",
        metavar="URL",
        default=os.environ.get("TEST_POSTGRESQL_URL"),
        help="a PostgreSQL server whose user may create databases "
        "[default: $TEST_POSTGRESQL_URL, else skipped]",
    )
    p.add_argument(
        "--mongodb", metavar="URL", help="a MongoDB server, e.g. mongodb://localhost:27017"
    )
    args = p.parse_args()
    env = c.use_checkout(args.installed)
    print(f"bench_targets: {c.describe_modelcrate(env)}; python {sys.version.split()[0]}")
    print(
        f"  small: {args.small} results (3 scalar inputs, 3 outputs), repeat {args.repeat}; "
        f"large: {args.large} results of a {ARRAY_SHAPE[0]}x{ARRAY_SHAPE[1]} float64 array, "
        f"repeat {args.repeat_large}"
    )
    print(f"  files in {tempfile.gettempdir()}; median reported, min..max in brackets")

    baseline = "baseline: json.dump per file"
    variants: dict[str, Fresh | None] = {
        baseline: None,
        "file:// (fsync)": fresh_directory,
        "file:// (fsync off)": lambda tmp: fresh_directory(tmp, fsync=False),
        "sqlite:///": fresh_sqlite,
    }
    skipped: list[str] = []
    servers = (
        ("postgresql", args.postgresql, postgresql_factory,
         "no --postgresql URL nor TEST_POSTGRESQL_URL; skipped"),
        ("mongodb", args.mongodb, mongodb_factory, "no --mongodb URL (no server here; skipped)"),
    )  # fmt: skip
    for scheme, url, factory, missing in servers:
        if not url:
            skipped.append(f"{scheme}: {missing}")
            continue
        fresh, why = factory(url)
        if fresh is None:
            skipped.append(f"{scheme}: {why}; skipped")
        else:
            variants[f"{scheme}://"] = fresh
            print(f"  {scheme}: {why} (a new database per run)")
    for line in skipped:
        print(f"  {line}")

    small = small_results(args.small)
    measure(small[:50], variants, 1)  # warm-up: imports, first connections
    times = measure(small, variants, args.repeat)
    report(f"(a) {args.small} small results, one save_many call", args.small, times, baseline, 0)
    del small

    large = large_results(args.large)
    mb = large[0].outputs["image"].nbytes / 1e6
    times = measure(large, variants, args.repeat_large)
    report(
        f"(b) {args.large} results of a {mb:.0f} MB array, one save_many call (MB/s of array data)",
        args.large,
        times,
        baseline,
        mb,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
