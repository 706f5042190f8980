"""The old Prefect 1/2 flow's tasks and the migrated flow: a task that is a plain function (it
reads only its parameters, its own names and builtins) is carried over into the new flow module
as a Prefect 3 task the user can call; every other one is listed with its file and line and
what to do with it. The old flow module is kept for reference; nothing imports it."""

from __future__ import annotations

import ast
import builtins
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from .._escape import one_line
from ._declared import Note
from ._lume_files import package_modules

_PREFECT = re.compile(r"^\s*(from|import)\s+prefect\b", re.MULTILINE)
_MAIN = "\nif __name__ == "
_BUILTINS = frozenset(dir(builtins))


@dataclass(frozen=True)
class OldTask:
    """A function of an old flow module decorated with Prefect's `task`."""

    file: str
    line: int
    name: str
    source: str
    """The function as written, without its decorators."""
    arguments: str
    """The decorator's arguments as written (`retries=2`), or ""."""
    needs: tuple[str, ...]
    """The names it reads from its module (none for a plain function)."""
    others: tuple[str, ...] = ()
    """Its decorators besides `task`, as written."""


def old_flows(
    root: Path,
    package_dir: Path,
    flow_file: str,
    flow_text: str,
    model_class: str,
    written: tuple[str, ...],
) -> tuple[str, list[Note]]:
    """The new flow module's text (the module at `flow_file`) with the plain tasks of the old
    Prefect 1/2 flows in the package at `package_dir` carried over, and notes on each old flow
    and each of its tasks; `written` are the names of the modules migrate writes there."""
    notes = []
    final_dir = posixpath.dirname(flow_file)
    prefix = final_dir.removesuffix(package_dir.relative_to(root).as_posix())
    for path, text, tree in package_modules(root, package_dir):
        if path.name in written:
            continue
        if not is_old_flow(path, text):
            continue
        relative = path.relative_to(root).as_posix()
        tasks = old_flow_tasks(relative, text, tree)
        flow_text, task_notes = carry_over(
            flow_text, flow_file, prefix + relative, tasks, model_class
        )
        listed = ", ".join(t.name for t in tasks) if tasks else "none"
        generation = "Prefect 1" if re.search(r"\bwith\s+Flow\(", text) else "Prefect 2"
        notes.append(
            Note(
                relative,
                0,
                f"the old {generation} flow (its tasks: {listed})",
                "kept for reference; nothing imports it, and it needs its old Prefect to run; "
                f"the flow is now {flow_file}, and each task is listed here",
            )
        )
        notes += task_notes
    return flow_text, notes


def old_flow_tasks(path: str, text: str, tree: ast.Module) -> list[OldTask]:
    """The top-level `@task` functions of the module at `path` (its text and syntax tree)."""
    tasks = []
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        decorators = [d for d in node.decorator_list if _decorator_name(d) == "task"]
        if not decorators or node.end_lineno is None:
            continue
        decorator = decorators[0]
        others = tuple(
            "@" + (ast.get_source_segment(text, d) or _decorator_name(d))
            for d in node.decorator_list
            if d is not decorator
        )
        arguments = ""
        if isinstance(decorator, ast.Call) and (decorator.args or decorator.keywords):
            inner = ast.get_source_segment(text, decorator) or ""
            arguments = inner[inner.index("(") + 1 : -1].strip() if "(" in inner else inner
        source = ast.get_source_segment(text, node)  # from `def`, by Python's own line breaks
        if source is None:
            continue
        tasks.append(
            OldTask(path, node.lineno, node.name, source, one_line(arguments), _needs(node), others)
        )
    return tasks


def is_old_flow(path: Path, text: str) -> bool:
    """Whether the module uses Prefect (an old flow, for the purposes of the migration)."""
    return bool(_PREFECT.search(text)) and path.suffix == ".py"


