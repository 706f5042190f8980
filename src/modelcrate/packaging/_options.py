"""The answers a new project is made from: one pydantic model, with defaults derived from the name."""

from __future__ import annotations

import json
import keyword
import re
import sys
import unicodedata
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any, Literal

from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .._errors import ProjectError

License = Literal["MIT", "BSD-3-Clause", "Apache-2.0", "GPL-3.0", "none"]
Cli = Literal["click", "argparse", "none"]
Registry = Literal["ghcr", "dockerhub", "scr"]

LICENSES: tuple[str, ...] = License.__args__  # type: ignore[attr-defined]
CLIS: tuple[str, ...] = Cli.__args__  # type: ignore[attr-defined]
REGISTRIES: tuple[str, ...] = Registry.__args__  # type: ignore[attr-defined]

REGISTRY_HOSTS = {"ghcr": "ghcr.io", "dockerhub": "docker.io", "scr": "scr.svc.stanford.edu"}

_JINJA = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")
_SLUG = re.compile(r"^[a-z0-9]+(?:[-_.][a-z0-9]+)*$")
_PACKAGE = re.compile(r"^[a-z_][a-z0-9_]*$")
# GitHub's rule for an account name: letters, digits and single inner dashes, at most 39.
_GITHUB_USER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
# Loose, as pyproject.toml's `idn-email` format checks it: one @, a dot in the domain, no spaces.
_EMAIL = re.compile(r"^[^@\s\"<>,;]+@[^@\s\"<>,;]+\.[^@\s\"<>,;.][^@\s\"<>,;]*$")
# Characters no option may hold: control characters, line and paragraph separators, surrogates.
_UNWRITABLE = frozenset(("Cc", "Cs", "Zl", "Zp"))
# Names the generated modules import or define: a package or class of the same name shadows them.
_GENERATED_NAMES = frozenset((
    "Any", "FilesystemTarget", "Model", "ModelcrateError", "NAME", "NO_CACHE",
    "PackageNotFoundError", "annotations", "argparse", "click", "encode_value", "entry_points",
    "evaluate", "files", "flow", "flow_run", "input_schema", "inputs_model", "json", "load_file",
    "load_result", "load_spec", "main", "model", "np", "output_schema", "prefect", "prepare",
    "pytest", "runtime", "save", "sys", "task", "version",
))  # fmt: skip
_TAKEN_MODULES = frozenset(sys.stdlib_module_names) | {
    "modelcrate", "prefect", "numpy", "click", "pytest", "invoke", "pydantic", "yaml", "tests",
}  # fmt: skip


def slugify(text: str) -> str:
    """`Beam Size Model` -> `beam-size-model` (a repository and distribution name)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def derived_defaults(project_name: str) -> dict[str, str]:
    """Names derived from the project name: repository, package and model class."""
    repo = slugify(project_name) or "my-model"
    package = re.sub(r"[^a-z0-9_]", "_", repo)
    if package[0].isdigit() or keyword.iskeyword(package) or package in _TAKEN_MODULES:
        package = f"model_{package}"
    words = [w for w in re.split(r"[^A-Za-z0-9]+", project_name) if w]
    cls = "".join(w[:1].upper() + w[1:] for w in words) or "My"
    if cls[0].isdigit():
        cls = f"Model{cls}"
    if not cls.endswith("Model"):
        cls += "Model"
    return {"repo_name": repo, "package_name": package, "model_class": cls}


def github_account(author: str) -> str:
    """A GitHub account name guessed from the author's name (`Ada Lovelace` -> `adalovelace`)."""
    user = slugify(author).replace("-", "")[:39]
    return user if _GITHUB_USER.match(user) else "you"


