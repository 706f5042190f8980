"""Reading setup.py from its syntax tree, never running it: the module's top-level names are
followed as far as they hold plain values, and the keywords of its `setup()` call are evaluated
with them. A value only a build could compute becomes an `Unresolved`, with its line."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from ..._errors import MigrateError
from ._declared import (
    Conditional,
    Declared,
    Extension,
    FileLines,
    FileText,
    FindPackages,
    Unresolved,
    VersioneerCommands,
    VersionFrom,
)

SETUP_PY = "setup.py"

_SETUP = frozenset({"setuptools.setup", "distutils.core.setup", "numpy.distutils.core.setup"})
_FIND = {
    "setuptools.find_packages": False,
    "setuptools.find_namespace_packages": True,
    "setuptools.PEP420PackageFinder.find": True,
}
_EXTENSION = frozenset(
    {"setuptools.Extension", "distutils.core.Extension", "distutils.extension.Extension"}
)
_OPEN = frozenset({"open", "io.open", "codecs.open"})
_PATH = frozenset({"pathlib.Path", "os.path.join"})
_BUILTINS = ("open", "dict")


class _Here:
    """The folder of setup.py (`os.path.dirname(__file__)`, `Path(__file__).parent`)."""


class _File:
    """`__file__`: setup.py itself."""


class _Opened:
    """A file of the project opened by setup.py (`open(path)`)."""

    def __init__(self, path: str) -> None:
        self.path = path


class _Function:
    """A function of a known module, by its dotted name (`setuptools.find_packages`)."""

    def __init__(self, name: str) -> None:
        self.name = name


def read_setup_py(project: Path) -> Declared:
    """The keywords of PROJECT/setup.py's `setup()` call, read statically."""
    path = project / SETUP_PY
    try:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as exc:
        where = f"{path}:{exc.lineno}" if exc.lineno else str(path)
        raise MigrateError(
            f"{where}: not valid Python ({exc.msg}); fix the syntax, then migrate again"
        ) from None
    except (RecursionError, MemoryError):
        raise MigrateError(
            f"{path}: nests its expressions too deeply to be read; simplify it, then migrate again"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MigrateError(
            f"{path}: cannot be read ({exc}); make it a readable UTF-8 file"
        ) from None
    try:
        return _Reader(text).read(tree, path)
    except RecursionError:
        raise MigrateError(
            f"{path}: nests its expressions too deeply to be read; simplify it, then migrate again"
        ) from None


class _Reader:
    """One pass over setup.py's top-level statements, then its `setup()` call."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.names: dict[str, Any] = {name: _Function(name) for name in _BUILTINS}
        self.names["__file__"] = _File()
        self.declared = Declared()

    # -- statements ----------------------------------------------------------------------------

    def read(self, tree: ast.Module, path: Path) -> Declared:
        self.statements(tree.body)
        calls = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and self.qualified(node.func) in _SETUP
        ]
        if not calls:
            raise MigrateError(
                f"{path}: has no setup() call from setuptools; this is not a setuptools "
                "project (nothing to migrate)"
            )
        self.setup_call(calls[0])
        return self.declared

    def statements(self, body: list[ast.stmt]) -> None:
        for statement in body:
            self.statement(statement)

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                self.names[alias.asname or alias.name.split(".")[0]] = _Function(
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                self.names[alias.asname or alias.name] = _Function(f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            self.assign(node.targets[0], node.value)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
            value: ast.expr = node.value
            if isinstance(node, ast.AugAssign):
                value = ast.BinOp(left=_load(node.target), op=node.op, right=node.value)
                ast.copy_location(value, node)
            self.assign(node.target, value)
        elif isinstance(node, ast.With):
            for item in node.items:
                if isinstance(item.optional_vars, ast.Name):
                    self.names[item.optional_vars.id] = self.value(item.context_expr)
            self.statements(node.body)
        elif isinstance(node, ast.Try):
            self.statements(node.body)  # the path of a normal build; the handlers are fallbacks
            self.statements(node.orelse)
        elif isinstance(node, ast.If) and _is_main_guard(node.test):
            self.statements(node.body)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            self.method_call(node.value)
        elif isinstance(node, ast.If) and self.conditional(node):
            pass  # a platform's or a Python's own requirements: kept with their marker
        elif isinstance(node, (ast.If, ast.For, ast.While, ast.Match)):
            kind = {ast.If: "an if", ast.For: "a for loop", ast.While: "a while loop"}
            self.forget([node], node, f"changed inside {kind.get(type(node), 'a match')}")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.names[node.name] = self.unresolved(node, "a function or class of setup.py")

    # -- conditions that environment markers can say ----------------------------------------------

    def conditional(self, node: ast.If) -> bool:
        """Apply an if whose test is a platform or Python version and whose branches only add
        plain strings to known lists (`requirements.append("pywin32")`), each string kept
        with the test as its marker; False (nothing applied) for any other if."""
        marker = self.marker(node.test)
        negated = self.marker(node.test, negate=True)
        if marker is None or negated is None:
            return False
        branches = [(node.body, marker), (node.orelse, negated)]
        additions = [self.additions(body) for body, _ in branches]
        if any(found is None for found in additions):
            return False
        for found, (_, condition) in zip(additions, branches, strict=True):
            for name, values, line in found or []:
                if not isinstance(self.names[name], list):  # a file's lines, then more
                    self.names[name] = [self.names[name]]
                self.names[name].extend(Conditional(v, condition, line) for v in values)
        return True

    def additions(self, body: list[ast.stmt]) -> list[tuple[str, list[str], int]] | None:
        """What each statement of `body` adds to which list: `name.append(s)`,
        `name.extend([...])`, `name += [...]`; None when a statement does anything else."""
        found = []
        for statement in body:
            name, value = None, None
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
                call = statement.value
                if (
                    isinstance(call.func, ast.Attribute)
                    and isinstance(call.func.value, ast.Name)
                    and call.func.attr in ("append", "extend")
                    and len(call.args) == 1
                    and not call.keywords
                ):
                    name = call.func.value.id
                    value = self.value(call.args[0])
                    value = [value] if call.func.attr == "append" else value
            elif (
                isinstance(statement, ast.AugAssign)
                and isinstance(statement.op, ast.Add)
                and isinstance(statement.target, ast.Name)
            ):
                name, value = statement.target.id, self.value(statement.value)
            if (
                name is None
                or not isinstance(self.names.get(name), (list, FileLines))
                or not isinstance(value, list)
                or not all(isinstance(v, str) for v in value)
            ):
                return None
            found.append((name, value, statement.lineno))
        return found

    def marker(self, test: ast.expr, *, negate: bool = False) -> str | None:
        """The environment marker that says `test` (a platform or a Python version), or None."""
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return self.marker(test.operand, negate=not negate)
        if isinstance(test, ast.BoolOp):
            parts = [self.marker(v, negate=negate) for v in test.values]
            if any(p is None for p in parts):
                return None
            joins_with_and = isinstance(test.op, ast.And) != negate  # De Morgan
            return "(" + (" and " if joins_with_and else " or ").join(map(str, parts)) + ")"
        if isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute):
            prefix = test.args[0] if len(test.args) == 1 else None
            if (
                test.func.attr == "startswith"
                and self.qualified(test.func.value) == "sys.platform"
                and isinstance(prefix, ast.Constant)
                and prefix.value in _PLATFORM_PREFIXES
            ):
                return (
                    f'sys_platform {"!=" if negate else "=="} "{_PLATFORM_PREFIXES[prefix.value]}"'
                )
            return None
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
            return None
        left, op, right = test.left, test.ops[0], test.comparators[0]
        symbol = _OPERATORS.get(type(op))
        if symbol is None:
            return None
        if negate:
            symbol = _NEGATED[symbol]
        subject = self.qualified(left.func) if isinstance(left, ast.Call) else self.qualified(left)
        if isinstance(left, ast.Call) and (left.args or left.keywords):
            return None
        if subject == "sys.version_info" and isinstance(right, ast.Tuple):
            numbers = [e.value for e in right.elts if isinstance(e, ast.Constant)]
            if len(numbers) != len(right.elts) or not all(type(n) is int for n in numbers):
                return None
            version = "python_version" if len(numbers) <= 2 else "python_full_version"
            return f'{version} {symbol} "{".".join(map(str, numbers))}"'
        name = _MARKERS.get(subject)
        if name is None or not isinstance(right, ast.Constant) or not isinstance(right.value, str):
            return None
        if '"' in right.value or "\\" in right.value:
            return None
        return f'{name} {symbol} "{right.value}"'

    def assign(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            self.names[target.id] = self.value(value)
        elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            container = self.names.get(target.value.id)
            key = self.value(target.slice)
            if isinstance(container, dict) and not isinstance(key, Unresolved):
                container[key] = self.value(value)
            else:
                self.names[target.value.id] = self.unresolved(value, "changed by an assignment")
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                if isinstance(element, ast.Name):
                    self.names[element.id] = self.unresolved(value, "unpacked from a value")

    def method_call(self, call: ast.Call) -> None:
        """`requirements.append("x")`, `extras.update(...)` on a known name; else nothing."""
        func = call.func
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
            return
        name = func.value.id
        target = self.names.get(name)
        args = [self.value(a) for a in call.args]
        if any(isinstance(a, Unresolved) for a in args) or call.keywords:
            self.names[name] = self.unresolved(call, f"changed by {func.attr}()")
        elif isinstance(target, list) and func.attr in ("append", "extend") and len(args) == 1:
            target.append(args[0]) if func.attr == "append" else target.extend(args[0])
        elif isinstance(target, dict) and func.attr == "update" and len(args) == 1:
            target.update(args[0])

    def forget(self, body: list[Any], node: ast.AST, why: str) -> None:
        """Every name assigned or changed in `body` can no longer be known."""
        for inner in (n for statement in body for n in ast.walk(statement)):
            targets: list[ast.expr] = []
            if isinstance(inner, ast.Assign):
                targets = list(inner.targets)
            elif isinstance(inner, (ast.AugAssign, ast.AnnAssign)):
                targets = [inner.target]
            elif isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute):
                targets = [inner.func.value]
            for target in targets:
                while isinstance(target, (ast.Subscript, ast.Attribute)):
                    target = target.value
                if isinstance(target, ast.Name):
                    line = getattr(node, "lineno", 0)
                    self.names[target.id] = Unresolved(
                        SETUP_PY, line, target.id, f"{why} at line {line}"
                    )

    # -- the setup() call -----------------------------------------------------------------------

    def setup_call(self, call: ast.Call) -> None:
        for keyword in call.keywords:
            if keyword.arg is None:  # setup(**options)
                options = self.value(keyword.value)
                if isinstance(options, dict):
                    for key, value in options.items():
                        self.declared.set(str(key), value, SETUP_PY, keyword.value.lineno)
                else:
                    self.declared.set(
                        "**", self.unresolved(keyword.value, "keywords"), SETUP_PY, call.lineno
                    )
                continue
            self.declared.set(keyword.arg, self.value(keyword.value), SETUP_PY, keyword.lineno)
        for position, arg in enumerate(call.args):
            self.declared.set(
                f"*{position}", self.unresolved(arg, "a positional argument"), SETUP_PY, arg.lineno
            )

    # -- expressions ----------------------------------------------------------------------------

    def unresolved(self, node: ast.AST, reason: str) -> Unresolved:
        source = ast.get_source_segment(self.text, node) or ast.unparse(node)
        first = source.strip().splitlines()[0] if source.strip() else ""
        shown = first + (" ..." if "\n" in source.strip() else "")
        return Unresolved(SETUP_PY, getattr(node, "lineno", 0), shown, reason)

    def qualified(self, node: ast.expr) -> str:
        """The dotted name `node` stands for (`setuptools.setup` for `setup` imported from
        setuptools), or "" when it is not a known module's function."""
        if isinstance(node, ast.Name):
            known = self.names.get(node.id)
            return known.name if isinstance(known, _Function) else ""
        if isinstance(node, ast.Attribute):
            base = self.qualified(node.value)
            return f"{base}.{node.attr}" if base else ""
        return ""

    def value(self, node: ast.expr) -> Any:
        """The value of `node`, or an `Unresolved` (possibly inside a list or dict)."""
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            items: list[Any] = []
            for element in node.elts:
                if isinstance(element, ast.Starred):
                    inner = self.value(element.value)
                    items.extend(inner if isinstance(inner, list) else [inner])
                else:
                    items.append(self.value(element))
            return items
        if isinstance(node, ast.Dict):
            result: dict[Any, Any] = {}
            for key, item in zip(node.keys, node.values, strict=True):
                if key is None:
                    inner = self.value(item)
                    if not isinstance(inner, dict):
                        return self.unresolved(node, "a dict built from another value")
                    result.update(inner)
                    continue
                result[self.value(key)] = self.value(item)
            return result
        if isinstance(node, ast.Name):
            if node.id not in self.names:
                return self.unresolved(
                    node, "a name setup.py does not assign (exec, a star import)"
                )
            return self.names[node.id]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.value(node.left), self.value(node.right)
            if isinstance(left, list) and isinstance(right, list):
                return left + right
            if isinstance(left, str) and isinstance(right, str):
                return left + right
            return self.unresolved(node, "computed from other values")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            left, right = self.value(node.left), self.value(node.right)
            if isinstance(left, _Here) and isinstance(right, str):
                return right
            return self.unresolved(node, "a path computed when building")
        if isinstance(node, ast.JoinedStr):
            parts = [
                self.value(v.value) if isinstance(v, ast.FormattedValue) else v.value
                for v in node.values
                if isinstance(v, (ast.FormattedValue, ast.Constant))
            ]
            if all(isinstance(p, (str, int, float)) for p in parts):
                return "".join(str(p) for p in parts)
            return self.unresolved(node, "a formatted string of values only a build knows")
        if isinstance(node, ast.Attribute):
            base = self.value(node.value)
            if node.attr == "parent" and isinstance(base, _File):
                return _Here()
            if self.qualified(node):
                return _Function(self.qualified(node))
            return self.unresolved(node, f"the attribute {node.attr!r} of a value")
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.ListComp):
            return self.comprehension(node)
        return self.unresolved(node, "an expression only a build can evaluate")

    def call(self, node: ast.Call) -> Any:
        name = self.qualified(node.func)
        args = [self.value(a) for a in node.args]
        kwargs = {k.arg: self.value(k.value) for k in node.keywords if k.arg}
        if isinstance(node.func, ast.Attribute) and not name:
            return self.method(node, self.value(node.func.value), node.func.attr, args)
        if name in _OPEN and args and isinstance(args[0], str):
            return _Opened(args[0])
        if name == "pathlib.Path" and args:
            return _File() if isinstance(args[0], _File) else args[0]
        if name == "os.path.join" and args:
            parts = [a for a in args if not isinstance(a, _Here)]
            if all(isinstance(p, str) for p in parts):
                return "/".join(parts)
        if name in ("os.path.dirname", "os.path.abspath", "os.path.realpath") and (
            args and isinstance(args[0], (_File, _Here))
        ):
            return _Here()
        if name in _FIND:
            return self.find(node, name, args, kwargs)
        if name == "versioneer.get_version":
            return VersionFrom("versioneer")
        if name == "versioneer.get_cmdclass":
            return VersioneerCommands()
        if name in _EXTENSION or name.endswith(".Extension"):
            return self.extension(node, args, kwargs)
        is_dict = name == "dict" or (isinstance(node.func, ast.Name) and node.func.id == "dict")
        if is_dict and not args and not any(isinstance(v, Unresolved) for v in kwargs.values()):
            return dict(kwargs)
        shown = name or ast.unparse(node.func)
        return self.unresolved(node, f"the result of calling {shown}()")

    def method(self, node: ast.Call, base: Any, method: str, args: list[Any]) -> Any:
        """A method called on a value setup.py holds: reading a file, splitting its text."""
        if isinstance(base, _Opened) or (isinstance(base, str) and method == "read_text"):
            path = base.path if isinstance(base, _Opened) else base
            if method in ("read", "read_text"):
                return FileText(path)
            if method == "readlines":
                return FileLines(path, "lines", node.lineno)
        if isinstance(base, FileText):
            if method in ("strip", "rstrip", "lstrip") and not args:
                return base
            if method == "split" and not args:
                return FileLines(base.path, "split", node.lineno)
            if method == "splitlines" or (method == "split" and args == ["\n"]):
                return FileLines(base.path, "lines", node.lineno)
        if isinstance(base, (_File, _Here)) and method in ("resolve", "absolute") and not args:
            return base
        if isinstance(base, str) and method in ("strip", "lower", "upper") and not args:
            return getattr(base, method)()
        return self.unresolved(node, f"the result of .{method}()")

    def comprehension(self, node: ast.ListComp) -> Any:
        """`[line.strip() for line in f]` and the like over a file's lines: the file read as
        requirement lines (its comments and blank lines are skipped there too)."""
        if len(node.generators) == 1:
            generator = node.generators[0]
            source = self.value(generator.iter)
            if isinstance(source, _Opened):
                source = FileLines(source.path, "lines", node.lineno)
            if (
                isinstance(source, FileLines)
                and isinstance(generator.target, ast.Name)
                and _only_cleans(node.elt, generator.target.id)
                and all(_only_cleans(test, generator.target.id) for test in generator.ifs)
            ):
                return FileLines(source.path, "lines", node.lineno)
        return self.unresolved(node, "a list built by a loop, filtered when building")

    def find(self, node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        names = ("where", "exclude", "include")
        given = dict(zip(names, args, strict=False)) | kwargs
        where = given.get("where", ".")
        exclude, include = given.get("exclude", []), given.get("include", [])
        values = [where, exclude, include]
        if any(isinstance(v, Unresolved) for v in values) or not isinstance(where, str):
            return self.unresolved(node, "packages found with arguments only a build knows")
        return FindPackages(
            where=where,
            include=tuple(include),
            exclude=tuple(exclude),
            namespaces=_FIND[name],
        )

    def extension(self, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> Any:
        names = ("name", "sources")
        given = dict(zip(names, args, strict=False)) | kwargs
        if len(args) > 2 or any(_holds_unresolved(v) for v in given.values()):
            return self.unresolved(node, "a C extension with arguments only a build knows")
        name = given.pop("name", None)
        if not isinstance(name, str):
            return self.unresolved(node, "a C extension without a literal name")
        return Extension(name, tuple(sorted(given.items())), node.lineno)


_MARKERS = {
    "platform.system": "platform_system",
    "platform.machine": "platform_machine",
    "platform.python_implementation": "platform_python_implementation",
    "sys.platform": "sys_platform",
    "os.name": "os_name",
}
_PLATFORM_PREFIXES = {"win": "win32", "linux": "linux", "darwin": "darwin", "cygwin": "cygwin"}
_OPERATORS: dict[type[ast.cmpop], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
}
_NEGATED = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}


def _load(target: ast.expr) -> ast.expr:
    """`target` read instead of written (for `x += y` as `x = x + y`)."""
    copied = ast.parse(ast.unparse(target), mode="eval").body
    return ast.copy_location(copied, target)


def _is_main_guard(test: ast.expr) -> bool:
    """Whether `test` is `__name__ == "__main__"`."""
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


_CLEANING = frozenset({"strip", "rstrip", "lstrip", "startswith"})


def _only_cleans(node: ast.expr, variable: str) -> bool:
    """Whether `node` only strips the loop's line or tests it for emptiness or a comment."""
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name) and inner.id != variable:
            return False
        if isinstance(inner, ast.Attribute) and inner.attr not in _CLEANING:
            return False
        if isinstance(inner, ast.Constant) and inner.value not in ("#", "-", "\n", " ", ""):
            return False
    return True


def _holds_unresolved(value: Any) -> bool:
    if isinstance(value, Unresolved):
        return True
    if isinstance(value, list):
        return any(_holds_unresolved(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_unresolved(v) for v in value.values())
    return False
