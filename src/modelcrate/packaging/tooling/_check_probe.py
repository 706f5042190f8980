"""The checks of `modelcrate check` that import a project's code, run in a child interpreter.

`modelcrate check` runs this file's source with `python -c SOURCE CONFIG.json` in the project's
environment, so a project that cannot be imported (or crashes) cannot break modelcrate. It imports
the project from PROJECT/src (put first on sys.path), uses only modelcrate's spec, model and
runtime layers and Prefect, and writes its results as JSON to the file the config names (the
project's own code may print to stdout). Each check is independent: one failing does not stop
the others.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEPLOYMENT_NAME = "modelcrate-check"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class _Project:
    """The project being checked and what its entry points resolve to (each found once)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.root = Path(config["project"])
        self.src = self.root / "src"
        self.package: str | None = config.get("package")
        self.variables = Path(config["variables"]) if config.get("variables") else None
        self._found: dict[str, tuple[Any, str]] = {}

    def declared(self, group: str) -> dict[str, str]:
        """The entry points of `group` in pyproject.toml (`ProjectError` if there are none)."""
        from modelcrate.runtime import project_entry_points

        return project_entry_points(self.root, group)

    def load(self, group: str, name: str, reference: str) -> Any:
        """The object an entry point names; an error names the entry point and how to fix it."""
        from modelcrate import ProjectError
        from modelcrate.runtime import load_object

        where = f'[project.entry-points."{group}"] {name} = "{reference}"'
        if ":" not in reference:
            raise ProjectError(
                f"{where}: write it as package.module:attribute, e.g. my_model.model:MyModel"
            )
        try:
            return load_object(reference, search=self.src)
        except ProjectError as exc:  # its message starts with the reference, shown in `where`
            raise ProjectError(f"{where}: {str(exc).removeprefix(reference + ': ')}") from None
        except (Exception, SystemExit) as exc:
            raise ProjectError(f"{where}: importing it raised {_first_line(exc)}") from None

    def model_class(self) -> tuple[Any, str]:
        """The model class, by its entry point or else the Model subclass in PACKAGE.model."""
        from modelcrate.runtime import MODELS_GROUP

        return self._find(MODELS_GROUP, "model", _is_model_class, "modelcrate.Model subclass")

    def flow(self) -> tuple[Any, str]:
        """The Prefect flow, by its entry point or else the flow in PACKAGE.flow."""
        from modelcrate.runtime import FLOWS_GROUP

        return self._find(FLOWS_GROUP, "flow", _is_flow, "Prefect flow")

    def _find(self, group: str, module: str, fits: Any, kind: str) -> tuple[Any, str]:
        if group in self._found:
            return self._found[group]
        found = None
        try:
            for name, reference in self.declared(group).items():
                obj = self.load(group, name, reference)
                if fits(obj):
                    found = (obj, reference)
                    break
        except Exception:  # the entry-points check reports it; look in the package instead
            pass
        if found is None and self.package:
            import importlib

            module_name = f"{self.package}.{module}"
            try:
                namespace = vars(importlib.import_module(module_name))
            except (Exception, SystemExit) as exc:
                raise LookupError(
                    f"found no {kind}: importing {module_name} raised {_first_line(exc)}"
                ) from None
            for attr, obj in namespace.items():
                if fits(obj) and getattr(obj, "__module__", module_name) == module_name:
                    found = (obj, f"{module_name}:{attr}")
                    break
        if found is None:
            raise LookupError(
                f"found no {kind}, neither by the {group} entry point nor in the package"
            )
        self._found[group] = found
        return found


def _source_path(project: _Project, obj: Any) -> str:
    """Where `obj` is defined, relative to the project if it is inside it."""
    import inspect

    try:
        path = Path(inspect.getsourcefile(obj) or "").resolve()
        return str(path.relative_to(project.root))
    except (TypeError, ValueError, OSError):
        return str(getattr(obj, "__module__", obj))


