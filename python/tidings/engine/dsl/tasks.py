"""Checking one task of a definition: action and inputs, transitions, join, retry, rollback.

:class:`TaskChecker` adds the language of a task to :class:`~.clauses.ClauseChecker`
(transition clauses) and :class:`~.fields.FieldChecker`; the parser (:mod:`.parse`)
adds the document around the tasks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from tidings.engine.dsl import reverse
from tidings.engine.dsl.clauses import ClauseChecker
from tidings.engine.dsl.fields import field_path, suggestion, type_name
from tidings.engine.dsl.inline import split_inline
from tidings.engine.dsl.items import check_concurrency, check_with_items
from tidings.engine.dsl.limits import DefinitionLimits
from tidings.engine.dsl.model import (
    ActionCall,
    ActionSpec,
    AdhocAction,
    Flag,
    Number,
    Publish,
    Retry,
    Task,
    Transition,
)
from tidings.engine.expressions import CompiledValue, Expression, has_expression
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
    "with-items",
    "concurrency",
    "pause-before",
    "keep-result",
    "safe-rerun",
    "target",
    "tags",
    "requires",
)
_RETRY_KEYS = ("count", "delay", "break-on", "continue-on")
_ROLLBACK_KEYS = ("action", "input")
_TRANSITION_KEYS = ("on-success", "on-error", "on-complete")
# Mistral keys we know but do not implement: say so, rather than "unknown key".
_MISTRAL_ONLY = frozenset(
    {
        "vars",
        "output-on-error",
        "fail-on",
        "on-skip",
        "publish-on-skip",
        "next",
    }
)
_WORKFLOW_REF = re.compile(r"^[A-Za-z0-9_.\-]+$")
# The action of a task that names none, as in Mistral.
_NOOP = "std.noop"


class TaskChecker(ClauseChecker):
    """Checks tasks against the actions they may name, collecting violations."""

    def __init__(self, actions: Mapping[str, ActionSpec], limits: DefinitionLimits) -> None:
        super().__init__()
        self.actions = actions
        self.limits = limits
        #: The ad-hoc actions of the workbook being parsed, by name.
        self.adhoc: Mapping[str, AdhocAction] = {}

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
        workflow = self.sub_workflow(body, path, inline)
        spec = self.actions.get(action) if action is not None else None
        inputs = self.task_input(body.get("input"), inline, path)
        if spec is not None and action is not None and isinstance(inputs, Mapping):
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
        with_items = check_with_items(self, body, path)
        if with_items and is_async:
            self.add(
                field_path(path, "async"),
                "a with-items task cannot be asynchronous in tidings (its items could not be"
                " completed one by one)",
            )
        if with_items and (workflow is not None or (action is not None and action in self.adhoc)):
            # Each item would start a child execution or evaluate an ad-hoc action's
            # base-input: not built yet, so refused here rather than failing at run time.
            what = "a sub-workflow" if workflow is not None else "an ad-hoc action"
            self.add(
                field_path(path, "with-items"),
                f"with-items over {what} is not supported by tidings yet",
            )
        return Task(
            name=name,
            action=action,
            workflow=workflow,
            input=inputs if isinstance(inputs, Mapping) else {},
            input_expression=inputs if isinstance(inputs, Expression) else None,
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
            with_items=with_items,
            concurrency=check_concurrency(self, body, path),
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
            adhoc=self.adhoc.get(action) if action is not None else None,
            pause_before=self.flag(body, path, "pause-before", False),
            keep_result=self.flag(body, path, "keep-result", True),
            safe_rerun=self.flag(body, path, "safe-rerun", False),
            target=self.string(body["target"], field_path(path, "target"), "target")
            if "target" in body
            else None,
            tags=self.tags(body, path),
            requires=reverse.requires(self, body, path, name, names),
        )

    def flag(self, body: Mapping[Any, Any], path: str, key: str, default: bool) -> Flag:
        """A switch (``pause-before``, ``keep-result``): true, false or one expression.

        ``default`` if the task does not give it.
        """
        if key not in body:
            return default
        value = body[key]
        if isinstance(value, bool):
            return value
        found = self.expression(value, field_path(path, key), key, "true, false or an expression")
        return default if found is None else found

    def tags(self, body: Mapping[Any, Any], path: str) -> tuple[str, ...]:
        """``tags``: a list of distinct strings (Mistral's; kept, with no effect)."""
        if "tags" not in body:
            return ()
        where = field_path(path, "tags")
        value = body["tags"]
        if not isinstance(value, list):
            self.add(where, f"tags must be a list of strings, got {type_name(value)}")
            return ()
        tags = [self.string(tag, f"{where}[{i}]", "a tag") for i, tag in enumerate(value)]
        found = tuple(tag for tag in tags if tag is not None)
        if len(set(found)) != len(found):
            self.add(where, "tags must be distinct")
        return found

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

    def task_action(self, body: Mapping[Any, Any], path: str) -> tuple[str | None, dict[str, Any]]:
        """The task's action and its inline parameters; ``std.noop`` when it names none.

        A task with a ``workflow:`` has no action: its inline parameters are returned, its
        name is :meth:`sub_workflow`'s.
        """
        has_action, has_workflow = "action" in body, "workflow" in body
        if has_action and has_workflow:
            self.add(path, "a task has either an action or a workflow, not both")
            return None, {}
        if has_workflow:
            where = field_path(path, "workflow")
            text = self.string(body["workflow"], where, "workflow")
            if text is None:
                return None, {}
            call = split_inline(text)
            for problem in call.problems:
                self.add(where, f"inline parameters: {problem}")
            return None, call.params
        if not has_action:
            return _NOOP, {}
        return self.action_name(body["action"], field_path(path, "action"))

    def sub_workflow(
        self, body: Mapping[Any, Any], path: str, inline: Mapping[str, Any]
    ) -> CompiledValue | None:
        """The name of the task's sub-workflow (compiled: it may be an expression), if any.

        The workflow is looked up when the task runs, as Mistral does: it may be defined
        later, or by another definition.
        """
        if "action" in body or not isinstance(body.get("workflow"), str):
            return None
        where = field_path(path, "workflow")
        call = split_inline(body["workflow"])
        if call.dynamic:
            return self.value(call.name, where)
        if not _WORKFLOW_REF.match(call.name):
            self.add(where, f"{call.name!r} is not a workflow name")
            return None
        return call.name

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

    def task_input(
        self, value: Any, inline: Mapping[str, Any], path: str
    ) -> Mapping[str, CompiledValue] | Expression:
        """A task's ``input``: a mapping (inline parameters merged over it), or one expression.

        Mistral allows the expression: it evaluates to the mapping when the task runs.
        """
        if not isinstance(value, str):
            return self.merged_input(value, inline, path)
        where = field_path(path, "input")
        found = self.expression(value, where, "input", "a mapping or one expression")
        if found is not None and inline:
            self.add(where, "input given as an expression takes no inline parameters as well")
        return found if found is not None else {}

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
