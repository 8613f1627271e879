"""The workflow language: parse a Mistral v2 direct workflow and validate it before it runs.

A definition is YAML or JSON text::

    version: '2.0'
    create_vpn:
      type: direct
      input: [order_id, {region: cn-hz1}]
      tasks:
        reserve:
          action: std.http
          atom: Network.Reserve
          input: {url: 'http://atoms/reserve', method: post, body: {order: <% $.order_id %>}}
          publish: {reservation: <% task().result.content.id %>}
          on-success: [activate]
        activate: ...

:func:`parse_workflow` turns it into frozen dataclasses (:class:`Workflow`, :class:`Task`,
…) holding parsed values only, with every expression compiled. A bad definition raises
:class:`DefinitionError` listing *every* violation found, each naming a dotted field path
(``tasks.reserve.on-success[0]``) relative to the workflow, so an API can answer with a
``google.rpc.BadRequest`` naming each field.
"""

from __future__ import annotations

import collections
import datetime
import difflib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from tidings.engine.expressions import (
    CompiledValue,
    Expression,
    ExpressionSyntaxError,
    compile_string,
    has_expression,
)
from tidings.errors import FieldViolation

__all__ = [
    "ActionCall",
    "ActionSpec",
    "DefinitionError",
    "FieldViolation",
    "InputParam",
    "Number",
    "Retry",
    "Task",
    "Transition",
    "Workflow",
    "parse_workflow",
]

#: A number, or an expression that evaluates to one when the task runs.
Number = int | float | Expression

#: Most values (mappings, lists and scalars) one definition may hold. YAML aliases let a
#: tiny text describe an enormous tree ("billion laughs"); walking it must stay bounded.
MAX_VALUES = 200_000
#: Deepest nesting of values; deeper is surely a mistake, and recursion must stay bounded.
MAX_DEPTH = 100

_WORKFLOW_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
# Path segments that need no quoting; others are written as ["..."].
_PLAIN_SEGMENT = re.compile(r"^[A-Za-z0-9_\-]+$")

_TOP_KEYS = ("version",)
_WORKFLOW_KEYS = ("type", "description", "input", "output", "tasks")
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


# ------------------------------------------------------------------------ results


class DefinitionError(ValueError):
    """A workflow definition is invalid; ``violations`` lists every problem found."""

    def __init__(self, violations: Iterable[FieldViolation]) -> None:
        self.violations: list[FieldViolation] = list(violations)
        lines = [f"  {v.field or '(definition)'}: {v.description}" for v in self.violations]
        count = len(self.violations)
        problems = "problem" if count == 1 else "problems"
        super().__init__(f"invalid workflow definition ({count} {problems}):\n" + "\n".join(lines))


@dataclass(frozen=True)
class ActionSpec:
    """The inputs of an action, as the validator needs them.

    ``optional`` None means the action accepts any input besides the required ones.
    ``supports_async`` says whether a task may run it with ``async: true``.
    """

    required: frozenset[str] = frozenset()
    optional: frozenset[str] | None = frozenset()
    supports_async: bool = False

    def allowed(self) -> frozenset[str] | None:
        """Every input name the action accepts; None: any."""
        return None if self.optional is None else self.required | self.optional


@dataclass(frozen=True)
class InputParam:
    """A workflow input: required, or optional with a literal ``default``."""

    name: str
    required: bool = True
    default: Any = None


@dataclass(frozen=True)
class Transition:
    """An edge to ``target``, taken when ``condition`` (if any) is truthy."""

    target: str
    condition: Expression | None = None


@dataclass(frozen=True)
class Retry:
    """``retry``: up to ``count`` more attempts, ``delay`` seconds apart."""

    count: int | Expression
    delay: Number = 0
    break_on: Expression | None = None
    continue_on: Expression | None = None


