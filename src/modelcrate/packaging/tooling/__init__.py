"""Tools for a project once it exists: `build` (and the wheel's inspection), `lock`, `graph` and
`check` (and the probe it runs in the project's own Python).

Imports the shared modules of `modelcrate.packaging` (`_git`, `_tools`, `_project`, `_tables`),
never `scaffold`; its public names are re-exported by `modelcrate.packaging`.
"""
