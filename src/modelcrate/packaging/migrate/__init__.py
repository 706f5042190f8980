"""Migrating an old setuptools package (setup.py, setup.cfg, requirements files, MANIFEST.in,
versioneer) to pyproject.toml: `migrate` (the verb, `_migrate`), one module per thing read
(`_setup_py` from its syntax tree, never run; `_setup_cfg`; `_requirements`; `_manifest`; `_lume`
for what makes a LUME-services template project), one per thing written (`_pyproject` with
`_keywords` and `_setuptools_table`; `_tool_tables`; `_versioneer`; `_kept_setup`;
`_lume_project` with `_lume_code`, `_lume_files`, `_lume_tasks`, `_lume_template` and
`_lume_layout`, which make a LUME-services project a modelcrate project on the template's src/
layout), and `_parity`, which builds the old and the new wheel and compares them. `_declared` holds what the readers found,
`_plan` what a migration changes; `_document` writes pyproject.toml and parses every file back,
`_write` puts the plan in place (and commits it).

Its public names are re-exported by `modelcrate.packaging`.
"""