def _is_model_class(obj: Any) -> bool:
    from modelcrate import Model

    return isinstance(obj, type) and issubclass(obj, Model) and obj is not Model


def _is_flow(obj: Any) -> bool:
    from prefect import Flow

    return isinstance(obj, Flow)


# -- the checks: each returns (ok, message) -------------------------------------------------------


def check_variables(project: _Project) -> tuple[bool, str]:
    """The variables file loads and equals the `spec` of the model class the package ships."""
    from modelcrate import Spec, load_spec

    if project.variables is None:
        return False, (
            "no src/PACKAGE/variables.yml found; point the modelcrate.models entry point "
            "at the package that holds variables.yml"
        )
    shown = project.variables.relative_to(project.root)
    try:
        declared = load_spec(project.variables)
    except Exception as exc:  # SpecError names the file and the field
        return False, f"{exc}"
    try:
        cls, reference = project.model_class()
    except LookupError as exc:
        return False, f"{shown} loads, but cannot be compared with the model class: {exc}"
    shipped = getattr(cls, "spec", None)
    if not isinstance(shipped, Spec):
        return False, (
            f"{reference} has no spec; set `spec = load_spec(files({project.package!r}) / "
            f'"variables.yml")` in the class'
        )
    difference = spec_difference(shipped, declared)
    if difference:
        return False, (
            f"{cls.__name__}.spec differs from {shown}: {difference}; make the class load "
            f'that file (`spec = load_spec(files({project.package!r}) / "variables.yml")`)'
        )
    return True, (
        f"{shown.name} equals {cls.__name__}.spec "
        f"({len(declared.inputs)} inputs, {len(declared.outputs)} outputs)"
    )


def spec_difference(shipped: Any, declared: Any) -> str | None:
    """The first difference between the class's spec and the file's, in words (None if equal)."""
    from modelcrate.spec import spec_document

    ours, theirs = spec_document(shipped), spec_document(declared)
    for key, role in (("input_variables", "input"), ("output_variables", "output")):
        a, b = ours.pop(key), theirs.pop(key)
        for name in b:
            if name not in a:
                return f"{role} {name!r} is in the file but not in the class's spec"
        for name in a:
            if name not in b:
                return f"{role} {name!r} is in the class's spec but not in the file"
        for name in a:
            fields = [
                f for f in {**a[name], **b[name]} if not _same(a[name].get(f), b[name].get(f))
            ]
            if fields:
                field = fields[0]
                return (
                    f"{role} {name!r} has {field} {a[name].get(field)!r} in the class's spec, "
                    f"{b[name].get(field)!r} in the file"
                )
        if list(a) != list(b):
            return f"the {role}s are in another order"
    if not _same(ours, theirs):
        return "the model metadata differs"
    return None


