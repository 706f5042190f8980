"""Migrating an old setuptools package (setup.py, setup.cfg, requirements files, MANIFEST.in,
versioneer) to pyproject.toml: `migrate` (the verb, `_migrate`), one module per thing read
(`_setup_py` from its syntax tree, never run; `_setup_cfg`; `_requirements`; `_manifest`), one
per thing written (`_pyproject`, `_tool_tables`, `_versioneer`), and `_parity`, which builds the
old and the new wheel and compares them. `_declared` holds what the readers found.

Its public names are re-exported by `modelcrate.packaging`.
"""
