"""The limits of one definition: its size, tasks, nesting, values and list lengths.

They bound the work of checking a definition, whoever sends it, and are checked before
the language is: the size of the text before it is loaded (:func:`size_violation`), the
shape of the loaded document (depth, values, list lengths) before any field is checked
(:class:`ShapeChecker`), the number of tasks before any task is. Exceeding one is a
violation naming the limit and the setting that raises it (``max_definition_bytes``, …).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from tidings.engine.dsl.fields import field_path
from tidings.errors import FieldViolation

__all__ = ["DEPTH_CAP", "STORED", "DefinitionLimits", "ShapeChecker", "size_violation"]

#: The deepest nesting any limits may allow: checking and evaluating values recurse once a
#: level, and orjson cannot write values nested 255 levels deep.
DEPTH_CAP = 200


@dataclass(frozen=True)
class DefinitionLimits:
    """How large a definition may be; each field has a setting ``max_definition_<field>``."""

    #: Bytes of the text (UTF-8).
    bytes: int = 1_048_576
    #: Tasks of the workflow.
    tasks: int = 1_000
    #: Nesting of mappings and lists, from the document down.
    depth: int = 100
    #: Values (mappings, lists and scalars) in the document, counting each use of a YAML
    #: alias: aliases let a tiny text describe an enormous tree ("billion laughs").
    values: int = 200_000
    #: Items of any one list.
    list_items: int = 10_000

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) < 1:
                raise ValueError(f"{setting(f.name)}: must be at least 1")
        if self.depth > DEPTH_CAP:
            raise ValueError(f"{setting('depth')}: must be at most {DEPTH_CAP}")

    def exceeded(self, name: str, what: str) -> str:
        """A violation's description: ``<what>; the limit is N (max_definition_<name>)``."""
        return f"{what}; the limit is {getattr(self, name):,} ({setting(name)})"


def setting(name: str) -> str:
    """The setting of the limit ``name``: ``max_definition_<name>``."""
    return f"max_definition_{name}"


#: For definitions stored already, which met the limits of their day when they came in:
#: a lowered limit must not stop a workflow from starting or an execution from resuming.
STORED = DefinitionLimits(
    bytes=sys.maxsize,
    tasks=sys.maxsize,
    depth=DEPTH_CAP,
    values=sys.maxsize,
    list_items=sys.maxsize,
)


def size_violation(text: str, limits: DefinitionLimits) -> FieldViolation | None:
    """The violation of the size limit by ``text`` (field ``""``: the definition), if any.

    Cheap: it reads no YAML, and encodes only texts that may be too long.
    """
    if len(text) <= limits.bytes // 4:  # UTF-8 takes at most 4 bytes a character
        return None
    size = len(text.encode("utf-8", "surrogatepass"))
    if size <= limits.bytes:
        return None
    return FieldViolation("", limits.exceeded("bytes", f"is {size:,} bytes"))


_SEQUENCES = (list, tuple, set, frozenset)
_CONTAINERS = (Mapping, *_SEQUENCES)


class ShapeChecker:
    """Walks a loaded document once, stopping at the first limit it exceeds.

    Shared across the calls of :meth:`walk` (one per top-level value), so the count of
    values is the whole document's. It does not follow a YAML alias into a value that
    contains it (the field checks report that), and recurses at most ``depth`` levels.
    """

    def __init__(self, limits: DefinitionLimits) -> None:
        self.limits = limits
        self.values = 0
        self.violation: FieldViolation | None = None
        self._open: set[int] = set()

    def walk(self, node: Any, path: str, depth: int) -> bool:
        """Count ``node`` (at ``path``, ``depth`` levels down) and what it holds.

        False once a limit is exceeded: :attr:`violation` says which.
        """
        self.values += 1
        if self.values > self.limits.values:
            what = f"the definition holds more than {self.limits.values:,} values"
            self.violation = FieldViolation("", self.limits.exceeded("values", what))
            return False
        if not isinstance(node, _CONTAINERS):
            return True
        if id(node) in self._open:
            return True
        if depth > self.limits.depth:
            what = f"nested {depth:,} levels deep"
            self.violation = FieldViolation(path, self.limits.exceeded("depth", what))
            return False
        if isinstance(node, _SEQUENCES) and len(node) > self.limits.list_items:
            what = f"has {len(node):,} items"
            self.violation = FieldViolation(path, self.limits.exceeded("list_items", what))
            return False
        self._open.add(id(node))
        try:
            if isinstance(node, Mapping):
                for key, item in node.items():
                    if not self.walk(item, _child(path, key, item), depth + 1):
                        return False
            else:
                for index, item in enumerate(node):
                    child = f"{path}[{index}]" if isinstance(item, _CONTAINERS) else path
                    if not self.walk(item, child, depth + 1):
                        return False
        finally:
            self._open.discard(id(node))
        return True


def _child(path: str, key: object, item: object) -> str:
    # A path is needed only where a violation can be reported: at a mapping or a list.
    if isinstance(item, _CONTAINERS):
        return field_path(path, key)
    return path
