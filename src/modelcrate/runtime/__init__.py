"""What runs inside a packaged model: the steps of a run, sweeps, result documents, targets, settings.

Nothing here imports Prefect, the template or build tools; a generated flow wraps these steps.
Database drivers are imported only when a target of theirs is used.
"""

from ._chunks import (
    MAX_FAILURES_KEPT,
    ChunkReport,
    Failure,
    SweepReport,
    chunk_bounds,
    run_chunk,
    run_sweep,
)
from ._dask import Cluster, dask_cluster
from ._discovery import (
    FLOWS_GROUP,
    MODELS_GROUP,
    find,
    find_model,
    load_object,
    project_entry_points,
    read_pyproject,
)
from ._filesystem import FilesystemTarget, load_file
from ._fingerprint import CodeFingerprint, code_fingerprint
from ._flows import flow_target, prefect_home, run_flow, run_sweep_flow
from ._prefect_env import (
    LOCAL_PREFECT_SETTINGS,
    STARTUP_TIMEOUT,
    prefect_start_error,
    prefect_start_errors,
    use_local_prefect,
)
from ._progress import (
    Progress,
    ProgressListener,
    ProgressStep,
    report_progress,
    reporting_progress,
)
from ._query import (
    EXPORT_FORMATS,
    export_results,
    latest_result,
    load_result,
    parse_time,
    query_results,
)
from ._result import Result, decode_value, encode_value, inputs_key, summarize
from ._settings import Mount, Settings, load_settings
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
from ._sweep import Axis, Range, Sweep, build_sweep, parse_axis
from ._table import outputs_table
from ._targets import (
    TARGET_ENV,
    BaseTarget,
    Target,
    default_target_uri,
    default_target_uris,
    mask_uri,
    open_target,
    uri_secrets,
)
from ._warnings import WarningLines, show_warning_lines, warning_lines

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "EXPORT_FORMATS",
    "FLOWS_GROUP",
    "LOCAL_PREFECT_SETTINGS",
    "MAX_FAILURES_KEPT",
    "MODELS_GROUP",
    "STARTUP_TIMEOUT",
    "TARGET_ENV",
    "Axis",
    "BaseTarget",
    "ChunkReport",
    "Cluster",
    "CodeFingerprint",
    "Failure",
    "FilesystemTarget",
    "Mount",
    "Progress",
    "ProgressListener",
    "ProgressStep",
    "Range",
    "Result",
    "Settings",
    "Stored",
    "Sweep",
    "SweepReport",
    "Target",
    "WarningLines",
    "build_sweep",
    "chunk_bounds",
    "chunks",
    "code_fingerprint",
    "dask_cluster",
    "decode_value",
    "default_target_uri",
    "default_target_uris",
    "encode_value",
    "evaluate",
    "evaluate_batch",
    "export_results",
    "find",
    "find_model",
    "flow_target",
    "input_sets",
    "inputs_key",
    "latest_result",
    "load_file",
    "load_object",
    "load_result",
    "load_settings",
    "make_result",
    "make_results",
    "mask_uri",
    "open_target",
    "outputs_table",
    "parse_axis",
    "parse_time",
    "prefect_home",
    "prefect_start_error",
    "prefect_start_errors",
    "prepare_batch",
    "prepare_inputs",
    "project_entry_points",
    "query_results",
    "read_pyproject",
    "report_progress",
    "reporting_progress",
    "resolve_targets",
    "run",
    "run_chunk",
    "run_flow",
    "run_sweep",
    "run_sweep_flow",
    "save_results",
    "show_warning_lines",
    "summarize",
    "uri_secrets",
    "use_local_prefect",
    "warning_lines",
]
