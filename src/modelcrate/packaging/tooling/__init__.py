"""Tools for a project once it exists: `build`, `lock`, `graph` and `check` (and the probe it
runs in the project's own Python).

Imports the shared modules of `modelcrate.packaging` (`_git`, `_tools`, `_project`, `_tables`,
`_wheel`: the wheel's inspection, which migrate uses too), never `scaffold`; its public names
are re-exported by `modelcrate.packaging`.
"""
