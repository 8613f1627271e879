"""Create RPCs' ``request_id`` (AIP-155): one creation per id, whatever the retries.

The rule is StartExecution's (`tidings.engine.requests`): a request repeated with the
same ``request_id`` answers with what the first one made; the same ``request_id`` with a
different request is INVALID_ARGUMENT (reason REQUEST_ID_REUSED) naming ``request_id``.
The record is committed in the same change as what the request made, so it exists
exactly when that does, across restarts; it is kept REQUEST_ID_KEEP_S.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tidings.errors import FieldViolation, InvalidArgumentError
from tidings.store.base import Store
from tidings.store.rows import Change, CreateRequestRow

__all__ = ["MAX_REQUEST_ID", "CreateRequests", "Record"]

T = TypeVar("T")

#: The longest request_id taken (AIP-155 suggests a UUID; room for other keys).
MAX_REQUEST_ID = 128

#: Adds the request's record to the change that creates: ``record(change, made)``.
Record = Callable[[Change, dict[str, list[str]]], None]


class CreateRequests:
    """The request_ids of one kind of Create request (``workflow``, ``listener``)."""

    def __init__(self, store: Store, kind: str, clock: Callable[[], float]) -> None:
        self._store = store
        self._kind = kind
        self._clock = clock
        # One such request at a time: a concurrent duplicate waits, then finds the record.
        self._lock = asyncio.Lock()

    async def once(
        self,
        request_id: str,
        digest: str,
        create: Callable[[Record | None], Awaitable[T]],
        replay: Callable[[dict[str, list[str]]], Awaitable[T]],
    ) -> T:
        """``create(record)``'s answer, or, for a repeated request, ``replay(made)``'s.

        Without a request_id, ``create(None)``: nothing is remembered.
        """
        if not request_id:
            return await create(None)
        if len(request_id) > MAX_REQUEST_ID:
            why = f"at most {MAX_REQUEST_ID} characters"
            raise InvalidArgumentError(f"request_id: {why}", [FieldViolation("request_id", why)])
        async with self._lock:
            found = await self._store.find_create_request(self._kind, request_id)
            if found is None:

                def record(change: Change, made: dict[str, list[str]]) -> None:
                    row = CreateRequestRow(self._kind, request_id, digest, made, self._clock())
                    change.put_request(row)

                return await create(record)
        if found.digest != digest:
            what = f"was used for a different {self._kind} request"
            raise InvalidArgumentError(
                f"request_id {request_id!r} {what}",
                [FieldViolation("request_id", what)],
                reason="REQUEST_ID_REUSED",
                metadata={
                    "request_id": request_id,
                    **{k: ",".join(v) for k, v in found.made.items()},
                },
            )
        return await replay(found.made)
