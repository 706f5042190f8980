"""Running an ONNX graph with onnxruntime, for `ArtifactModel` (imported only for this kind)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ProjectError


class OnnxRunner:
    """An onnxruntime session on the CPU, its threads not spinning between runs; a batch runs
    in one `session.run`."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def __call__(
        self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]
    ) -> list[np.ndarray]:
        return list(self.session.run(list(outputs), dict(inputs)))


def load(path: Path, options: Mapping[str, Any]) -> OnnxRunner:
    """Open the graph at `path` in an onnxruntime session on the CPU."""
    try:
        import onnxruntime
    except ImportError:
        raise ProjectError(
            f"{path}: running this ONNX model needs onnxruntime, which is not installed: "
            "pip install onnxruntime"
        ) from None
    settings = onnxruntime.SessionOptions()
    # Threads that spin after a run take the cores the checks of the outputs (Python) need next;
    # measured on 2 cores: the checks took twice as long, the run itself no less time without.
    settings.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = onnxruntime.InferenceSession(
            str(path), settings, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime's own errors: a damaged or unreadable file
        raise ProjectError(f"{path}: onnxruntime cannot load it ({_reason(exc)})") from None
    return OnnxRunner(session)


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] or type(exc).__name__
