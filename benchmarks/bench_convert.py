"""A converted model's batch against its artifact called directly, on the same 10,000 rows.

    python benchmarks/bench_convert.py [--repeat N] [--rows N]

Trains two scikit-learn regressors on 8 features (a cheap Ridge and a RandomForest of 100
trees), saves each with skops and exports it to ONNX with skl2onnx, converts each file with
`modelcrate convert` (`--trust`: skops does not trust a forest's tree type by default) into a
temporary directory, and imports each converted package from its
`src/`. Then, interleaved, median of N:
- the package: `Model().batch(sets)` on N input sets (dicts, as `modelcrate run`, a flow or
  `serve` hand them over): every input checked, the artifact run once for the whole batch,
  every output checked;
- the same without the checks: `evaluate_batch(sets)` (packing the dicts into one array, the
  call, unpacking one dict per set);
- baseline: the artifact called directly on the same rows as one array
  (`session.run(None, {"X": rows})`, `estimator.predict(rows)`), the session made as the
  package's runtime makes it (threads that do not spin after a run: spinning ones would take
  the cores from whatever is timed next).
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


def convert(path: Path, out: Path, name: str):
    """Convert `path` and import the model class of the package it makes."""
    from modelcrate.packaging import convert_artifact, make_options

    made = convert_artifact(path, out, make_options(project_name=name), git=False, trust=True)
    sys.path.insert(0, str(made.path / "src"))
    module = __import__(f"{made.options.package_name}.model", fromlist=["x"])
    return getattr(module, made.options.model_class)


def main() -> None:
    p = c.parser(__doc__.splitlines()[0], repeat=7)
    p.add_argument("--rows", type=int, default=10_000, help="input sets per batch (10,000)")
    args = p.parse_args()
    c.use_checkout(args.installed)

    import numpy as np
    import onnxruntime
    import skops.io
    from skl2onnx import to_onnx

    rng = np.random.default_rng(1)
    rows = rng.uniform(-1, 1, size=(args.rows, FEATURES))
    sets = [{f"x{i}": float(v) for i, v in enumerate(row)} for row in rows]
    print(f"{args.rows:,} rows of {FEATURES} features; median of {args.repeat}, interleaved")
    print(
        f"{'model':<22} {'package batch':>14} {'evaluate_batch':>15} {'artifact':>10} {'ratio':>7}"
    )
    with c.workdir("modelcrate-bench-convert-") as tmp:
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
                packaged = cls()
                packaged.batch(sets[:10])  # loads the artifact: once per process, not timed
                timings: dict[str, list[float]] = {"batch": [], "evaluate": [], "direct": []}
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    for _ in range(args.repeat):
                        timings["batch"].append(c.timed(lambda m=packaged: m.batch(sets)))
                        timings["evaluate"].append(
                            c.timed(lambda m=packaged: m.evaluate_batch(sets))
                        )
                        timings["direct"].append(c.timed(direct))
                batch, evaluate, baseline = (c.median_ms(timings[k]) for k in timings)
                ratio = batch / baseline
                print(
                    f"{estimator + ' (' + kind + ')':<22} {batch:>11.1f} ms {evaluate:>12.1f} ms "
                    f"{baseline:>7.1f} ms {ratio:>6.2f}x"
                    + ("" if ratio <= GOAL else f"  (goal {GOAL}x)")
                )
    print("package batch: checks + packing + the call + unpacking; evaluate_batch: without checks")


if __name__ == "__main__":
    main()
