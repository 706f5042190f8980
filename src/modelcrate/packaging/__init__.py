"""Making projects and the tools for them: `new`, `convert`, `migrate`, `update`, `build`, `lock`,
`graph`, `check`.

`scaffold/` makes projects (the template, its releases, `new` and `update`); `convert/` turns a
trained model into one, through `scaffold`'s project writer; `migrate/` moves an old setuptools
package to pyproject.toml; `tooling/` works on a project that
exists (`build`, `lock`, `graph`, `check`). Both use the modules at this level: one
home per outside program (`_tools`: uv, build front ends, a project's Python; `_git`: git), one for
a project's layout (`_project`), the escaping of generated files (`_escape`), the README's
variable tables (`_tables`) and the questions of `new` (`_options`). A verb's module never imports
another verb's module, and neither subpackage imports the other.

Never imported by a packaged model at run time.
"""

from ._options import (
    CLIS,
    LICENSES,
    QUESTIONS,
    REGISTRIES,
    ProjectOptions,
    Question,
    answer_questions,
    check_answer,
    default_project_name,
    derived_defaults,
    git_identity,
    is_local_requirement,
    make_options,
    modelcrate_requirement,
    portable_requirement,
)
from ._project import RUNTIME_LOCK, read_project, variables_path
from ._tools import FRONTENDS, Frontend, find_uv, run_tool
from ._wheel import (
    Problem,
    ProblemDict,
    WheelFile,
    WheelFileDict,
    WheelMetadata,
    WheelReport,
    WheelReportDict,
    format_size,
    inspect_wheel,
    read_wheel,
)
from .convert._convert import Conversion, Converted, convert_artifact, read_artifact
from .migrate._migrate import Migrated, MigratedDict, migrate_project, plan_migration
from .migrate._parity import Parity
from .migrate._plan import MigrationPlan
from .scaffold._new import NewProject, new_project
from .scaffold._releases import TemplateRelease, release_template
from .scaffold._update import Updated, update_project
from .tooling._build import BuildReport, BuildReportDict, build_project
from .tooling._check import CHECKS, CheckResult, CheckResultDict, check_project
from .tooling._graph import (
    Conflict,
    ConflictDict,
    DependencyGraph,
    DependencyGraphDict,
    Node,
    NodeDict,
    dependency_graph,
    render_tree,
)
from .tooling._lock import LOCK_FORMATS, Locked, LockFile, LockFormat, lock_project

__all__ = [
    "CHECKS",
    "CLIS",
    "FRONTENDS",
    "LICENSES",
    "LOCK_FORMATS",
    "QUESTIONS",
    "REGISTRIES",
    "RUNTIME_LOCK",
    "BuildReport",
    "BuildReportDict",
    "CheckResult",
    "CheckResultDict",
    "Conflict",
    "ConflictDict",
    "Conversion",
    "Converted",
    "DependencyGraph",
    "DependencyGraphDict",
    "Frontend",
    "LockFile",
    "LockFormat",
    "Locked",
    "Migrated",
    "MigratedDict",
    "MigrationPlan",
    "NewProject",
    "Node",
    "NodeDict",
    "Parity",
    "Problem",
    "ProblemDict",
    "ProjectOptions",
    "Question",
    "TemplateRelease",
    "Updated",
    "WheelFile",
    "WheelFileDict",
    "WheelMetadata",
    "WheelReport",
    "WheelReportDict",
    "answer_questions",
    "build_project",
    "check_answer",
    "check_project",
    "convert_artifact",
    "default_project_name",
    "dependency_graph",
    "derived_defaults",
    "find_uv",
    "format_size",
    "git_identity",
    "inspect_wheel",
    "is_local_requirement",
    "lock_project",
    "make_options",
    "migrate_project",
    "modelcrate_requirement",
    "new_project",
    "plan_migration",
    "portable_requirement",
    "read_artifact",
    "read_project",
    "read_wheel",
    "release_template",
    "render_tree",
    "run_tool",
    "update_project",
    "variables_path",
]
