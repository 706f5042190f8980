"""The questions of `new` and the answers a project is made from: each question declared once
(prompt, default derived from earlier answers, choices, checks), used by the prompt, by `--yes`
and by library callers alike."""

from __future__ import annotations

import json
import keyword
import os
import re
import sys
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any, Literal

from packaging.version import InvalidVersion, Version
from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

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
    "Any", "FilesystemTarget", "Model", "ModelcrateError", "NAME", "NO_CACHE", "ONE_AT_A_TIME",
    "PackageNotFoundError", "ThreadPoolTaskRunner", "annotations", "argparse", "as_completed",
    "click", "encode_value", "entry_points", "evaluate", "evaluate_and_store", "files", "flow",
    "flow_run", "input_schema", "inputs_model", "json", "load_file", "load_result", "load_spec",
    "main", "model", "np", "output_schema", "plain_value", "prefect", "prepare", "pytest",
    "runtime", "save", "sweep_flow", "sweep_part", "sys", "task", "version",
))  # fmt: skip
_TAKEN_MODULES = frozenset(sys.stdlib_module_names) | {
    "modelcrate", "prefect", "numpy", "click", "pytest", "invoke", "pydantic", "yaml", "tests",
    "tasks", "conftest",  # the project's own tasks.py and tests/conftest.py
}  # fmt: skip


