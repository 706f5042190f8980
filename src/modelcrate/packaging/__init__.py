"""Making projects: template rendering and the answers it is rendered from.

Never imported by a packaged model at run time.
"""

from ._new import NewProject, new_project, render, template_path
from ._options import (
    CLIS,
    LICENSES,
    REGISTRIES,
    ProjectOptions,
    derived_defaults,
    git_identity,
    make_options,
    modelcrate_requirement,
)
from ._render import placeholder_source, template_data, variable_table

__all__ = [
    "CLIS",
    "LICENSES",
    "REGISTRIES",
    "NewProject",
    "ProjectOptions",
    "derived_defaults",
    "git_identity",
    "make_options",
    "modelcrate_requirement",
    "new_project",
    "placeholder_source",
    "render",
    "template_data",
    "template_path",
    "variable_table",
]
