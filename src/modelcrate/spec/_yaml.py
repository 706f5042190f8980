"""Safe YAML for variables files and `--set` values: strict about what it accepts, bounded in
what it builds.

On top of PyYAML's safe loader: a key written twice is an error (keys a merge key `<<: *base`
brings in may be overridden, as YAML 1.1 says), keys must be scalars, integers have at most 4300 digits, and the
document may nest at most `MAX_DEPTH` levels and expand (aliases included) to at most
`MAX_NODES` values.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterator
from itertools import chain
from typing import Any

import yaml

MAX_DEPTH = 64
"""Deepest nesting of lists and mappings a document may have."""
MAX_NODES = 1_000_000
"""Most values a document may hold once its aliases are expanded."""
_MAX_DIGITS = 4300  # Python's default limit of integer-string conversion

_MERGE_TAG = "tag:yaml.org,2002:merge"


class YAMLInputError(ValueError):
    """Raised when YAML text is invalid or too large; `where` is a line and column, or ""."""

    def __init__(self, problem: str, where: str = "") -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.problem = problem
        self.where = where


class _Loader(yaml.SafeLoader):
    """A safe YAML loader that refuses duplicate and unhashable keys and oversized integers."""


def _construct_mapping(
    loader: _Loader, node: yaml.MappingNode, deep: bool = False
) -> dict[Hashable, Any]:
    own: dict[Hashable, Any] = {}
    merged: dict[Hashable, Any] = {}
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE_TAG:  # `<<: *base` or `<<: [*a, *b]`: the first source wins
            for key, value in _merge_sources(loader, value_node).items():
                merged.setdefault(key, value)
            continue
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, (list, dict, set)) or not isinstance(key, Hashable):
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a name (text or a number), not a list or mapping",
                key_node.start_mark,
            )  # fmt: skip
        if key in own:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}; remove or rename one of them",
                key_node.start_mark,
            )  # fmt: skip
        own[key] = loader.construct_object(value_node, deep=deep)
    return {**merged, **own}  # the mapping's own keys override merged ones (YAML 1.1)


def _merge_sources(loader: _Loader, node: yaml.Node) -> dict[Hashable, Any]:
    """The keys a merge key brings in, the first of several sources winning."""
    sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
    merged: dict[Hashable, Any] = {}
    for source in sources:
        if not isinstance(source, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, "a merge key (<<) takes a mapping or a list of mappings",
                source.start_mark,
            )  # fmt: skip
        for key, value in loader.construct_object(source, deep=True).items():
            merged.setdefault(key, value)
    return merged


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    digits = sum(ch.isdigit() for ch in str(node.value))
    if digits > _MAX_DIGITS:
        raise yaml.constructor.ConstructorError(
            None, None, f"an integer of {digits} digits is too long; write it as a float (1e300)",
            node.start_mark,
        )  # fmt: skip
    return yaml.SafeLoader.construct_yaml_int(loader, node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load_yaml(text: str) -> Any:
    """Parse YAML `text` safely; raise `YAMLInputError` saying where and what is wrong."""
    try:
        document = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise YAMLInputError(f"invalid YAML: {exc.problem or exc.context}", where) from None
    except yaml.YAMLError as exc:
        raise YAMLInputError(f"invalid YAML: {exc}") from None
    except RecursionError:
        raise YAMLInputError(f"is nested more than {MAX_DEPTH} levels deep; flatten it") from None
    check_structure(document)
    return document


_LEAVES = frozenset({int, float, str, bool, type(None)})


def check_structure(document: object, *, what: str = "") -> int:
    """Refuse a parsed document that nests deeper than `MAX_DEPTH` or holds more than
    `MAX_NODES` values (aliases expanded); walks without recursion. Returns the number of keys
    of the mappings in it."""
    prefix = f"{what} " if what else ""
    containers = (list, tuple, dict)
    count, keys = 1, 0
    stack: list[tuple[object, int]] = [(document, 0)] if isinstance(document, containers) else []
    while stack:  # containers only: the values in them are counted, not visited
        value, depth = stack.pop()
        if depth >= MAX_DEPTH:
            raise YAMLInputError(f"{prefix}is nested more than {MAX_DEPTH} levels deep; flatten it")
        children: Collection[object] = value.values() if isinstance(value, dict) else value  # type: ignore[assignment]
        count += len(children)
        if isinstance(value, dict):
            keys += len(children)
        if count > MAX_NODES:
            raise YAMLInputError(
                f"{prefix}holds more than {MAX_NODES:,} values (aliases expanded); make it smaller"
            )
        if _LEAVES.issuperset(map(type, children)):  # in C, for a list of numbers
            continue
        if depth + 1 < MAX_DEPTH and all(map(dict.__instancecheck__, children)):
            inner = sum(map(len, children))  # type: ignore[arg-type]
            if count + inner > MAX_NODES:  # before looking inside: aliases may repeat much
                raise YAMLInputError(
                    f"{prefix}holds more than {MAX_NODES:,} values (aliases expanded); make it "
                    "smaller"
                )
            values: Iterator[object] = chain.from_iterable(map(dict.values, children))  # type: ignore[arg-type]
            if _LEAVES.issuperset(map(type, values)):  # flat mappings (input sets): in C
                count, keys = count + inner, keys + inner
                continue
        stack.extend((child, depth + 1) for child in children if isinstance(child, containers))
    return keys
