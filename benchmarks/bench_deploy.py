"""How long `modelcrate deploy` takes against building and installing the wheel by hand, and how
long a run of a deployment takes against calling the same flow in-process.

    python benchmarks/bench_deploy.py [--repeat N] [--runs N] [--no-contrast]

Everything lives in a temporary directory: the services' directory (`MODELCRATE_SERVICES_DIR`)
with the Prefect server's SQLite database, a free port, the registry (`MODELCRATE_REGISTRY`, a
SQLite file) and the versions' environments (`MODELCRATE_ENVIRONMENTS`). `modelcrate services
start` starts the server and a process worker, and `modelcrate services stop` ends them
whatever happens (an error, Ctrl-C, SIGTERM); afterwards no process that names the temporary
directory may be left, or the benchmark fails.

The project is the example (`modelcrate new examples/injector/variables.yml` + its model.py),
committed and tagged. A warm-up deploy of v1.0.0 fills uv's cache (modelcrate and its
dependencies are then installed from it) and is the live version the runs use. Measured, median
of N (`--repeat`), each repeat on a new commit with a new release tag, so that every deploy
builds a new wheel and makes a new environment:
- `modelcrate deploy PROJECT` as a subprocess (checks, wheel and sdist, the version's
  environment, its flow read there, the Prefect deployment, the registry);
- `deploy_project(PROJECT)` in-process (another tag: the same work without the start-up);
- baseline: `uv build --wheel` of the same commit + `uv venv` + `uv pip install` of that wheel
  into a fresh environment (what the deploy's own installing step is made of);
- `modelcrate deploy PROJECT` again on the same version (it changes nothing and says so).

Then the latency of one run on the warm worker (after a warm-up run), median and p90 of
`--runs`, each into a new results directory:
- `modelcrate run MODEL --deployment --set laser_radius=0.5 -t URI` as a subprocess, until it
  has printed the stored result (what a user waits), and its start-up alone (a subprocess that
  imports what it imports);
- `run_deployment()` + reading the result back from the target, in-process;
- baseline: the same flow called in-process, in the version's own environment, against the same
  Prefect server and into the same kind of target (a warm interpreter: Prefect and the model
  imported, one warm-up call first);
- for scale: a new interpreter that imports the flow and calls it once (`python -c`).
With the worker polling every `MODELCRATE_WORKER_POLL_SECONDS` (1 s unless set); unless
`--no-contrast`, the services are started again with Prefect's default of 10 s and the
subprocess run is measured again (max(repeat, runs / 2) times). Each run starts after a
random wait of up to one poll interval (not timed), so that runs do not fall into step with the
worker's polls.
Where the time goes: the in-process deploys time each step (`DEPLOY_STEPS`), and the runs of
`run_deployment()` are taken apart by the times of their states on the server (`RUN_PHASES`).
The worker started by the services runs the flow in the version's environment with this
process's environment, so with the checkout's src/ on PYTHONPATH both sides run the checkout's
modelcrate runtime.
"""

from __future__ import annotations

import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import Any

import _common as c

INPUTS = {"laser_radius": 0.5}
DEFAULT_POLL = 10.0
"""Prefect's own poll interval of a worker (PREFECT_WORKER_QUERY_SECONDS), for contrast."""

DEPLOY_STEPS = {
    ("modelcrate.packaging", "check_project"): "checks (modelcrate check: imports the project)",
    ("modelcrate.packaging", "build_project"): "wheel and sdist (uv build)",
    ("modelcrate.deploy._deploy", "version_environment"): "the version's environment (uv)",
    ("modelcrate.deploy._deploy", "read_flow"): "its flow read by its Python (imports Prefect)",
    ("modelcrate.deploy._deploy", "apply_deployment"): "the Prefect deployment",
}
"""The functions `deploy_project` calls for its steps, and the steps, timed in-process."""
OTHER_STEPS = "the rest (server check, metadata, variables, registry)"

RUN_PHASES = {
    ("SCHEDULED", "PENDING"): "asked for, until the worker takes it (its poll)",
    ("PENDING", "RUNNING"): "taken, until the flow runs (a new process: Python, imports)",
    ("RUNNING", "COMPLETED"): "the flow, until its result is stored",
}
"""The phases of a run of a deployment, from the timestamps of its states on the server."""

