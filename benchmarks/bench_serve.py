"""How fast `modelcrate serve` answers, against MLflow, BentoML, MLServer and a bare Starlette app
serving the same scikit-learn model, measured side by side in one run.

    export PEERBENCH_DIR=/some/work/dir
    bash ../shared/bench-peers/setup.sh          # once: the peers' venvs, wrk, the model
    python benchmarks/bench_serve.py [--rounds 1] [--duration 15] [--peers mlflow,bento,mlserver,base]

The peers' folder (`../shared/bench-peers/`, or --peers-dir) holds the driver, `bench.py`: for
each server a cold start, then per shape (1 row, 100 rows per request) a warm-up, a wrk run
(2 threads, 16 connections: req/s) and a closed-loop run that records every request's latency
(p50/p99), all on 127.0.0.1, bounded in time and in requests. This script adds modelcrate to it
with `--extra`, twice: its own route (`/v1/evaluate`) and the Open Inference Protocol's
(`/v2/models/peer-model/infer`). It first
- installs this checkout with the `serve` extra and the peers' scikit-learn and numpy into
  `$PEERBENCH_DIR/venv-modelcrate`;
- makes the project `modelcrate new benchmarks/serve/variables.yml` with
  `benchmarks/serve/model.py` (the peers' joblib model, one `predict` per `evaluate_batch`);
- writes the request bodies and the start scripts under `$PEERBENCH_DIR`.

A second run measures adaptive batching: 64 connections of one-row requests to the same model
when each call also waits 2 ms (`MODELCRATE_BENCH_CALL_MS`, as a call to an accelerator or a
solver does whatever the batch size), with batching on and off.

It prints every server's numbers and the ratios the serving issue sets as goals: 1 row and 100
rows against the bare app (>= 0.8), p99 at 16 connections (< 25 ms), the v2 route against
MLServer (>= 2), batching on against off (>= 3).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import _common as c

HERE = Path(__file__).resolve().parent
SERVE = HERE / "serve"
PEERS = c.ROOT.parent / "shared" / "bench-peers"
PEER_VERSIONS = ["scikit-learn==1.9.1", "numpy==2.4.6"]  # as the peers' venvs (setup.sh)
PORTS = {"modelcrate": 18110, "modelcrate_v2": 18111, "batching_on": 18112, "batching_off": 18113}
CALL_MS = 2
GOALS = (
    ("1 row: modelcrate / bare app req/s", ">=", 0.8),
    ("1 row: modelcrate p99 ms (16 connections)", "<", 25.0),
    ("1 row: modelcrate v2 / MLServer req/s", ">=", 2.0),
    ("100 rows: modelcrate / bare app rows/s", ">=", 0.8),
    ("batching at 64 clients: on / off rows/s", ">=", 3.0),
)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--peers-dir", type=Path, default=PEERS, help="the peers' folder")
    p.add_argument("--peers", default="mlflow,bento,mlserver,base", help="peers to run beside")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--duration", type=int, default=15, help="seconds of each measured run")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--no-batching-run", action="store_true", help="skip the batching run")
    args = p.parse_args()
    work = os.environ.get("PEERBENCH_DIR")
    if not work or not (Path(work) / "model" / "model.joblib").exists():
        print(
            "error: set PEERBENCH_DIR and run the peers' setup.sh first (it trains the model)",
            file=sys.stderr,
        )
        return 2
    d = Path(work)
    venv = _venv(d)
    project = _project(d)
    _bodies(d)
    scripts = _start_scripts(d, venv, project)
    driver = args.peers_dir / "bench.py"
    common = ["--rounds", str(args.rounds), "--duration", str(args.duration)]
    common += ["--warmup", str(args.warmup)]
    extras = [
        f"modelcrate={scripts['modelcrate']},{PORTS['modelcrate']},/v1/evaluate,/v1/evaluate,"
        "modelcrate",
        f"modelcrate_v2={scripts['modelcrate']},{PORTS['modelcrate_v2']},"
        "/v2/models/peer-model/infer,/v2/models/peer-model/infer,modelcrate_v2",
    ]
    servers = [s for s in args.peers.split(",") if s] + ["modelcrate", "modelcrate_v2"]
    main_rows = _bench(driver, d, ["--servers", ",".join(servers), *common], extras)
    batch_rows: list[dict] = []
    if not args.no_batching_run:
        extras = [
            f"{name}={scripts[name]},{PORTS[name]},/v1/evaluate,/v1/evaluate,modelcrate"
            for name in ("batching_on", "batching_off")
        ]
        more = ["--servers", "batching_on,batching_off", "--shapes", "single", "-c", "64"]
        batch_rows = _bench(driver, d, [*more, *common], extras)
    _report(main_rows, batch_rows)
    return 0


def _venv(d: Path) -> Path:
    """$PEERBENCH_DIR/venv-modelcrate: this checkout (editable) with the serve extra."""
    venv = d / "venv-modelcrate"
    if not (venv / "bin" / "python").exists():
        c.run([shutil.which("python3.11") or sys.executable, "-m", "venv", str(venv)])
    c.run(
        [str(venv / "bin" / "pip"), "install", "-q", "-e", f"{c.ROOT}[serve]", *PEER_VERSIONS],
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    return venv


def _project(d: Path) -> Path:
    """The benchmark's model as a modelcrate project, made anew."""
    project = d / "modelcrate-project"
    shutil.rmtree(project, ignore_errors=True)
    command = [*c.modelcrate_command(), "new", str(SERVE / "variables.yml")]
    c.run([*command, "-o", str(project), "--yes"])
    shutil.copyfile(SERVE / "model.py", project / "src" / "peer_model" / "model.py")
    return project


