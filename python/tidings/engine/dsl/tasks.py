"""Checking one task of a definition: action and inputs, transitions, join, retry, rollback.

:class:`TaskChecker` adds the language of a task to :class:`~.fields.FieldChecker`;
the parser (:mod:`.parse`) adds the document around the tasks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from tidings.engine.dsl.fields import FieldChecker, field_path, suggestion, type_name
from tidings.engine.dsl.limits import DefinitionLimits
from tidings.engine.dsl.model import (
    ActionCall,
    ActionSpec,
    Number,
    Retry,
    Task,
    Transition,
)
from tidings.engine.expressions import has_expression

__all__ = ["TaskChecker"]

_TASK_KEYS = (
    "action",
    "workflow",
    "input",
    "publish",
    "on-success",
    "on-error",
    "on-complete",
    "join",
    "retry",
    "timeout",
    "wait-before",
    "wait-after",
    "atom",
    "async",
    "rollback",
    "description",
)
_RETRY_KEYS = ("count", "delay", "break-on", "continue-on")
_ROLLBACK_KEYS = ("action", "input")
_TRANSITION_KEYS = ("on-success", "on-error", "on-complete")
# Mistral keys we know but do not implement: say so, rather than "unknown key".
_MISTRAL_ONLY = frozenset(
    {
        "vars",
        "task-defaults",
        "output-on-error",
        "tags",
        "with-items",
        "concurrency",
        "keep-result",
        "safe-rerun",
        "target",
        "pause-before",
        "publish-on-error",
        "fail-on",
        "on-skip",
        "next",
    }
)
# Mistral's engine commands, usable as transition targets there but not here.
_ENGINE_COMMANDS = frozenset({"fail", "succeed", "pause", "noop"})


class TaskChecker(FieldChecker):
    """Checks tasks against the actions they may name, collecting violations."""

    def __init__(self, actions: Mapping[str, ActionSpec], limits: DefinitionLimits) -> None:
        super().__init__()
        self.actions = actions
        self.limits = limits

    def keys(self, mapping: Mapping[Any, Any], path: str, allowed: Iterable[str]) -> None:
        """Report keys that are not ``allowed``, with a suggestion when one is close."""
        allowed = tuple(allowed)
        for key in mapping:
            if key in allowed:
                continue
            where = field_path(path, key)
            if not isinstance(key, str):
                self.add(where, f"keys must be strings, got {type_name(key)}")
            elif key in _MISTRAL_ONLY:
                self.add(where, f"{key!r} is Mistral language that tidings does not support")
            else:
                self.add(
                    where,
                    f"unknown key {key!r}{suggestion(key, allowed)}; allowed: {', '.join(allowed)}",
                )

    def task(self, name: str, value: Any, path: str, names: set[str]) -> Task | None:
        """The task ``name`` from its body; ``names`` are the workflow's task names."""
        if value is None:
            self.add(path, "empty task: a task needs an action")
            return None
        body = self.mapping(value, path, "a task")
        if body is None:
            return None
        self.keys(body, path, _TASK_KEYS)
        action = self.task_action(body, path)
        spec = self.actions.get(action) if action is not None else None
        inputs = self.data_mapping(body.get("input"), field_path(path, "input"), "input")
        if spec is not None and action is not None:
            self.action_inputs(action, spec, body.get("input"), field_path(path, "input"))
        publish = self.data_mapping(body.get("publish"), field_path(path, "publish"), "publish")
        transitions = {
            key: self.transitions(body[key], field_path(path, key), names)
            for key in _TRANSITION_KEYS
            if key in body
        }
        is_async = False
        if "async" in body:
            if not isinstance(body["async"], bool):
                self.add(
                    field_path(path, "async"),
                    f"async must be true or false, got {type_name(body['async'])}",
                )
            elif body["async"]:
                is_async = True
                if spec is not None and not spec.supports_async:
                    self.add(
                        field_path(path, "async"), f"action {action!r} cannot run asynchronously"
                    )
        return Task(
            name=name,
            action=action,
            workflow=None,
            input=inputs,
            publish=publish,
            on_success=transitions.get("on-success", ()),
            on_error=transitions.get("on-error", ()),
            on_complete=transitions.get("on-complete", ()),
            join=self.join(body, path),
            retry=self.retry(body.get("retry"), field_path(path, "retry"))
            if "retry" in body
            else None,
            timeout=self.optional_number(body, path, "timeout", positive=True),
            wait_before=self.optional_number(body, path, "wait-before"),
            wait_after=self.optional_number(body, path, "wait-after"),
            atom=self.string(body["atom"], field_path(path, "atom"), "atom")
            if "atom" in body
            else None,
            is_async=is_async,
            rollback=self.rollback(body["rollback"], field_path(path, "rollback"))
            if "rollback" in body
            else None,
            description=self.string(
                body["description"], field_path(path, "description"), "description"
            )
            if "description" in body
            else None,
        )

    def task_action(self, body: Mapping[Any, Any], path: str) -> str | None:
        """The task's action (a task names an action, not a workflow)."""
        has_action, has_workflow = "action" in body, "workflow" in body
        if has_action and has_workflow:
            self.add(path, "a task has either an action or a workflow, not both")
            return None
        if has_workflow:
            self.string(body["workflow"], field_path(path, "workflow"), "workflow")
            self.add(
                field_path(path, "workflow"), "sub-workflows are not supported yet; use an action"
            )
            return None
        if not has_action:
            self.add(field_path(path, "action"), "required: a task needs an action")
            return None
        return self.action_name(body["action"], field_path(path, "action"))

    def action_name(self, value: Any, path: str) -> str | None:
        """A known action's name, plain (no expression, no inline parameters)."""
        name = self.string(value, path, "action")
        if name is None:
            return None
        if has_expression(name):
            self.add(path, f"action must be an action name, not an expression ({name!r})")
            return None
        if len(name.split()) > 1:
            self.add(
                path,
                f"inline action parameters are not supported ({name!r});"
                f" write action: {name.split()[0]} and give the parameters under input",
            )
            return None
        if name not in self.actions:
            self.add(
                path,
                f"unknown action {name!r}{suggestion(name, self.actions)};"
                f" known actions: {', '.join(sorted(self.actions))}",
            )
            return None
        refusal = self.actions[name].refusal
        if refusal is not None:
            self.add(path, refusal)
            return None
        return name

    def action_inputs(self, action: str, spec: ActionSpec, value: Any, path: str) -> None:
        """Report missing and unknown inputs of ``action``."""
        given = value if isinstance(value, Mapping) else {}
        for missing in sorted(spec.required - set(given)):
            self.add(path, f"missing required input {missing!r} of action {action!r}")
        allowed = spec.allowed()
        if allowed is None:
            return
        for key in given:
            if key not in allowed:
                self.add(
                    field_path(path, key),
                    f"unknown input {key!r} of action {action!r}{suggestion(key, allowed)};"
                    f" allowed: {', '.join(sorted(allowed)) or 'none'}",
                )

    def transitions(self, value: Any, path: str, names: set[str]) -> tuple[Transition, ...]:
        """``on-success`` & co: a task name, or a list of names and ``{name: condition}``."""
        if isinstance(value, str):
            target = self.target(value, path, names)
            return (Transition(target),) if target is not None else ()
        if not isinstance(value, list):
            self.add(
                path,
                f"must be a task name or a list of task names / {{task: condition}},"
                f" got {type_name(value)}",
            )
            return ()
        result: list[Transition] = []
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            if isinstance(item, Mapping):
                if len(item) != 1:
                    self.add(
                        item_path,
                        "a conditional transition is one {task: condition} pair,"
                        f" got {len(item)} keys",
                    )
                    continue
                ((key, condition),) = item.items()
                target = self.target(key, item_path, names)
                expression = None
                if condition is not None:
                    expression = self.expression(
                        condition, field_path(item_path, key), "a condition"
                    )
                if target is not None and (condition is None or expression is not None):
                    result.append(Transition(target, expression))
            elif isinstance(item, str):
                target = self.target(item, item_path, names)
                if target is not None:
                    result.append(Transition(target))
            else:
                self.add(
                    item_path, f"must be a task name or {{task: condition}}, got {type_name(item)}"
                )
        return tuple(result)

    def target(self, value: Any, path: str, names: set[str]) -> str | None:
        """A transition's target: one of the workflow's tasks."""
        name = self.string(value, path, "a transition target")
        if name is None:
            return None
        if name in names:
            return name
        if name.split()[0] in _ENGINE_COMMANDS:
            self.add(
                path,
                f"no task {name!r}: Mistral's engine commands (fail, succeed, pause, noop)"
                " are not supported; transition to a task",
            )
        else:
            self.add(path, f"no task {name!r}{suggestion(name, names)}")
        return None

    def join(self, body: Mapping[Any, Any], path: str) -> int | Literal["all"] | None:
        """``join``: ``all`` or how many inbound tasks to wait for."""
        if "join" not in body:
            return None
        value = body["join"]
        if value == "all" and isinstance(value, str):
            return "all"
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        self.add(
            field_path(path, "join"),
            f"join must be 'all' or a positive whole number, got {value!r}",
        )
        return None

    def retry(self, value: Any, path: str) -> Retry | None:
        """``retry``: count, delay, and the break-on / continue-on conditions."""
        body = self.mapping(value, path, "retry")
        if body is None:
            return None
        self.keys(body, path, _RETRY_KEYS)
        if "count" not in body:
            self.add(field_path(path, "count"), "required: how many times to retry")
        count = self.number(body.get("count", 0), field_path(path, "count"), "count", integer=True)
        delay = self.number(body.get("delay", 0), field_path(path, "delay"), "delay")
        conditions = {
            key: self.expression(body[key], field_path(path, key), key)
            if body.get(key) is not None
            else None
            for key in ("break-on", "continue-on")
        }
        if count is None or delay is None:
            return None
        assert not isinstance(count, float)  # integer=True
        return Retry(count, delay, conditions["break-on"], conditions["continue-on"])

    def optional_number(
        self, body: Mapping[Any, Any], path: str, key: str, *, positive: bool = False
    ) -> Number | None:
        """A number setting of the task (``timeout``, ``wait-before``, …) if given."""
        if key not in body:
            return None
        return self.number(body[key], field_path(path, key), key, positive=positive)

    def rollback(self, value: Any, path: str) -> ActionCall | None:
        """``rollback``: an action name, or ``{action, input}``."""
        if isinstance(value, str):
            action = self.action_name(value, path)
            if action is None:
                return None
            self.action_inputs(action, self.actions[action], {}, field_path(path, "input"))
            return ActionCall(action)
        body = self.mapping(value, path, "rollback (an action name or {action, input})")
        if body is None:
            return None
        self.keys(body, path, _ROLLBACK_KEYS)
        if "action" not in body:
            self.add(field_path(path, "action"), "required: the rollback action")
            return None
        action = self.action_name(body["action"], field_path(path, "action"))
        inputs = self.data_mapping(body.get("input"), field_path(path, "input"), "input")
        if action is None:
            return None
        self.action_inputs(
            action, self.actions[action], body.get("input"), field_path(path, "input")
        )
        return ActionCall(action, inputs)

    # -- the graph
