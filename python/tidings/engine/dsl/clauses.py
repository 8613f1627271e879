"""Checking a task's transition clauses: ``on-success``, ``on-error``, ``on-complete``.

A clause is, as in Mistral: a target; a list of targets and ``{target: condition}``;
one ``{target: condition}``; or the mapping ``{publish: {branch, global, atomic},
next: …}`` whose ``next`` is any of those. A target is a task, or one of Mistral's
engine commands (``fail``, ``succeed``, ``pause``, ``noop``) with its inline ``msg``:
``fail msg="no quota"``, ``fail(msg=<% $.why %>)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidings.engine.dsl.fields import FieldChecker, field_path, suggestion, type_name
from tidings.engine.dsl.inline import split_inline
from tidings.engine.dsl.model import ENGINE_COMMANDS, Publish, Transition
from tidings.engine.expressions import Expression

__all__ = ["ClauseChecker"]

_CLAUSE_KEYS = ("publish", "next")
_SCOPES = ("branch", "global", "atomic")


class ClauseChecker(FieldChecker):
    """Checks transition clauses, collecting violations."""

    def clause(
        self, value: Any, path: str, names: set[str]
    ) -> tuple[tuple[Transition, ...], Publish | None]:
        """A clause's transitions, and the ``publish`` of its mapping form (if any)."""
        if isinstance(value, Mapping) and value and set(value) <= set(_CLAUSE_KEYS):
            publish = None
            if "publish" in value:
                publish = self.scoped_publish(value["publish"], field_path(path, "publish"))
            transitions: tuple[Transition, ...] = ()
            if value.get("next") is not None:
                transitions = self.transitions(value["next"], field_path(path, "next"), names)
            return transitions, publish
        if isinstance(value, Mapping) and len(value) != 1:
            self.add(
                path,
                "a clause mapping is {publish: …, next: …} or one {task: condition},"
                f" got keys {', '.join(map(str, value))}",
            )
            return (), None
        return self.transitions(value, path, names), None

    def scoped_publish(self, value: Any, path: str) -> Publish | None:
        """``publish`` of a clause mapping: ``branch``, ``global`` and ``atomic``."""
        body = self.mapping(value, path, "publish (with branch, global or atomic)")
        if body is None:
            return None
        for key in body:
            if key not in _SCOPES:
                self.add(
                    field_path(path, key),
                    f"unknown publish scope {key!r}{suggestion(key, _SCOPES)};"
                    " allowed: branch, global, atomic",
                )
        if not body:
            self.add(path, "publish needs branch, global or atomic")
        scopes = {
            key: self.data_mapping(body.get(key), field_path(path, key), f"publish {key}")
            for key in _SCOPES
        }
        return Publish(scopes["branch"], scopes["global"], scopes["atomic"])

    def transitions(self, value: Any, path: str, names: set[str]) -> tuple[Transition, ...]:
        """Targets: a name, a list of names and ``{name: condition}``, or one of the latter."""
        if isinstance(value, str):
            target = self.target(value, path, names, None)
            return (target,) if target is not None else ()
        if isinstance(value, Mapping):
            value = [value]
            item_path: str | None = path
        elif isinstance(value, list):
            item_path = None
        else:
            self.add(
                path,
                f"must be a task name or a list of task names / {{task: condition}},"
                f" got {type_name(value)}",
            )
            return ()
        result: list[Transition] = []
        for index, item in enumerate(value):
            where = item_path if item_path is not None else f"{path}[{index}]"
            if isinstance(item, Mapping):
                if len(item) != 1:
                    self.add(
                        where,
                        "a conditional transition is one {task: condition} pair,"
                        f" got {len(item)} keys",
                    )
                    continue
                ((key, condition),) = item.items()
                expression = None
                if condition is not None:
                    expression = self.expression(
                        condition, field_path(where, str(key)), "a condition"
                    )
                    if expression is None:
                        continue
                target = self.target(key, where, names, expression)
            elif isinstance(item, str):
                target = self.target(item, where, names, None)
            else:
                self.add(
                    where, f"must be a task name or {{task: condition}}, got {type_name(item)}"
                )
                continue
            if target is not None:
                result.append(target)
        return tuple(result)

    def target(
        self, value: Any, path: str, names: set[str], condition: Expression | None
    ) -> Transition | None:
        """A transition to a task, or an engine command with its ``msg``."""
        text = self.string(value, path, "a transition target")
        if text is None:
            return None
        call = split_inline(text)
        for problem in call.problems:
            self.add(path, problem)
        name = call.name
        if name in ENGINE_COMMANDS:
            allowed = () if name == "noop" else ("msg",)
            for key in call.params:
                if key not in allowed:
                    self.add(
                        path,
                        f"engine command {name!r} takes "
                        + ("no parameters" if not allowed else "only msg")
                        + f", got {key!r}",
                    )
            params = self.value(call.params, path)
            if call.problems or not isinstance(params, Mapping):
                return None
            return Transition(name, condition, command=name, params=dict(params))
        if name in names:
            if call.params:
                self.add(
                    path,
                    f"inline parameters are for engine commands (fail, succeed, pause);"
                    f" task {name!r} takes none here",
                )
                return None
            return None if call.problems else Transition(name, condition)
        if call.dynamic:
            self.add(
                path,
                f"a transition target given by an expression ({name!r})"
                " is not supported by tidings yet",
            )
        else:
            self.add(path, f"no task {name!r}{suggestion(name, names)}")
        return None
