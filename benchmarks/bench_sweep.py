"""Sweeps on a local Dask cluster against one process: the speed-up for a 1 ms model, and the
cost per input set when the model costs nothing.

    python benchmarks/bench_sweep.py [--sets 100000] [--cheap-sets 100000] [--quick]
        [--workers N] [--chunk-size N] [--repeat N]

Sets up two projects in a temporary directory with `modelcrate new` (inputs x and y in [0, 1],
outputs a and b) and replaces their model.py:
  busy  `evaluate` runs a pure-Python loop (holding the GIL) calibrated here at start to ~1 ms,
        one call per set (no vectorised evaluate_batch);
  free  `evaluate` returns constants.
Every run writes to a fresh SQLite file.

1. Speed-up (the headline; the real command line in subprocesses, as a user runs it), on
   --sets input sets of the busy model (`--grid x=0:1:N`):
     (a) `modelcrate sweep PROJECT --grid ... -t sqlite:///...`  (one process: the baseline)
     (b) the same with `--dask`  (a local cluster of one worker process per core)
   Start-up is the wall time of the same command on a 2-set sweep (process start and imports;
   for (b) also the temporary Prefect server and the cluster, started and stopped); the sweep
   itself is the wall time minus that. Speed-up (b)/(a) is reported both including and excluding
   start-up. Goal on 2 cores: >= 1.6x excluding start-up.
2. Per-set overhead (in one child process, warm: the Prefect server and the cluster are started
   and used once before timing), on --cheap-sets sets of the free model, µs per set of:
     direct  `runtime.run(model, sets, target)`  (the baseline)
     sweep   `runtime.run_sweep(model, sweep, target)`  (one process)
     dask    `runtime.run_sweep_flow(project, sweep, target)` on a local Dask cluster
--quick runs 5,000 sets in both parts, to check that the script works. With --repeat N each
timed run is repeated N times and the median reported (default 1: the full run takes minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import _common as c

GOAL = 1.6
QUICK_SETS = 5_000
STARTUP_SETS = 2
CALIBRATION_SECONDS = 0.001

VARIABLES = """\
model:
  name: {name}
  description: A model whose cost per input set the sweep benchmark chooses.
input_variables:
  x:
    variable_class: ScalarVariable
    default_value: 0.5
    value_range: [0.0, 1.0]
  y:
    variable_class: ScalarVariable
    default_value: 0.5
    value_range: [0.0, 1.0]
output_variables:
  a:
    variable_class: ScalarVariable
  b:
    variable_class: ScalarVariable
"""

MODEL = '''\
"""The {name} model of the sweep benchmark: {what}."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from modelcrate import Model, load_spec

from {package} import __version__

LOOPS = {loops}


