"""A converted model's batch against its artifact called directly, on the same 10,000 rows.

    python benchmarks/bench_convert.py [--repeat N] [--rows N]
    $MODELCRATE_TORCH_PYTHON benchmarks/bench_convert.py   # the TorchScript module too


Trains two scikit-learn regressors on 8 features (a cheap Ridge and a RandomForest of 100
trees), saves each with skops and exports it to ONNX with skl2onnx, converts each file with
`modelcrate convert` (`--trust`: skops does not trust a forest's tree type by default) into a
temporary directory, and imports each converted package from its
`src/`. Then, interleaved, median of N:
- the package: `Model().batch(sets)` on N input sets (dicts, as `modelcrate run`, a flow or
  `serve` hand them over): every input checked, the artifact run once for the whole batch,
  every output checked;
- the package on the same rows as columns: `Model().batch_columns(frame)`, the rows as a
  pandas DataFrame (or, without pandas, a dict of numpy columns as a DataFrame holds them); a
  numpy array per output back: the same checks, on whole columns, the artifact run once;
- the same without the checks: `evaluate_batch(sets)` (packing the dicts into one array, the
  call, unpacking one dict per set);
- baseline: the artifact called directly on the same rows as one array
  (`session.run(None, {"X": rows})`, `estimator.predict(rows)`), the session made as the
  package's runtime makes it (threads that do not spin after a run: spinning ones would take
  the cores from whatever is timed next).
Where torch is installed (the torch test environment, `.ci/torch.sh`), the same for a scripted
network (8 inputs, two hidden layers of 64, one output; float32), against calling the scripted
module directly on the rows as one tensor in inference mode. Each part runs where its libraries
are installed (scikit-learn, skops and skl2onnx; torch) and is skipped, saying so, elsewhere.
Goal (from the issue): the package <= 1.1x the baseline (the contract's checks cost at most 10%).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import _common as c

GOAL = 1.1
FEATURES = 8


def train(kind: str, rows: int = 2_000):
    import numpy as np
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(rows, FEATURES))
    y = np.sin(x @ rng.normal(size=FEATURES)) + 0.1 * rng.normal(size=rows)
    if kind == "ridge":
        return Ridge(alpha=0.1).fit(x, y)
    return RandomForestRegressor(n_estimators=100, max_depth=10, random_state=0).fit(x, y)


def convert(path: Path, out: Path, name: str, variables: Path | None = None):
    """Convert `path` and import the model class of the package it makes."""
    from modelcrate.packaging import convert_artifact, make_options

    options = make_options(project_name=name)
    made = convert_artifact(path, out, options, git=False, trust=True, variables=variables)
    sys.path.insert(0, str(made.path / "src"))
    module = __import__(f"{made.options.package_name}.model", fromlist=["x"])
    return getattr(module, made.options.model_class)


def measure(label: str, packaged, sets, columns, direct, repeat: int) -> None:
    """Time the package's batch of sets and of columns, its evaluate_batch and the artifact
    called directly; print."""
    packaged.batch(sets[:10])  # loads the artifact: once per process, not timed
    timings: dict[str, list[float]] = {"batch": [], "columns": [], "evaluate": [], "direct": []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(repeat):
            timings["batch"].append(c.timed(lambda: packaged.batch(sets)))
            timings["columns"].append(c.timed(lambda: packaged.batch_columns(columns)))
            timings["evaluate"].append(c.timed(lambda: packaged.evaluate_batch(sets)))
            timings["direct"].append(c.timed(direct))
    batch, by_column, evaluate, baseline = (c.median_ms(timings[k]) for k in timings)
    ratios = [
        f"{t / baseline:>6.2f}x" + ("" if t / baseline <= GOAL else "*") for t in (batch, by_column)
    ]
    print(
        f"{label:<20} {batch:>9.1f} ms {by_column:>9.1f} ms {evaluate:>10.1f} ms "
        f"{baseline:>8.1f} ms {ratios[0]:>8} {ratios[1]:>8}"
    )


def columns_of(rows):
    """The rows as a pandas DataFrame (where pandas is installed; else a dict of numpy columns,
    each contiguous, as a DataFrame holds them)."""
    import numpy as np

    columns = {f"x{i}": np.ascontiguousarray(rows[:, i]) for i in range(rows.shape[1])}
    try:
        import pandas
    except ImportError:
        return columns
    return pandas.DataFrame(columns)


def installed(*modules: str) -> bool:
    from importlib.util import find_spec

    return all(find_spec(m) is not None for m in modules)


def main() -> None:
    p = c.parser(__doc__.splitlines()[0], repeat=7)
    p.add_argument("--rows", type=int, default=10_000, help="input sets per batch (10,000)")
    args = p.parse_args()
    c.use_checkout(args.installed)

    import numpy as np

    rng = np.random.default_rng(1)
    rows = rng.uniform(-1, 1, size=(args.rows, FEATURES))
    sets = [{f"x{i}": float(v) for i, v in enumerate(row)} for row in rows]
    columns = columns_of(rows)
    print(f"{args.rows:,} rows of {FEATURES} features; median of {args.repeat}, interleaved")
    print(
        f"{'model':<20} {'batch(sets)':>12} {'batch_columns':>13} {'evaluate_batch':>14} "
        f"{'artifact':>11} {'ratio':>8} {'ratio':>8}"
    )
    with c.workdir("modelcrate-bench-convert-") as tmp:
        if installed("sklearn", "skops", "skl2onnx", "onnxruntime"):
            sklearn_and_onnx(tmp, rows, sets, columns, args.repeat)
        else:
            print("(scikit-learn and ONNX skipped: scikit-learn, skops or skl2onnx not installed)")
        if installed("torch"):
            torchscript(tmp, rows, sets, columns, args.repeat)
        else:
            print("(TorchScript skipped: torch not installed; run with $MODELCRATE_TORCH_PYTHON)")
    print(
        "batch(sets): dicts in and out, checked; batch_columns: numpy columns in and out, "
        "checked; evaluate_batch: dicts, unchecked; ratios: batch(sets) and batch_columns "
        f"against the artifact (* above the goal, {GOAL}x)"
    )


def torchscript(tmp: Path, rows, sets, columns, repeat: int) -> None:
    """The scripted network, converted with a variables file of its 8 inputs and 1 output."""
    import torch
    import yaml

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(FEATURES, 64), torch.nn.Tanh(),
        torch.nn.Linear(64, 64), torch.nn.Tanh(), torch.nn.Linear(64, 1),
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.script(net.eval())
    path = tmp / "net.pt"
    torch.jit.save(scripted, str(path))
    variables = tmp / "net-variables.yml"
    scalar = {"variable_class": "ScalarVariable", "default_value": 0.0, "value_range": [-1, 1]}
    variables.write_text(
        yaml.safe_dump(
            {
                "input_variables": {f"x{i}": scalar for i in range(FEATURES)},
                "output_variables": {"y": {"variable_class": "ScalarVariable"}},
            }
        )
    )
    cls = convert(path, tmp / "net-torchscript", "bench net torchscript", variables)
    x = torch.from_numpy(rows.astype("float32"))

    def direct():
        with torch.inference_mode():
            return scripted(x).numpy()

    measure("mlp (torchscript)", cls(), sets, columns, direct, repeat)


def sklearn_and_onnx(tmp: Path, rows, sets, columns, repeat: int) -> None:
    """A Ridge and a RandomForest, each as a skops file and as an ONNX graph."""
    import numpy as np
    import onnxruntime
    import skops.io
    from skl2onnx import to_onnx

    for estimator in ("ridge", "forest"):
        model = train(estimator)
        skops_path = tmp / f"{estimator}.skops"
        skops.io.dump(model, skops_path)
        onnx_path = tmp / f"{estimator}.onnx"
        onnx_path.write_bytes(to_onnx(model, rows[:1].astype(np.float32)).SerializeToString())
        settings = onnxruntime.SessionOptions()  # as the package's runtime makes it:
        settings.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = onnxruntime.InferenceSession(
            str(onnx_path), settings, providers=["CPUExecutionProvider"]
        )
        as_float32 = rows.astype(np.float32)
        for kind, path, direct in (
            ("skops", skops_path, lambda m=model: m.predict(rows)),
            ("onnx", onnx_path, lambda s=session, x=as_float32: s.run(None, {"X": x})),
        ):
            cls = convert(path, tmp / f"{estimator}-{kind}", f"bench {estimator} {kind}")
            measure(f"{estimator} ({kind})", cls(), sets, columns, direct, repeat)


if __name__ == "__main__":
    main()
