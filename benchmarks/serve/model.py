"""The serving benchmark's model: the peers' scikit-learn model (a joblib file, the path in
MODELCRATE_BENCH_MODEL), one `predict` per `evaluate_batch` call, as every peer calls it.

With MODELCRATE_BENCH_CALL_MS set, each call also waits that many milliseconds, as a call to an
accelerator or an external solver does whatever the batch size: the load that adaptive
batching is for. bench_serve.py copies this file over the generated project's model.py.
"""

from __future__ import annotations

import os
import time
from operator import itemgetter
from typing import Any

import joblib
import numpy as np

from modelcrate import Model, load_spec

try:
    from peer_model import __version__
except ImportError:  # outside the generated package
    __version__ = "0+bench"

from importlib.resources import files

FEATURES = [f"f{i}" for i in range(8)]
ROW = itemgetter(*FEATURES)  # an input set's features, in order
CALL_SECONDS = float(os.environ.get("MODELCRATE_BENCH_CALL_MS", "0")) / 1000


class PeerModel(Model):
    """The peers' linear regression."""

    spec = load_spec(files("peer_model") / "variables.yml")
    name = "peer-model"
    version = __version__

    def __init__(self) -> None:
        self.estimator = joblib.load(os.environ["MODELCRATE_BENCH_MODEL"])

    def evaluate(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return self.evaluate_batch([inputs])[0]

    def evaluate_batch(self, input_sets: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows = np.array(list(map(ROW, input_sets)))
        if CALL_SECONDS:
            time.sleep(CALL_SECONDS)
        return [{"prediction": float(y)} for y in self.estimator.predict(rows)]
