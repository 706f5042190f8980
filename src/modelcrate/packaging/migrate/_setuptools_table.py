"""`[tool.setuptools]` from an old project's `setup()`: packages (a list, or `find_packages`
with `namespaces = false` as it found them), `package-dir`, package data (with
`include-package-data` as it was: setup.py's default was false, pyproject.toml's is true), data
files, scripts and C extensions (literal ones as `ext-modules`, computed ones kept in a setup.py
of their own)."""

from __future__ import annotations

from typing import Any

from ._declared import Extension, FindPackages, Note, Unresolved
from ._keywords import KeywordReader


class SetuptoolsTable(KeywordReader):
    """The `[tool.setuptools]` part of the translation."""

    def packages(self) -> None:
        tool = self.out.setuptools
        package_dir = self.take("package_dir")
        if isinstance(package_dir, dict) and package_dir:
            tool["package-dir"] = {str(k): str(v) for k, v in package_dir.items()}
        packages = self.take("packages")
        if isinstance(packages, FindPackages):
            where = packages.where
            if where == "." and isinstance(package_dir, dict) and "" in package_dir:
                where = str(package_dir[""])
            find: dict[str, Any] = {"where": [where]}
            if packages.include:
                find["include"] = list(packages.include)
            if packages.exclude:
                find["exclude"] = list(packages.exclude)
            find["namespaces"] = packages.namespaces
            tool["packages"] = {"find": find}
        elif isinstance(packages, list):
            tool["packages"] = [p for p in self.clean("packages", packages) if isinstance(p, str)]
        modules = self.clean("py_modules", self.take("py_modules"))
        if modules:
            tool["py-modules"] = modules

    def data(self) -> None:
        tool = self.out.setuptools
        tool["include-package-data"] = bool(self.take("include_package_data"))
        for keyword, key in (
            ("package_data", "package-data"),
            ("exclude_package_data", "exclude-package-data"),
        ):
            value = self.take(keyword)
            if isinstance(value, dict) and value:
                tool[key] = {
                    str(k): self.clean(keyword, v if isinstance(v, list) else [v])
                    for k, v in value.items()
                }
        data_files = self.take("data_files")
        if data_files:
            pairs = data_files.items() if isinstance(data_files, dict) else data_files
            tool["data-files"] = {str(folder): list(files) for folder, files in pairs}
            self.note(
                "data_files",
                "data_files (files installed outside the package)",
                "kept as [tool.setuptools] data-files, which setuptools deprecates; prefer package data",
            )
        scripts = self.clean("scripts", self.take("scripts"))
        if scripts:
            tool["script-files"] = scripts
            self.note(
                "scripts",
                "scripts (files copied into bin/)",
                "kept as [tool.setuptools] script-files, which setuptools deprecates; prefer [project.scripts]",
            )
        platforms = self.clean("platforms", self.take("platforms"))
        if platforms:
            tool["platforms"] = platforms

    def extensions(self) -> None:
        value = self.keywords.get("ext_modules")
        if value is not None and (
            isinstance(value, Unresolved)
            or not isinstance(value, list)
            or not all(isinstance(m, Extension) for m in value)
        ):
            self.keywords.pop("ext_modules")
            self.out.kept_setup_py = True
            file, line = self.declared.origin("ext_modules")
            self.out.notes.append(
                Note(
                    file,
                    line,
                    "ext_modules is computed when building",
                    "kept in a setup.py of its own that declares only the C extensions "
                    "(setuptools reads it beside pyproject.toml)",
                )
            )
            return
        modules = self.clean("ext_modules", self.take("ext_modules"))
        tables = []
        for module in modules:
            table: dict[str, Any] = {"name": module.name}
            for key, option in module.options:
                table[key.replace("_", "-")] = (
                    [list(v) if isinstance(v, (list, tuple)) else v for v in option]
                    if isinstance(option, list)
                    else option
                )
            tables.append(table)
        if tables:
            self.out.setuptools["ext-modules"] = tables
            self.note(
                "ext_modules",
                f"{len(tables)} C extension(s)",
                "built by setuptools from [[tool.setuptools.ext-modules]] (setuptools>=74.1)",
            )