class {cls}(Model):
    spec = load_spec(files("{package}") / "variables.yml")
    name = "{name}"
    version = __version__

    def evaluate(self, inputs: dict[str, Any]) -> dict[str, Any]:
{body}
'''

BUSY_BODY = """\
        total = 0
        for i in range(LOOPS):  # pure Python: holds the GIL
            total += i
        return {"a": inputs["x"] + inputs["y"], "b": float(total % 7)}"""

FREE_BODY = """\
        return {"a": 0.0, "b": 1.0}"""

PREFECT_SETTINGS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_LEVEL": "WARNING",
}


def busy_loop(loops: int) -> int:
    """The busy model's loop, as its `evaluate` runs it."""
    total = 0
    for i in range(loops):
        total += i
    return total


def calibrate(seconds: float = CALIBRATION_SECONDS) -> tuple[int, float]:
    """Loops of `busy_loop` that take about `seconds` here, and the seconds they took (median)."""
    loops = 1000
    while True:
        took = min(c.timed(lambda n=loops: busy_loop(n)) for _ in range(5))
        if took >= seconds / 4:
            break
        loops *= 2
    loops = max(1, round(loops * seconds / took))
    runs = [c.timed(lambda: busy_loop(loops)) for _ in range(200)]
    return loops, statistics.median(runs)


def make_project(tmp: Path, name: str, loops: int, env: dict[str, str]) -> Path:
    """`modelcrate new` of the benchmark's variables as project `name`, with its model.py
    replaced (a busy loop of `loops`, or constants when `loops` is 0)."""
    variables = tmp / f"{name}.yml"
    variables.write_text(VARIABLES.format(name=name), encoding="utf-8")
    project = tmp / name
    c.run([*c.modelcrate_command(), "new", str(variables), "-o", str(project), "--yes"], env=env)
    package = name.replace("-", "_")
    what = f"a pure-Python loop of {loops} steps per set" if loops else "constants"
    model = MODEL.format(
        name=name,
        what=what,
        package=package,
        loops=loops,
        cls="".join(part.title() for part in name.split("-")) + "Model",
        body=BUSY_BODY if loops else FREE_BODY,
    )
    (project / "src" / package / "model.py").write_text(model, encoding="utf-8")
    return project


def median(values: list[float]) -> float:
    return statistics.median(values)


# ----------------------------------------------------------------------------------------------
# Part 1: the command line


def cli_sweep(
    project: Path, sets: int, db: Path, env: dict[str, str], *, dask: bool, args: Any
) -> tuple[float, dict[str, Any]]:
    """Wall seconds of one `modelcrate sweep` of `sets` sets into a fresh SQLite file, and its
    JSON report (checked: every set stored)."""
    cmd = [*c.modelcrate_command(), "sweep", str(project), "--grid", f"x=0:1:{sets}"]
    cmd += ["-t", f"sqlite:///{db}", "--chunk-size", str(args.chunk_size), "--json"]
    if dask:
        cmd.append("--dask")
        if args.workers:
            cmd += ["--workers", str(args.workers)]
    start = time.perf_counter()
    out = c.run(cmd, env=env)
    wall = time.perf_counter() - start
    report = json.loads(out)
    if report["stored"] != sets:
        raise RuntimeError(f"{' '.join(cmd)}: stored {report['stored']} of {sets} sets")
    return wall, report


def part1(project: Path, tmp: Path, env: dict[str, str], args: Any) -> dict[str, Any]:
    """Start-up and full sweeps of the busy model, one process and --dask, interleaved."""
    counter = iter(range(1_000_000))

    def db() -> Path:
        return tmp / "results" / f"busy-{next(counter)}.db"

    for dask in (False, True):  # warm-up: .pyc files, the project's Prefect database
        cli_sweep(project, STARTUP_SETS, db(), env, dask=dask, args=args)
    names = ("one", "dask")
    startup: dict[str, list[float]] = {n: [] for n in names}
    wall: dict[str, list[float]] = {n: [] for n in names}
    reported: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(args.repeat):
        for name in names:
            seconds, _ = cli_sweep(project, STARTUP_SETS, db(), env, dask=name == "dask", args=args)
            startup[name].append(seconds)
        for name in names:
            seconds, report = cli_sweep(
                project, args.sets, db(), env, dask=name == "dask", args=args
            )
            wall[name].append(seconds)
            reported[name].append(report["seconds"])
            print(f"  ... {name}: {seconds:.1f} s", file=sys.stderr, flush=True)
    return {"startup": startup, "wall": wall, "reported": reported}


# ----------------------------------------------------------------------------------------------
# Part 2: in one process, warm


def child(project: Path, prefect_home: Path, out: Path, args: Any) -> int:
    """Part 2's measurements, in a fresh interpreter (Prefect's settings set before it is
    imported); writes them to `out` as JSON."""
    os.environ.pop("PREFECT_API_URL", None)
    os.environ["PREFECT_HOME"] = str(prefect_home)
    os.environ.update(PREFECT_SETTINGS)
    from modelcrate import runtime

    model, _ = runtime.find_model(str(project))
    n = args.cheap_sets
    plan = runtime.build_sweep(model.spec, grids=[f"x=0:1:{n}"])
    listed = plan.input_sets(0, n)
    counter = iter(range(1_000_000))

    def target() -> str:
        return f"sqlite:///{project.parent / 'results' / f'free-{next(counter)}.db'}"

    def direct() -> int:
        return len(runtime.run(model, listed, [target()]))

    def sweep() -> int:
        return runtime.run_sweep(model, plan, [target()], chunk_size=args.chunk_size).stored

    def on_dask() -> int:
        report = runtime.run_sweep_flow(
            str(project), plan, [target()], task_runner=runner, chunk_size=args.chunk_size,
            workers=cluster.workers,
        )  # fmt: skip
        return int(report.stored)

    tiny = runtime.build_sweep(model.spec, grids=[f"x=0:1:{STARTUP_SETS}"])
    direct_first = c.timed(lambda: runtime.run(model, listed[:2], [target()]))  # migrations
    began = time.perf_counter()
    with runtime.dask_cluster(workers=args.workers, import_paths=[project / "src"]) as cluster:
        cluster_start = time.perf_counter() - began
        runner = cluster.task_runner
        first_flow = c.timed(
            lambda: runtime.run_sweep_flow(str(project), tiny, [target()], task_runner=runner)
        )
        second_flow = c.timed(
            lambda: runtime.run_sweep_flow(str(project), tiny, [target()], task_runner=runner)
        )
        variants = {"direct": direct, "sweep": sweep, "dask": on_dask}
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.repeat):
            for name, fn in variants.items():
                stored: list[int] = []
                times[name].append(c.timed(lambda fn=fn, stored=stored: stored.append(fn())))
                if stored != [n]:
                    raise RuntimeError(f"{name}: stored {stored} of {n} sets")
    result = {
        "workers": cluster.workers,
        "direct_first": direct_first,
        "cluster_start": cluster_start,
        "first_flow": first_flow,
        "second_flow": second_flow,
        "times": times,
    }
    out.write_text(json.dumps(result), encoding="utf-8")
    return 0


def part2(project: Path, tmp: Path, env: dict[str, str], args: Any) -> dict[str, Any]:
    out = tmp / "part2.json"
    cmd = [sys.executable, __file__, "--child", str(project), "--child-out", str(out),
           "--prefect-home", str(tmp / "prefect-home"), "--cheap-sets", str(args.cheap_sets),
           "--chunk-size", str(args.chunk_size), "--repeat", str(args.repeat)]  # fmt: skip
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    if args.installed:
        cmd.append("--installed")
    c.run(cmd, env=env)
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


# ----------------------------------------------------------------------------------------------


def machine() -> str:
    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"machine: {cores} cores ({usable} usable), {platform.system()} {platform.machine()}, "
        f"load {load:.2f} at start; {today}"
    )


def report1(p1: dict[str, Any], sets: int, workers: str) -> None:
    one_wall, dask_wall = median(p1["wall"]["one"]), median(p1["wall"]["dask"])
    one_start, dask_start = median(p1["startup"]["one"]), median(p1["startup"]["dask"])
    one_sweep, dask_sweep = one_wall - one_start, dask_wall - dask_start
    rows = [
        ("(a) modelcrate sweep, one process (baseline)", one_wall, one_start, one_sweep),
        (f"(b) modelcrate sweep --dask ({workers})", dask_wall, dask_start, dask_sweep),
    ]
    print(f"  {'':<46} {'wall':>8} {'start-up':>9} {'sweep':>8} {'sets/s':>8} {'sets/s':>8}")
    print(f"  {'':<46} {'':>8} {'':>9} {'':>8} {'(wall)':>8} {'(sweep)':>8}")
    for name, wall, start, sweep in rows:
        print(
            f"  {name:<46} {wall:7.1f}s {start:8.1f}s {sweep:7.1f}s "
            f"{sets / wall:8,.0f} {sets / sweep:8,.0f}"
        )
    for name in ("one", "dask"):
        if len(p1["wall"][name]) > 1:
            print(f"  ({name} wall: {c.spread(p1['wall'][name], 1.0, 's', 1)})")
    print(
        "  (the sweep's own report, seconds from the flow call to its end, which for --dask "
        f"includes starting the temporary Prefect server: one {median(p1['reported']['one']):.1f} s,"
        f" dask {median(p1['reported']['dask']):.1f} s)"
    )
    including = one_wall / dask_wall
    excluding = one_sweep / dask_sweep
    verdict = "met" if excluding >= GOAL else "NOT met"
    print(f"  speed-up (b)/(a) including start-up (wall):       {including:.2f}x")
    print(
        f"  speed-up (b)/(a) excluding start-up (sweep only): {excluding:.2f}x  "
        f"(goal >= {GOAL}x: {verdict})"
    )


def report2(p2: dict[str, Any], sets: int) -> None:
    times = p2["times"]
    base = median(times["direct"])
    names = {
        "direct": "runtime.run(model, sets, target) (baseline)",
        "sweep": "runtime.run_sweep, one process",
        "dask": f"runtime.run_sweep_flow on Dask ({p2['workers']} workers)",
    }
    for key, name in names.items():
        med = median(times[key])
        spread = f"  ({c.spread(times[key], 1.0, 's', 2)})" if len(times[key]) > 1 else ""
        print(
            f"  {name:<50} {med:7.2f} s {med / sets * 1e6:8.1f} µs/set  {med / base:5.2f}x{spread}"
        )
    print(
        f"  (untimed start-up in that process: cluster {p2['cluster_start']:.1f} s; first sweep "
        f"flow call, starting the temporary Prefect server, {p2['first_flow']:.1f} s; a second "
        f"2-set flow call {p2['second_flow']:.2f} s)"
    )


def main() -> int:
    p = c.parser(__doc__.splitlines()[0], repeat=1)
    p.add_argument("--sets", type=int, default=100_000, help="sets of the 1 ms model (part 1)")
    p.add_argument(
        "--cheap-sets", type=int, default=100_000, help="sets of the free model (part 2)"
    )
    p.add_argument("--quick", action="store_true", help=f"{QUICK_SETS:,} sets in both parts")
    p.add_argument("--workers", type=int, help="Dask workers [default: one per core]")
    p.add_argument("--chunk-size", type=int, default=1000, help="sets per chunk (default 1000)")
    p.add_argument("--skip-cli", action="store_true", help="part 2 only")
    p.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--prefect-home", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.quick:
        args.sets = args.cheap_sets = QUICK_SETS
    env = c.use_checkout(args.installed)
    if args.child:
        return child(args.child, args.prefect_home, args.child_out, args)
    env.pop("PREFECT_API_URL", None)
    env.update(PREFECT_SETTINGS)

    loops, took = calibrate()
    workers = f"{args.workers} workers" if args.workers else "one worker per core"
    print(f"bench_sweep: {c.describe_modelcrate(env)}; python {sys.version.split()[0]}")
    print(f"  {machine()}")
    print(
        f"  busy model: {loops:,} loops per set, {took * 1000:.2f} ms each here; chunk size "
        f"{args.chunk_size}; {workers}; a fresh SQLite file per run; repeat {args.repeat}"
        + (" (median)" if args.repeat > 1 else "")
    )
    sys.stdout.flush()
    with c.workdir("bench-sweep-") as tmp:
        busy = make_project(tmp, "sweep-busy", loops, env)
        free = make_project(tmp, "sweep-free", 0, env)
        p1 = None if args.skip_cli else part1(busy, tmp, env, args)
        p2 = part2(free, tmp, env, args)
    if p1 is not None:
        print(
            f"\n  1. speed-up: {args.sets:,} sets of the ~1 ms model through the command line "
            f"(start-up: the same command on a {STARTUP_SETS}-set sweep)"
        )
        report1(p1, args.sets, workers)
    print(
        f"\n  2. per-set overhead: {args.cheap_sets:,} sets of a model that returns constants, "
        "in one process, warm"
    )
    report2(p2, args.cheap_sets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
