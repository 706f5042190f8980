"""What runs inside a packaged model: the steps of a run, result documents and targets.

Nothing here imports Prefect, the template or build tools; a generated flow wraps these steps.
"""

from ._discovery import FLOWS_GROUP, MODELS_GROUP, find, find_model
from ._prefect_env import use_local_prefect
from ._result import Result, decode_value, encode_value, summarize
from ._steps import (
    DEFAULT_CHUNK_SIZE,
    Stored,
    chunks,
    evaluate,
    evaluate_batch,
    input_sets,
    make_result,
    make_results,
    prepare_batch,
    prepare_inputs,
    resolve_targets,
    run,
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
    "Stored",
    "Target",
    "chunks",
    "decode_value",
    "default_target_uri",
    "encode_value",
    "evaluate",
    "evaluate_batch",
    "find",
    "find_model",
    "input_sets",
    "make_result",
    "make_results",
    "open_target",
    "prepare_batch",
    "prepare_inputs",
    "resolve_targets",
    "run",
    "save_results",
    "summarize",
    "use_local_prefect",
]