def _bodies(d: Path) -> None:
    """The request bodies of modelcrate's two routes, from the peers' rows."""
    rows = {
        shape: json.loads((d / "bodies" / f"base_{shape}.json").read_text())
        for shape in ("single", "batch")
    }
    one, many = [rows["single"]["row"]], rows["batch"]["rows"]

    def sets(rows: list[list[float]]) -> list[dict[str, float]]:
        return [{f"f{i}": value for i, value in enumerate(row)} for row in rows]

    def tensors(rows: list[list[float]]) -> dict:
        columns = list(zip(*rows, strict=True))
        return {
            "inputs": [
                {"name": f"f{i}", "shape": [len(rows)], "datatype": "FP64", "data": list(col)}
                for i, col in enumerate(columns)
            ]
        }

    bodies = {
        "modelcrate_single": {"inputs": sets(one)[0]},
        "modelcrate_batch": {"inputs": sets(many)},
        "modelcrate_v2_single": tensors(one),
        "modelcrate_v2_batch": tensors(many),
    }
    for name, body in bodies.items():
        (d / "bodies" / f"{name}.json").write_text(json.dumps(body, separators=(",", ":")))


def _start_scripts(d: Path, venv: Path, project: Path) -> dict[str, Path]:
    """`start_NAME.sh PORT` for the driver: `modelcrate serve` in the foreground on loopback."""
    modes = {
        "modelcrate": ("", ""),
        "batching_on": ("--batching", f"MODELCRATE_BENCH_CALL_MS={CALL_MS}"),
        "batching_off": ("--no-batching", f"MODELCRATE_BENCH_CALL_MS={CALL_MS}"),
    }
    scripts = {}
    for name, (option, setting) in modes.items():
        script = d / f"start_{name}.sh"
        script.write_text(
            "#!/usr/bin/env bash\n"
            "set -euo pipefail\n"
            f"export MODELCRATE_BENCH_MODEL={d / 'model' / 'model.joblib'} {setting}\n"
            f"exec {venv / 'bin' / 'modelcrate'} serve {project} --host 127.0.0.1 "
            f'--port "$1" {option}\n'
        )
        script.chmod(0o755)
        scripts[name] = script
    return scripts


def _bench(driver: Path, d: Path, args: list[str], extras: list[str]) -> list[dict]:
    """Run the peers' driver; its rows (from the results file it writes)."""
    before = set((d / "results").glob("results-*.json")) if (d / "results").exists() else set()
    command = [sys.executable, str(driver), "--dir", str(d), *args]
    for extra in extras:
        command += ["--extra", extra]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True, timeout=3 * 3600)
    (written,) = set((d / "results").glob("results-*.json")) - before
    rows: list[dict] = json.loads(written.read_text())["rows"]
    return rows


def _mean(rows: list[dict], server: str, shape: str, key: str) -> float | None:
    values = [r[key] for r in rows if r["server"] == server and r["shape"] == shape and key in r]
    return sum(values) / len(values) if values else None


def _report(rows: list[dict], batch_rows: list[dict]) -> None:
    print("\nmean over rounds: wrk req/s (rows/s), closed-loop p50/p99 ms, RSS MB")
    print(f"{'server':14s} {'1 row req/s':>12s} {'p50/p99 ms':>14s} {'100 rows rows/s':>16s}")
    for server in dict.fromkeys(r["server"] for r in rows):
        single = _mean(rows, server, "single", "wrk_req_s")
        p50 = _mean(rows, server, "single", "py_p50_ms")
        p99 = _mean(rows, server, "single", "py_p99_ms")
        batch = _mean(rows, server, "batch", "wrk_rows_s")
        print(
            f"{server:14s} {single or 0:12.0f} {p50 or 0:6.1f}/{p99 or 0:<7.1f} {batch or 0:16.0f}"
        )

    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    measured = [
        ratio(_mean(rows, "modelcrate", "single", "wrk_req_s"), _mean(rows, "base", "single", "wrk_req_s")),
        _mean(rows, "modelcrate", "single", "py_p99_ms"),
        ratio(_mean(rows, "modelcrate_v2", "single", "wrk_req_s"), _mean(rows, "mlserver", "single", "wrk_req_s")),
        ratio(_mean(rows, "modelcrate", "batch", "wrk_rows_s"), _mean(rows, "base", "batch", "wrk_rows_s")),
        ratio(
            _mean(batch_rows, "batching_on", "single", "wrk_req_s"),
            _mean(batch_rows, "batching_off", "single", "wrk_req_s"),
        ),
    ]  # fmt: skip
    for server, peer in (("modelcrate", "bento"), ("modelcrate", "mlflow")):
        value = ratio(
            _mean(rows, server, "single", "wrk_req_s"), _mean(rows, peer, "single", "wrk_req_s")
        )
        if value is not None:
            print(f"1 row: {server} / {peer} req/s: {value:.1f}x")
    if batch_rows:
        for name in ("batching_on", "batching_off"):
            value = _mean(batch_rows, name, "single", "wrk_req_s")
            print(f"64 clients, {CALL_MS} ms per call, {name}: {value or 0:.0f} rows/s")
    print()
    for (what, sign, goal), value in zip(GOALS, measured, strict=True):
        if value is None:
            print(f"{what}: not measured")
            continue
        met = value >= goal if sign == ">=" else value < goal
        print(f"{what}: {value:.2f} (goal {sign} {goal:g}) {'met' if met else 'NOT MET'}")


if __name__ == "__main__":
    sys.exit(main())