FLOW_CALLS = """\
import json, sys, time
from importlib.metadata import entry_points
from pathlib import Path
from modelcrate.runtime import open_target

flow = next(iter(entry_points(group="modelcrate.flows"))).load()
root, calls = Path(sys.argv[1]), int(sys.argv[2])
inputs = json.loads(sys.argv[3])
seconds = []
for call in range(calls + 1):  # the first one warms up
    uri = (root / f"call-{call}").as_uri()
    start = time.perf_counter()
    flow(inputs=inputs, targets=[uri])
    seconds.append(time.perf_counter() - start)
    assert len(list(open_target(uri).query())) == 1, "no result stored"
print(json.dumps(seconds[1:]))
"""
"""Run by the version's Python: the flow of its wheel called N times, each call timed."""

START_UP = "import modelcrate.cli, modelcrate.deploy, prefect.client.orchestration"
"""What `modelcrate run --deployment` imports before it asks for the run."""

ONE_FLOW_CALL = """\
import json, sys
from importlib.metadata import entry_points
flow = next(iter(entry_points(group="modelcrate.flows"))).load()
flow(inputs=json.loads(sys.argv[2]), targets=[sys.argv[1]])
"""


def p90(seconds: list[float]) -> float:
    """The 90th percentile (inclusive), in seconds."""
    if len(seconds) < 2:
        return seconds[0]
    return statistics.quantiles(seconds, n=10, method="inclusive")[8]


def git(project: Path, *args: str) -> None:
    c.run(["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.org", *args],
          cwd=project)  # fmt: skip


def release(project: Path, version: str) -> None:
    """A new commit (nothing changed but the history) tagged `vVERSION`: a new release."""
    git(project, "commit", "-q", "--allow-empty", "-m", f"Release {version}")
    git(project, "tag", f"v{version}")


