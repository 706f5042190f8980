"""How long `modelcrate lock` takes, against a bare `uv pip compile` of the same pyproject.toml.

    python benchmarks/bench_lock.py [--repeat N]

On the example project (`modelcrate new examples/injector/variables.yml`), measured as
subprocesses (median of N, interleaved so network drift hits every variant alike):
- `modelcrate lock PROJECT --upgrade`: re-resolves every pin (two compiles: dev, then runtime
  constrained to the dev pins; checks; header; atomic writes);
- `modelcrate lock PROJECT`: a re-lock that keeps the existing pins;
- baselines: one bare `uv pip compile pyproject.toml --extra dev --universal --python-version
  3.10 --generate-hashes -o FILE`, with `--upgrade` (cold) and with FILE already there (warm).
uv's package cache is warm in every variant (the first, untimed run fills it); resolution still
asks the index for each package, so the network dominates. Ratios are against the baseline of
the same kind (cold or warm).
"""

from __future__ import annotations

import sys

import _common as c


def main() -> int:
    args = c.parser(__doc__.splitlines()[0], repeat=3).parse_args()
    env = c.use_checkout(args.installed)

    from modelcrate.packaging.tooling._lock import _uv

    uv = _uv()
    cli = c.modelcrate_command()
    print(f"bench_lock: {c.describe_modelcrate(env)}; python {sys.version.split()[0]}")
    print(f"  uv: {c.run([uv, '--version']).strip()}")
    print(f"  repeat: {args.repeat} (median reported, min..max in brackets)")

    with c.workdir("bench-lock-") as tmp:
        project = c.make_example_project(tmp, env)
        bare_out = tmp / "bare.lock.txt"

        def bare(*extra: str) -> None:
            c.run([uv, "pip", "compile", "pyproject.toml", "--extra", "dev", "--universal",
                   "--python-version", "3.10", "--generate-hashes", "--quiet",
                   "-o", str(bare_out), *extra], cwd=project)  # fmt: skip

        variants = {
            "modelcrate lock --upgrade (cold)": lambda: c.run(
                [*cli, "lock", str(project), "--upgrade"], env=env
            ),
            "modelcrate lock (warm re-lock)": lambda: c.run([*cli, "lock", str(project)], env=env),
            "uv pip compile --upgrade (cold baseline)": lambda: bare("--upgrade"),
            "uv pip compile (warm baseline)": lambda: bare(),
        }
        for fn in variants.values():  # warm-up: uv's cache, .pyc files, the output files
            fn()
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.repeat):
            for name, fn in variants.items():
                times[name].append(c.timed(fn))

    baselines = {
        "cold": c.median_ms(times["uv pip compile --upgrade (cold baseline)"]),
        "warm": c.median_ms(times["uv pip compile (warm baseline)"]),
    }
    width = max(map(len, variants))
    for name, seconds in times.items():
        ms = c.median_ms(seconds)
        base = baselines["cold" if "cold" in name else "warm"]
        print(
            f"  {name:<{width}}  {ms / 1000:6.2f} s  ({c.spread(seconds, 1.0, 's', 2)})"
            f"  {ms / base:5.2f}x baseline"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
