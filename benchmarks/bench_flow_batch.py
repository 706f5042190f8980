"""Many input sets through Prefect: one batch task (the generated flow) against one task per input.

    python benchmarks/bench_flow_batch.py [--n 1000] [--repeat N]

Sets up the example project in a temporary directory (modelcrate new + the reference model.py,
installed editable into this interpreter's environment), then measures in one child process
(a fresh interpreter, so the new install is importable and Prefect's temporary server is gone
before the temporary directory is removed). Prefect runs on a temporary local server with
PREFECT_HOME in the temporary directory; it is warmed up with one flow call before timing.
Over the same N input sets (laser_radius spread over its range), median of --repeat runs,
each run writing to a fresh file:// target:
  (a) batch  the generated `injector_surrogate.flow.injector_surrogate_flow(inputs=[...], targets=[...])`
             (prepare, evaluate in chunks of 1000, save: one task each);
  (b) map    a flow written here that `task.map`s one task per input set (prepare_inputs,
             evaluate, make_result and save_results for that input set);
  (c) direct `modelcrate.runtime.run(model, inputs, targets)`, no Prefect.
Prints seconds for each and the ratio map / batch. Between runs (untimed) it waits for the
temporary server to finish recording the last run's events, so one run's backlog does not slow
the next. On 2 cores: ~20 s of Prefect start-up, then ~50 s per repeat at --n 1000 (hence the
default of 2 repeats, to stay under ~3 minutes).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import _common as c

PREFECT_SETTINGS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_LEVEL": "WARNING",
}


def input_sets(n: int) -> list[dict[str, float]]:
    """N input sets with laser_radius spread over (inside) its range [0.1, 1.0]."""
    lo, hi = 0.15, 0.95
    return [{"laser_radius": lo + (hi - lo) * i / max(n - 1, 1)} for i in range(n)]


def _cpu_seconds() -> float | None:
    """CPU time used so far by this process and its children (the temporary Prefect server).

    Linux only (/proc); None elsewhere.
    """
    me = os.getpid()
    own = Path(f"/proc/{me}/stat")
    if not own.exists():
        return None
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for i, stat in enumerate([own, *Path("/proc").glob("[0-9]*/stat")]):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # a process that ended meanwhile
        if i == 0 or int(fields[1]) == me:  # this process, or one whose parent is this process
            total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return total


def wait_until_idle(timeout: float = 60.0, window: float = 1.0, busy: float = 0.1) -> float:
    """Wait until this process and the Prefect server use < `busy` of a core; return seconds waited.

    After a flow run the server keeps recording its events (thousands after a task.map over
    1,000 inputs) for a while; without this wait that work lands in the next measurement.
    """
    start = time.perf_counter()
    before = _cpu_seconds()
    if before is None:
        time.sleep(5.0)
        return time.perf_counter() - start
    while time.perf_counter() - start < timeout:
        time.sleep(window)
        after = _cpu_seconds()
        if after - before < busy * window:
            break
        before = after
    return time.perf_counter() - start


def child(project: Path, prefect_home: Path, n: int, repeat: int) -> int:
    """The measurements, in one process; Prefect's settings are set before it is imported."""
    assert "prefect" not in sys.modules
    os.environ.pop("PREFECT_API_URL", None)  # always the temporary server, never a configured one
    os.environ["PREFECT_HOME"] = str(prefect_home)
    os.environ.update(PREFECT_SETTINGS)

    start = time.perf_counter()
    from prefect import flow, task, unmapped
    from prefect.cache_policies import NO_CACHE
    from prefect.runtime import flow_run

    import_prefect = time.perf_counter() - start

    from modelcrate import runtime

    start = time.perf_counter()
    from injector_surrogate import flow as generated

    import_flow = time.perf_counter() - start
    if not Path(generated.__file__).resolve().is_relative_to(project.resolve()):
        raise RuntimeError(f"imported {generated.__file__}, not the project in {project}")
    model = generated.model
    batch_flow = generated.injector_surrogate_flow

    @task(name="one input set", cache_policy=NO_CACHE)
    def one_input_set(inputs: dict, targets: list[str]) -> runtime.Stored:
        prepared = runtime.prepare_inputs(model, inputs)
        outputs = runtime.evaluate(model, prepared)
        result = runtime.make_result(model, prepared, outputs, flow_run_id=flow_run.get_id())
        return runtime.save_results([result], targets)[0]

    @flow(name="injector-surrogate-per-input")
    def per_input_flow(inputs: list[dict], targets: list[str]) -> list[runtime.Stored]:
        return one_input_set.map(inputs, targets=unmapped(targets)).result()

    work = project.parent / "results"
    counter = iter(range(1_000_000))

    def target() -> str:
        return (work / f"run-{next(counter)}").as_uri()

    def clear() -> None:  # results of a run are ~100 kB each; keep the disk use bounded
        shutil.rmtree(work, ignore_errors=True)

    inputs = input_sets(n)
    variants = {  # in this order each round; the map flow, which loads the server most, last
        "(c) direct: runtime.run, no Prefect": lambda xs: runtime.run(model, xs, [target()]),
        "(a) batch: generated flow, one batch": lambda xs: batch_flow(
            inputs=xs, targets=[target()]
        ),
        "(b) map: one task per input set": lambda xs: per_input_flow(inputs=xs, targets=[target()]),
    }

    # Warm-up: the first flow call starts the temporary server (database migrations included).
    first_flow = c.timed(lambda: batch_flow(inputs=inputs[:1], targets=[target()]))
    for fn in variants.values():
        fn(inputs[:2])
    clear()
    waited = wait_until_idle()

    print(
        f"  import prefect: {import_prefect:.2f} s; import injector_surrogate.flow: {import_flow:.2f} s"
    )
    print(f"  first flow call (starts the temporary server): {first_flow:.1f} s")
    sys.stdout.flush()

    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeat):
        for name, fn in variants.items():
            stored: list = []
            times[name].append(c.timed(lambda fn=fn, stored=stored: stored.extend(fn(inputs))))
            if len(stored) != n:
                raise RuntimeError(f"{name}: stored {len(stored)} results, expected {n}")
            clear()
            waited += wait_until_idle()

    width = max(map(len, variants))
    for name, seconds in times.items():
        med = c.median_ms(seconds) / 1000
        print(
            f"  {name:<{width}}  {med:7.2f} s  ({c.spread(seconds, 1.0, 's', 2)})"
            f"  {med / n * 1000:6.2f} ms per input set"
        )
    direct, batch, mapped = (c.median_ms(s) for s in times.values())
    print(f"  ratio map / batch: {mapped / batch:.2f}x")
    print(f"  ratio batch / direct (Prefect's overhead on one batch): {batch / direct:.2f}x")
    print(
        f"  (untimed waits for the Prefect server to go idle between runs: {waited:.0f} s in all)"
    )
    return 0


def main() -> int:
    p = c.parser(__doc__.splitlines()[0], repeat=2)
    p.add_argument("--n", type=int, default=1000, help="input sets per run (default: 1000)")
    p.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--prefect-home", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    env = c.use_checkout(args.installed)
    if args.child:
        return child(args.child, args.prefect_home, args.n, args.repeat)

    print(f"bench_flow_batch: {c.describe_modelcrate(env)}; python {sys.version.split()[0]}")
    print(
        f"  n: {args.n} input sets; repeat: {args.repeat} (median reported, min..max in brackets)"
    )
    sys.stdout.flush()
    with c.workdir("bench-flow-batch-") as tmp:
        project = c.make_example_project(tmp, env)
        with c.installed_example(project):
            cmd = [sys.executable, __file__, "--child", str(project), "--n", str(args.n),
                   "--repeat", str(args.repeat), "--prefect-home", str(tmp / "prefect-home")]  # fmt: skip
            if args.installed:
                cmd.append("--installed")
            return subprocess.run(cmd, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
