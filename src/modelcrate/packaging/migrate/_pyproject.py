"""Writing what an old project declares as pyproject.toml tables: `[build-system]` (setuptools,
with setuptools-scm for versions from git tags), `[project]` and `[tool.setuptools]`. Each value
that has no place there becomes a `Note` with its file and line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression
from packaging.requirements import InvalidRequirement, Requirement

from ..._errors import MigrateError
from ._declared import (
    Conditional,
    Declared,
    FileLines,
    FileText,
    Note,
    Unresolved,
    VersioneerCommands,
    VersionFrom,
)
from ._keywords import Translated
from ._requirements import as_requirement, read_requirements, split_damage
from ._setuptools_table import SetuptoolsTable

SETUPTOOLS_SCM = "setuptools-scm>=8"
_README_TYPES = {".md": "text/markdown", ".rst": "text/x-rst", ".txt": "text/plain"}
_DROPPED = {
    "zip_safe": "pyproject.toml has no place for it (wheels are never zipped eggs)",
    "test_suite": "`setup.py test` is gone from setuptools; run pytest",
    "setup_requires": "build requirements belong in [build-system] requires",
    "provides": "no installer reads it",
    "obsoletes": "no installer reads it",
    "dependency_links": "pip ignores it; give URLs as `name @ url` requirements",
    "use_2to3": "Python 2 is gone",
    "eager_resources": "only eggs used it",
    "namespace_packages": "setuptools namespaces are replaced by native ones (PEP 420)",
}
_BUILD_TOOLS = frozenset({"setuptools", "setuptools-scm", "wheel", "versioneer", "pip"})


def translate(declared: Declared, root: Path, *, tag_prefix: str = "") -> Translated:
    """The pyproject.toml tables for `declared` (read from the project at `root`)."""
    return _Translation(declared, root, tag_prefix).run()


class _Translation(SetuptoolsTable):
    """The `[project]` part of the translation, and the whole."""

    # -- the whole ----------------------------------------------------------------------------

    def run(self) -> Translated:
        project = self.out.project
        name = self.take("name")
        if not isinstance(name, str) or not name.strip():
            file, line = self.declared.origin("name")
            where = f"{self.root / file}:{line}" if line else str(self.root / file)
            raise MigrateError(
                f"{where}: the package's name cannot be read without running setup.py; give "
                'setup() a literal name (name="my-package"), then migrate again'
            )
        project["name"] = name.strip()
        self.version()
        for keyword, key in (
            ("description", "description"),
            ("python_requires", "requires-python"),
        ):
            value = self.text(self.take(keyword))
            if isinstance(value, str) and value.strip():
                project[key] = " ".join(value.split())
        self.readme()
        self.license()
        self.people("author", "authors")
        self.people("maintainer", "maintainers")
        keywords = self.lines(self.take("keywords"))
        if isinstance(keywords, str):
            keywords = [k for k in re.split(r"[,\s]+", keywords) if k]
        if keywords:
            project["keywords"] = self.clean("keywords", keywords)
        classifiers = self.clean("classifiers", self.lines(self.take("classifiers")))
        if classifiers:
            project["classifiers"] = self.classifiers(classifiers)
        self.urls()
        self.dependencies()
        self.entry_points()
        self.packages()
        self.data()
        self.extensions()
        self.leftovers()
        for table in (self.out.project, self.out.setuptools):
            self.plain(table, [])
        self.out.build_system = {
            "requires": self.build_requires,
            "build-backend": "setuptools.build_meta",
        }
        return self.out

    # -- metadata -----------------------------------------------------------------------------

    def version(self) -> None:
        version = self.keywords.pop("version", None)
        computed = version if isinstance(version, Unresolved) else None
        scm = self.keywords.pop("use_scm_version", None)
        if scm:
            options = dict(scm) if isinstance(scm, dict) else {}
            if "write_to" in options:
                options["version_file"] = options.pop("write_to")
            version = VersionFrom("setuptools-scm", options=tuple(options.items()))
        if isinstance(version, str):
            self.out.project["version"] = version
            return
        dynamic = self.out.project.setdefault("dynamic", [])
        dynamic.append("version")
        if isinstance(version, VersionFrom) and version.source in ("attr", "file"):
            self.out.setuptools.setdefault("dynamic", {})["version"] = {
                version.source: version.value
            }
            return
        if isinstance(version, VersionFrom) and version.source == "versioneer":
            self.out.versioneer = True
        elif version is None:
            self.out.project["version"] = "0.0.0"
            self.out.project["dynamic"].remove("version")
            if not self.out.project["dynamic"]:
                del self.out.project["dynamic"]
            self.out.notes.append(
                Note(
                    self.declared.origin("name")[0],
                    0,
                    "no version is given",
                    'version = "0.0.0", as setuptools made it; tag releases and use setuptools-scm, or set it',
                )
            )
            return
        elif not isinstance(version, VersionFrom):
            what = (
                f"version={computed.source} is {computed.reason}"
                if computed
                else "the version is not given"
            )
            line = computed.line if computed else 0
            file = computed.file if computed else self.declared.origin("version")[0]
            attribute = _version_attribute(self.root)
            if attribute:
                self.out.setuptools.setdefault("dynamic", {})["version"] = {"attr": attribute}
                self.out.notes.append(
                    Note(
                        file, line, what, f"read from {attribute} (dynamic, as setuptools reads it)"
                    )
                )
                return
            self.out.notes.append(
                Note(
                    file,
                    line,
                    what,
                    "versions now come from git tags (setuptools-scm): tag a release v1.2.3",
                )
            )
        options = dict(version.options) if isinstance(version, VersionFrom) else {}
        if self.tag_prefix not in ("", "v", "V"):
            options["tag_regex"] = rf"^{re.escape(self.tag_prefix)}(?P<version>\d.*)$"
        self.out.scm = options
        self.build_requires.append(SETUPTOOLS_SCM)

    def readme(self) -> None:
        text = self.take("long_description")
        content_type = self.take("long_description_content_type")
        if text is None:
            return
        if isinstance(text, list) and all(isinstance(t, FileText) for t in text):
            files = [t.path for t in text]
            self.out.project.setdefault("dynamic", []).append("readme")
            table: dict[str, Any] = {"file": files}
            table["content-type"] = content_type or _README_TYPES.get(
                Path(files[0]).suffix, "text/plain"
            )
            self.out.setuptools.setdefault("dynamic", {})["readme"] = table
            return
        if isinstance(text, FileText):
            suffix = Path(text.path).suffix.lower()
            if (content_type and _README_TYPES.get(suffix) != content_type) or suffix not in (
                ".md",
                ".rst",
            ):
                self.out.project["readme"] = {
                    "file": text.path,
                    "content-type": content_type or "text/plain",
                }
            else:
                self.out.project["readme"] = text.path
        elif isinstance(text, str):
            self.out.project["readme"] = {
                "text": text,
                "content-type": content_type or "text/plain",
            }
        else:
            self.note(
                "long_description",
                "the long description is computed when building",
                "left out; point readme at a file by hand",
            )

    def license(self) -> None:
        text = self.take("license")
        files = self.take("license_files") or self.take("license_file")
        self.keywords.pop("license_file", None)
        if isinstance(text, str) and text.strip():
            try:
                self.out.project["license"] = canonicalize_license_expression(text.strip())
            except InvalidLicenseExpression:
                self.out.project["license"] = {"text": text.strip()}
                self.note(
                    "license",
                    f"license {text.strip()!r} is not an SPDX expression",
                    'kept as license.text; write an SPDX expression such as "MIT"',
                )
        if files:
            self.out.project["license-files"] = [files] if isinstance(files, str) else list(files)

    def classifiers(self, classifiers: list[str]) -> list[str]:
        if not isinstance(self.out.project.get("license"), str):
            return classifiers
        dropped = [c for c in classifiers if c.startswith("License ::")]
        if dropped:
            self.note(
                "classifiers",
                f"license classifier(s) {', '.join(dropped)}",
                f"replaced by the SPDX expression license = {self.out.project['license']!r}",
            )
        return [c for c in classifiers if not c.startswith("License ::")]

    def people(self, role: str, key: str) -> None:
        name, email = self.take(role), self.take(f"{role}_email")
        person = {
            k: v.strip()
            for k, v in (("name", name), ("email", email))
            if isinstance(v, str) and v.strip()
        }
        if person:
            self.out.project[key] = [person]

    def urls(self) -> None:
        urls: dict[str, str] = {}
        for keyword, label in (("url", "Homepage"), ("download_url", "Download")):
            value = self.take(keyword)
            if isinstance(value, str) and value.strip():
                urls[label] = value.strip()
        project_urls = self.take("project_urls")
        if isinstance(project_urls, dict):
            urls.update({str(k): v for k, v in project_urls.items() if isinstance(v, str)})
        if urls:
            self.out.project["urls"] = urls

    # -- requirements -------------------------------------------------------------------------

    def requirements(self, keyword: str, value: Any) -> list[str]:
        """The requirements a keyword's value gives (lists, files read by setup.py)."""
        found: list[str] = []
        if isinstance(value, str):
            value = [line for line in value.splitlines()]
        conditional: list[Conditional] = []
        if isinstance(value, list):
            conditional = [v for v in value if isinstance(v, Conditional)]
            value = [v for v in value if not isinstance(v, Conditional)]
        for item in self.clean(keyword, value):
            if isinstance(item, FileLines):
                read = read_requirements(self.root, item.path)
                found += read.requirements
                self.out.notes += read.notes
                self.out.requirement_files.update(read.files)
                if item.idiom == "split":
                    self.out.notes += split_damage(self.root, item.path, item.line)
                    self.out.split_files.append(item.path)
            elif isinstance(item, FileText):
                read = read_requirements(self.root, item.path)
                found += read.requirements
                self.out.requirement_files.update(read.files)
            elif not isinstance(item, str):
                self.note(keyword.split("[")[0], f"{item!r:.60} is not a requirement", "left out")
            elif item.strip() and not item.strip().startswith("#"):
                try:
                    found.append(str(Requirement(item.strip())))
                except InvalidRequirement as exc:
                    reason = str(exc).splitlines()[0]
                    self.note(
                        keyword.split("[")[0],
                        f"{item.strip()!r} is not a requirement ({reason})",
                        "left out",
                    )
        return found + self.conditional(conditional, keyword)

    def conditional(self, items: list[Conditional], keyword: str) -> list[str]:
        """Requirements setup.py adds under a platform's or a Python's condition, with it as
        their environment marker."""
        found = []
        for item in items:
            requirement = as_requirement(str(item.value))
            if requirement is None:
                self.note(keyword.split("[")[0], f"{item.value!r} is not a requirement", "left out")
                continue
            marked = _with_marker(requirement, item.marker)
            found.append(marked)
            self.out.conditional.add(marked)
            self.out.notes.append(
                Note(
                    "setup.py",
                    item.line,
                    f"{item.value!r} is required only when {item.marker} (an if around it)",
                    f"kept as {marked!r}: the condition is its environment marker",
                )
            )
        return found

    def dependencies(self) -> None:
        project = self.out.project
        install = self.requirements("install_requires", self.take("install_requires"))
        extras: dict[str, list[str]] = {}
        raw_extras = self.take("extras_require")
        for key, value in (raw_extras or {}).items() if isinstance(raw_extras, dict) else []:
            if isinstance(value, Unresolved):
                self.clean("extras_require", [value])
                continue
            extra, _, marker = str(key).partition(":")
            requirements = self.requirements(f"extras_require[{key}]", value)
            if marker:
                requirements = [_with_marker(r, marker) for r in requirements]
            if extra:
                extras.setdefault(extra, []).extend(requirements)
            else:
                install += requirements
        tests = self.requirements("tests_require", self.take("tests_require"))
        if tests and "test" not in extras:
            extras["test"] = tests
            self.note(
                "tests_require",
                "tests_require (setup.py test is gone)",
                "moved to the `test` extra: pip install '.[test]'",
            )
        setup_requires = self.requirements("setup_requires", self.take("setup_requires"))
        extra_build = [r for r in setup_requires if _name(r) not in _BUILD_TOOLS]
        if extra_build:
            self.build_requires += extra_build
            self.note("setup_requires", "setup_requires", "moved to [build-system] requires")
        if install:
            project["dependencies"] = install
        if extras:
            project["optional-dependencies"] = extras

    # -- entry points, packages, data ---------------------------------------------------------

    def entry_points(self) -> None:
        value = self.take("entry_points")
        if isinstance(value, str):
            value = _ini_groups(value)
        if not isinstance(value, dict):
            return
        for group, items in value.items():
            if isinstance(items, Unresolved):
                self.clean("entry_points", [items])
                continue
            lines = (
                items.splitlines() if isinstance(items, str) else self.clean("entry_points", items)
            )
            table = {}
            for line in lines:
                name, sep, target = str(line).partition("=")
                if sep and name.strip():
                    table[name.strip()] = target.strip()
            if not table:
                continue
            if group == "console_scripts":
                self.out.project["scripts"] = table
            elif group == "gui_scripts":
                self.out.project["gui-scripts"] = table
            else:
                self.out.project.setdefault("entry-points", {})[group] = table

    def leftovers(self) -> None:
        commands = self.keywords.pop("cmdclass", None)
        if commands is not None and not isinstance(commands, VersioneerCommands):
            self.note(
                "cmdclass",
                "custom build commands (cmdclass)",
                "left out: pyproject.toml cannot run them; keep a setup.py with only cmdclass if they are needed",
            )
        for keyword in list(self.keywords):
            value = self.keywords.pop(keyword)
            if keyword in ("long_description_content_type",) or value in (None, [], {}):
                continue
            if isinstance(value, Unresolved):
                self.keywords[keyword] = value
                self.take(keyword)
            elif keyword in _DROPPED:
                self.note(keyword, keyword, f"dropped: {_DROPPED[keyword]}")
            else:
                self.note(
                    keyword,
                    f"setup() keyword {keyword}",
                    "left out: pyproject.toml has no place for it",
                )


