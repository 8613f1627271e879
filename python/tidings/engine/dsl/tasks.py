"""Checking one task of a definition: action and inputs, transitions, join, retry, rollback.

:class:`TaskChecker` adds the language of a task to :class:`~.clauses.ClauseChecker`
(transition clauses) and :class:`~.fields.FieldChecker`; the parser (:mod:`.parse`)
adds the document around the tasks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from tidings.engine.dsl import reverse
from tidings.engine.dsl.clauses import ClauseChecker
from tidings.engine.dsl.fields import field_path, suggestion, type_name
from tidings.engine.dsl.inline import split_inline
from tidings.engine.dsl.limits import DefinitionLimits
from tidings.engine.dsl.model import (
    ActionCall,
    ActionSpec,
    Number,
    Publish,
    Retry,
    Task,
    TaskDefaults,
    Transition,
)
from tidings.engine.expressions import CompiledValue, has_expression
from tidings.listeners.spec import check_url

__all__ = ["TaskChecker"]

_TASK_KEYS = (
    "action",
    "workflow",
    "input",
    "publish",
    "publish-on-error",
    "on-success",
    "on-error",
    "on-complete",
    "join",
    "retry",
    "timeout",
    "wait-before",
    "wait-after",
    "atom",
    "atom-name",
    "atom-type",
    "async",
    "rollback",
    "description",
    "callback-url",
    "requires",
)
#: What ``task-defaults`` may hold so far (Mistral's other task defaults are refused).
_TASK_DEFAULT_KEYS = ("callback-url",)
_RETRY_KEYS = ("count", "delay", "break-on", "continue-on")
_ROLLBACK_KEYS = ("action", "input")
_TRANSITION_KEYS = ("on-success", "on-error", "on-complete")
# Mistral keys we know but do not implement: say so, rather than "unknown key".
_MISTRAL_ONLY = frozenset(
    {
        "vars",
        "output-on-error",
        "tags",
        "with-items",
        "concurrency",
        "keep-result",
        "safe-rerun",
        "target",
        "pause-before",
        "fail-on",
        "on-skip",
        "publish-on-skip",
        "next",
    }
)
# The action of a task that names none, as in Mistral.
_NOOP = "std.noop"


class TaskChecker(ClauseChecker):
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
                self.add(where, f"{key!r} is Mistral language that tidings does not support yet")
            else:
                self.add(
                    where,
                    f"unknown key {key!r}{suggestion(key, allowed)}; allowed: {', '.join(allowed)}",
                )

    def task(self, name: str, value: Any, path: str, names: set[str]) -> Task | None:
        """The task ``name`` from its body; ``names`` are the workflow's task names."""
        # As in Mistral, a task with no action runs std.noop (an empty task, too).
        body = self.mapping({} if value is None else value, path, "a task")
        if body is None:
            return None
        self.keys(body, path, _TASK_KEYS)
        action, inline = self.task_action(body, path)
        spec = self.actions.get(action) if action is not None else None
        inputs = self.merged_input(body.get("input"), inline, path)
        if spec is not None and action is not None:
            given = body.get("input")
            given = {**(given if isinstance(given, Mapping) else {}), **inline}
            self.action_inputs(action, spec, given, field_path(path, "input"))
        publish = self.data_mapping(body.get("publish"), field_path(path, "publish"), "publish")
        publish_on_error = self.data_mapping(
            body.get("publish-on-error"), field_path(path, "publish-on-error"), "publish-on-error"
        )
        transitions: dict[str, tuple[Transition, ...]] = {}
        clause_publish: dict[str, Publish] = {}
        for key in _TRANSITION_KEYS:
            if key in body:
                transitions[key], scoped = self.clause(body[key], field_path(path, key), names)
                if scoped is not None:
                    clause_publish[key] = scoped
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
            atom_name=self.string(body["atom-name"], field_path(path, "atom-name"), "atom-name")
            if "atom-name" in body
            else None,
            atom_type=self.string(body["atom-type"], field_path(path, "atom-type"), "atom-type")
            if "atom-type" in body
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
            callback_url=self.callback_url(body, path),
            publish_on_error=publish_on_error,
            clause_publish=clause_publish,
            requires=reverse.requires(self, body, path, name, names),
        )

    def callback_url(self, body: Mapping[Any, Any], path: str) -> str | None:
        """``callback-url``: seed 002's job ``callback_url``, a webhook URL (no expression)."""
        if "callback-url" not in body:
            return None
        where = field_path(path, "callback-url")
        url = self.string(body["callback-url"], where, "callback-url")
        if url is None:
            return None
        if has_expression(url):
            # Its listener is made with the workflow, before any execution has values.
            self.add(where, f"callback-url must be a URL, not an expression ({url!r})")
            return None
        return url if check_url(url, where, self.violations) else None

    def task_defaults(self, value: Any, path: str) -> TaskDefaults:
        """``task-defaults``: so far only ``callback-url``, every task's unless it names one."""
        body = self.mapping(value, path, "task-defaults") if value is not None else {}
        if body is None:
            return TaskDefaults()
        for key in body:
            if key in _TASK_DEFAULT_KEYS:
                continue
            if isinstance(key, str) and (key in _TASK_KEYS or key in _MISTRAL_ONLY):
                self.add(
                    field_path(path, key),
                    f"{key!r} in task-defaults is Mistral language that tidings does not"
                    " support; set it on each task",
                )
            else:
                self.keys({key: None}, path, _TASK_DEFAULT_KEYS)
        return TaskDefaults(callback_url=self.callback_url(body, path))

    def task_action(self, body: Mapping[Any, Any], path: str) -> tuple[str | None, dict[str, Any]]:
        """The task's action and its inline parameters; ``std.noop`` when it names none.

        A ``workflow:`` is parsed (with its inline parameters) and refused: sub-workflows
        are not supported yet.
        """
        has_action, has_workflow = "action" in body, "workflow" in body
        if has_action and has_workflow:
            self.add(path, "a task has either an action or a workflow, not both")
            return None, {}
        if has_workflow:
            where = field_path(path, "workflow")
            text = self.string(body["workflow"], where, "workflow")
            if text is not None:
                call = split_inline(text)
                for problem in call.problems:
                    self.add(where, problem)
                self.add(
                    where,
                    f"sub-workflows (workflow: {call.name}) are not supported by tidings yet;"
                    " use an action",
                )
            return None, {}
        if not has_action:
            return _NOOP, {}
        return self.action_name(body["action"], field_path(path, "action"))

    def action_name(self, value: Any, path: str) -> tuple[str | None, dict[str, Any]]:
        """A known action's name and the inline parameters after it (``std.echo output=1``)."""
        text = self.string(value, path, "action")
        if text is None:
            return None, {}
        call = split_inline(text)
        if call.dynamic:
            self.add(
                path,
                f"an action named by an expression ({text!r}) is not supported by tidings yet;"
                " name the action",
            )
            return None, {}
        for problem in call.problems:
            self.add(path, f"inline parameters: {problem}")
        name = call.name
        if name not in self.actions:
            self.add(
                path,
                f"unknown action {name!r}{suggestion(name, self.actions)};"
                f" known actions: {', '.join(sorted(self.actions))}",
            )
            return None, {}
        refusal = self.actions[name].refusal
        if refusal is not None:
            self.add(path, refusal)
            return None, {}
        return (None, {}) if call.problems else (name, call.params)

    def merged_input(
        self, value: Any, inline: Mapping[str, Any], path: str
    ) -> dict[str, CompiledValue]:
        """``input`` with the action's inline parameters over it, as Mistral merges them."""
        inputs = self.data_mapping(value, field_path(path, "input"), "input")
        if not inline:
            return inputs
        compiled = self.value(dict(inline), field_path(path, "action"))
        return {**inputs, **(compiled if isinstance(compiled, Mapping) else {})}

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
            action, inline = self.action_name(value, path)
            if action is None:
                return None
            self.action_inputs(action, self.actions[action], inline, field_path(path, "input"))
            return ActionCall(action, self.merged_input(None, inline, path))
        body = self.mapping(value, path, "rollback (an action name or {action, input})")
        if body is None:
            return None
        self.keys(body, path, _ROLLBACK_KEYS)
        if "action" not in body:
            self.add(field_path(path, "action"), "required: the rollback action")
            return None
        action, inline = self.action_name(body["action"], field_path(path, "action"))
        inputs = self.merged_input(body.get("input"), inline, path)
        if action is None:
            return None
        given = body.get("input")
        given = {**(given if isinstance(given, Mapping) else {}), **inline}
        self.action_inputs(action, self.actions[action], given, field_path(path, "input"))
        return ActionCall(action, inputs)

    # -- the graph
