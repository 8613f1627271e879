"""Workflow definitions: create, read, update and delete them, and parse them (cached).

A definition is checked by :func:`tidings.engine.dsl.parse_workflow` against the engine's
actions, within the configured :class:`~tidings.engine.dsl.DefinitionLimits`; a bad one is
refused with :class:`~tidings.errors.InvalidArgumentError` naming each field under
``definition``. Parsing runs on a thread of its own, never on the event loop: a large
definition takes seconds of pure Python, during which every other RPC must keep being
served (it shares the GIL, but the loop keeps getting its turns). A workflow's seed-002
callback URLs (``callback_url``, ``modify_callback_url``, and its tasks' job
``callback-url``) become listeners in the same commit as the workflow.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import gc
import math
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tidings.engine import dsl
from tidings.engine.dsl.fields import field_path
from tidings.engine.ids import new_id
from tidings.errors import (
    AbortedError,
    AlreadyExistsError,
    FieldViolation,
    InvalidArgumentError,
    not_found,
)
from tidings.listeners import ListenerRegistry
from tidings.listeners.scoped import JobCallback, job_listener_id
from tidings.store import Change, Store, WorkflowRow
from tidings.store.create_requests import CreateRequests, Record
from tidings.store.listeners import ListenerRow

__all__ = ["Saved", "Workflows", "job_callbacks"]

#: Parsed definitions kept; the cache starts afresh beyond this.
_CACHED_DEFINITIONS = 1024
#: Threads that parse definitions. Few: each holds the GIL while it runs, and the fewer
#: there are, the more often the event loop gets it; more requests wait their turn.
_PARSERS = 2


class _GcPause:
    """Keeps the cyclic garbage collector off while any definition is parsed.

    Loading a large definition makes millions of short-lived objects (PyYAML's tokens,
    events and nodes); with the collector on, its full collections over them hold the GIL
    for up to a second at a time (measured: 1.4 s while 2 MB were loaded), stopping the
    event loop however the work is threaded. Reference counting still frees them; the
    collector comes back as soon as the last parse ends (seconds, within the limits).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parsing = 0
        self._was_enabled = False

    def __enter__(self) -> None:
        with self._lock:
            if self._parsing == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._parsing += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._parsing -= 1
            if self._parsing == 0 and self._was_enabled:
                gc.enable()


_gc_pause = _GcPause()


@dataclass(frozen=True)
class Saved:
    """A stored workflow, and the listeners storing it made."""

    row: WorkflowRow
    #: Listeners new with this save (its callback URLs), with their signing secrets; those
    #: that existed already keep theirs and are not here.
    listeners: list[ListenerRow] = field(default_factory=list)


def job_callbacks(wf: dsl.Workflow) -> list[JobCallback]:
    """The job callback URLs of a workflow's tasks, each with its tasks (none: all)."""
    out = []
    for url, names in wf.job_callbacks().items():
        own = next((n for n in names if wf.tasks[n].callback_url == url), None)
        named_in = "task-defaults" if own is None else field_path("tasks", own)
        where = f"definition.{field_path(named_in, 'callback-url')}"
        # Every task reporting there: no task filter (so no event need be looked into).
        out.append(JobCallback(url, () if len(names) == len(wf.tasks) else names, where))
    return out


def _parse(
    text: str,
    actions: Mapping[str, dsl.ActionSpec],
    limits: dsl.DefinitionLimits,
    name: str | None = None,
) -> dsl.Workflow:
    """:func:`~tidings.engine.dsl.parse_workflow` with the collector paused (a parser thread)."""
    with _gc_pause:
        return dsl.parse_workflow(text, actions, limits, name)


def _parse_all(
    text: str, actions: Mapping[str, dsl.ActionSpec], limits: dsl.DefinitionLimits
) -> dsl.Definition:
    """:func:`~tidings.engine.dsl.parse_definition` with the collector paused."""
    with _gc_pause:
        return dsl.parse_definition(text, actions, limits)


