"""Making projects: `new` and `update`, the answers the template is rendered from, the project
template itself (`template/`) and the local repository of its releases.

Imports the shared modules of `modelcrate.packaging` (`_git`, `_tools`, `_project`, `_escape`,
`_tables`, `_options`), never `tooling`; its public names are re-exported by `modelcrate.packaging`.
"""
