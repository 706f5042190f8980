"""How long `modelcrate build` takes, against the bare front ends it runs.

    python benchmarks/bench_build.py [--repeat N]

Measured on one project made by `modelcrate new examples/injector/variables.yml` (median of N,
interleaved so drift hits every variant alike, each into a fresh output folder):
- `modelcrate build PROJECT -o DIR` as a subprocess (interpreter start, imports, the build with
  uv, reading the wheel, the report);
- `modelcrate.packaging.build_project(PROJECT, DIR)` in-process;
- the start-up part of the first: a subprocess that only imports what `modelcrate build` imports;
- baselines: `uv build --python PYTHON --sdist --wheel --out-dir DIR PROJECT` (the command
  `modelcrate build` runs) and `python -m build --sdist --wheel --outdir DIR PROJECT`.
Both front ends build in an isolated environment with hatchling + hatch-vcs; the first (warm-up)
run of each fills their caches, so the numbers are for a warm cache, as on a developer's machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

import _common as c


def main() -> int:
    args = c.parser(__doc__.splitlines()[0], repeat=5).parse_args()
    env = c.use_checkout(args.installed)

    from modelcrate.packaging import build_project
    from modelcrate.packaging._tools import find_uv

    uv = find_uv()
    if uv is None:
        print("bench_build: uv is not installed; it is the baseline `modelcrate build` runs")
        return 1
    cli = c.modelcrate_command()
    print(f"bench_build: {c.describe_modelcrate(env)}; python {sys.version.split()[0]}")
    print(f"  uv: {c.run([uv, '--version']).strip()} ({uv})")
    print(f"  repeat: {args.repeat} (median reported, min..max in brackets)")

    with c.workdir("bench-build-") as tmp:
        project = c.make_example_project(tmp, env)
        counter = iter(range(1_000_000))

        def fresh(kind: str) -> Path:
            return tmp / "out" / f"{kind}-{next(counter)}"

        def modelcrate_build() -> None:
            c.run([*cli, "build", str(project), "-o", str(fresh("cli"))], env=env)

        def library() -> None:
            build_project(project, fresh("lib"))

        def uv_build() -> None:
            out = str(fresh("uv"))
            c.run([uv, "build", "--python", sys.executable, "--sdist", "--wheel", "--out-dir", out,
                   str(project)])  # fmt: skip

        def python_m_build() -> None:
            out = str(fresh("build"))
            c.run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", out,
                   str(project)])  # fmt: skip

        def start_up() -> None:
            c.run([sys.executable, "-c", "import modelcrate.cli, modelcrate.packaging"], env=env)

        variants = {
            "modelcrate build (subprocess)": modelcrate_build,
            "  of which start-up (imports)": start_up,
            "build_project() in-process": library,
            "uv build (baseline)": uv_build,
            "python -m build (baseline)": python_m_build,
        }
        for fn in variants.values():  # warm-up: build environments, caches, .pyc files
            fn()
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.repeat):
            for name, fn in variants.items():
                times[name].append(c.timed(fn))

    uv_ms = c.median_ms(times["uv build (baseline)"])
    build_ms = c.median_ms(times["python -m build (baseline)"])
    width = max(map(len, variants))
    for name, seconds in times.items():
        ms = c.median_ms(seconds)
        print(
            f"  {name:<{width}}  {ms:8.1f} ms  ({c.spread(seconds)})  "
            f"{ms / uv_ms:5.2f}x uv build  {ms / build_ms:5.2f}x python -m build"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