def carry_over(
    flow_text: str, flow_file: str, old_file: str, tasks: list[OldTask], model_class: str
) -> tuple[str, list[Note]]:
    """`flow_text` (the new flow module, at `flow_file`) with the plain tasks of the old flow
    module `old_file` added before its `__main__` block, and a note on each task."""
    tree = ast.parse(flow_text)
    defined = _top_level_names(tree)
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    carried: list[str] = []
    notes: list[Note] = []
    for task in tasks:
        where = f"{task.name}, a task of the old flow"
        if model_class in task.needs:
            notes.append(
                Note(
                    task.file,
                    task.line,
                    where,
                    "not carried over: it runs the old model, which the new flow's `evaluate "
                    "and store` task does through modelcrate.Model",
                )
            )
        elif task.others:
            notes.append(
                Note(
                    task.file,
                    task.line,
                    where,
                    "not carried over: it has other decorators ("
                    + one_line(", ".join(task.others))
                    + f"); copy it into {flow_file} by hand if the flow needs it",
                )
            )
        elif task.needs:
            notes.append(
                Note(
                    task.file,
                    task.line,
                    where,
                    "not carried over: it reads " + ", ".join(task.needs) + " from its module; "
                    f"copy it into {flow_file} with what it needs, and call it in the flow",
                )
            )
        elif task.name in _BUILTINS or (task.name in used and task.name not in defined):
            notes.append(
                Note(
                    task.file,
                    task.line,
                    where,
                    f"not carried over: its name would hide {task.name!r} from the new flow "
                    f"(a {'builtin' if task.name in _BUILTINS else 'name it uses'}); copy it "
                    f"into {flow_file} under another name if the flow needs it",
                )
            )
        elif task.name in defined:
            notes.append(
                Note(
                    task.file,
                    task.line,
                    where,
                    f"not carried over: {flow_file} defines {task.name} itself; copy it under "
                    "another name if the flow needs it",
                )
            )
        else:
            carried.append(task.source.rstrip("\n"))
            defined.add(task.name)
            dropped = (
                f"; its decorator's arguments ({task.arguments}) are left out: give them back "
                "as Prefect 3's task takes them"
                if task.arguments
                else ""
            )
            notes.append(
                Note(
                    task.file,
                    task.line,
                    where,
                    f"carried over into {flow_file} as a Prefect 3 task, which the flow does "
                    f"not call yet: call it in the flow where it belongs{dropped}",
                )
            )
    if not carried:
        return flow_text, notes
    header = (
        "# The tasks of the old flow, carried over as they were written; the flows above do not\n"
        "# call them: call them where they belong, or delete them. The old flow is kept in\n"
        f"#   {one_line(old_file)}\n"
    )
    functions = "".join(f"\n\n@task\n{source}\n" for source in carried)
    block = f"\n\n{header}{functions}"
    at = flow_text.rfind(_MAIN)  # the last: the module's own script entry
    if at < 0:
        return flow_text.rstrip("\n") + "\n" + block, notes
    return flow_text[:at].rstrip("\n") + "\n" + block + "\n" + flow_text[at:], notes


def _needs(function: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, ...]:
    """The names `function` reads that are neither its parameters, nor names it binds, nor
    builtins: what it takes from its module."""
    own: set[str] = set()
    arguments = function.args
    for arg in (
        *arguments.posonlyargs,
        *arguments.args,
        *arguments.kwonlyargs,
        *(a for a in (arguments.vararg, arguments.kwarg) if a is not None),
    ):
        own.add(arg.arg)
    read: list[str] = []
    shared: set[str] = set()  # `global` and `nonlocal` names: the module's, even when bound
    parts: list[ast.AST] = [*function.body, arguments]
    parts += [function.returns] if function.returns is not None else []
    for node in (n for part in parts for n in ast.walk(part)):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                read.append(node.id)
            else:
                own.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            own.add(node.name)
        elif isinstance(node, ast.alias):
            own.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            own.add(node.name)
        elif isinstance(node, ast.arg):
            own.add(node.arg)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            shared.update(node.names)
    own -= shared
    own.add(function.name)  # itself, as the task it stays: a recursive task needs nothing more
    needed = [*shared, *(n for n in read if n not in own and n not in _BUILTINS)]
    return tuple(dict.fromkeys(needed))


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        else:
            names |= {
                n.id
                for n in ast.walk(node)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            }
    return names


def _decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr
    return target.id if isinstance(target, ast.Name) else ""