def git_identity() -> tuple[str, str]:
    """The user's git `user.name` and `user.email`, or empty strings."""
    import shutil
    import subprocess

    if shutil.which("git") is None:
        return "", ""

    def get(key: str) -> str:
        done = subprocess.run(
            ["git", "config", "--get", key], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    name, email = get("user.name"), get("user.email")
    return name, email if _EMAIL.match(email) else ""


def default_modelcrate_requirement() -> str:
    """How a generated project should depend on modelcrate: where this modelcrate came from.

    A modelcrate installed from a local directory or a VCS URL is referenced the same way (it
    is not on an index yet); one installed from an index gets a version range.
    """
    try:
        dist = distribution("modelcrate")
    except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
        return "modelcrate"
    direct = dist.read_text("direct_url.json")
    if direct:
        info = json.loads(direct)
        url = info.get("url", "")
        vcs = info.get("vcs_info")
        if vcs:
            ref = vcs.get("requested_revision") or vcs.get("commit_id")
            return f"modelcrate @ {vcs['vcs']}+{url}" + (f"@{ref}" if ref else "")
        if url:
            return f"modelcrate @ {url}"
    return _range_for(dist.version)


def _range_for(version: str) -> str:
    try:
        v = Version(version)
    except InvalidVersion:
        return "modelcrate"
    floor = f"{v.major}.{v.minor}" + (".dev0" if v.is_prerelease or v.is_devrelease else "")
    return f"modelcrate>={floor},<{v.major + 1}"


def modelcrate_requirement(spec: str | None) -> str:
    """A PEP 508 requirement from what a user gives: a path, a VCS URL, a version or a requirement."""
    if not spec:
        return default_modelcrate_requirement()
    spec = spec.strip()
    if re.match(r"^(git|hg|svn|bzr)\+", spec) or re.match(r"^(https?|file)://", spec):
        return f"modelcrate @ {spec}"
    if re.match(r"^\d+(\.\d+)*([a-z]+\d*)?(\.dev\d+)?$", spec):
        return f"modelcrate=={spec}"
    if spec.startswith("modelcrate"):
        return spec
    path = Path(spec).expanduser()
    if path.exists():
        if not (path / "pyproject.toml").is_file() and path.suffix not in (".whl", ".gz"):
            raise ProjectError(
                f"--modelcrate-requirement {spec}: not a modelcrate checkout, wheel or sdist"
            )
        return f"modelcrate @ {path.resolve().as_uri()}"
    raise ProjectError(
        f"--modelcrate-requirement {spec}: not a path, URL, version or requirement; "
        "give e.g. ../modelcrate, git+https://host/modelcrate.git, 0.2.0 or 'modelcrate>=0.2'"
    )


class ProjectOptions(BaseModel):
    """Everything `modelcrate new` needs besides the variables; names not given are derived."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project_name: str = Field(min_length=1, max_length=100)
    repo_name: str = ""
    package_name: str = ""
    model_class: str = ""
    description: str = ""
    author: str = ""
    email: str = ""
    github_user: str = ""
    github_url: str = ""
    license: License = "BSD-3-Clause"
    cli: Cli = "click"
    registry: Registry = "ghcr"
    modelcrate_requirement: str = ""

    @field_validator("*", mode="before")
    @classmethod
    def _no_template_syntax(cls, value: Any) -> Any:
        if isinstance(value, str):
            if _JINJA.search(value):
                raise ValueError("must not contain template syntax ({{ }}, {% %} or {# #})")
            if "\n" in value or "\r" in value:
                raise ValueError("must be a single line")
            bad = next((c for c in value if unicodedata.category(c) in _UNWRITABLE), None)
            if bad is not None:
                raise ValueError(
                    f"must not contain control characters or surrogates (found {bad!r} "
                    f"at position {value.index(bad)})"
                )
        return value

    @field_validator("modelcrate_requirement")
    @classmethod
    def _one_requirement_on_modelcrate(cls, value: str) -> str:
        if not value:
            return value
        from packaging.requirements import InvalidRequirement, Requirement
        from packaging.utils import canonicalize_name

        value = modelcrate_requirement(value)
        try:
            requirement = Requirement(value)
        except InvalidRequirement as exc:
            reason = str(exc).splitlines()[0].strip()
            raise ValueError(f"{value!r} is not one PEP 508 requirement ({reason})") from None
        if canonicalize_name(requirement.name) != "modelcrate":
            raise ValueError(
                f"{value!r} is a requirement on {requirement.name!r}, not on modelcrate; "
                "give a path, URL or version of modelcrate, or e.g. 'modelcrate>=0.2'"
            )
        return value

    @field_validator("github_user")
    @classmethod
    def _github_account(cls, value: str) -> str:
        if value and not _GITHUB_USER.match(value):
            raise ValueError(
                f"{value!r} is not a GitHub account name (letters, digits and single dashes "
                "between them, at most 39)"
            )
        return value

    @field_validator("github_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        from urllib.parse import urlsplit

        if not value:
            return value
        try:
            parts = urlsplit(value)
        except ValueError:
            parts = None
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or " " in value
        ):
            raise ValueError(
                f"{value!r} is not an http(s) URL; give e.g. https://github.com/you/repo"
            )
        return value

    @field_validator("project_name")
    @classmethod
    def _project_name(cls, value: str) -> str:
        value = value.strip()
        if "/" in value or "\\" in value or ".." in value:
            raise ValueError("must not contain '/', '\\' or '..'")
        if not slugify(value):
            raise ValueError("needs at least one letter or digit")
        return value

    @model_validator(mode="after")
    def _derive_and_check(self) -> ProjectOptions:
        derived = derived_defaults(self.project_name)
        updates = {k: v for k, v in derived.items() if not getattr(self, k)}
        identity = git_identity() if not (self.author and self.email) else ("", "")
        if not self.author:
            updates["author"] = identity[0] or "Your Name"
        if not self.email:
            updates["email"] = identity[1] or "you@example.org"
        if not self.github_user:
            updates["github_user"] = github_account(updates.get("author", self.author))
        if not self.github_url:
            user = updates.get("github_user", self.github_user)
            repo = updates.get("repo_name", self.repo_name)
            updates["github_url"] = f"https://github.com/{user}/{repo}"
        if not self.description:
            updates["description"] = f"{self.project_name}, packaged with modelcrate."
        if not self.modelcrate_requirement:
            updates["modelcrate_requirement"] = default_modelcrate_requirement()
        for key, value in updates.items():
            object.__setattr__(self, key, value)
        if not _SLUG.match(self.repo_name):
            raise ValueError(
                f"repo_name {self.repo_name!r} must be lower-case letters, digits and dashes"
            )
        for key in ("package_name", "model_class"):
            value = getattr(self, key)
            if (
                not value.isidentifier()
                or keyword.iskeyword(value)
                or unicodedata.normalize("NFKC", value) != value
            ):
                raise ValueError(
                    f"{key} {value!r} is not a Python identifier; use letters, digits and _"
                )
        if not self.package_name.islower():
            raise ValueError(f"package_name {self.package_name!r} must be lower case")
        if not _PACKAGE.match(self.package_name):
            raise ValueError(
                f"package_name {self.package_name!r} must be ASCII letters, digits and _"
            )
        if self.package_name in _TAKEN_MODULES:
            raise ValueError(
                f"package_name {self.package_name!r} is the name of a module the project "
                "imports or of the standard library; choose another"
            )
        if self.model_class in _GENERATED_NAMES:
            raise ValueError(
                f"model_class {self.model_class!r} is a name the generated code uses; "
                "choose another (e.g. ending in Model)"
            )
        if not _EMAIL.match(self.email):
            raise ValueError(f"email {self.email!r} is not an e-mail address")
        return self

    @property
    def flow_name(self) -> str:
        """Name of the generated flow function."""
        return f"{self.package_name}_flow"

    @property
    def image(self) -> str:
        """The container image name in the chosen registry."""
        return f"{REGISTRY_HOSTS[self.registry]}/{self.github_user.lower()}/{self.repo_name}"


def make_options(**answers: Any) -> ProjectOptions:
    """Validate answers into `ProjectOptions`; raise `ProjectError` with one `field: problem` per line."""
    try:
        return ProjectOptions(**{k: v for k, v in answers.items() if v is not None})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "options"
            message = err["msg"].removeprefix("Value error, ")
            problems.append(f"{field}: {message}")
        raise ProjectError("invalid project option: " + "; ".join(problems)) from None
