"""What runs inside a packaged model: the steps of a run, result documents and targets.

Nothing here imports Prefect, the template or build tools; a generated flow wraps these steps.
"""

from ._discovery import FLOWS_GROUP, MODELS_GROUP, find, find_model
from ._result import Result, decode_value, encode_value, summarize
from ._steps import (
    DEFAULT_CHUNK_SIZE,
    chunks,
    evaluate,
    evaluate_batch,
    make_result,
    prepare_inputs,
    resolve_targets,
    run,
    save_result,
    save_results,
)
from ._targets import TARGET_ENV, FilesystemTarget, Target, default_target_uri, open_target

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "FLOWS_GROUP",
    "MODELS_GROUP",
    "TARGET_ENV",
    "FilesystemTarget",
    "Result",
    "Target",
    "chunks",
    "decode_value",
    "default_target_uri",
    "encode_value",
    "evaluate",
    "evaluate_batch",
    "find",
    "find_model",
    "make_result",
    "open_target",
    "prepare_inputs",
    "resolve_targets",
    "run",
    "save_result",
    "save_results",
    "summarize",
]
