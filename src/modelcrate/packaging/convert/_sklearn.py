"""scikit-learn estimators (pipelines too): a `.skops` file loads with skops, whose check of the
types it holds refuses any it does not trust unless `--trust`; a joblib or pickle file runs code
when it loads, so it loads only with `--trust`.

The inputs are the features (`feature_names_in_`, else `x0..`), given as an array, or as a
pandas DataFrame of those columns when predict needs one (it selects columns by name); a classifier gives `label` (one
of `classes_`) and, with `predict_proba`, `probabilities` (one per class, in the order of
`classes_`); any other estimator gives what `predict` gives: `y`, or `y0..` for several targets.
"""

from __future__ import annotations

import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from ..._errors import ArtifactError
from ...runtime import Slot, kind_module
from ...spec import (
    ArrayVariable,
    BoolVariable,
    EnumVariable,
    IntVariable,
    ScalarVariable,
    Spec,
    StrVariable,
    Variable,
)
from ._inferred import Inferred, listed, reason

SKOPS_SUFFIXES = (".skops",)
PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")
SUFFIXES = SKOPS_SUFFIXES + PICKLE_SUFFIXES


def inspect(path: Path, *, trust: bool = False, variables: Spec | None = None) -> Inferred:
    """Load the estimator at `path` (as safely as its format allows) and read its features,
    targets and classes."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise ArtifactError(
            f"{path}: converting a scikit-learn model needs scikit-learn and skops: "
            "pip install 'modelcrate[sklearn]'"
        ) from None
    if path.suffix.lower() in SKOPS_SUFFIXES:
        estimator, options, notes = _load_skops(path, trust)
    else:
        estimator, options, notes = _load_pickle(path, trust)
    if not callable(getattr(estimator, "predict", None)):
        raise ArtifactError(
            f"{path}: holds a {type(estimator).__name__}, not a scikit-learn estimator with "
            "predict; save the fitted estimator or pipeline itself"
        )
    count = getattr(estimator, "n_features_in_", None)
    if not isinstance(count, (int, np.integer)) or count < 1:
        raise ArtifactError(
            f"{path}: the {type(estimator).__name__} does not say how many features it takes "
            "(no n_features_in_: is it fitted?); fit it before saving"
        )
    count = int(count)
    given = getattr(estimator, "feature_names_in_", None)
    guessed: list[str] = []
    if given is not None and len(given) == count:
        features = [str(n) for n in given]
    else:
        features = [f"x{i}" for i in range(count)]
        guessed += features
    runner = kind_module("sklearn").SklearnRunner  # runs it as the package does
    run = runner(estimator)
    probe = np.zeros((2, count))
    try:
        predicted = np.asarray(run({"X": probe}, ["predict"])[0])
    except Exception as exc:  # the estimator's own error on an array of its features
        if given is None or guessed:  # no column names to give it a table of
            raise ArtifactError(
                f"{path}: its predict fails on an array of {count} features ({reason(exc)}); "
                "convert takes estimators that predict from a numeric array"
            ) from None
        run, predicted = _by_name(path, runner, estimator, features, probe, exc)
        options["columns"] = features
        notes.append(
            "its predict takes a pandas DataFrame (it selects columns by name, as a "
            "ColumnTransformer does): the package gives it one, and depends on pandas"
        )
    in_slot = Slot("X", "float64", (None, count), True, variables=tuple(features))
    inputs = [ScalarVariable(name=name, default=0.0) for name in features]
    out_slots, outputs, out_guessed = _outputs(path, estimator, predicted, run, probe)
    guessed += out_guessed
    what = "classifier" if _is_classifier(estimator) else "estimator"
    frame = " (columns of a pandas DataFrame)" if "columns" in options else ""
    requirements = [_requirement("scikit-learn", "scikit-learn>=1.3")]
    if options["loader"] == "skops":
        requirements.append(_requirement("skops", "skops>=0.10", upper=False))
    else:
        requirements.append("joblib>=1.2")
    if "columns" in options:
        requirements.append(_requirement("pandas", "pandas>=1.5", upper=False))
    described = [
        ("estimator", f"{_estimator_name(estimator)} ({what})"),
        ("inputs", f"{listed(features)} <- its {count} features{frame}"),
        ("outputs", "; ".join(f"{listed(list(s.names))} <- {s.name}" for s in out_slots)),
    ]
    return Inferred(
        kind="sklearn",
        file_name="model.skops" if options["loader"] == "skops" else "model.joblib",
        summary=f"a scikit-learn estimator, loaded with {options['loader']}",
        inputs=(in_slot,),
        outputs=tuple(out_slots),
        input_variables=tuple(inputs),
        output_variables=tuple(outputs),
        run=run,
        guessed=frozenset(guessed),
        options=options,
        requirements=tuple(requirements),
        described=tuple(described),
        notes=tuple(notes),
    )


def _load_skops(path: Path, trust: bool) -> tuple[Any, dict[str, Any], list[str]]:
    """Load a skops file, trusting the types skops trusts, and the others only with `trust`."""
    try:
        import skops.io
    except ImportError:
        raise ArtifactError(
            f"{path}: converting a .skops file needs skops: pip install 'modelcrate[sklearn]'"
        ) from None
    try:
        untrusted = [str(t) for t in skops.io.get_untrusted_types(file=path)]
    except Exception as exc:  # not a zip, no schema, truncated
        raise ArtifactError(
            f"{path}: skops cannot read it ({reason(exc)}); check that the file is complete, "
            "or save the model again with skops.io.dump"
        ) from None
    notes = []
    if untrusted:
        if not trust:
            raise ArtifactError(
                f"{path}: holds types skops does not trust by default: {listed(untrusted, 8)}; "
                "check that you expect each of them, then pass --trust to load them"
            )
        notes.append(f"types trusted with --trust: {listed(untrusted, 8)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # version warnings: the outputs are checked below
            estimator = skops.io.load(path, trusted=untrusted)
    except Exception as exc:
        raise ArtifactError(
            f"{path}: skops cannot load it ({reason(exc)}); save the model again with "
            "skops.io.dump, with the scikit-learn installed here"
        ) from None
    return estimator, {"loader": "skops", "trusted": untrusted}, notes


def _load_pickle(path: Path, trust: bool) -> tuple[Any, dict[str, Any], list[str]]:
    """Load a joblib or pickle file: only with `trust`, since loading runs the code it holds."""
    if not trust:
        raise ArtifactError(
            f"{path}: loading a joblib or pickle file runs any code it holds; pass --trust "
            "only if you trust whoever made it, or save the model with skops.io.dump and "
            "convert the .skops file"
        )
    try:
        import joblib

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator = joblib.load(path)
    except Exception as exc:  # any error of unpickling: truncated, not a pickle, missing module
        raise ArtifactError(
            f"{path}: cannot load it with joblib ({reason(exc)}); check that the file is "
            "complete and was saved with this scikit-learn"
        ) from None
    return (
        estimator,
        {"loader": "joblib"},
        [
            "loaded with joblib (--trust): it runs the code the file holds, in every process that loads the model"
        ],
    )


def _by_name(
    path: Path,
    runner: Any,
    estimator: Any,
    features: list[str],
    probe: np.ndarray,
    error: Exception,
) -> tuple[Any, np.ndarray]:
    """The estimator run on a pandas DataFrame of its feature names, and its predictions for
    `probe`, for an estimator whose predict fails on an array (`error`)."""
    try:
        run = runner(estimator, features)
    except ImportError:
        raise ArtifactError(
            f"{path}: its predict fails on an array ({reason(error)}), and giving it a table of "
            "its columns needs pandas: pip install pandas"
        ) from None
    try:
        return run, np.asarray(run({"X": probe}, ["predict"])[0])
    except Exception as exc:  # the estimator's own error on a table of zeros
        raise ArtifactError(
            f"{path}: its predict fails on an array of {len(features)} features "
            f"({reason(error)}) and on a pandas DataFrame of its columns ({reason(exc)}); "
            "convert takes estimators that predict from numeric features"
        ) from None


def _is_classifier(estimator: Any) -> bool:
    from sklearn.base import is_classifier

    classes = getattr(estimator, "classes_", None)
    return bool(is_classifier(estimator)) and classes is not None and np.ndim(classes) == 1


def _outputs(
    path: Path, estimator: Any, predicted: np.ndarray, run: Any, probe: np.ndarray
) -> tuple[list[Slot], list[Variable], list[str]]:
    """The output slots and variables: label and probabilities, or what predict gives."""
    if _is_classifier(estimator):
        classes = [_plain(c) for c in np.asarray(estimator.classes_).tolist()]
        label_dtype = (
            "str" if isinstance(classes[0], str) else str(np.asarray(estimator.classes_).dtype)
        )
        slots = [Slot("predict", label_dtype, (None,), True, variable="label")]
        variables: list[Variable] = [EnumVariable(name="label", choices=tuple(classes))]
        guessed = ["label"]
        if _has(estimator, "predict_proba"):
            try:
                proba = run({"X": probe}, ["predict_proba"])[0]
            except Exception:  # e.g. a pipeline whose last step has no probabilities
                proba = None
            if proba is not None and proba.shape == (len(probe), len(classes)):
                slots.append(
                    Slot(
                        "predict_proba",
                        str(proba.dtype),
                        (None, len(classes)),
                        True,
                        variable="probabilities",
                    )
                )
                variables.append(
                    ArrayVariable(
                        name="probabilities",
                        shape=(len(classes),),
                        dtype=str(proba.dtype),
                        value_range=(0.0, 1.0),
                    )
                )
                guessed.append("probabilities")
        return slots, variables, guessed
    if predicted.ndim == 1:
        dtype = _dtype(predicted)
        return [Slot("predict", dtype, (None,), True, variable="y")], [_output("y", dtype)], ["y"]
    if predicted.ndim == 2:
        dtype = _dtype(predicted)
        names = [f"y{i}" for i in range(predicted.shape[1])]
        slot = Slot("predict", dtype, (None, len(names)), True, variables=tuple(names))
        return [slot], [_output(n, dtype) for n in names], names
    raise ArtifactError(
        f"{path}: its predict gives an array of shape {predicted.shape[1:]} per row; convert "
        "takes estimators that predict a value or a row of values"
    )


def _has(estimator: Any, method: str) -> bool:
    try:
        return callable(getattr(estimator, method, None))
    except Exception:  # `available_if` raises when the method does not apply
        return False


def _plain(value: Any) -> Any:
    """A class label as a plain value a variables file holds."""
    return value.item() if isinstance(value, np.generic) else value


def _dtype(array: np.ndarray) -> str:
    if array.dtype.kind in "US" or array.dtype == object:
        return "str"
    return str(array.dtype)


def _output(name: str, dtype: str) -> Variable:
    if dtype.startswith("float"):
        return ScalarVariable(name=name)
    if dtype == "bool":
        return BoolVariable(name=name)
    if dtype == "str":
        return StrVariable(name=name)
    return IntVariable(name=name)


def _estimator_name(estimator: Any) -> str:
    """`Pipeline(StandardScaler, Ridge)`, or the estimator's class name."""
    steps = getattr(estimator, "steps", None)
    name = type(estimator).__name__
    if isinstance(steps, list) and all(isinstance(s, tuple) and len(s) == 2 for s in steps):
        return f"{name}({', '.join(type(s[1]).__name__ for s in steps)})"
    return name


def _requirement(distribution: str, fallback: str, *, upper: bool = True) -> str:
    """`distribution` from the minor release installed here (up to the next minor release,
    with `upper`: a fitted estimator is meant for the version it was saved with)."""
    try:
        major, minor = (int(p) for p in version(distribution).split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return fallback
    if upper:
        return f"{distribution}>={major}.{minor},<{major}.{minor + 1}"
    return f"{distribution}>={major}.{minor}"
