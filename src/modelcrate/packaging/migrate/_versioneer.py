"""Taking versioneer out of a project whose versions move to setuptools-scm: its files, the
lines that load it, and its settings. The git tags keep meaning the same versions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._escape import python_string
from ._declared import Note
from ._setup_cfg import Section

VERSIONEER_PY = "versioneer.py"
_IMPORT = re.compile(
    r"^\s*(from\s+\.(_version)?\s+import\s+(get_versions|_version)|from\s+\S+\._version\s+import\s+get_versions|del\s+get_versions)\s*(#.*)?$"
)
_ASSIGN = re.compile(
    r"^(\s*)__version__\s*=\s*.*get_versions\(\)\s*\[\s*['\"]version['\"]\s*\]\s*(#.*)?$"
)


@dataclass
class VersioneerRemoval:
    """Files to remove, files to rewrite (path: new text) and notes."""

    removed: list[str] = field(default_factory=list)
    rewritten: dict[str, str] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)


def tag_prefix(sections: list[Section], pyproject: Mapping[str, Any]) -> str:
    """Versioneer's `tag_prefix`, from setup.cfg's [versioneer] section or pyproject.toml's
    [tool.versioneer] ("" when none)."""
    for section in sections:
        if section.name == "versioneer":
            prefix = dict(section.options).get("tag_prefix", "").strip()
            return prefix.strip("'\"")
    tool = pyproject.get("tool", {})
    settings = tool.get("versioneer", {}) if isinstance(tool, Mapping) else {}
    prefix = settings.get("tag_prefix", "") if isinstance(settings, Mapping) else ""
    return str(prefix).strip("'\"")


def remove_versioneer(root: Path, sections: list[Section], distribution: str) -> VersioneerRemoval:
    """What to remove and rewrite in the project at `root` to stop using versioneer."""
    removal = VersioneerRemoval()
    if (root / VERSIONEER_PY).is_file():
        removal.removed.append(VERSIONEER_PY)
    settings = next((dict(s.options) for s in sections if s.name == "versioneer"), {})
    version_file = settings.get("versionfile_source", "").strip()
    candidates = (
        [version_file] if version_file else [str(p.relative_to(root)) for p in _version_files(root)]
    )
    for name in candidates:
        if not (root / name).is_file():
            continue
        removal.removed.append(name)
        init = Path(name).parent / "__init__.py"
        if (root / init).is_file():
            text = (root / init).read_text(encoding="utf-8")
            new = _without_versioneer(text, distribution)
            if new != text:
                removal.rewritten[init.as_posix()] = new
                removal.notes.append(
                    Note(
                        init.as_posix(),
                        0,
                        "__version__ came from versioneer's _version.py",
                        "now read from the installed distribution's metadata (importlib.metadata)",
                    )
                )
            elif "_version" in text:
                removal.notes.append(
                    Note(
                        init.as_posix(),
                        0,
                        "it imports versioneer's _version.py in a way not recognised",
                        "edit it by hand: take __version__ from importlib.metadata.version()",
                    )
                )
    for name in (".gitattributes", "MANIFEST.in"):
        path = root / name
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        kept = [
            line
            for line in text.splitlines(keepends=True)
            if not _names_versioneer(line, removal.removed)
        ]
        if "".join(kept) != text:
            if name == ".gitattributes" and not "".join(kept).strip():
                removal.removed.append(name)
            else:
                removal.rewritten[name] = "".join(kept)
    if removal.removed:
        removal.notes.append(
            Note(
                VERSIONEER_PY,
                0,
                f"versioneer ({', '.join(removal.removed)})",
                "removed: setuptools-scm makes the same versions from the same git tags",
            )
        )
    return removal


def _version_files(root: Path) -> list[Path]:
    """Versioneer's `_version.py` files (found by what they say), when setup.cfg names none."""
    found = []
    for path in [*root.glob("*/_version.py"), *root.glob("src/*/_version.py")]:
        try:
            if "versioneer" in path.read_text(encoding="utf-8").lower():
                found.append(path)
        except (OSError, UnicodeDecodeError):
            continue
    return found


def _names_versioneer(line: str, removed: list[str]) -> bool:
    """Whether a line of MANIFEST.in or .gitattributes names one of versioneer's files."""
    return any(word in removed or word == VERSIONEER_PY for word in line.split())


def _without_versioneer(text: str, distribution: str) -> str:
    """A package's `__init__.py` with versioneer's lines replaced by a metadata lookup."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    replaced = False
    for line in lines:
        if _IMPORT.match(line):
            continue
        match = _ASSIGN.match(line)
        if match and not replaced:
            indent = match.group(1)
            out += [
                f"{indent}from importlib.metadata import PackageNotFoundError\n",
                f"{indent}from importlib.metadata import version as _distribution_version\n",
                "\n",
                f"{indent}try:\n",
                f"{indent}    __version__ = _distribution_version({python_string(distribution)})\n",
                f"{indent}except PackageNotFoundError:  # not installed: run from a source tree\n",
                f'{indent}    __version__ = "0+unknown"\n',
            ]
            replaced = True
            continue
        out.append(line)
    return "".join(out) if replaced else text
