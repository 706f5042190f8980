"""How many packages a packaged model's runtime pins, beyond Prefect's own: now against a baseline.

    python benchmarks/bench_runtime_pins.py [--baseline REV] [--python 3.11]

The example project's runtime requirements (the generated pyproject.toml's `dependencies`, with
modelcrate replaced by modelcrate's own `dependencies`, since modelcrate is resolved from this
tree, not from an index) are resolved by `uv pip compile --universal` as the template and
modelcrate's pyproject.toml stand in this working tree and at the baseline revision (default: the
last one before the project tools moved to the `tools` extra). Prefect's own closure, resolved
the same way, is subtracted from both: what is left is what modelcrate and the model add.
Both resolutions run side by side in one run, against the same index.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import _common as c
import tomllib

TEMPLATE = "src/modelcrate/packaging/scaffold/template/project/pyproject.toml.jinja"
BASELINE = "cee9d60"
"""The revision before the split: generated projects depended on all of modelcrate."""
PACKAGING_TOOLS = ("copier", "questionary", "validate-pyproject", "uv", "plumbum", "dunamai")


def _read(revision: str | None, path: str) -> str:
    if revision is None:
        return (c.ROOT / path).read_text(encoding="utf-8")
    return c.run(["git", "-C", str(c.ROOT), "show", f"{revision}:{path}"])


def _template_dependencies(text: str) -> list[str]:
    """The requirement strings of the template's `dependencies` list, as rendered for the example
    (the click command line), without the line that names modelcrate."""
    block = text[
        text.index("\ndependencies = [") : text.index("\n]", text.index("\ndependencies = ["))
    ]
    return re.findall(r'^\s*"([^"]+)",', block, re.MULTILINE)


def requirements(revision: str | None) -> list[str]:
    """The example project's runtime requirements at `revision` (None: the working tree)."""
    modelcrate = tomllib.loads(_read(revision, "pyproject.toml"))["project"]["dependencies"]
    return [*modelcrate, *_template_dependencies(_read(revision, TEMPLATE))]


def resolve(uv: str, wanted: list[str], python: str) -> set[str]:
    """The names of every package `uv pip compile --universal` pins for `wanted`."""
    done = subprocess.run(
        [uv, "pip", "compile", "-", "--universal", "--python-version", python, "--no-header",
         "--no-annotate", "-q"],
        input="\n".join(wanted) + "\n", capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    return {
        m.group(1).lower() for m in re.finditer(r"^([A-Za-z0-9._-]+)==", done.stdout, re.MULTILINE)
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", default=BASELINE, help=f"git revision (default: {BASELINE})")
    p.add_argument("--python", default="3.11", help="the lowest Python resolved for (3.11)")
    args = p.parse_args()
    from modelcrate.packaging._tools import find_uv

    uv = find_uv()
    if uv is None:
        print("error: uv is not installed: pip install 'modelcrate[tools]'", file=sys.stderr)
        return 2
    print(f"bench_runtime_pins: uv {c.run([uv, '--version']).split()[1]}, Python {args.python}")
    now, before = requirements(None), requirements(args.baseline)
    prefect = [r for r in now if r.startswith("prefect")]
    prefect_own = resolve(uv, prefect, args.python)
    rows = []
    for label, wanted in ((f"baseline {args.baseline}", before), ("this tree", now)):
        pins = resolve(uv, wanted, args.python)
        extra = sorted(pins - prefect_own)
        tools = [t for t in PACKAGING_TOOLS if t in pins]
        rows.append((label, len(pins), extra, tools))
    print(f"  Prefect's own ({', '.join(prefect)}): {len(prefect_own)} pins")
    for label, total, extra, tools in rows:
        print(f"  {label}: {total} pins, {len(extra)} beyond Prefect's: {', '.join(extra)}")
        print(f"    packaging tools among them: {', '.join(tools) or 'none'}")
    (_, _, before_extra, _), (_, _, now_extra, _) = rows
    print(f"  beyond Prefect's: {len(now_extra)} now vs {len(before_extra)} at the baseline "
          f"({len(now_extra) / max(len(before_extra), 1):.2f}x)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
