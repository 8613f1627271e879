"""StartExecution's ``request_id``: one execution per id, whatever the retries.

A request that repeats one already made (the same ``request_id``, workflow, input,
notify targets and timeout) answers with the execution the first one started, even
while that one is still starting; a different request with a used ``request_id`` is
refused with INVALID_ARGUMENT naming ``request_id``, never answered with another
request's execution.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from tidings.engine import dsl
from tidings.engine.workflows import Workflows
from tidings.errors import FieldViolation, InvalidArgumentError, TidingsError
from tidings.store import ExecutionRow, Store

__all__ = ["StartRequest", "StartRequests"]


def _canonical(value: object) -> bytes:
    """JSON with sorted keys: the same request's values agree (``1``, ``1.0``, ``true`` do not)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True)
class StartRequest:
    """What a StartExecution asked for."""

    workflow: str
    input: Mapping[str, Any] | None
    request_id: str
    notify: Sequence[Mapping[str, Any]]
    timeout_s: float
    headers: Sequence[tuple[str, str]] = ()
    env: Mapping[str, Any] | None = None
    #: The target task of a reverse workflow.
    task_name: str = ""


class StartRequests:
    """The executions started with a ``request_id``, and those starting now."""

    def __init__(self, store: Store, workflows: Workflows) -> None:
        self._store = store
        self._workflows = workflows
        self._starting: dict[str, asyncio.Future[ExecutionRow]] = {}  # request_id -> start

    async def start(
        self, request: StartRequest, start: Callable[[], Awaitable[ExecutionRow]]
    ) -> ExecutionRow:
        """The execution of ``request``: the one its ``request_id`` started, or ``start()``'s."""
        pending = self._starting.get(request.request_id)
        if pending is not None:
            row = await asyncio.shield(pending)
            await self._same(row, request)
            return row
        # Registered before the first await, so a concurrent duplicate waits for us.
        future: asyncio.Future[ExecutionRow] = asyncio.get_running_loop().create_future()
        self._starting[request.request_id] = future
        try:
            existing = await self._store.find_execution_by_request_id(request.request_id)
            row = existing or await start()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # consumed: waiters re-raise it themselves
            raise
        finally:
            self._starting.pop(request.request_id, None)
        future.set_result(row)
        if existing is not None:
            await self._same(row, request)
        return row

    async def _same(self, row: ExecutionRow, request: StartRequest) -> None:
        """Refuse ``request`` unless it is the one that started ``row``.

        The same workflow (by id or name), input (as given, or with the defaults it left
        filled in), notify targets, timeout, headers, environment and target task.
        """
        differ = []
        if request.workflow not in (row.workflow_id, row.workflow_name):
            differ.append("workflow")
        given = request.input or {}
        if _canonical(given) != _canonical(row.input):
            try:  # the first request may have left inputs to their defaults
                wf = await self._workflows.parse_stored(row.definition, row.workflow_name)
                values = self._workflows.check_input(wf, given)
                same = _canonical(values) == _canonical(row.input)
            except (TidingsError, dsl.DefinitionError):
                same = False
            if not same:
                differ.append("input")
        if _canonical([dict(n) for n in request.notify]) != _canonical(row.notify):
            differ.append("notify")
        if request.timeout_s != row.timeout_s:
            differ.append("timeout")
        if [list(h) for h in request.headers] != [list(h) for h in row.headers]:
            differ.append("headers")
        if _canonical(dict(request.env or {})) != _canonical(row.env):
            differ.append("env")
        if request.task_name != row.task_name:
            differ.append("task_name")
        if differ:
            what = f"was used by execution {row.id} for a different request ({', '.join(differ)})"
            raise InvalidArgumentError(
                f"request_id {request.request_id!r} {what}",
                [FieldViolation("request_id", what)],
                reason="REQUEST_ID_REUSED",
                metadata={"request_id": request.request_id, "execution": row.id},
            )
