"""How long `modelcrate run` (no Prefect) takes, against calling the model bare in a new interpreter.

    python benchmarks/bench_run.py [--repeat N]

Sets up the example project in a temporary directory (modelcrate new + the reference model.py,
installed editable into this interpreter's environment) and measures, as subprocesses of this
interpreter (median of N, interleaved):
- `modelcrate run TMP/injector --set laser_radius=0.5 --target file://TMP/results/<run>`
  (a fresh results directory per run, so every run really writes its result);
- baseline: `python -c "from injector_surrogate.model import InjectorSurrogateModel as M;
  M()({'laser_radius': 0.5})"`.
Goal (from the issue): modelcrate run <= 1.2x the baseline. Then it shows the 10 imports with the
largest cumulative time of `python -X importtime -m modelcrate run ...`, and checks that
`modelcrate run` without --prefect does not import prefect.
"""

from __future__ import annotations

import sys

import _common as c

GOAL = 1.2
BASELINE_CODE = (
    "from injector_surrogate.model import InjectorSurrogateModel as M; M()({'laser_radius': 0.5})"
)
NO_PREFECT_CODE = """\
import sys
from modelcrate.cli import main
code = main(sys.argv[1:])
print('exit', code, 'prefect-imported', 'prefect' in sys.modules)
"""


def import_times(stderr: str) -> list[tuple[float, float, str, int]]:
    """(cumulative ms, self ms, module, depth) of each line of `-X importtime` output."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|", 2)
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        rows.append((int(cumulative_us) / 1000, int(self_us) / 1000, name.strip(), depth))
    return rows


def main() -> int:
    args = c.parser(__doc__.splitlines()[0], repeat=10).parse_args()
    env = c.use_checkout(args.installed)
    cli = c.modelcrate_command()
    print(f"bench_run: {c.describe_modelcrate(env)}; python {sys.version.split()[0]}")
    print(f"  repeat: {args.repeat} (median reported, min..max in brackets)")

    with c.workdir("bench-run-") as tmp:
        project = c.make_example_project(tmp, env)
        results = tmp / "results"
        with c.installed_example(project):
            counter = iter(range(1_000_000))

            def run_args() -> list[str]:
                target = (results / f"run-{next(counter)}").as_uri()
                return ["run", str(project), "--set", "laser_radius=0.5", "--target", target]

            variants = {
                "modelcrate run (no Prefect)": lambda: c.run([*cli, *run_args()], env=env),
                "bare model call (baseline)": lambda: c.run(
                    [sys.executable, "-c", BASELINE_CODE], env=env
                ),
            }
            for fn in variants.values():  # warm-up: .pyc files of the new project, disk cache
                fn()
            times: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(args.repeat):
                for name, fn in variants.items():
                    times[name].append(c.timed(fn))

            profile = c.subprocess.run(
                [sys.executable, "-X", "importtime", "-m", "modelcrate", *run_args()],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            check = c.run([sys.executable, "-c", NO_PREFECT_CODE, *run_args()], env=env)

    run_ms = c.median_ms(times["modelcrate run (no Prefect)"])
    base_ms = c.median_ms(times["bare model call (baseline)"])
    width = max(map(len, variants))
    for name, seconds in times.items():
        print(f"  {name:<{width}}  {c.median_ms(seconds):8.1f} ms  ({c.spread(seconds)})")
    ratio = run_ms / base_ms
    verdict = "met" if ratio <= GOAL else "NOT met"
    print(f"  ratio modelcrate run / baseline: {ratio:.2f}x  (goal <= {GOAL:.1f}x: {verdict})")

    rows = import_times(profile.stderr)
    total = sum(cum for cum, _, _, depth in rows if depth == 0)
    print(f"\n  python -X importtime -m modelcrate run ...: {total:.0f} ms of imports in all;")
    print("  top 10 by cumulative time (nested imports are counted in their parents too):")
    print(f"  {'cumulative':>10}  {'self':>7}  module")
    for cum, own, name, depth in sorted(rows, reverse=True)[:10]:
        print(f"  {cum:8.1f} ms  {own:5.1f} ms  {name}{'' if depth == 0 else f'  (depth {depth})'}")

    top_level = sorted((r for r in rows if r[3] == 0), reverse=True)[:6]
    print(
        "  largest top-level imports: "
        + ", ".join(f"{n} {cum:.0f} ms" for cum, _, n, _ in top_level)
    )

    last = check.strip().splitlines()[-1].split()
    exit_code, imported = last[1], last[3] == "True"
    print(
        f"\n  modelcrate.cli.main(['run', ...]) without --prefect leaves prefect unimported: "
        f"{'no' if imported else 'yes'} (exit code {exit_code})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
