"""Where in a definition's text a violation's field path points: its line.

The server names a bad field by its path within the workflow (``definition.tasks.a.
on-success[0]``; keys that are not plain words as ``["a b"]``): the definition is
composed here into YAML nodes, which keep their marks, and the path is walked down them.
A path that leaves the text (a missing key) stops at the deepest node it reached.
"""

from __future__ import annotations

import json
import re

import yaml

#: One segment of a path: ``.word``, ``["quoted"]`` or ``[index]``.
_SEGMENT = re.compile(r'\.?([A-Za-z0-9_\-]+)|\[("(?:[^"\\]|\\.)*")\]|\[(\d+)\]')
#: The workflow document's keys that are not the workflow (its name is the other key).
_TOP_KEYS = {"version"}


def segments(path: str) -> list[str | int]:
    """A field path split into keys (str) and list indexes (int)."""
    out: list[str | int] = []
    position = 0
    while position < len(path):
        match = _SEGMENT.match(path, position)
        if match is None:
            break  # a path of another form: as far as it could be read
        word, quoted, index = match.groups()
        if index is not None:
            out.append(int(index))
        elif quoted is not None:
            out.append(str(json.loads(quoted)))
        else:
            out.append(word)
        position = match.end()
    return out


def _child(node: yaml.Node, key: str | int) -> tuple[yaml.Node, int] | None:
    """The node under `key`, and the line that names it.

    That is a key's own line: a block mapping's or list's value starts on the next one.
    """
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == str(key):
                return v, k.start_mark.line + 1
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        item = node.value[key]
        return item, item.start_mark.line + 1
    return None


def _workflow(root: yaml.Node) -> yaml.Node:
    """The node of the workflow's body: the value of the one key that is not a top key."""
    if isinstance(root, yaml.MappingNode):
        bodies = [v for k, v in root.value if getattr(k, "value", None) not in _TOP_KEYS]
        if len(bodies) == 1:
            return bodies[0]  # type: ignore[no-any-return]
    return root


def line_of(definition: str, field: str) -> int | None:
    """The 1-based line `field` (a violation's path) points at; None if it cannot tell."""
    try:
        root = yaml.compose(definition, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None  # the server's own message then says where the text breaks
    if root is None:
        return None
    parts = segments(field)
    if parts[:1] == ["definition"]:
        parts = parts[1:]
    if not parts:
        return root.start_mark.line + 1
    node = _workflow(root)
    if _child(node, parts[0]) is None and _child(root, parts[0]) is not None:
        node = root  # a key of the document (``version``), not of the workflow
    line = node.start_mark.line + 1
    for part in parts:
        child = _child(node, part)
        if child is None:
            break
        node, line = child
    return line