_VERSION_LINE = re.compile(r"""^__version__\s*=\s*['"][^'"]+['"]\s*$""", re.MULTILINE)
_VERSION_MODULES = ("__init__.py", "version.py", "_version.py", "__about__.py", "__version__.py")


def _version_attribute(root: Path) -> str | None:
    """`pkg.__version__` (or `pkg.version.__version__`) when exactly one module of the project's
    packages sets a literal `__version__`, as the usual version-reading setup.py reads it."""
    found = []
    for folder in (root, root / "src"):
        for package in sorted(p for p in folder.glob("*/__init__.py")):
            if package.parent.name in ("tests", "test", "docs", "build"):
                continue
            for module in _VERSION_MODULES:
                path = package.parent / module
                try:
                    text = path.read_text(encoding="utf-8") if path.is_file() else ""
                except (OSError, UnicodeDecodeError):
                    continue
                if _VERSION_LINE.search(text):
                    dotted = package.parent.name
                    if module != "__init__.py":
                        dotted += "." + module.removesuffix(".py")
                    found.append(f"{dotted}.__version__")
    return found[0] if len(found) == 1 else None


def _with_marker(requirement: str, marker: str) -> str:
    parsed = Requirement(requirement)
    if parsed.marker is None:
        return str(Requirement(f"{requirement}; {marker}"))
    return str(Requirement(f"{str(parsed).split(';')[0]}; ({parsed.marker}) and ({marker})"))


def _name(requirement: str) -> str:
    from packaging.utils import canonicalize_name

    return canonicalize_name(Requirement(requirement).name)


def _ini_groups(text: str) -> dict[str, list[str]]:
    """Entry points written as ini text (`[console_scripts]` then `name = target` lines)."""
    groups: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in _lines(text):
        if line.startswith("[") and line.endswith("]"):
            current = groups.setdefault(line[1:-1].strip(), [])
        elif current is not None:
            current.append(line)
    return groups


def _lines(text: str) -> Iterator[str]:
    for line in text.splitlines():
        if line.strip() and not line.strip().startswith(("#", ";")):
            yield line.strip()