def _same(a: Any, b: Any) -> bool:
    """Equal as data (NaN equals NaN, as in the file)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def check_entry_points(project: _Project) -> tuple[bool, str]:
    """Every modelcrate.models entry point is a Model subclass, every modelcrate.flows one a flow."""
    from modelcrate.runtime import FLOWS_GROUP, MODELS_GROUP

    problems, shown = [], []
    for group, fits, kind in (
        (MODELS_GROUP, _is_model_class, "a subclass of modelcrate.Model"),
        (FLOWS_GROUP, _is_flow, "a Prefect flow (decorated with @flow)"),
    ):
        try:
            declared = project.declared(group)
        except Exception as exc:
            problems.append(str(exc))
            continue
        for name, reference in declared.items():
            try:
                obj = project.load(group, name, reference)
            except Exception as exc:
                problems.append(str(exc))
                continue
            if not fits(obj):
                problems.append(
                    f'[project.entry-points."{group}"] {name} = "{reference}": is '
                    f"{type(obj).__name__}, not {kind}; point it at one"
                )
            else:
                shown.append(f"{group.rpartition('.')[2]}: {reference.rpartition(':')[2]}")
    if problems:
        return False, "; ".join(problems)
    return True, "; ".join(shown)


def check_flow(project: _Project) -> tuple[bool, str]:
    """The flow's parameters make a valid Prefect schema and it becomes a deployment, no server."""
    try:
        flow, reference = project.flow()
    except LookupError as exc:
        return False, f"cannot check the flow: {exc}"
    import jsonschema  # a dependency of Prefect (its own schema check costs 1.5 s of imports)
    from prefect.utilities.callables import parameter_schema

    try:
        schema = parameter_schema(flow.fn).model_dump_for_openapi()
        json.dumps(schema)
        jsonschema.Draft202012Validator.check_schema(schema)
    except Exception as exc:
        return False, (
            f"{reference}: its parameters give no valid Prefect parameter schema "
            f"({_first_line(exc)}); type every parameter with JSON-serialisable types"
        )
    try:
        deployment = flow.to_deployment(name=DEPLOYMENT_NAME)
    except Exception as exc:
        return False, (
            f"{reference}: flow.to_deployment failed ({_first_line(exc)}); "
            "the flow cannot be registered as a deployment"
        )
    count = len(schema.get("properties", {}))
    return True, f"{count} parameters, valid schema; deployment {deployment.name!r} made"


def check_evaluate(project: _Project) -> tuple[bool, str]:
    """`evaluate` on the defaults returns every declared output with its kind, shape and range."""
    from modelcrate import OutputError
    from modelcrate.model import check_value

    try:
        cls, _ = project.model_class()
    except LookupError as exc:
        return False, f"cannot evaluate: {exc}"
    where = f"{cls.__name__}.evaluate"
    fix = f"fix {where} in {_source_path(project, cls)}"
    try:
        model = cls()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an input default outside its range: not our concern
            inputs = model.prepare(model.spec.sample_inputs())
        outputs = model.evaluate(inputs)
    except (Exception, SystemExit) as exc:
        return False, f"{where} on the default inputs raised {_first_line(exc)}; {fix}"
    if not isinstance(outputs, Mapping):
        return False, f"{where} returned {type(outputs).__name__}, not a dict of outputs; {fix}"
    problems = [
        f"returned undeclared output {name!r}"
        for name in outputs
        if name not in model.spec.output_names
    ]
    for variable in model.spec.outputs:
        if variable.name not in outputs:
            problems.append(f"output {variable.name!r} is missing")
            continue
        strict = variable.model_copy(update={"policy": "error"})
        try:
            check_value(strict, outputs[variable.name], "output", OutputError)
        except OutputError as exc:
            problems.append(str(exc))
    if problems:
        return False, f"{where} on the default inputs: {'; '.join(problems)}; {fix}"
    return True, f"all {len(model.spec.outputs)} outputs have the declared kind, shape and range"


CHECKS = {
    "variables": check_variables,
    "entry-points": check_entry_points,
    "flow": check_flow,
    "evaluate": check_evaluate,
}


def run(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Run every check on the project the config names; one result dict per check."""
    project = _Project(config)
    sys.path[:] = [str(project.src)] + [p for p in sys.path if p not in ("", str(project.src))]
    try:
        import modelcrate.model
        import modelcrate.runtime  # noqa: F401
    except ImportError as exc:
        message = (
            f"{sys.executable} cannot import modelcrate ({exc}); install the project in that "
            "environment (pip install -e '.[dev]') or give another --python"
        )
        return [{"name": name, "ok": False, "message": message} for name in CHECKS]
    results = []
    for name, check in CHECKS.items():
        try:
            ok, message = check(project)
        except (Exception, SystemExit) as exc:
            ok, message = False, f"the check itself failed: {_first_line(exc)}"
        results.append({"name": name, "ok": ok, "message": " ".join(message.split())})
    return results


if __name__ == "__main__":
    _config = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    _results = run(_config)
    Path(_config["out"]).write_text(json.dumps(_results), encoding="utf-8")
