"""Workflow definitions: create, read, update and delete them, and parse them (cached).

A definition is checked by :func:`tidings.engine.dsl.parse_workflow` against the engine's
actions; a bad one is refused with :class:`~tidings.errors.InvalidArgumentError` naming
each field under ``definition``. A workflow's seed-002 callback URLs become listeners in
the same commit as the workflow.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from tidings.engine import dsl
from tidings.errors import AlreadyExistsError, FieldViolation, InvalidArgumentError, NotFoundError
from tidings.listeners import ListenerRegistry
from tidings.store import Change, Store, WorkflowRow

__all__ = ["Workflows"]

#: Parsed definitions kept; the cache starts afresh beyond this.
_CACHED_DEFINITIONS = 1024


class Workflows:
    """The stored workflow definitions, and their parsed form."""

    def __init__(
        self,
        store: Store,
        actions: Mapping[str, dsl.ActionSpec],
        clock: Callable[[], float],
        listeners: ListenerRegistry | None,
    ) -> None:
        self._store = store
        self._actions = actions
        self._clock = clock
        self._listeners = listeners
        self._cache: dict[tuple[str, float], dsl.Workflow] = {}

    def parse(self, definition: str) -> dsl.Workflow:
        """Parse a definition; InvalidArgumentError names every bad field."""
        try:
            return dsl.parse_workflow(definition, self._actions)
        except dsl.DefinitionError as exc:
            raise InvalidArgumentError(
                str(exc),
                [
                    FieldViolation(
                        f"definition.{v.field}" if v.field else "definition", v.description
                    )
                    for v in exc.violations
                ],
            ) from exc

    def of(self, row: WorkflowRow) -> dsl.Workflow:
        """The parsed workflow of a stored row (cached)."""
        key = (row.id, row.update_time)
        wf = self._cache.get(key)
        if wf is None:
            wf = self.parse(row.definition)
            if len(self._cache) > _CACHED_DEFINITIONS:
                self._cache.clear()
            self._cache[key] = wf
        return wf

    @staticmethod
    def check_input(wf: dsl.Workflow, given: Mapping[str, Any]) -> dict[str, Any]:
        """An execution's input: the given values, defaults for the rest; refuses unknowns."""
        violations = []
        declared = {p.name for p in wf.inputs}
        for key in given:
            if key not in declared:
                violations.append(
                    FieldViolation(f"input_json.{key}", f"workflow {wf.name!r} has no such input")
                )
        values: dict[str, Any] = {}
        for p in wf.inputs:
            if p.name in given:
                values[p.name] = given[p.name]
            elif p.required:
                violations.append(FieldViolation(f"input_json.{p.name}", "required input missing"))
            else:
                values[p.name] = p.default
        if violations:
            raise InvalidArgumentError("invalid execution input", violations)
        return values

    async def create(
        self, definition: str, callback_url: str = "", modify_callback_url: str = ""
    ) -> WorkflowRow:
        """Validate and store a workflow definition."""
        wf = self.parse(definition)
        if await self._store.get_workflow(wf.name) is not None:
            raise AlreadyExistsError(f"workflow {wf.name!r} exists already")
        now = self._clock()
        row = WorkflowRow(
            id=str(uuid.uuid4()),
            name=wf.name,
            definition=definition,
            description=wf.description or "",
            input_names=[p.name for p in wf.inputs],
            callback_url=callback_url,
            modify_callback_url=modify_callback_url,
            create_time=now,
            update_time=now,
        )
        await self._save(row)
        return row

    async def _save(self, row: WorkflowRow) -> None:
        """Commit a workflow together with its (re)written callback listeners."""
        change = Change()
        change.put_workflow(row)
        await self._callback_listeners(row, change)
        await self._store.commit(change)
        self._listeners_changed(change)

    async def _callback_listeners(self, row: WorkflowRow, change: Change) -> None:
        """The workflow's seed-002 callback listeners, (re)written into `change`."""
        if self._listeners is None:
            return
        await self._listeners.put_workflow_callbacks(
            change, row.id, row.name, row.callback_url, row.modify_callback_url
        )

    def _listeners_changed(self, change: Change) -> None:
        if self._listeners is not None and (change.listeners or change.deleted_listeners):
            self._listeners.changed()

    async def get(self, id_or_name: str) -> WorkflowRow:
        """A workflow by id or name; NotFoundError if there is none."""
        if not id_or_name:
            raise InvalidArgumentError(
                "workflow is required", [FieldViolation("workflow", "must not be empty")]
            )
        row = await self._store.get_workflow(id_or_name)
        if row is None:
            raise NotFoundError(f"workflow {id_or_name!r} not found")
        return row

    async def update(
        self, id_or_name: str, definition: str, callback_url: str, modify_callback_url: str
    ) -> WorkflowRow:
        """Replace a workflow's definition (same name) and callbacks."""
        row = await self.get(id_or_name)
        wf = self.parse(definition)
        if wf.name != row.name:
            raise InvalidArgumentError(
                "the workflow name cannot change",
                [FieldViolation("definition", f"names {wf.name!r}, expected {row.name!r}")],
            )
        row.definition = definition
        row.description = wf.description or ""
        row.input_names = [p.name for p in wf.inputs]
        row.callback_url = callback_url
        row.modify_callback_url = modify_callback_url
        row.update_time = self._clock()
        await self._save(row)
        return row

    async def delete(self, id_or_name: str) -> None:
        """Delete a workflow; its executions keep running on their own snapshot."""
        row = await self.get(id_or_name)
        change = Change()
        change.delete_workflow(row.id)
        if self._listeners is not None:
            self._listeners.drop_workflow_callbacks(change, row.id)
        await self._store.commit(change)
        self._listeners_changed(change)