def slugify(text: str) -> str:
    """`Beam Size Model` -> `beam-size-model` (a repository and distribution name)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def derived_defaults(project_name: str) -> dict[str, str]:
    """Names derived from the project name: repository, package and model class."""
    repo = slugify(project_name) or "my-model"
    words = [w for w in re.split(r"[^A-Za-z0-9]+", project_name) if w]
    cls = "".join(w[:1].upper() + w[1:] for w in words) or "My"
    if cls[0].isdigit():
        cls = f"Model{cls}"
    if not cls.endswith("Model"):
        cls += "Model"
    return {"repo_name": repo, "package_name": package_for(repo), "model_class": cls}


def package_for(repo_name: str) -> str:
    """The Python package name for a repository name (`3d-beam` -> `model_3d_beam`)."""
    package = re.sub(r"[^a-z0-9_]", "_", repo_name.lower()) or "model"
    if package[0].isdigit() or keyword.iskeyword(package) or package in _TAKEN_MODULES:
        package = f"model_{package}"
    return package


def configured_github_user() -> str:
    """The GitHub account of git's `github.user` setting (as `hub` and `gh` read it), or an
    empty string when it is not set or not an account name: an account is never guessed."""
    from ._git import git_setting

    user = git_setting("github.user")
    return user if _GITHUB_USER.match(user) else ""


def default_project_name(
    variables: str | os.PathLike[str], *, model_name: str | None = None,
    output: str | os.PathLike[str] | None = None,
) -> str:  # fmt: skip
    """The project name `new` offers: the model's name declared in the variables file, else the
    name of the `output` directory, else the variables file's name (or its folder's, when the
    file has a generic name such as `variables.yml`)."""
    if model_name and model_name.strip():
        return model_name.strip()
    if output is not None:
        folder = Path(output).expanduser().resolve().name.replace("_", " ")
        if _is_project_name(folder):
            return folder
    path = Path(variables)
    stem = "" if path.stem.lower() in _GENERIC_STEMS else path.stem
    name = (stem or path.expanduser().resolve().parent.name).replace("_", " ")
    return name if _is_project_name(name) else "my model"


def _is_project_name(name: str) -> bool:
    """Whether a name taken from a folder or file is one `new` accepts as a project's name (one
    line, short, no template syntax, with a letter or digit)."""
    try:
        _check_project_name(_writable(name))
    except ValueError:
        return False
    return True


_GENERIC_STEMS = frozenset(("variables", "vars", "model", "config"))


def git_identity() -> tuple[str, str]:
    """The user's git `user.name` and `user.email` (empty when it is not an e-mail address),
    or empty strings."""
    from ._git import git_identity as configured

    name, email = configured()
    return name, email if _EMAIL.match(email) else ""


def default_modelcrate_requirement() -> str:
    """How a generated project should depend on modelcrate: where this modelcrate came from.

    A modelcrate installed from a local directory (a checkout) or a VCS URL is referenced the
    same way, since that version is on no index; one installed from an index, or from a wheel or
    sdist file (a release's own files), gets a version range: `modelcrate>=X.Y,<X+1`.
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
        if url and "archive_info" not in info:
            # A checkout (editable or not): its version is not published anywhere.
            return f"modelcrate @ {url}"
        # A wheel or sdist file, installed from a path or URL: a build of a release, as an
        # index would serve it.
    return _range_for(dist.version)


def _range_for(version: str) -> str:
    try:
        v = Version(version)
    except InvalidVersion:
        return "modelcrate"
    floor = f"{v.major}.{v.minor}" + (".dev0" if v.is_prerelease or v.is_devrelease else "")
    return f"modelcrate>={floor},<{v.major + 1}"


def tools_requirement(requirement: str) -> str:
    """The same requirement on modelcrate with its `tools` extra: what a project's development
    environment needs for `modelcrate check`, `lock` and `update`."""
    return _with_extra(requirement, "tools")


def serve_requirement(requirement: str) -> str:
    """The same requirement on modelcrate with its `serve` extra: what a project's `serve` extra
    (and its image) needs for `modelcrate serve`."""
    return _with_extra(requirement, "serve")


def _with_extra(requirement: str, extra: str) -> str:
    from packaging.requirements import Requirement

    extras = ",".join(sorted({*Requirement(requirement).extras, extra}))
    # The requirement as written (`str(Requirement)` would reorder its specifiers), extras added.
    name = re.compile(r"^\s*([A-Za-z0-9._-]+)(\s*)(\[[^\]]*\])?")
    return name.sub(rf"\1[{extras}]\2", requirement.strip(), count=1)


def is_local_requirement(requirement: str) -> bool:
    """Whether a requirement points at a path of this machine (`name @ file:...`), which no
    other machine, CI runner or container build can install."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        url = Requirement(requirement).url or ""
    except InvalidRequirement:
        return False
    scheme = url.partition(":")[0].lower()
    return scheme == "file" or scheme.endswith("+file") or (":" not in url and bool(url))


def portable_requirement(requirement: str) -> str | None:
    """For a requirement on a git checkout of this machine (`modelcrate @ file:///path`), the
    same code by its remote's URL at the checked-out commit (`modelcrate @ git+https://host/
    repo.git@COMMIT`), which installs anywhere; None when there is no such remote."""
    from urllib.parse import unquote, urlsplit

    from packaging.requirements import InvalidRequirement, Requirement

    from ._git import git, git_available

    try:
        parsed = Requirement(requirement)
    except InvalidRequirement:
        return None
    url = urlsplit(parsed.url or "")
    path = Path(unquote(url.path))
    if url.scheme != "file" or not path.is_dir() or not git_available():
        return None
    remote = git("config", "--get", "remote.origin.url", cwd=path).stdout.strip()
    commit = git("rev-parse", "HEAD", cwd=path).stdout.strip()
    scp = re.fullmatch(r"([\w.-]+@[\w.-]+):(?!//)(.+)", remote)
    if scp:
        remote = f"ssh://{scp.group(1)}/{scp.group(2)}"
    if not re.match(r"^(https|ssh)://[^\s@]*@?[^\s]+$", remote) or not re.fullmatch(
        r"[0-9a-f]{40}", commit
    ):
        return None
    if re.match(r"^https://[^/]*@", remote):  # a token in the remote's URL stays out of files
        return None
    extras = f"[{','.join(sorted(parsed.extras))}]" if parsed.extras else ""
    return f"{parsed.name}{extras} @ git+{remote}@{commit}"


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


Answers = Mapping[str, Any]


@dataclass(frozen=True)
class Question:
    """One question of `new`: the answer's key, the prompt, its default (derived from the
    answers before it) and its choices. The prompt, `--yes` and library callers all use it."""

    key: str
    text: str
    default: Callable[[Answers], str]
    choices: tuple[str, ...] | None = None
    asked: bool = True  # False: always derived, never prompted for


def _identity(answers: Answers) -> tuple[str, str]:
    identity = answers.get(_IDENTITY)
    return identity if identity is not None else git_identity()


_IDENTITY = "_git_identity"  # the git identity, read once per set of answers
_GITHUB = "_github_user"  # git's github.user setting, read once per set of answers


def github_url(github_user: str, repo_name: str) -> str:
    """The repository's URL on GitHub, or an empty string when the account is not known."""
    return f"https://github.com/{github_user}/{repo_name}" if github_user else ""


QUESTIONS: tuple[Question, ...] = (
    Question("project_name", "Project name", lambda a: a.get(_DEFAULT_NAME) or "my model"),
    Question("repo_name", "Repository name", lambda a: derived_defaults(a["project_name"])["repo_name"]),
    Question("package_name", "Python package name", lambda a: package_for(a["repo_name"])),
    Question("model_class", "Model class name", lambda a: derived_defaults(a["project_name"])["model_class"]),
    Question(
        "description",
        "Description",
        lambda a: a.get(_DEFAULT_DESCRIPTION) or f"{a['project_name']}, packaged with modelcrate.",
    ),
    Question("author", "Author", lambda a: _identity(a)[0] or "Your Name"),
    Question("email", "E-mail", lambda a: _identity(a)[1] or "you@example.org"),
    Question(
        "github_user",
        "GitHub user or organisation (empty: fill in later)",
        lambda a: a.get(_GITHUB) or "",
    ),
    Question("github_url", "Repository URL", lambda a: github_url(a["github_user"], a["repo_name"]), asked=False),
    Question("license", "License", lambda a: "BSD-3-Clause", LICENSES),
    Question("cli", "Command-line interface", lambda a: "click", CLIS),
    Question("registry", "Container registry", lambda a: "ghcr", REGISTRIES),
    Question(
        "modelcrate_requirement",
        "modelcrate requirement",
        lambda a: default_modelcrate_requirement(),
        asked=False,
    ),
)  # fmt: skip
"""The questions of `new`, in the order they are asked; each default may use earlier answers."""

_DEFAULT_NAME = "_default_name"
_DEFAULT_DESCRIPTION = "_default_description"

Asker = Callable[[Question, str], str]
"""Asks one question (its default given) and returns a valid answer (see `check_answer`)."""


def answer_questions(
    given: Answers,
    *,
    default_name: str | None = None,
    default_description: str | None = None,
    ask: Asker | None = None,
) -> dict[str, Any]:
    """Every answer of `new`: those given (None counts as not given), then each other question
    asked with `ask`, or its default when there is no `ask` (`--yes`, library callers).

    `default_description` (the variables file's model description, say) is taken as one line,
    and only when it could be an answer."""
    answers: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    context: dict[str, Any] = {
        _DEFAULT_NAME: default_name,
        _DEFAULT_DESCRIPTION: _one_line_answer("description", default_description),
    }
    for question in QUESTIONS:
        if question.key in answers:
            continue
        if question.key in ("author", "email") and _IDENTITY not in context:
            context[_IDENTITY] = git_identity()
        if question.key == "github_user" and _GITHUB not in context:
            context[_GITHUB] = configured_github_user()
        default = question.default({**context, **answers})
        answers[question.key] = ask(question, default) if ask and question.asked else default
    return answers


def _one_line_answer(key: str, text: str | None) -> str | None:
    """`text` with its whitespace runs made single spaces, if it is a valid answer to `key`."""
    if not text or not " ".join(text.split()):
        return None
    try:
        return check_answer(key, " ".join(text.split()))
    except ValueError:
        return None


def check_answer(key: str, value: str) -> str:
    """`value` as the answer to question `key`, checked by that answer's own rules; raises
    `ValueError` saying what is wrong (a prompt shows it and asks again)."""
    value = _writable(value)
    check = _FIELD_CHECKS.get(key)
    return check(value) if check else value


def _writable(value: Any) -> Any:
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


def _check_project_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if len(value) > 100:
        raise ValueError("must be at most 100 characters")
    if "/" in value or "\\" in value or ".." in value:
        raise ValueError("must not contain '/', '\\' or '..'")
    if not slugify(value):
        raise ValueError("needs at least one letter or digit")
    return value


def _check_repo_name(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(f"{value!r} must be lower-case letters, digits and dashes")
    return value


def _identifier(value: str) -> str:
    if (
        not value.isidentifier()
        or keyword.iskeyword(value)
        or unicodedata.normalize("NFKC", value) != value
    ):
        raise ValueError(f"{value!r} is not a Python identifier; use letters, digits and _")
    return value


def _check_package_name(value: str) -> str:
    _identifier(value)
    if not value.islower():
        raise ValueError(f"{value!r} must be lower case")
    if not _PACKAGE.match(value):
        raise ValueError(f"{value!r} must be ASCII letters, digits and _")
    if value in _TAKEN_MODULES:
        raise ValueError(
            f"{value!r} is the name of a module the project imports or of the standard "
            f"library; choose another (e.g. {package_for(value)!r})"
        )
    return value


def _check_model_class(value: str) -> str:
    _identifier(value)
    if value in _GENERATED_NAMES:
        raise ValueError(
            f"{value!r} is a name the generated code uses; choose another (e.g. ending in Model)"
        )
    return value


def _check_email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


def _check_github_user(value: str) -> str:
    value = value.strip()
    if value and not _GITHUB_USER.match(value):
        raise ValueError(
            f"{value!r} is not a GitHub account name (letters, digits and single dashes "
            "between them, at most 39)"
        )
    return value


def _check_github_url(value: str) -> str:
    from urllib.parse import urlsplit

    if not value:  # not known: the project is made without a URL
        return value
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
        raise ValueError(f"{value!r} is not an http(s) URL; give e.g. https://github.com/you/repo")
    return value


def _check_choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"{value!r} is not one of: {', '.join(choices)}")
        return value

    return check


def _check_requirement(value: str) -> str:
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


_FIELD_CHECKS: dict[str, Callable[[str], str]] = {
    "project_name": _check_project_name,
    "repo_name": _check_repo_name,
    "package_name": _check_package_name,
    "model_class": _check_model_class,
    "email": _check_email,
    "github_user": _check_github_user,
    "github_url": _check_github_url,
    "license": _check_choice(LICENSES),
    "cli": _check_choice(CLIS),
    "registry": _check_choice(REGISTRIES),
    "modelcrate_requirement": _check_requirement,
}


class ProjectOptions(BaseModel):
    """Everything `new` needs besides the variables: the answers to `QUESTIONS`, those not
    given derived as their questions say, each checked by its own rules (`check_answer`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project_name: str
    repo_name: str
    package_name: str
    model_class: str
    description: str
    author: str
    email: str
    github_user: str
    github_url: str
    license: License
    cli: Cli
    registry: Registry
    modelcrate_requirement: str

    @model_validator(mode="before")
    @classmethod
    def _answer_the_rest(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and isinstance(data.get("project_name"), str):
            return answer_questions(data)
        return data

    @field_validator("*", mode="before")
    @classmethod
    def _checked(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        return check_answer(info.field_name or "", value)

    @property
    def flow_name(self) -> str:
        """Name of the generated flow function."""
        return f"{self.package_name}_flow"

    @property
    def image(self) -> str:
        """The container image name in the chosen registry; empty when the GitHub account is not
        known (the image workflow then names it after the account that owns the repository)."""
        if not self.github_user:
            return ""
        return f"{REGISTRY_HOSTS[self.registry]}/{self.github_user.lower()}/{self.repo_name}"

    @property
    def image_shown(self) -> str:
        """The image name as documentation shows it: `OWNER` stands for an unknown account."""
        return self.image or f"{REGISTRY_HOSTS[self.registry]}/OWNER/{self.repo_name}"


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