class Workflows:
    """The stored workflow definitions, and their parsed form."""

    def __init__(
        self,
        store: Store,
        actions: Mapping[str, dsl.ActionSpec],
        clock: Callable[[], float],
        listeners: ListenerRegistry | None,
        limits: dsl.DefinitionLimits | None = None,
    ) -> None:
        self._store = store
        self._actions = actions
        self._clock = clock
        self._listeners = listeners
        self._limits = limits or dsl.DefinitionLimits()
        self._cache: dict[tuple[str, float], dsl.Workflow] = {}
        # Stored rows by id and by name, so that StartExecution need not read the store
        # (on another thread) each time. Every write of a workflow goes through here:
        # while one is under way, and if one began during a read, nothing is kept.
        self._rows: dict[str, WorkflowRow] = {}
        self._writes = 0
        self._generation = 0
        # Updates and deletes one at a time: an etag is checked and the change committed
        # with no other write between them (a stale etag is ABORTED, never overwritten).
        self._changing = asyncio.Lock()
        self._requests = CreateRequests(store, "workflow", clock)
        self._parsers = ThreadPoolExecutor(_PARSERS, thread_name_prefix="tidings-definitions")

    def close(self) -> None:
        """Stop the parsing threads (a parse under way runs to its end)."""
        self._parsers.shutdown(wait=False, cancel_futures=True)

    async def parse(self, definition: str, name: str | None = None) -> dsl.Workflow:
        """Parse a definition a client sent, within the limits, off the event loop.

        ``name``: which of its workflows (None: the first). InvalidArgumentError names
        every bad field; a text over the size limit is refused here, before it reaches a
        thread.
        """
        self._check_size(definition)
        return await self._parse_off_loop(definition, self._limits, name)

    async def parse_all(self, definition: str) -> dsl.Definition:
        """Parse a definition a client sent, with all its workflows (as :meth:`parse`)."""
        self._check_size(definition)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._parsers, _parse_all, definition, self._actions, self._limits
            )
        except dsl.DefinitionError as exc:
            raise _invalid(exc) from exc

    def _check_size(self, definition: str) -> None:
        too_large = dsl.size_violation(definition, self._limits)
        if too_large is not None:
            raise _invalid(dsl.DefinitionError([too_large]))

    async def parse_stored(self, definition: str, name: str | None = None) -> dsl.Workflow:
        """Parse a stored definition's workflow ``name`` (it met the limits), off the loop."""
        return await self._parse_off_loop(definition, dsl.STORED, name)

    def parse_stored_now(self, definition: str, name: str | None = None) -> dsl.Workflow:
        """Parse a stored definition's workflow ``name`` on this thread (recovery).

        Raises :class:`~tidings.engine.dsl.DefinitionError`.
        """
        return _parse(definition, self._actions, dsl.STORED, name)

    async def _parse_off_loop(
        self, definition: str, limits: dsl.DefinitionLimits, name: str | None = None
    ) -> dsl.Workflow:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._parsers, _parse, definition, self._actions, limits, name
            )
        except dsl.DefinitionError as exc:
            raise _invalid(exc) from exc

    async def of(self, row: WorkflowRow) -> dsl.Workflow:
        """The parsed workflow of a stored row (cached; parsed off the loop if not)."""
        wf = self._cache.get((row.id, row.update_time))
        if wf is None:
            wf = await self.parse_stored(row.definition, row.name)
            self._remember(row, wf)
        return wf

    def _remember(self, row: WorkflowRow, wf: dsl.Workflow) -> None:
        if len(self._cache) > _CACHED_DEFINITIONS:
            self._cache.clear()
        self._cache[(row.id, row.update_time)] = wf

    @staticmethod
    def check_input(wf: dsl.Workflow, given: Mapping[str, Any]) -> dict[str, Any]:
        """An execution's input: the given values, defaults for the rest; refuses unknowns."""
        violations = []
        declared = {p.name for p in wf.inputs}
        for key in given:
            if key not in declared:
                violations.append(
                    FieldViolation(f"input.{key}", f"workflow {wf.name!r} has no such input")
                )
        values: dict[str, Any] = {}
        for p in wf.inputs:
            if p.name in given:
                values[p.name] = given[p.name]
            elif p.required:
                violations.append(FieldViolation(f"input.{p.name}", "required input missing"))
            else:
                values[p.name] = p.default
        if violations:
            raise InvalidArgumentError("invalid execution input", violations)
        return values

    async def create(
        self,
        definition: str,
        callback_url: str = "",
        modify_callback_url: str = "",
        *,
        validate_only: bool = False,
    ) -> Saved:
        """Validate and store a definition; the first of the workflows it defines."""
        saved = await self.create_all(
            definition, callback_url, modify_callback_url, validate_only=validate_only
        )
        return saved[0]

    async def create_all(
        self,
        definition: str,
        callback_url: str = "",
        modify_callback_url: str = "",
        *,
        validate_only: bool = False,
        record: Record | None = None,
    ) -> list[Saved]:
        """Validate and store a definition: every workflow it defines, in one commit.

        Each workflow (a workbook's as ``book.workflow``) is a workflow of its own, with
        the whole text as its definition and the callback URLs given; if any of them
        exists already, none is created (AlreadyExistsError naming them).

        With ``validate_only`` nothing is stored: the definition and the callback URLs
        are checked as for a creation, the names are not (a definition meant for an
        update validates too), and the rows returned have no id and make no listeners.
        """
        parsed = await self.parse_all(definition)
        if validate_only:
            return [
                await self._validate(wf, definition, callback_url, modify_callback_url)
                for wf in parsed.workflows.values()
            ]
        taken = [n for n in parsed.workflows if await self._store.get_workflow(n) is not None]
        if taken:
            names = ", ".join(repr(n) for n in taken)
            raise AlreadyExistsError(
                f"workflow {names} exists already",
                reason="WORKFLOW_ALREADY_EXISTS",
                metadata={"workflow": taken[0]},
            )
        now = self._clock()
        change = Change()
        saved = []
        for wf in parsed.workflows.values():
            row = WorkflowRow(
                id=new_id(),
                name=wf.name,
                definition=definition,
                description=wf.description or "",
                input_names=[p.name for p in wf.inputs],
                callback_url=callback_url,
                modify_callback_url=modify_callback_url,
                create_time=now,
                update_time=now,
            )
            change.put_workflow(row)
            saved.append(Saved(row, await self._callback_listeners(row, wf, None, change)))
        if record is not None:  # the request_id's record, in the same commit
            made = [r.id for one in saved for r in one.listeners]
            record(change, {"workflows": [one.row.id for one in saved], "listeners": made})
        with self._writing():
            await self._store.commit(change)
        for one, wf in zip(saved, parsed.workflows.values(), strict=True):
            self._remember(one.row, wf)
        return saved

    async def create_requested(
        self,
        request_id: str,
        digest: str,
        definition: str,
        callback_url: str = "",
        modify_callback_url: str = "",
    ) -> list[Saved]:
        """`create_all`, once per ``request_id`` (`tidings.store.create_requests`).

        ``digest`` stands for the whole request. A repeat answers with the workflows the
        first request stored and the listeners it made (their newest secrets).
        """

        def create(record: Record | None) -> Awaitable[list[Saved]]:
            return self.create_all(definition, callback_url, modify_callback_url, record=record)

        return await self._requests.once(request_id, digest, create, self._replay)

    async def _replay(self, made: dict[str, list[str]]) -> list[Saved]:
        """What a Create request answered: its workflows (as they are now), listeners."""
        rows = [await self.get(workflow_id) for workflow_id in made["workflows"]]
        found = await self._store.get_listeners(made["listeners"]) if made["listeners"] else {}
        listeners = [found[i] for i in made["listeners"] if i in found]
        return [Saved(row, listeners if i == 0 else []) for i, row in enumerate(rows)]

    async def _validate(
        self, wf: dsl.Workflow, definition: str, callback_url: str, modify_callback_url: str
    ) -> Saved:
        """What `create` would store, checked the same way, without storing it."""
        row = WorkflowRow(
            id="",
            name=wf.name,
            definition=definition,
            description=wf.description or "",
            input_names=[p.name for p in wf.inputs],
            callback_url=callback_url,
            modify_callback_url=modify_callback_url,
            create_time=0.0,
            update_time=0.0,
        )
        # The callback URLs are checked as the listeners are written: into a change
        # nobody commits.
        await self._callback_listeners(row, wf, None, Change())
        return Saved(row)

    async def _save(
        self, row: WorkflowRow, wf: dsl.Workflow, was: dsl.Workflow | None = None
    ) -> Saved:
        """Commit a workflow together with its (re)written callback listeners.

        ``was`` is the definition it replaces: its job callback listeners that this one
        has no more are removed.
        """
        change = Change()
        change.put_workflow(row)
        made = await self._callback_listeners(row, wf, was, change)
        with self._writing():
            await self._store.commit(change)
        return Saved(row, made)

    async def _callback_listeners(
        self, row: WorkflowRow, wf: dsl.Workflow, was: dsl.Workflow | None, change: Change
    ) -> list[ListenerRow]:
        """The workflow's seed-002 callback listeners, (re)written into `change`; the new."""
        if self._listeners is None:
            return []
        made = await self._listeners.put_workflow_callbacks(
            change, row.id, row.name, row.callback_url, row.modify_callback_url
        )
        stale = _job_listener_ids(row.id, was) if was is not None else []
        return made + await self._listeners.put_job_callbacks(
            change, row.id, row.name, job_callbacks(wf), stale
        )

    async def _stored_definition(self, row: WorkflowRow) -> dsl.Workflow | None:
        """The parsed definition of a stored row; None if it no longer parses."""
        try:
            return await self.of(row)
        except InvalidArgumentError:
            # Its job listeners cannot be named then; they stay, as any listener would.
            return None

    async def get(self, id_or_name: str) -> WorkflowRow:
        """A workflow by id or name; NotFoundError if there is none."""
        if not id_or_name:
            raise InvalidArgumentError(
                "workflow is required", [FieldViolation("workflow", "must not be empty")]
            )
        row = self._rows.get(id_or_name)
        if row is None:
            generation = self._generation
            row = await self._store.get_workflow(id_or_name)
            if row is None:
                raise not_found("workflow", id_or_name)
            if generation == self._generation and not self._writes:
                if len(self._rows) > 2 * _CACHED_DEFINITIONS:
                    self._rows.clear()
                self._rows[row.id] = self._rows[row.name] = row
        return copy.copy(row)  # the caller's own: `update` changes it

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """While a workflow is written, and after, rows kept from before are not used."""
        self._writes += 1
        self._generation += 1
        self._rows.clear()
        try:
            yield
        finally:
            self._writes -= 1
            self._generation += 1
            self._rows.clear()

    async def update(
        self,
        id_or_name: str,
        definition: str | None,
        callback_url: str | None,
        modify_callback_url: str | None,
        etag: str = "",
    ) -> Saved:
        """Replace a workflow's definition (same name) and callbacks; None keeps one.

        With an ``etag``, only if it is the workflow's current one (else AbortedError).
        """
        async with self._changing:
            return await self._update(
                id_or_name, definition, callback_url, modify_callback_url, etag
            )

    async def _update(
        self,
        id_or_name: str,
        definition: str | None,
        callback_url: str | None,
        modify_callback_url: str | None,
        etag: str,
    ) -> Saved:
        row = await self.get(id_or_name)
        _check_etag(row, etag)
        if definition is None:
            definition = row.definition
        parsed = await self.parse_all(definition)
        was = await self._stored_definition(row)
        wf = parsed.workflows.get(row.name)
        if wf is None:
            names = ", ".join(repr(n) for n in parsed.workflows)
            raise InvalidArgumentError(
                "the workflow name cannot change",
                [FieldViolation("definition", f"names {names}, expected {row.name!r}")],
            )
        row.definition = definition
        row.description = wf.description or ""
        row.input_names = [p.name for p in wf.inputs]
        if callback_url is not None:
            row.callback_url = callback_url
        if modify_callback_url is not None:
            row.modify_callback_url = modify_callback_url
        # Strictly later, so the etag changes even if the clock has not moved.
        row.update_time = max(self._clock(), math.nextafter(row.update_time, math.inf))
        saved = await self._save(row, wf, was)
        self._remember(row, wf)
        return saved

    async def delete(self, id_or_name: str, etag: str = "") -> None:
        """Delete a workflow; its executions keep running on their own snapshot.

        With an ``etag``, only if it is the workflow's current one (else AbortedError).
        """
        async with self._changing:
            await self._delete(id_or_name, etag)

    async def _delete(self, id_or_name: str, etag: str) -> None:
        row = await self.get(id_or_name)
        _check_etag(row, etag)
        change = Change()
        change.delete_workflow(row.id)
        if self._listeners is not None:
            self._listeners.drop_workflow_callbacks(change, row.id)
            was = await self._stored_definition(row)
            if was is not None:
                self._listeners.remove(change, _job_listener_ids(row.id, was))
        with self._writing():
            await self._store.commit(change)


def _check_etag(row: WorkflowRow, etag: str) -> None:
    """Refuse a request whose etag is not the workflow's current one (none: no check)."""
    if etag and etag != row.etag():
        raise AbortedError(
            f"workflow {row.name!r} has changed since etag {etag!r} was read: "
            "read it again and retry",
            metadata={"workflow": row.id, "etag": row.etag()},
        )


def _job_listener_ids(workflow_id: str, wf: dsl.Workflow) -> list[str]:
    """The ids of the job callback listeners a definition gives its workflow."""
    return [job_listener_id(workflow_id, url) for url in wf.job_callbacks()]


def _invalid(exc: dsl.DefinitionError) -> InvalidArgumentError:
    """The API's error for a bad definition: each field under ``definition``."""
    return InvalidArgumentError(
        str(exc),
        [
            FieldViolation(f"definition.{v.field}" if v.field else "definition", v.description)
            for v in exc.violations
        ],
    )
