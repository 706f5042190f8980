"""Making projects: template rendering and the answers it is rendered from.

Never imported by a packaged model at run time.
"""

from ._build import FRONTENDS, BuildReport, build_project, data_patterns, find_uv
from ._check import CHECKS, CheckResult, check_project
from ._graph import (
    Conflict,
    DependencyGraph,
    Node,
    build_graph,
    dependency_graph,
    environment_dump,
    render_tree,
)
from ._lock import LOCK_FORMATS, Locked, LockFile, Pin, lock_project, parse_lock, read_lock
from ._new import NewProject, new_project, render
from ._options import (
    CLIS,
    LICENSES,
    QUESTIONS,
    REGISTRIES,
    ProjectOptions,
    Question,
    answer_questions,
    check_answer,
    derived_defaults,
    git_identity,
    make_options,
    modelcrate_requirement,
)
from ._render import placeholder_source, template_data, variable_table
from ._template_repository import (
    TemplateRelease,
    release_template,
    template_path,
    template_repository,
    template_version,
    template_versions,
)
from ._update import Updated, update_project
from ._wheel import LARGE_FILE_BYTES, Problem, WheelFile, WheelReport, format_size, inspect_wheel

__all__ = [
    "CHECKS",
    "CLIS",
    "FRONTENDS",
    "LARGE_FILE_BYTES",
    "LICENSES",
    "LOCK_FORMATS",
    "QUESTIONS",
    "REGISTRIES",
    "BuildReport",
    "CheckResult",
    "Conflict",
    "DependencyGraph",
    "LockFile",
    "Locked",
    "NewProject",
    "Node",
    "Pin",
    "Problem",
    "ProjectOptions",
    "Question",
    "TemplateRelease",
    "Updated",
    "WheelFile",
    "WheelReport",
    "answer_questions",
    "build_graph",
    "build_project",
    "check_answer",
    "check_project",
    "data_patterns",
    "dependency_graph",
    "derived_defaults",
    "environment_dump",
    "find_uv",
    "format_size",
    "git_identity",
    "inspect_wheel",
    "lock_project",
    "make_options",
    "modelcrate_requirement",
    "new_project",
    "parse_lock",
    "placeholder_source",
    "read_lock",
    "release_template",
    "render",
    "render_tree",
    "template_data",
    "template_path",
    "template_repository",
    "template_version",
    "template_versions",
    "update_project",
    "variable_table",
]