def settings_env(tmp: Path, base: dict[str, str]) -> dict[str, str]:
    """`base` with the services, the registry and the environments in `tmp`, on a free port,
    and no Prefect setting of the caller's (no other server is used)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in base.items() if not k.startswith("PREFECT_")}
    env.update(
        {
            "MODELCRATE_SERVICES_DIR": str(tmp / "services"),
            "MODELCRATE_SERVICES_PORT": str(port),
            "MODELCRATE_REGISTRY": f"sqlite:///{tmp / 'registry.db'}",
            "MODELCRATE_ENVIRONMENTS": str(tmp / "environments"),
            "PREFECT_HOME": str(tmp / "prefect-home"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
        }
    )
    return env


def processes_naming(text: str) -> list[tuple[int, str]]:
    """(PID, command line) of every process but this one whose environment or command line
    holds `text` (the services and the flow runs they start name the temporary directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if text.encode() in environ or text.encode() in cmdline:
            found.append((int(entry.name), cmdline.replace(b"\0", b" ").decode(errors="replace")))
    return found


@contextmanager
def services(cli: list[str], env: dict[str, str], tmp: Path, left: list[str]) -> Iterator[None]:
    """`modelcrate services start` ... `modelcrate services stop`, the stop on any exit (SIGTERM
    is made a KeyboardInterrupt for it); a process still naming `tmp` afterwards is killed and
    noted in `left`."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        c.run([*cli, "services", "start"], env=env)
        yield
    finally:
        try:
            stop = subprocess.run([*cli, "services", "stop"], env=env, capture_output=True,
                                  text=True, check=False)  # fmt: skip
            if stop.returncode != 0:
                left.append(f"services stop exited with {stop.returncode}: {stop.stderr.strip()}")
        finally:
            for pid, command in processes_naming(str(tmp)):
                left.append(f"PID {pid} still ran after services stop (killed): {command[:200]}")
                with suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    p = c.parser(__doc__.splitlines()[0], repeat=3)
    p.add_argument("--runs", type=int, default=10, help="timed runs per latency (default: 10)")
    p.add_argument(
        "--no-contrast",
        action="store_true",
        help="skip the runs with the worker polling every 10 s (a restart of the services)",
    )
    args = p.parse_args()
    base = c.use_checkout(args.installed)

    from modelcrate.packaging._tools import find_uv

    uv = find_uv()
    if uv is None:  # `deploy` makes each version's environment with uv: nothing to measure
        print("bench_deploy: uv is not installed; `modelcrate deploy` needs it")
        return 1
    cli = c.modelcrate_command()
    print(f"bench_deploy: {c.describe_modelcrate(base)}; python {sys.version.split()[0]}")
    print(f"  uv: {c.run([uv, '--version']).strip()} ({uv}); {os.cpu_count()} cores")
    print(f"  repeat: {args.repeat} deploys, {args.runs} runs (median reported)")

    left: list[str] = []
    with c.workdir("bench-deploy-") as tmp:
        env = settings_env(tmp, base)
        os.environ.update({k: v for k, v in env.items() if k.startswith(("MODELCRATE_", "DO_"))})
        os.environ.pop("PREFECT_API_URL", None)
        os.environ["PREFECT_HOME"] = env["PREFECT_HOME"]
        from modelcrate.deploy import load_services_settings

        poll = load_services_settings().poll_seconds
        print(f"  MODELCRATE_WORKER_POLL_SECONDS: {poll:g}; services in {tmp / 'services'}")
        project = c.make_example_project(tmp, env)
        git(project, "add", "-A")
        git(project, "commit", "-q", "-m", "The model")
        git(project, "tag", "v1.0.0")
        with services(cli, env, tmp, left):
            deploys = measure_deploys(args.repeat, cli, env, uv, project, tmp)
            runs = measure_runs(args.runs, cli, env, deploys.pop("environment"), tmp, poll)
        contrast: dict[str, list[float]] = {}
        if not args.no_contrast:
            slow = dict(env, MODELCRATE_WORKER_POLL_SECONDS=f"{DEFAULT_POLL:g}")
            with services(cli, slow, tmp, left):
                count = max(args.repeat, args.runs // 2)
                contrast = measure_slow_runs(count, cli, slow, tmp)

    report(deploys, runs, contrast, poll)
    if left:
        print("\n  left behind by the services:\n    " + "\n    ".join(left))
        return 1
    print("\n  services stopped; no process of theirs is left")
    return 0


def measure_deploys(
    repeat: int, cli: list[str], env: dict[str, str], uv: str, project: Path, tmp: Path
) -> dict[str, Any]:
    """The deploy timings, interleaved, and the environment of the live version (v1.0.0)."""
    from modelcrate.deploy import deploy_project

    def cli_deploy(expect_changed: bool) -> dict[str, Any]:
        done = json.loads(c.run([*cli, "deploy", str(project), "--json"], env=env))
        if done["changed"] is not expect_changed:
            raise RuntimeError(f"deploy said changed={done['changed']}: {done['messages']}")
        return done

    def baseline(label: str) -> None:
        out = tmp / "baseline" / label
        c.run([uv, "build", "--python", sys.executable, "--wheel", "--out-dir", str(out),
               str(project)])  # fmt: skip
        (wheel,) = out.glob("*.whl")
        venv = out / "venv"
        c.run([uv, "venv", "-q", "--python", sys.executable, str(venv)])
        c.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(wheel)])

    steps: dict[str, list[float]] = {name: [] for name in [*DEPLOY_STEPS.values(), OTHER_STEPS]}

    def library() -> None:
        spent: dict[str, float] = {}
        with timing_steps(spent):
            total = c.timed(partial(deploy_project, project, say=lambda line: None))
        for name in DEPLOY_STEPS.values():
            steps[name].append(spent.get(name, 0.0))
        steps[OTHER_STEPS].append(total - sum(spent.values()))

    first = cli_deploy(True)  # warm-up: uv's cache, the registry, the server's tables
    baseline("warm-up")
    times: dict[str, list[float]] = {"cli": [], "library": [], "baseline": [], "again": []}
    for i in range(repeat):
        release(project, f"1.{i + 1}.0")
        pair: list[tuple[str, Callable[[], object]]] = [
            ("cli", partial(cli_deploy, True)),
            ("baseline", partial(baseline, f"1.{i + 1}.0")),
        ]
        for name, fn in pair if i % 2 == 0 else reversed(pair):  # drift hits both alike
            times[name].append(c.timed(fn))
        times["again"].append(c.timed(partial(cli_deploy, False)))
        release(project, f"1.{i + 1}.1")
        times["library"].append(c.timed(library))
    return {**times, "steps": steps, "environment": Path(first["environment"])}


@contextmanager
def timing_steps(spent: dict[str, float]) -> Iterator[None]:
    """Within the block, the seconds each of `DEPLOY_STEPS` takes are added up in `spent`."""
    import importlib

    replaced = []
    for (module_name, name), step in DEPLOY_STEPS.items():
        module = importlib.import_module(module_name)
        replaced.append((module, name, getattr(module, name)))
        setattr(module, name, _timed_step(getattr(module, name), step, spent))
    try:
        yield
    finally:
        for module, name, original in replaced:
            setattr(module, name, original)


def _timed_step(fn: Callable[..., Any], step: str, spent: dict[str, float]) -> Callable[..., Any]:
    def timed_call(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[step] = spent.get(step, 0.0) + time.perf_counter() - start

    return timed_call


def run_command(cli: list[str], tmp: Path, label: str) -> list[str]:
    target = (tmp / "results" / label).as_uri()
    settings = [f"--set={name}={value}" for name, value in INPUTS.items()]
    return [*cli, "run", "injector-surrogate", "--deployment", *settings, "-t", target]


def measure_runs(
    runs: int, cli: list[str], env: dict[str, str], environment: Path, tmp: Path, poll: float
) -> dict[str, list[float]]:
    """The latency of a run: of the deployment (as a command and in-process) on the warm
    worker, and of the flow called in-process in the version's environment."""
    from modelcrate.deploy import deployed_version, run_deployment
    from modelcrate.runtime import open_target

    def cli_run(label: str) -> None:
        said = c.run(run_command(cli, tmp, label), env=env)
        if "Stored result" not in said:
            raise RuntimeError(f"run --deployment printed no stored result:\n{said}")

    run_ids: list[str] = []

    def library_run(label: str) -> None:
        found = deployed_version("injector-surrogate")
        uri = (tmp / "results" / label).as_uri()
        outcome = run_deployment(found.deployment, {"inputs": INPUTS, "targets": [uri]})
        stored = [r for r in open_target(uri).query() if r.flow_run_id == outcome.id]
        if outcome.state != "COMPLETED" or not stored:
            raise RuntimeError(f"the run of {found.deployment} stored nothing: {outcome}")
        run_ids.append(outcome.id)

    api = f"http://127.0.0.1:{env['MODELCRATE_SERVICES_PORT']}/api"
    flow_env = dict(env, PREFECT_API_URL=api)  # the services' server, as the worker's runs use
    python = str(environment / "bin" / "python")

    def cold_call(label: str) -> None:
        uri = (tmp / "results" / label).as_uri()
        c.run([python, "-c", ONE_FLOW_CALL, uri, json.dumps(INPUTS)], env=flow_env, cwd=tmp)

    cli_run("warm-up")  # the worker's first run, the CLI's .pyc files
    library_run("warm-up-library")
    run_ids.clear()
    times: dict[str, list[float]] = {"cli": [], "start-up": [], "library": [], "cold": []}
    for i in range(runs):
        out_of_step(poll)
        times["cli"].append(c.timed(partial(cli_run, f"cli-{i}")))
        out_of_step(poll)
        times["library"].append(c.timed(partial(library_run, f"library-{i}")))
        if i < max(3, runs // 3):
            times["start-up"].append(c.timed(partial(c.run, [sys.executable, "-c", START_UP],
                                                     env=env)))  # fmt: skip
            times["cold"].append(c.timed(partial(cold_call, f"cold-{i}")))
    calls = tmp / "results" / "in-process"
    said = c.run([python, "-c", FLOW_CALLS, str(calls), str(runs), json.dumps(INPUTS)],
                 env=flow_env, cwd=tmp)  # fmt: skip
    times["in-process"] = json.loads(said.strip().splitlines()[-1])
    return {**times, **run_phases(run_ids, api)}


def measure_slow_runs(
    count: int, cli: list[str], env: dict[str, str], tmp: Path
) -> dict[str, list[float]]:
    """`run --deployment` (with --json, for the flow run's id) on a worker polling every 10 s,
    and the phases of those runs."""
    c.run(run_command(cli, tmp, "slow-warm-up"), env=env)
    seconds, run_ids = [], []
    for i in range(count):
        command = [*run_command(cli, tmp, f"slow-{i}"), "--json"]
        out_of_step(DEFAULT_POLL)
        start = time.perf_counter()
        said = c.run(command, env=env)
        seconds.append(time.perf_counter() - start)
        run_ids.append(json.loads(said)["flow_run_id"])
    api = f"http://127.0.0.1:{env['MODELCRATE_SERVICES_PORT']}/api"
    return {"cli": seconds, **run_phases(run_ids, api)}


def out_of_step(poll: float) -> None:
    """Wait a random part of the worker's poll interval (not timed), so that runs that take
    about as long as the interval do not fall into step with its polls."""
    time.sleep(random.uniform(0, poll))


def run_phases(run_ids: list[str], api: str) -> dict[str, list[float]]:
    """How long each run of a deployment spent in each phase (`RUN_PHASES`)."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.settings import temporary_settings

    phases: dict[str, list[float]] = {name: [] for name in RUN_PHASES.values()}
    with temporary_settings(updates={"api.url": api}), get_client(sync_client=True) as client:
        for run_id in run_ids:
            at: dict[str, Any] = {}
            for state in client.read_flow_run_states(UUID(run_id)):
                at.setdefault(state.type.value, state.timestamp)
            for (begun, ended), name in RUN_PHASES.items():
                if begun in at and ended in at:
                    phases[name].append((at[ended] - at[begun]).total_seconds())
    return phases


def report(
    deploys: dict[str, Any],
    runs: dict[str, list[float]],
    contrast: dict[str, list[float]],
    poll: float,
) -> None:
    """The tables: deploys against the baseline, where a deploy's time goes, the latency of a
    run against the flow called in-process, where a deployed run's time goes, and a summary."""
    med = statistics.median
    base = med(deploys["baseline"])
    rows = [
        ("modelcrate deploy (a new version)", deploys["cli"]),
        ("deploy_project() in-process (a new version)", deploys["library"]),
        ("uv build --wheel + uv venv + uv pip install (baseline)", deploys["baseline"]),
        ("modelcrate deploy again (same version: no change)", deploys["again"]),
    ]
    table(f"deploy, {len(deploys['cli'])} of each", rows, base, with_p90=False)
    rows = [(f"  {name}", seconds) for name, seconds in deploys["steps"].items() if seconds]
    table("where deploy_project()'s time goes", rows, base, with_p90=False)

    flow = med(runs["in-process"])
    rows = [
        (f"modelcrate run --deployment (worker poll {poll:g} s)", runs["cli"]),
        ("  of which start-up (imports: the CLI, Prefect's client)", runs["start-up"]),
        ("run_deployment() + reading the result back", runs["library"]),
        ("the flow called in-process, warm (baseline)", runs["in-process"]),
        ("python -c: import the flow + call it once", runs["cold"]),
    ]
    table("latency to the stored result", rows, flow, with_p90=True)
    rows = [(f"  {name}", runs[name]) for name in RUN_PHASES.values() if runs.get(name)]
    table("where a run of the deployment goes (its states' times)", rows, flow, with_p90=True)
    if contrast:
        rows = [(f"modelcrate run --deployment (worker poll {DEFAULT_POLL:g} s)", contrast["cli"])]
        rows += [(f"  {name}", contrast[name]) for name in RUN_PHASES.values() if contrast[name]]
        table(f"the worker polling every {DEFAULT_POLL:g} s", rows, flow, with_p90=True)

    print("\n  | measured | median | baseline | ratio |")
    print("  |---|---|---|---|")
    print(f"  | `modelcrate deploy` (new version) | {med(deploys['cli']):.1f} s "
          f"| `uv build` + `uv venv` + `uv pip install` {base:.1f} s "
          f"| {med(deploys['cli']) / base:.2f}x |")  # fmt: skip
    print(f"  | `run --deployment` to the stored result | {med(runs['cli']):.2f} s "
          f"(p90 {p90(runs['cli']):.2f} s) | the flow called in-process {flow:.2f} s "
          f"| {med(runs['cli']) / flow:.1f}x |")  # fmt: skip


def table(title: str, rows: list[tuple[str, list[float]]], base: float, *, with_p90: bool) -> None:
    """One table: each row's median (and p90, or min..max) in seconds and its ratio to `base`."""
    width = max(len(title), *(len(name) for name, _ in rows))
    noise = f"{'p90':>8}" if with_p90 else f"{'min..max':>16}"
    print(f"\n  {title:<{width}}  {'median':>8}  {noise}  {'n':>2}  ratio")
    for name, seconds in rows:
        median = statistics.median(seconds)
        spread = f"{p90(seconds):6.2f} s" if with_p90 else f"{c.spread(seconds, 1, 's', 2):>16}"
        print(f"  {name:<{width}}  {median:6.2f} s  {spread}  {len(seconds):>2}  "
              f"{median / base:5.2f}x")  # fmt: skip


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the services were stopped on the way out
        print("bench_deploy: interrupted", file=sys.stderr)
        sys.exit(130)
