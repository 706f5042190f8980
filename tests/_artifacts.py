"""Trained models for the `convert` tests, made on the spot: scikit-learn estimators saved with
skops or joblib, the same exported to ONNX with skl2onnx, and hand-built ONNX graphs (hostile
names, no inputs, no batch axis).

Imported by the test modules that convert artifacts; test modules never import each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

FEATURES = 3
ROWS = 80


def training_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features and a linear target with a little noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(ROWS, FEATURES))
    return x, x @ np.array([1.5, -2.0, 0.5]) + 0.25 + 0.01 * rng.normal(size=ROWS)


def regressor(names: Sequence[str] | None = None):
    """A fitted Ridge regressor; with `names`, as if fitted on a table with those columns."""
    from sklearn.linear_model import Ridge

    x, y = training_data()
    model = Ridge(alpha=0.1).fit(x, y)
    if names is not None:
        model.feature_names_in_ = np.asarray(list(names), dtype=object)
    return model


def multi_target():
    """A LinearRegression of two targets."""
    from sklearn.linear_model import LinearRegression

    x, y = training_data()
    return LinearRegression().fit(x, np.column_stack([y, 2 * y]))


def classifier(labels: Sequence[object] = ("low", "high")):
    """A pipeline (StandardScaler, LogisticRegression) telling two or more classes apart."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = training_data()
    bins = np.quantile(y, np.linspace(0, 1, len(labels) + 1)[1:-1])
    target = np.asarray(list(labels), dtype=object)[np.digitize(y, bins)]
    if all(isinstance(label, str) for label in labels):
        target = target.astype(str)
    elif all(isinstance(label, int) for label in labels):
        target = target.astype(int)
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(x, target)


def pipeline():
    """A regression pipeline: scaling, polynomial features, then Ridge."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    x, y = training_data()
    return make_pipeline(StandardScaler(), PolynomialFeatures(2), Ridge(alpha=0.1)).fit(x, y)


def save_skops(model, path: Path) -> Path:
    import skops.io

    skops.io.dump(model, path)
    return path


def save_joblib(model, path: Path) -> Path:
    import joblib

    joblib.dump(model, path)
    return path


def save_onnx(model, path: Path, *, zipmap: bool = True) -> Path:
    """The model exported to ONNX by skl2onnx (float inputs, a batch axis)."""
    from skl2onnx import to_onnx

    x, _ = training_data()
    options = None if zipmap else {id(model): {"zipmap": False}}
    onx = to_onnx(model, x[:1].astype(np.float32), options=options, target_opset=17)
    path.write_bytes(onx.SerializeToString())
    return path


def save_graph(
    path: Path,
    *,
    inputs: Sequence[tuple[str, Sequence[int | str | None]]] = (("X", ("N", 3)),),
    outputs: Sequence[tuple[str, Sequence[int | str | None]]] = (("Y", ("N", 3)),),
    metadata: dict[str, str] | None = None,
) -> Path:
    """A hand-built float graph: each output is the first input times two (`Mul`), or a
    constant when the graph has no inputs."""
    import onnx
    from onnx import TensorProto, helper

    graph_inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s)) for n, s in inputs]
    graph_outputs = [
        helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s)) for n, s in outputs
    ]
    nodes = []
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    for name, _ in outputs:
        if inputs:
            nodes.append(helper.make_node("Mul", [inputs[0][0], "two"], [name]))
        else:
            nodes.append(helper.make_node("Identity", ["two"], [name]))
    graph = helper.make_graph(nodes, "graph", graph_inputs, graph_outputs, initializer=[two])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return path


def save_unshaped_graph(
    path: Path, *, rank: bool = True, inputs: Sequence[int | str | None] = ("N", 3)
) -> Path:
    """A float graph giving its input times two (`Y`) whose output shape onnxruntime cannot
    infer: reshaped to a shape computed from the data, of known length (`rank`: `[?, ?]`) or
    of a length it cannot know (`Compress` of the shape: no rank)."""
    import onnx
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Mul", ["X", "two"], ["D"]),
        helper.make_node("Shape", ["D"], ["S"]),
    ]
    if rank:
        nodes.append(helper.make_node("Identity", ["S"], ["T0"]))
        nodes.append(helper.make_node("Mul", ["T0", "one"], ["T"]))
    else:
        nodes.append(helper.make_node("Greater", ["S", "zero"], ["C"]))
        nodes.append(helper.make_node("Compress", ["S", "C"], ["T"], axis=0))
    nodes.append(helper.make_node("Reshape", ["D", "T"], ["Y"]))
    constants = [
        helper.make_tensor("two", TensorProto.FLOAT, [], [2.0]),
        helper.make_tensor("one" if rank else "zero", TensorProto.INT64, [], [int(rank)]),
    ]
    graph = helper.make_graph(
        nodes,
        "unshaped",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, list(inputs))],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
        initializer=constants,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def by_name(names: Sequence[str] = ("a", "b", "c")):
    """A pipeline fitted on a pandas DataFrame whose ColumnTransformer selects columns by name
    (scaling two, passing the third), then Ridge: its predict needs a DataFrame."""
    import pandas
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = training_data()
    table = pandas.DataFrame(x, columns=list(names))
    columns = ColumnTransformer(
        [("scale", StandardScaler(), list(names[:2])), ("keep", "passthrough", [names[2]])]
    )
    return make_pipeline(columns, Ridge(alpha=0.1)).fit(table, y)
