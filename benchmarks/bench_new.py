"""How long `modelcrate new` takes, against rendering the same template with copier alone.

    python benchmarks/bench_new.py [--repeat N]

Measured (median of N, interleaved so drift hits every variant alike):
- `modelcrate new examples/injector/variables.yml -o DIR --yes` as a subprocess (interpreter
  start, imports, rendering, variables file, git init + first commit);
- `modelcrate.packaging.new_project(...)` in-process, as the CLI calls it (git) and with
  `git=False` (rendering only);
- `new_project(..., git=False, template=TemplateRelease(repo, version))`: the same release
  rendered by copier from a clone of the template repository at its tag (what `new` avoids by
  rendering the bundled files that the release was made from);
- once, before the timed runs: adding this modelcrate's template to an empty template repository
  (`release_template`, what the first `new` of a version does), and looking it up again;
- baseline: `copier.run_copy(template, dst, data=..., defaults=True, quiet=True)` in-process with
  the data `modelcrate.packaging.render` passes.
Ratios are against the baseline.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

import _common as c


def main() -> int:
    args = c.parser(__doc__.splitlines()[0], repeat=7).parse_args()
    env = c.use_checkout(args.installed)

    import copier

    from modelcrate.packaging import TemplateRelease, make_options, new_project, release_template
    from modelcrate.packaging.scaffold._releases import template_path
    from modelcrate.packaging.scaffold._render import template_data
    from modelcrate.spec import load_spec

    spec = load_spec(c.VARIABLES)
    # What the CLI does with --yes and no options: the project is named after the model.
    options = make_options(project_name=spec.model_name)
    data = {  # what modelcrate.packaging.render passes to copier
        **options.model_dump(),
        **template_data(spec),
        "flow_name": options.flow_name,
        "image": options.image,
        "requirement_is_direct": " @ " in options.modelcrate_requirement,
        "year": date.today().year,
    }
    template = str(template_path())
    cli = c.modelcrate_command()

    print(f"bench_new: {c.describe_modelcrate(env)}; python {sys.version.split()[0]}")
    print(f"  template: {template}")
    print(f"  repeat: {args.repeat} (median reported, min..max in brackets)")

    with c.workdir("bench-new-") as tmp:
        # A template repository of this run (the subprocess finds it through the environment).
        repository = tmp / "template.git"
        os.environ["MODELCRATE_TEMPLATE_REPOSITORY"] = env["MODELCRATE_TEMPLATE_REPOSITORY"] = str(
            repository
        )
        first = c.timed(lambda: release_template(repository))
        again = c.timed(lambda: release_template(repository))
        print(
            f"  release_template: {first * 1000:.1f} ms into an empty repository, "
            f"{again * 1000:.1f} ms when already there"
        )
        release = release_template(repository)
        counter = iter(range(1_000_000))

        def fresh(kind: str) -> Path:
            return tmp / f"{kind}-{next(counter)}"

        def cli_new() -> None:
            c.run([*cli, "new", str(c.VARIABLES), "-o", str(fresh("cli")), "--yes"], env=env)

        def lib_new() -> None:
            new_project(c.VARIABLES, fresh("lib"), options)

        def lib_new_no_git() -> None:
            new_project(c.VARIABLES, fresh("lib-nogit"), options, git=False)

        def lib_new_cloned() -> None:
            cloned = TemplateRelease(release.repository, release.version)
            new_project(c.VARIABLES, fresh("lib-cloned"), options, git=False, template=cloned)

        def copier_only() -> None:
            copier.run_copy(template, fresh("copier"), data=data, defaults=True, quiet=True)

        variants = {
            "modelcrate new (subprocess)": cli_new,
            "new_project() in-process": lib_new,
            "new_project(git=False) in-process": lib_new_no_git,
            "new_project(git=False), copier clones": lib_new_cloned,
            "copier.run_copy (baseline)": copier_only,
        }
        for fn in variants.values():  # warm-up: imports, template caches, .pyc files
            fn()
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.repeat):
            for name, fn in variants.items():
                times[name].append(c.timed(fn))

    base = c.median_ms(times["copier.run_copy (baseline)"])
    width = max(map(len, variants))
    for name, seconds in times.items():
        ms = c.median_ms(seconds)
        print(f"  {name:<{width}}  {ms:8.1f} ms  ({c.spread(seconds)})  {ms / base:5.2f}x baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
