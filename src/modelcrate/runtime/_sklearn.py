"""Running a scikit-learn estimator, for `ArtifactModel` (imported only for this kind).

A `.skops` file loads with skops, trusting only the types recorded when it was converted; a
joblib or pickle file (converted with `--trust`) loads with joblib, which runs its code. An
estimator that selects columns by name (a `ColumnTransformer` given column names) is given its
features as a pandas DataFrame of the columns its binding's options name (`columns`); any other,
as an array.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ProjectError

METHODS = ("predict", "predict_proba")
"""The estimator methods an output slot may name."""


class SklearnRunner:
    """An estimator; its input slot `X` is the feature matrix (a DataFrame of `columns`, when
    given), each output slot a method."""

    def __init__(self, estimator: Any, columns: Sequence[str] | None = None) -> None:
        self.estimator = estimator
        self.columns = None if columns is None else [str(c) for c in columns]
        if self.columns is not None:
            import pandas

            self.frame = pandas.DataFrame

    def __call__(
        self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]
    ) -> list[np.ndarray]:
        features: Any = inputs["X"]
        if self.columns is not None:
            features = self.frame(features, columns=self.columns, copy=False)
        with warnings.catch_warnings():
            # Fitted on a table with column names, given an array of the same columns in order.
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            return [np.asarray(getattr(self.estimator, method)(features)) for method in outputs]


def load(path: Path, options: Mapping[str, Any]) -> SklearnRunner:
    """Load the estimator at `path` the way its binding says (`loader`: skops or joblib)."""
    loader = options.get("loader", "skops")
    try:
        if loader == "skops":
            import skops.io

            trusted = [str(t) for t in options.get("trusted", [])]
            estimator = skops.io.load(path, trusted=trusted)
        elif loader == "joblib":
            import joblib

            estimator = joblib.load(path)
        else:
            raise ProjectError(f"{path}: unknown loader {loader!r} in its binding file")
        columns = options.get("columns")
        return SklearnRunner(estimator, None if columns is None else list(columns))
    except ImportError as exc:
        raise ProjectError(
            f"{path}: running this scikit-learn model needs {exc.name or 'scikit-learn'}, which "
            "is not installed: pip install scikit-learn skops pandas"
        ) from None
    except ProjectError:
        raise
    except Exception as exc:  # the loader's own errors: a damaged file, an untrusted type
        text = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ProjectError(f"{path}: cannot load the estimator ({text})") from None
