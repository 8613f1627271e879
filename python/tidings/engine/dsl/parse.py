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
from tidings.engine.dsl.fields import field_path, type_name
from tidings.engine.dsl.graph import check_graph
from tidings.engine.dsl.limits import DefinitionLimits, ShapeChecker, size_violation
from tidings.engine.dsl.model import (
    ActionSpec,
    DefinitionError,
    InputParam,
    Task,
    Workflow,
)
from tidings.engine.dsl.tasks import TaskChecker

__all__ = ["parse_workflow"]

_WORKFLOW_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")

_TOP_KEYS = ("version",)
_WORKFLOW_KEYS = ("type", "description", "input", "output", "task-defaults", "tasks")


def parse_workflow(
    text: str, actions: Mapping[str, ActionSpec], limits: DefinitionLimits | None = None
) -> Workflow:
    """Parse and validate one workflow definition (YAML or JSON text).

    ``actions`` are the actions tasks may name, with their inputs (the engine's:
    :func:`tidings.engine.actions.action_specs`); ``limits`` bound the text and what it
    holds (the defaults if None), checked before anything else. Raises
    :class:`DefinitionError` listing every violation; never anything else, whatever the
    text.
    """
    checker = _Checker(actions, limits or DefinitionLimits())
    document = checker.load(text)
    if not checker.violations:
        checker.shape(document)
    workflow = checker.document(document) if not checker.violations else None
    if checker.violations or workflow is None:
        raise DefinitionError(checker.violations)
    return workflow


def _is_workbook(document: Mapping[Any, Any]) -> bool:
    """A Mistral workbook (``name`` with ``workflows`` / ``actions``), not a workflow."""
    if "name" in document and ("workflows" in document or "actions" in document):
        return True
    workflows = document.get("workflows")
    return isinstance(workflows, Mapping) and "tasks" not in workflows


class _Checker(TaskChecker):
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

    def document(self, document: Any) -> Workflow | None:
        if not isinstance(document, Mapping):
            self.add("", f"the definition must be a mapping, got {type_name(document)}")
            return None
        self.version(document)
        if _is_workbook(document):
            self.add(
                "",
                "workbooks (name, workflows, actions) are not supported by tidings yet;"
                " define each workflow on its own",
            )
            return None
        names = [key for key in document if key not in _TOP_KEYS]
        for key in names:
            if not isinstance(key, str):
                self.add(
                    field_path("", key), f"a workflow name must be a string, got {type_name(key)}"
                )
        if not names:
            self.add("", "no workflow: add a top-level key naming the workflow, besides 'version'")
            return None
        for extra in names[1:]:
            self.add(
                field_path("", extra),
                "several workflows in one definition are not supported by tidings yet: found "
                + ", ".join(repr(n) for n in names)
                + "; define each in its own definition",
            )
        name = names[0]
        if isinstance(name, str) and not _WORKFLOW_NAME.match(name):
            self.add(
                field_path("", name),
                f"workflow name {name!r} may hold only letters, digits, '_', '-' and '.'",
            )
        body = self.mapping(document[name], field_path("", name), "a workflow")
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
        if kind not in ("direct", "reverse"):
            self.add("type", f"must be 'direct' or 'reverse', got {kind!r}")
        description = None
        if "description" in body:
            description = self.string(body["description"], "description", "description")
        inputs = self.inputs(body.get("input"))
        output = self.data_mapping(body.get("output"), "output", "output")
        defaults = self.task_defaults(body.get("task-defaults"), "task-defaults")
        tasks, complete = self.tasks(body.get("tasks"))
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
            name=name,
            description=description,
            inputs=inputs,
            output=output,
            tasks=tasks,
            start_tasks=start,
            task_defaults=defaults,
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
