"""`dependency_graph`: the dependency tree of a project's installed environment, with conflicts.

The environment is read by running a short script in its interpreter that dumps every
distribution's name, version and Requires-Dist, and the interpreter's marker environment, as
JSON (`environment_dump`). The tree is then built here by `build_graph`, a pure function of that
dump, with `packaging` evaluating the markers.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from ..._errors import ProjectError
from .._project import DEV_EXTRA, read_project
from .._tools import project_interpreter, run_tool

# Runs inside the environment's interpreter: standard library only, any Python 3.8+.
_DUMP_SCRIPT = r"""
import json, os, platform, re, sys
from importlib import metadata

impl = sys.implementation.version
impl_version = "%d.%d.%d" % (impl.major, impl.minor, impl.micro)
if impl.releaselevel != "final":
    impl_version += impl.releaselevel[0] + str(impl.serial)
environment = {
    "implementation_name": sys.implementation.name,
    "implementation_version": impl_version,
    "os_name": os.name,
    "platform_machine": platform.machine(),
    "platform_release": platform.release(),
    "platform_system": platform.system(),
    "platform_version": platform.version(),
    "python_full_version": platform.python_version(),
    "platform_python_implementation": platform.python_implementation(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}
seen, distributions = set(), []
for dist in metadata.distributions():  # the first of a name on sys.path is the one imported
    name = dist.metadata["Name"]
    key = re.sub(r"[-_.]+", "-", name or "").lower()
    if not name or key in seen:
        continue
    seen.add(key)
    distributions.append({"name": name, "version": dist.version, "requires": dist.requires or []})
print(json.dumps({"python": sys.executable, "environment": environment,
                  "distributions": distributions}))
"""


DUMP_TIMEOUT_SECONDS = 120
"""How long listing an environment's distributions may take."""


class _NodeFields(TypedDict):
    name: str
    version: str | None
    required: str
    children: list[NodeDict]


class NodeDict(_NodeFields, total=False):
    """`Node.to_dict()`: a dependency and its own, nested; `cycle` (always true) only when the
    tree is cut there because the dependency is its own ancestor; `truncated` (always true) only
    when its dependencies are left out for `--depth`."""

    cycle: bool
    truncated: bool


class ConflictDict(TypedDict):
    """`Conflict.to_dict()`; `kind` is "missing" when nothing is installed, else "mismatch"."""

    package: str
    requirement: str
    installed: str | None
    kind: Literal["missing", "mismatch"]


class DependencyGraphDict(TypedDict):
    """`DependencyGraph.to_dict()`: what `modelcrate graph --json` prints."""

    project: str
    version: str
    dependencies: list[NodeDict]
    conflicts: list[ConflictDict]


@dataclass(frozen=True)
class Node:
    """One dependency: the installed distribution (version None when missing), the specifier
    its parent requires, and its own dependencies; `cycle` when cut because it is an ancestor."""

    name: str
    version: str | None
    required: str
    children: tuple[Node, ...] = ()
    cycle: bool = False

    def to_dict(self, *, depth: int | None = None) -> NodeDict:
        """Plain JSON-ready form (children nested, `depth` levels of them when given)."""
        below = None if depth is None else depth - 1
        data: NodeDict = {
            "name": self.name,
            "version": self.version,
            "required": self.required,
            "children": []
            if below is not None and below < 0
            else [child.to_dict(depth=below) for child in self.children],
        }
        if self.cycle:
            data["cycle"] = True
        if self.children and not data["children"]:
            data["truncated"] = True
        return data


@dataclass(frozen=True)
class Conflict:
    """A requirement the environment does not meet: wrong version installed, or none."""

    package: str
    requirement: str
    installed: str | None

    def __str__(self) -> str:
        found = f"{self.installed} is installed" if self.installed else "it is not installed"
        return f"{self.package} requires {self.requirement}, but {found}"

    def to_dict(self) -> ConflictDict:
        """Plain JSON-ready form."""
        kind: Literal["missing", "mismatch"] = "mismatch" if self.installed else "missing"
        return {"package": self.package, "requirement": self.requirement,
                "installed": self.installed, "kind": kind}  # fmt: skip


@dataclass(frozen=True)
class DependencyGraph:
    """The project's installed version, its dependency trees, and the conflicts found."""

    project: str
    version: str
    dependencies: tuple[Node, ...]
    conflicts: tuple[Conflict, ...] = field(default=())

    def to_dict(self, *, depth: int | None = None) -> DependencyGraphDict:
        """`{"project", "version", "dependencies": [tree], "conflicts": [...]}`; `depth` levels
        of dependencies when given (1: direct dependencies only)."""
        below = None if depth is None else depth - 1
        return {
            "project": self.project,
            "version": self.version,
            "dependencies": [node.to_dict(depth=below) for node in self.dependencies],
            "conflicts": [conflict.to_dict() for conflict in self.conflicts],
        }


def dependency_graph(
    project: str | os.PathLike[str], *, python: str | os.PathLike[str] | None = None,
    dev: bool = False,
) -> DependencyGraph:  # fmt: skip
    """The dependency tree of PROJECT as installed in PROJECT/.venv (or the `python` given);
    `dev` follows the project's dev extra too."""
    meta = read_project(project)
    root = meta.path.parent
    interpreter = project_interpreter(root, python, required=True)
    dump = environment_dump(interpreter)
    if canonicalize_name(meta.name) not in {
        canonicalize_name(d["name"]) for d in dump["distributions"]
    }:
        raise ProjectError(
            f"{meta.name} is not installed in {interpreter}; install it: "
            f"{interpreter} -m pip install -e '{root}[{DEV_EXTRA}]'"
        )
    return build_graph(dump, meta.name, dev=dev)


def environment_dump(python: str | os.PathLike[str]) -> dict[str, Any]:
    """Every distribution installed for `python` (name, version, requires) and its marker
    environment, read by running a short script in that interpreter."""
    try:
        done = run_tool([python, "-I", "-c", _DUMP_SCRIPT], timeout=DUMP_TIMEOUT_SECONDS)
    except TimeoutError:  # an OSError too: first
        raise ProjectError(
            f"{python}: listing its distributions took more than {DUMP_TIMEOUT_SECONDS} s; "
            "check that this Python starts, or give another --python"
        ) from None
    except OSError as exc:
        raise ProjectError(
            f"{python}: cannot run this Python ({exc}); give another --python"
        ) from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ProjectError(f"{python}: listing its distributions failed ({last})")
    return json.loads(done.stdout)


def build_graph(dump: dict[str, Any], project: str, *, dev: bool = False) -> DependencyGraph:
    """The tree rooted at `project` from an `environment_dump`; a pure function of the dump."""
    dists = {canonicalize_name(d["name"]): d for d in dump["distributions"]}
    environment = dump["environment"]
    top = dists.get(canonicalize_name(project))
    if top is None:
        raise ProjectError(f"{project} is not installed in this environment; install it first")

    def requirements(dist: dict[str, Any], extras: frozenset[str]) -> list[Requirement]:
        """The dist's requirements that apply here (with `extras`), merged by name."""
        merged: dict[str, Requirement] = {}
        for text in dist["requires"]:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue  # malformed metadata of a third-party package: nothing to follow
            if req.marker is not None and not any(
                req.marker.evaluate({**environment, "extra": extra}) for extra in ("", *extras)
            ):
                continue
            req.marker = None
            key = canonicalize_name(req.name)
            if key in merged:
                old = merged[key]
                old.specifier = SpecifierSet(f"{old.specifier},{req.specifier}".strip(","))
                old.extras |= req.extras
                old.url = old.url or req.url
            else:
                merged[key] = req
        return sorted(merged.values(), key=lambda r: canonicalize_name(r.name))

    def required(req: Requirement) -> str:
        return f"@ {req.url}" if req.url else str(req.specifier)

    conflicts: dict[tuple[str, str], Conflict] = {}

    def check(parent: dict[str, Any], req: Requirement) -> None:
        dist = dists.get(canonicalize_name(req.name))
        installed = dist["version"] if dist else None
        if dist is None or (
            installed is None
            or (req.specifier and not req.specifier.contains(installed, prereleases=True))
        ):
            text = f"{req.name}{required(req)}" if not req.url else f"{req.name} {required(req)}"
            conflicts.setdefault((parent["name"], text), Conflict(parent["name"], text, installed))

    def node(req: Requirement, path: frozenset[str]) -> Node:
        key = canonicalize_name(req.name)
        dist = dists.get(key)
        if dist is None:
            return Node(name=req.name, version=None, required=required(req))
        if key in path:
            return Node(dist["name"], dist["version"], required(req), cycle=True)
        children = []
        for child in requirements(dist, frozenset(req.extras)):
            check(dist, child)
            children.append(node(child, path | {key}))
        return Node(dist["name"], dist["version"], required(req), tuple(children))

    # The project's own extras, following those that name the project again
    # (`dev = ["my-model[test,docs]", ...]`): their requirements are the project's too.
    own = canonicalize_name(project)
    extras = frozenset({DEV_EXTRA} if dev else ())
    while True:
        named = {
            extra
            for req in requirements(top, extras)
            if canonicalize_name(req.name) == own
            for extra in req.extras
        }
        if named <= extras:
            break
        extras |= named
    roots = []
    for req in requirements(top, extras):
        if canonicalize_name(req.name) == own:
            continue
        check(top, req)
        roots.append(node(req, frozenset({own})))
    return DependencyGraph(top["name"], top["version"], tuple(roots), tuple(conflicts.values()))


def render_tree(graph: DependencyGraph, *, depth: int | None = None) -> str:
    """The graph as text: `name==version (required: spec)` lines joined by ├── / └──, then
    the conflicts. A dependency's own dependencies are listed once, where it first appears;
    later it is marked `(see above)`. `depth` limits the levels shown (1: direct dependencies)."""
    lines = [f"{graph.project}=={graph.version}"]
    shown: set[tuple[str, tuple[str, ...]]] = set()  # a dependency and its direct requirements
    cut = False

    def walk(nodes: tuple[Node, ...], prefix: str, level: int) -> None:
        nonlocal cut
        for i, item in enumerate(nodes):
            last = i == len(nodes) - 1
            label = f"{item.name}=={item.version}" if item.version else f"{item.name} [missing]"
            label += f" (required: {item.required or 'any'})"
            key = (canonicalize_name(item.name), tuple(c.name for c in item.children))
            expand = False
            if item.cycle:
                label += " [cycle]"
            elif item.children and key in shown:
                label += " (see above)"
            elif item.children and depth is not None and level >= depth:
                label += " (...)"
                cut = True
            elif item.children:
                expand = True
                shown.add(key)
            lines.append(f"{prefix}{'└── ' if last else '├── '}{label}")
            if expand:
                walk(item.children, prefix + ("    " if last else "│   "), level + 1)

    walk(graph.dependencies, "", 1)
    if cut:
        lines.append(f"(...): dependencies deeper than --depth {depth} not shown")
    lines.append("")
    if graph.conflicts:
        lines.append(f"{len(graph.conflicts)} conflict{'s' if len(graph.conflicts) > 1 else ''}:")
        lines.extend(f"  {conflict}" for conflict in graph.conflicts)
    else:
        lines.append("No conflicts.")
    return "\n".join(lines)
