"""Parsing a definition: load its YAML or JSON text, check every field of the language.

:func:`parse_workflow` returns the :mod:`.model`'s frozen dataclasses or raises
:class:`~.model.DefinitionError` listing *every* violation found; the generic checks of
values come from :mod:`.fields`, the checks of the whole graph from :mod:`.graph`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import yaml

from tidings.engine.dsl import reverse
from tidings.engine.dsl.defaults import DefaultsChecker, apply_defaults
from tidings.engine.dsl.fields import field_path, suggestion, type_name
from tidings.engine.dsl.graph import check_graph
from tidings.engine.dsl.limits import DefinitionLimits, ShapeChecker, size_violation
from tidings.engine.dsl.model import (
    ActionSpec,
    AdhocAction,
    Definition,
    DefinitionError,
    InputParam,
    Task,
    Workflow,
)
from tidings.errors import FieldViolation

__all__ = ["parse_definition", "parse_workflow"]

_WORKFLOW_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")

_TOP_KEYS = ("version",)
_WORKBOOK_KEYS = ("version", "name", "description", "tags", "workflows", "actions")
_WORKFLOW_KEYS = (
    "type",
    "description",
    "input",
    "vars",
    "output",
    "output-on-error",
    "task-defaults",
    "tasks",
    "tags",
)
_ADHOC_KEYS = ("description", "base", "base-input", "input", "output", "tags")


def parse_definition(
    text: str, actions: Mapping[str, ActionSpec], limits: DefinitionLimits | None = None
) -> Definition:
    """Parse and validate a definition: one workflow, several, or a workbook.

    ``actions`` are the actions tasks may name, with their inputs (the engine's:
    :func:`tidings.engine.actions.action_specs`); ``limits`` bound the text and what it
    holds (the defaults if None), checked before anything else. Raises
    :class:`DefinitionError` listing every violation; never anything else, whatever the
    text. With one workflow, violations name fields relative to it (``tasks.a``); with
    several, under the workflow's name (``second.tasks.a``), and in a workbook under
    ``workflows.<name>`` or ``actions.<name>``.
    """
    checker = _Checker(actions, limits or DefinitionLimits())
    document = checker.load(text)
    if not checker.violations:
        checker.shape(document)
    definition = checker.document(document) if not checker.violations else None
    if checker.violations or definition is None:
        raise DefinitionError(checker.violations)
    return definition


def parse_workflow(
    text: str,
    actions: Mapping[str, ActionSpec],
    limits: DefinitionLimits | None = None,
    name: str | None = None,
) -> Workflow:
    """One workflow of a definition: ``name`` (a workbook's as ``book.workflow``), or the first.

    As :func:`parse_definition`; a ``name`` the definition does not define is a
    :class:`DefinitionError` too.
    """
    definition = parse_definition(text, actions, limits)
    if name is None:
        return next(iter(definition.workflows.values()))
    found = definition.workflows.get(name)
    if found is None:
        raise DefinitionError(
            [FieldViolation("", f"the definition does not define workflow {name!r}")]
        )
    return found


def _is_workbook(document: Mapping[Any, Any]) -> bool:
    """A Mistral workbook (``name`` with ``workflows`` / ``actions``), not a workflow."""
    if "name" in document and ("workflows" in document or "actions" in document):
        return True
    workflows = document.get("workflows")
    return isinstance(workflows, Mapping) and "tasks" not in workflows


class _Checker(DefaultsChecker):
    """Walks a loaded document, building the result and collecting violations."""

    def load(self, text: str) -> Any:
        if not isinstance(text, str):
            self.add("", f"the definition must be text, got {type(text).__name__}")
            return None
        too_large = size_violation(text, self.limits)
        if too_large is not None:
            self.violations.append(too_large)
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

    def shape(self, document: Any) -> None:
        """Check the loaded document against the limits of depth, values and lists."""
        if not isinstance(document, Mapping):
            return  # `document` refuses it, whatever its size
        names = [key for key in document if key not in _TOP_KEYS]
        walker = ShapeChecker(self.limits)
        walker.values = 1  # the document
        for key, value in document.items():
            # Paths are relative to the workflow, as everywhere else.
            path = "" if names and key == names[0] else field_path("", key)
            if not walker.walk(value, path, 2):
                break
        if walker.violation is not None:
            self.violations.append(walker.violation)

    def document(self, document: Any) -> Definition | None:
        if not isinstance(document, Mapping):
            self.add("", f"the definition must be a mapping, got {type_name(document)}")
            return None
        self.version(document)
        if _is_workbook(document):
            return self.workbook(document)
        names = [key for key in document if key not in _TOP_KEYS]
        for key in names:
            if not isinstance(key, str):
                self.add(
                    field_path("", key), f"a workflow name must be a string, got {type_name(key)}"
                )
        if not names:
            self.add("", "no workflow: add a top-level key naming the workflow, besides 'version'")
            return None
        bodies = {name: document[name] for name in names if isinstance(name, str)}
        # One workflow: its fields are named relative to it, as they always were.
        prefix = len(names) > 1
        return Definition(self.workflows(bodies, "" if prefix else None, None))

    def workflows(
        self, bodies: Mapping[str, Any], under: str | None, book: str | None
    ) -> dict[str, Workflow]:
        """Each workflow of ``bodies`` by its full name; violations under ``under.<name>``."""
        out: dict[str, Workflow] = {}
        for name, value in bodies.items():
            # The name and body are named where they are written, even for one workflow.
            where = field_path(under or "", name)
            if not _WORKFLOW_NAME.match(name):
                self.add(
                    where, f"workflow name {name!r} may hold only letters, digits, '_', '-' and '.'"
                )
            body = self.mapping(value, where, "a workflow")
            if body is None:
                continue
            before = len(self.violations)
            full = f"{book}.{name}" if book is not None else name
            wf = self.workflow(full, body, book)
            if under is not None:
                self.violations[before:] = [
                    FieldViolation(f"{where}.{v.field}" if v.field else where, v.description)
                    for v in self.violations[before:]
                ]
            if wf is not None:
                out[full] = wf
        return out

    def workbook(self, document: Mapping[Any, Any]) -> Definition | None:
        """A workbook: ``name``, its ``workflows`` (``name.workflow``) and ad-hoc ``actions``."""
        self.keys(document, "", _WORKBOOK_KEYS)
        book = self.string(document.get("name"), "name", "the workbook's name")
        if book is not None and not _WORKFLOW_NAME.match(book):
            self.add(
                "name", f"workbook name {book!r} may hold only letters, digits, '_', '-' and '.'"
            )
        adhoc = self.adhoc_actions(document.get("actions"))
        workflows = self.mapping(document.get("workflows", {}), "workflows", "workflows")
        if book is None or workflows is None:
            return None
        if not workflows:
            self.add("workflows", "a workbook needs at least one workflow")
            return None
        bodies = {}
        for key, value in workflows.items():
            if isinstance(key, str):
                bodies[key] = value
            else:
                self.add(
                    field_path("workflows", key),
                    f"a workflow name must be a string, got {type_name(key)}",
                )
        # The tasks may name the ad-hoc actions: they join the engine's own while parsing.
        engine_actions = self.actions
        self.actions = {**engine_actions, **{a.name: _adhoc_spec(a) for a in adhoc.values()}}
        self.adhoc = adhoc
        try:
            parsed = self.workflows(bodies, "workflows", book)
        finally:
            self.actions, self.adhoc = engine_actions, {}
        return Definition(parsed, book, adhoc)

    def adhoc_actions(self, value: Any) -> dict[str, AdhocAction]:
        """A workbook's ``actions``: each on a base action of the engine's."""
        if value is None:
            return {}
        mapping = self.mapping(value, "actions", "actions")
        out: dict[str, AdhocAction] = {}
        for key, body in (mapping or {}).items():
            path = field_path("actions", key)
            name = self.string(key, path, "an action name")
            spec = self.mapping(body, path, "an ad-hoc action")
            if name is None or spec is None:
                continue
            if name in self.actions:
                self.add(path, f"ad-hoc action {name!r} has the name of an engine action")
                continue
            self.keys(spec, path, _ADHOC_KEYS)
            where = field_path(path, "base")
            base = self.string(spec.get("base"), where, "base (the action it calls)")
            if base is None:
                continue
            base_spec = self.actions.get(base)
            if base_spec is None:
                self.add(
                    where,
                    f"unknown base action {base!r}{suggestion(base, self.actions)}: an ad-hoc"
                    " action calls one of the engine's actions",
                )
                continue
            if base_spec.refusal is not None:
                self.add(where, base_spec.refusal)
                continue
            base_input = self.data_mapping(
                spec.get("base-input"), field_path(path, "base-input"), "base-input"
            )
            self.action_inputs(base, base_spec, base_input, field_path(path, "base-input"))
            before = len(self.violations)
            inputs = self.inputs(spec.get("input"))
            self.violations[before:] = [
                FieldViolation(f"{path}.{v.field}", v.description) for v in self.violations[before:]
            ]
            output = None
            if spec.get("output") is not None:
                output = self.value(spec["output"], field_path(path, "output"))
            description = None
            if "description" in spec:
                description = self.string(
                    spec["description"], field_path(path, "description"), "description"
                )
            out[name] = AdhocAction(name, base, base_input, inputs, output, description)
        return out

    def version(self, document: Mapping[Any, Any]) -> None:
        if "version" not in document:
            self.add("version", "required: version: '2.0'")
            return
        version = document["version"]
        # YAML reads an unquoted 2.0 as a float; Mistral users write it both ways. Mistral
        # 23 also takes '1.0' (and 2, 1) and reads the workflow as v2: so does tidings.
        number: float | None = None
        if isinstance(version, str | int | float) and not isinstance(version, bool):
            try:
                number = float(version)
            except ValueError:
                number = None
        if number in (1.0, 2.0):
            return
        self.add("version", f"must be '2.0', got {version!r}")

    def workflow(self, name: str, body: Mapping[Any, Any], book: str | None) -> Workflow | None:
        self.keys(body, "", _WORKFLOW_KEYS)
        kind = body.get("type", "direct")
        if kind not in ("direct", "reverse"):
            self.add("type", f"must be 'direct' or 'reverse', got {kind!r}")
        description = None
        if "description" in body:
            description = self.string(body["description"], "description", "description")
        inputs = self.inputs(body.get("input"))
        output = self.data_mapping(body.get("output"), "output", "output")
        output_on_error = self.data_mapping(
            body.get("output-on-error"), "output-on-error", "output-on-error"
        )
        variables = self.data_mapping(body.get("vars"), "vars", "vars")
        raw_tasks = body.get("tasks")
        names = (
            {key for key in raw_tasks if isinstance(key, str) and key.strip()}
            if isinstance(raw_tasks, Mapping)
            else set()
        )
        defaults = self.task_defaults(body.get("task-defaults"), "task-defaults", names)
        tags = self.tags(body, "")
        tasks, complete = self.tasks(raw_tasks)
        tasks = apply_defaults(tasks, defaults)
        start: tuple[str, ...] = ()
        if kind == "reverse":
            # Started for a target task (reverse.for_target), never from start tasks.
            self.violations += reverse.check_reverse(tasks) if complete else []
        elif tasks:
            start, graph_violations = check_graph(tasks, complete)
            self.violations += graph_violations + reverse.check_direct(tasks)
        if self.violations:
            return None
        return Workflow(
            book=book,
            name=name,
            description=description,
            inputs=inputs,
            output=output,
            tasks=tasks,
            start_tasks=start,
            task_defaults=defaults,
            vars=variables,
            output_on_error=output_on_error,
            tags=tags,
            reverse=kind == "reverse",
        )

    def inputs(self, value: Any) -> tuple[InputParam, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.add(
                "input",
                f"input must be a list of names or {{name: default}}, got {type_name(value)}",
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
                    name or "", False, self.value(default, field_path(path, key), compile=False)
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
        if len(mapping) > self.limits.tasks:
            self.add("tasks", self.limits.exceeded("tasks", f"has {len(mapping):,} tasks"))
            return {}, False
        names = {key for key in mapping if isinstance(key, str) and key.strip()}
        tasks: dict[str, Task] = {}
        for key, body in mapping.items():
            path = field_path("tasks", key)
            name = self.string(key, path, "a task name")
            task = self.task(name or "", body, path, names)
            if name is not None and task is not None:
                tasks[name] = task
        return tasks, len(tasks) == len(mapping)


def _adhoc_spec(action: AdhocAction) -> ActionSpec:
    """What a task may give an ad-hoc action: its declared inputs."""
    required = frozenset(p.name for p in action.inputs if p.required)
    optional = frozenset(p.name for p in action.inputs if not p.required)
    return ActionSpec(required, optional)