@dataclass(frozen=True)
class ActionCall:
    """An action with its input: a task's ``rollback``."""

    action: str
    input: Mapping[str, CompiledValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    """One task of a workflow, validated; expressions are compiled."""

    name: str
    action: str | None = None
    workflow: str | None = None
    input: Mapping[str, CompiledValue] = field(default_factory=dict)
    publish: Mapping[str, CompiledValue] = field(default_factory=dict)
    on_success: tuple[Transition, ...] = ()
    on_error: tuple[Transition, ...] = ()
    on_complete: tuple[Transition, ...] = ()
    join: int | Literal["all"] | None = None
    retry: Retry | None = None
    timeout: Number | None = None
    wait_before: Number | None = None
    wait_after: Number | None = None
    atom: str | None = None
    is_async: bool = False
    rollback: ActionCall | None = None
    description: str | None = None

    def transitions(self) -> tuple[tuple[str, Transition], ...]:
        """Every outgoing transition with its kind (``on-success``, …), in order."""
        return (
            tuple(("on-success", t) for t in self.on_success)
            + tuple(("on-error", t) for t in self.on_error)
            + tuple(("on-complete", t) for t in self.on_complete)
        )


@dataclass(frozen=True)
class Workflow:
    """A validated workflow definition.

    ``start_tasks`` are the tasks no transition targets, in definition order: an
    execution starts them all, as Mistral does.
    """

    name: str
    tasks: Mapping[str, Task]
    start_tasks: tuple[str, ...]
    inputs: tuple[InputParam, ...] = ()
    output: Mapping[str, CompiledValue] = field(default_factory=dict)
    description: str | None = None

    def to_jsonable(self) -> dict[str, Any]:
        """The definition as JSON-able data that :func:`parse_workflow` reads back equal."""
        body: dict[str, Any] = {"type": "direct"}
        if self.description is not None:
            body["description"] = self.description
        if self.inputs:
            body["input"] = [p.name if p.required else {p.name: p.default} for p in self.inputs]
        if self.output:
            body["output"] = _source(self.output)
        body["tasks"] = {name: _task_jsonable(task) for name, task in self.tasks.items()}
        return {"version": "2.0", self.name: body}


def _source(value: Any) -> Any:
    """A compiled value back as definition data (expressions as their text)."""
    if isinstance(value, Expression):
        return value.source
    if isinstance(value, Mapping):
        return {k: _source(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_source(v) for v in value]
    return value


def _task_jsonable(task: Task) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if task.action is not None:
        out["action"] = task.action
    if task.workflow is not None:
        out["workflow"] = task.workflow
    if task.description is not None:
        out["description"] = task.description
    if task.input:
        out["input"] = _source(task.input)
    if task.publish:
        out["publish"] = _source(task.publish)
    for key, transitions in (
        ("on-success", task.on_success),
        ("on-error", task.on_error),
        ("on-complete", task.on_complete),
    ):
        if transitions:
            out[key] = [
                t.target if t.condition is None else {t.target: t.condition.source}
                for t in transitions
            ]
    if task.join is not None:
        out["join"] = task.join
    if task.retry is not None:
        retry: dict[str, Any] = {
            "count": _source(task.retry.count),
            "delay": _source(task.retry.delay),
        }
        if task.retry.break_on is not None:
            retry["break-on"] = task.retry.break_on.source
        if task.retry.continue_on is not None:
            retry["continue-on"] = task.retry.continue_on.source
        out["retry"] = retry
    for key, number in (
        ("timeout", task.timeout),
        ("wait-before", task.wait_before),
        ("wait-after", task.wait_after),
    ):
        if number is not None:
            out[key] = _source(number)
    if task.atom is not None:
        out["atom"] = task.atom
    if task.is_async:
        out["async"] = True
    if task.rollback is not None:
        out["rollback"] = {"action": task.rollback.action, "input": _source(task.rollback.input)}
    return out


# ----------------------------------------------------------------------- parsing


def parse_workflow(text: str, actions: Mapping[str, ActionSpec]) -> Workflow:
    """Parse and validate one workflow definition (YAML or JSON text).

    ``actions`` are the actions tasks may name, with their inputs (the engine's:
    :func:`tidings.engine.actions.action_specs`). Raises
    :class:`DefinitionError` listing every violation; never anything else, whatever the
    text.
    """
    checker = _Checker(actions)
    document = checker.load(text)
    workflow = checker.document(document) if not checker.violations else None
    if checker.violations or workflow is None:
        raise DefinitionError(checker.violations)
    return workflow


def _path(parent: str, key: object) -> str:
    """``parent.key``, quoting keys that are not plain words (``tasks["a b"]``)."""
    text = key if isinstance(key, str) else repr(key)
    if not _PLAIN_SEGMENT.match(text):
        return f"{parent}[{json.dumps(text, ensure_ascii=False)}]"
    return f"{parent}.{text}" if parent else text


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _suggest(word: object, choices: Iterable[str]) -> str:
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Checker:
    """Walks a loaded document, building the result and collecting violations."""

    def __init__(self, actions: Mapping[str, ActionSpec]) -> None:
        self.actions = actions
        self.violations: list[FieldViolation] = []
        self.values_left = MAX_VALUES

    def add(self, path: str, description: str) -> None:
        self.violations.append(FieldViolation(path, description))

    # -- loading

    def load(self, text: str) -> Any:
        if not isinstance(text, str):
            self.add("", f"the definition must be text, got {type(text).__name__}")
            return None
        stripped = text.lstrip()
        if stripped.startswith("{"):
            try:
                return json.loads(text)
            except ValueError:
                pass  # YAML flow style also starts with '{': let the YAML parser judge.
            except RecursionError:
                self.add("", "the definition is nested too deeply")
                return None
        try:
            return yaml.safe_load(text)
        except yaml.MarkedYAMLError as exc:
            where = ""
            if exc.problem_mark is not None:
                mark = exc.problem_mark
                where = f" (line {mark.line + 1}, column {mark.column + 1})"
            problem = exc.problem or exc.context or "invalid YAML"
            self.add("", f"not valid YAML or JSON: {problem}{where}")
        except RecursionError:
            self.add("", "the definition is nested too deeply")
        except Exception as exc:  # pyyaml also raises ValueError etc. on odd scalars
            self.add("", f"not valid YAML or JSON: {exc}")
        return None

    # -- generic shapes

    def keys(self, mapping: Mapping[Any, Any], path: str, allowed: Iterable[str]) -> None:
        """Report keys that are not ``allowed``, with a suggestion when one is close."""
        allowed = tuple(allowed)
        for key in mapping:
            if key in allowed:
                continue
            where = _path(path, key)
            if not isinstance(key, str):
                self.add(where, f"keys must be strings, got {_type_name(key)}")
            elif key in _MISTRAL_ONLY:
                self.add(where, f"{key!r} is Mistral language that tidings does not support")
            else:
                self.add(
                    where,
                    f"unknown key {key!r}{_suggest(key, allowed)}; allowed: {', '.join(allowed)}",
                )

    def mapping(self, value: Any, path: str, what: str) -> Mapping[Any, Any] | None:
        if isinstance(value, Mapping):
            return value
        self.add(path, f"{what} must be a mapping, got {_type_name(value)}")
        return None

    def string(self, value: Any, path: str, what: str) -> str | None:
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, str):
            self.add(path, f"{what} must not be empty")
        else:
            self.add(path, f"{what} must be a string, got {_type_name(value)}")
        return None

    def value(
        self, value: Any, path: str, seen: tuple[int, ...] = (), *, compile: bool = True
    ) -> CompiledValue:
        """A data value made JSON-like, with every expression compiled (if ``compile``)."""
        self.values_left -= 1
        if self.values_left == 0:
            self.add(path, f"the definition holds more than {MAX_VALUES} values")
        if self.values_left <= 0:
            return None
        if len(seen) > MAX_DEPTH:
            self.add(path, f"nested more than {MAX_DEPTH} levels deep")
            return None
        if isinstance(value, str):
            if not compile:
                return value
            try:
                return compile_string(value)
            except ExpressionSyntaxError as exc:
                self.add(path, f"bad expression {exc.expression!r}: {exc.message}")
                return value
        if value is None or isinstance(value, bool | int):
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                self.add(path, f"{value} is not a JSON number")
            return value
        if isinstance(value, datetime.datetime | datetime.date):
            # YAML reads 2018-04-18 as a date; the JSON that tasks see has a string.
            return value.isoformat()
        if isinstance(value, Mapping | list | tuple | set | frozenset):
            if id(value) in seen:
                self.add(path, "a YAML alias refers to the value that contains it")
                return None
            inner = (*seen, id(value))
            if isinstance(value, Mapping):
                out: dict[str, CompiledValue] = {}
                for key, item in value.items():
                    name = self.value_key(key, path)
                    if name is not None:
                        out[name] = self.value(item, _path(path, name), inner, compile=compile)
                return out
            items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
            return [
                self.value(item, f"{path}[{i}]", inner, compile=compile)
                for i, item in enumerate(items)
            ]
        self.add(path, f"{type(value).__name__} values are not supported")
        return None

    def value_key(self, key: Any, path: str) -> str | None:
        if isinstance(key, str):
            return key
        if key is None or isinstance(key, bool | int | float):
            # As JSON would store it: YAML reads `on:` as True, `200:` as 200.
            return json.dumps(key)
        self.add(path, f"a key of type {type(key).__name__} is not supported")
        return None

    def data_mapping(self, value: Any, path: str, what: str) -> dict[str, CompiledValue]:
        """A mapping of names to data values (``input``, ``publish``, ``output``)."""
        if value is None:
            return {}
        mapping = self.mapping(value, path, what)
        if mapping is None:
            return {}
        compiled = self.value(mapping, path)
        return dict(compiled) if isinstance(compiled, Mapping) else {}

    def expression(
        self, value: Any, path: str, what: str, expected: str = "an expression"
    ) -> Expression | None:
        """A string that is exactly one expression (a condition, or a computed number)."""
        hint = "one expression as the whole string, like '<% $.ok %>' or '{{ _.ok }}'"
        if not isinstance(value, str):
            self.add(path, f"{what} must be {expected} ({hint}), got {_type_name(value)}")
            return None
        try:
            compiled = compile_string(value)
        except ExpressionSyntaxError as exc:
            self.add(path, f"bad expression {exc.expression!r}: {exc.message}")
            return None
        if isinstance(compiled, Expression) and compiled.whole:
            return compiled
        self.add(path, f"{what} must be {expected} ({hint}), got {value!r}")
        return None

    def number(
        self,
        value: Any,
        path: str,
        what: str,
        *,
        positive: bool = False,
        integer: bool = False,
    ) -> Number | None:
        """A number (``> 0`` if ``positive``, else ``>= 0``) or one expression."""
        kind = "a whole number" if integer else "a number"
        if isinstance(value, str):
            return self.expression(value, path, what, f"{kind} or an expression")
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(path, f"{what} must be {kind} or an expression, got {_type_name(value)}")
            return None
        if integer and not isinstance(value, int):
            self.add(path, f"{what} must be {kind}, got {value!r}")
            return None
        if not math.isfinite(value):
            self.add(path, f"{what} must be a finite number, got {value!r}")
            return None
        if positive and value <= 0:
            self.add(path, f"{what} must be greater than 0, got {value!r}")
            return None
        if value < 0:
            self.add(path, f"{what} must not be negative, got {value!r}")
            return None
        return value

    # -- the document

    def document(self, document: Any) -> Workflow | None:
        if not isinstance(document, Mapping):
            self.add("", f"the definition must be a mapping, got {_type_name(document)}")
            return None
        self.version(document)
        names = [key for key in document if key not in _TOP_KEYS]
        for key in names:
            if not isinstance(key, str):
                self.add(_path("", key), f"a workflow name must be a string, got {_type_name(key)}")
        if not names:
            self.add("", "no workflow: add a top-level key naming the workflow, besides 'version'")
            return None
        for extra in names[1:]:
            self.add(
                _path("", extra),
                "one workflow per definition: found "
                + ", ".join(repr(n) for n in names)
                + "; define each in its own definition",
            )
        name = names[0]
        if isinstance(name, str) and not _WORKFLOW_NAME.match(name):
            self.add(
                _path("", name),
                f"workflow name {name!r} may hold only letters, digits, '_', '-' and '.'",
            )
        body = self.mapping(document[name], _path("", name), "a workflow")
        if body is None:
            return None
        return self.workflow(name if isinstance(name, str) else repr(name), body)

    def version(self, document: Mapping[Any, Any]) -> None:
        if "version" not in document:
            self.add("version", "required: version: '2.0'")
            return
        version = document["version"]
        # YAML reads an unquoted 2.0 as a float; Mistral users write it both ways.
        if version == "2.0" or (isinstance(version, float) and version == 2.0):
            return
        self.add("version", f"must be '2.0', got {version!r}")

    def workflow(self, name: str, body: Mapping[Any, Any]) -> Workflow | None:
        self.keys(body, "", _WORKFLOW_KEYS)
        kind = body.get("type", "direct")
        if kind == "reverse":
            self.add("type", "reverse workflows are not supported; use type: direct")
        elif kind != "direct":
            self.add("type", f"must be 'direct', got {kind!r}")
        description = None
        if "description" in body:
            description = self.string(body["description"], "description", "description")
        inputs = self.inputs(body.get("input"))
        output = self.data_mapping(body.get("output"), "output", "output")
        tasks, complete = self.tasks(body.get("tasks"))
        start = self.graph(tasks, complete) if tasks else ()
        if self.violations:
            return None
        return Workflow(
            name=name,
            description=description,
            inputs=inputs,
            output=output,
            tasks=tasks,
            start_tasks=start,
        )

    def inputs(self, value: Any) -> tuple[InputParam, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.add(
                "input",
                f"input must be a list of names or {{name: default}}, got {_type_name(value)}",
            )
            return ()
        params: list[InputParam] = []
        first_seen: dict[str, int] = {}
        for index, item in enumerate(value):
            path = f"input[{index}]"
            if isinstance(item, Mapping):
                if len(item) != 1:
                    self.add(
                        path,
                        f"an optional input is one {{name: default}} pair, got {len(item)} keys",
                    )
                    continue
                ((key, default),) = item.items()
                name = self.string(key, path, "an input name")
                # Defaults are literal values, never evaluated: there is no context yet.
                param = InputParam(
                    name or "", False, self.value(default, _path(path, key), compile=False)
                )
            else:
                name = self.string(item, path, "an input name")
                param = InputParam(name or "")
            if name is None:
                continue
            if name in first_seen:
                self.add(path, f"duplicate input {name!r} (first at input[{first_seen[name]}])")
                continue
            first_seen[name] = index
            params.append(param)
        return tuple(params)

    def tasks(self, value: Any) -> tuple[dict[str, Task], bool]:
        """The tasks by name, and whether every task parsed (so the graph is whole)."""
        if value is None:
            self.add("tasks", "required: a workflow needs at least one task")
            return {}, False
        mapping = self.mapping(value, "tasks", "tasks")
        if mapping is None:
            return {}, False
        if not mapping:
            self.add("tasks", "a workflow needs at least one task")
            return {}, False
        names = {key for key in mapping if isinstance(key, str) and key.strip()}
        tasks: dict[str, Task] = {}
        for key, body in mapping.items():
            path = _path("tasks", key)
            name = self.string(key, path, "a task name")
            task = self.task(name or "", body, path, names)
            if name is not None and task is not None:
                tasks[name] = task
        return tasks, len(tasks) == len(mapping)

    def task(self, name: str, value: Any, path: str, names: set[str]) -> Task | None:
        if value is None:
            self.add(path, "empty task: a task needs an action")
            return None
        body = self.mapping(value, path, "a task")
        if body is None:
            return None
        self.keys(body, path, _TASK_KEYS)
        action = self.task_action(body, path)
        spec = self.actions.get(action) if action is not None else None
        inputs = self.data_mapping(body.get("input"), _path(path, "input"), "input")
        if spec is not None and action is not None:
            self.action_inputs(action, spec, body.get("input"), _path(path, "input"))
        publish = self.data_mapping(body.get("publish"), _path(path, "publish"), "publish")
        transitions = {
            key: self.transitions(body[key], _path(path, key), names)
            for key in _TRANSITION_KEYS
            if key in body
        }
        is_async = False
        if "async" in body:
            if not isinstance(body["async"], bool):
                self.add(
                    _path(path, "async"),
                    f"async must be true or false, got {_type_name(body['async'])}",
                )
            elif body["async"]:
                is_async = True
                if spec is not None and not spec.supports_async:
                    self.add(_path(path, "async"), f"action {action!r} cannot run asynchronously")
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
            retry=self.retry(body.get("retry"), _path(path, "retry")) if "retry" in body else None,
            timeout=self.optional_number(body, path, "timeout", positive=True),
            wait_before=self.optional_number(body, path, "wait-before"),
            wait_after=self.optional_number(body, path, "wait-after"),
            atom=self.string(body["atom"], _path(path, "atom"), "atom") if "atom" in body else None,
            is_async=is_async,
            rollback=self.rollback(body["rollback"], _path(path, "rollback"))
            if "rollback" in body
            else None,
            description=self.string(body["description"], _path(path, "description"), "description")
            if "description" in body
            else None,
        )

    def task_action(self, body: Mapping[Any, Any], path: str) -> str | None:
        has_action, has_workflow = "action" in body, "workflow" in body
        if has_action and has_workflow:
            self.add(path, "a task has either an action or a workflow, not both")
            return None
        if has_workflow:
            self.string(body["workflow"], _path(path, "workflow"), "workflow")
            self.add(_path(path, "workflow"), "sub-workflows are not supported yet; use an action")
            return None
        if not has_action:
            self.add(_path(path, "action"), "required: a task needs an action")
            return None
        return self.action_name(body["action"], _path(path, "action"))

    def action_name(self, value: Any, path: str) -> str | None:
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
                f"unknown action {name!r}{_suggest(name, self.actions)};"
                f" known actions: {', '.join(sorted(self.actions))}",
            )
            return None
        return name

    def action_inputs(self, action: str, spec: ActionSpec, value: Any, path: str) -> None:
        given = value if isinstance(value, Mapping) else {}
        for missing in sorted(spec.required - set(given)):
            self.add(path, f"missing required input {missing!r} of action {action!r}")
        allowed = spec.allowed()
        if allowed is None:
            return
        for key in given:
            if key not in allowed:
                self.add(
                    _path(path, key),
                    f"unknown input {key!r} of action {action!r}{_suggest(key, allowed)};"
                    f" allowed: {', '.join(sorted(allowed)) or 'none'}",
                )

    def transitions(self, value: Any, path: str, names: set[str]) -> tuple[Transition, ...]:
        if isinstance(value, str):
            target = self.target(value, path, names)
            return (Transition(target),) if target is not None else ()
        if not isinstance(value, list):
            self.add(
                path,
                f"must be a task name or a list of task names / {{task: condition}},"
                f" got {_type_name(value)}",
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
                    expression = self.expression(condition, _path(item_path, key), "a condition")
                if target is not None and (condition is None or expression is not None):
                    result.append(Transition(target, expression))
            elif isinstance(item, str):
                target = self.target(item, item_path, names)
                if target is not None:
                    result.append(Transition(target))
            else:
                self.add(
                    item_path, f"must be a task name or {{task: condition}}, got {_type_name(item)}"
                )
        return tuple(result)

    def target(self, value: Any, path: str, names: set[str]) -> str | None:
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
            self.add(path, f"no task {name!r}{_suggest(name, names)}")
        return None

    def join(self, body: Mapping[Any, Any], path: str) -> int | Literal["all"] | None:
        if "join" not in body:
            return None
        value = body["join"]
        if value == "all" and isinstance(value, str):
            return "all"
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        self.add(
            _path(path, "join"), f"join must be 'all' or a positive whole number, got {value!r}"
        )
        return None

    def retry(self, value: Any, path: str) -> Retry | None:
        body = self.mapping(value, path, "retry")
        if body is None:
            return None
        self.keys(body, path, _RETRY_KEYS)
        if "count" not in body:
            self.add(_path(path, "count"), "required: how many times to retry")
        count = self.number(body.get("count", 0), _path(path, "count"), "count", integer=True)
        delay = self.number(body.get("delay", 0), _path(path, "delay"), "delay")
        conditions = {
            key: self.expression(body[key], _path(path, key), key)
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
        if key not in body:
            return None
        return self.number(body[key], _path(path, key), key, positive=positive)

    def rollback(self, value: Any, path: str) -> ActionCall | None:
        if isinstance(value, str):
            action = self.action_name(value, path)
            if action is None:
                return None
            self.action_inputs(action, self.actions[action], {}, _path(path, "input"))
            return ActionCall(action)
        body = self.mapping(value, path, "rollback (an action name or {action, input})")
        if body is None:
            return None
        self.keys(body, path, _ROLLBACK_KEYS)
        if "action" not in body:
            self.add(_path(path, "action"), "required: the rollback action")
            return None
        action = self.action_name(body["action"], _path(path, "action"))
        inputs = self.data_mapping(body.get("input"), _path(path, "input"), "input")
        if action is None:
            return None
        self.action_inputs(action, self.actions[action], body.get("input"), _path(path, "input"))
        return ActionCall(action, inputs)

    # -- the graph

    def graph(self, tasks: Mapping[str, Task], complete: bool) -> tuple[str, ...]:
        """Start tasks, and the checks that need every task: joins and their cycles.

        When some task did not parse (``complete`` false) its edges are unknown, so the
        checks that count edges are skipped rather than reported wrongly.
        """
        inbound: dict[str, list[str]] = {name: [] for name in tasks}
        successors: dict[str, list[str]] = {name: [] for name in tasks}
        for name, task in tasks.items():
            for _, transition in task.transitions():
                if transition.target not in tasks:
                    continue
                if name not in inbound[transition.target]:
                    inbound[transition.target].append(name)
                if transition.target not in successors[name]:
                    successors[name].append(transition.target)
        start = tuple(name for name in tasks if not inbound[name])
        if not complete:
            return start
        if not start:
            self.add(
                "tasks",
                "no start task: every task is the target of a transition, so none would run"
                " first; a workflow starts with the tasks nothing transitions to",
            )
        for name, task in tasks.items():
            if task.join is None:
                continue
            path = _path(_path("tasks", name), "join")
            sources = inbound[name]
            if not sources:
                self.add(path, f"join on {name!r}, but no task transitions to it")
            elif isinstance(task.join, int) and task.join > len(sources):
                self.add(
                    path,
                    f"join: {task.join} but only {len(sources)} task(s) transition to"
                    f" {name!r}: {', '.join(sources)}",
                )
            cycle = _cycle_through(name, successors)
            if cycle:
                self.add(
                    path,
                    f"{name!r} joins but is part of a cycle ({' → '.join(cycle)});"
                    " a join cannot wait for tasks that run after it",
                )
        return start


def _cycle_through(start: str, successors: Mapping[str, list[str]]) -> list[str]:
    """A path ``start → … → start`` if there is one (shortest, by breadth-first search)."""
    parent: dict[str, str] = {}
    queue = collections.deque([start])
    while queue:
        current = queue.popleft()
        for nxt in successors[current]:
            if nxt == start:
                path = [current]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*reversed(path), start]
            if nxt not in parent:
                parent[nxt] = current
                queue.append(nxt)
    return []
