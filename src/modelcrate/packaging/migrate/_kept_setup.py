"""The setup.py that stays when pyproject.toml cannot declare the C extensions (their arguments
are computed when building, as `numpy.get_include()`): only `setup(ext_modules=...)`, with the
statements of the old setup.py that it needs, copied as they were."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from ._declared import Note

_HEADER = '''"""Only the C extensions, which are computed when building; everything else about the
package is in pyproject.toml (setuptools reads both)."""

'''
KEPT_MARK = _HEADER.splitlines()[0]
"""The first line of a setup.py that `migrate` kept: the project is migrated already."""
_BUILD_TOOLS = frozenset({"setuptools", "distutils", "pkg_resources"})


def kept_setup_py(project: Path, build_requires: list[str]) -> tuple[str, list[Note]]:
    """The text of the setup.py that keeps PROJECT's C extensions, and notes on the modules it
    imports that `build_requires` does not install."""
    text = (project / "setup.py").read_text(encoding="utf-8")
    tree = ast.parse(text)
    call = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and any(k.arg == "ext_modules" for k in node.keywords)
    )
    extensions = next(k.value for k in call.keywords if k.arg == "ext_modules")
    needed = _used(extensions)
    kept: set[int] = set()
    changed = True
    while changed:
        changed = False
        for index, statement in enumerate(tree.body):
            if index not in kept and _defines(statement) & needed:
                kept.add(index)
                needed |= _used(statement)
                changed = True
    imports = [
        ast.get_source_segment(text, tree.body[i]) or ""
        for i in sorted(kept)
        if isinstance(tree.body[i], (ast.Import, ast.ImportFrom))
    ]
    others = [
        ast.get_source_segment(text, tree.body[i]) or ""
        for i in sorted(kept)
        if not isinstance(tree.body[i], (ast.Import, ast.ImportFrom))
    ]
    if not any("setup" in _defines(tree.body[i]) for i in kept):
        imports.append("from setuptools import setup")
    body = ["\n".join(imports), *others]
    source = ast.get_source_segment(text, extensions) or ast.unparse(extensions)
    written = _HEADER + "\n\n".join(body) + f"\n\nsetup(ext_modules={source})\n"
    ast.parse(written)  # the copy must stay valid Python
    imported = {
        name.split(".")[0]
        for i in kept
        for name in _imported(tree.body[i])
        if name.split(".")[0] not in sys.stdlib_module_names | _BUILD_TOOLS
    }
    requires = " ".join(build_requires).lower()
    notes = [
        Note(
            "setup.py",
            0,
            f"the kept setup.py imports {name} when building",
            "add it to [build-system] requires in pyproject.toml",
        )
        for name in sorted(imported)
        if name.lower() not in requires
    ]
    return written, notes


def _defines(statement: ast.stmt) -> set[str]:
    """The names a top-level statement binds."""
    names: set[str] = set()
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        names = {(a.asname or a.name).split(".")[0] for a in statement.names}
    elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        names = {statement.name}
    else:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


def _used(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _imported(statement: ast.stmt) -> list[str]:
    if isinstance(statement, ast.Import):
        return [a.name for a in statement.names]
    if isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
        return [statement.module]
    return []
