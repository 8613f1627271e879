"""The listener registry: create, read, change and delete listeners, enforcing their rules."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from tidings.errors import AbortedError, FieldViolation, invalid, not_found
from tidings.listeners.scoped import (
    CALLBACK_KEYS,
    JobCallback,
    job_listeners,
    notify_listeners,
    workflow_listeners,
)
from tidings.listeners.secrets import (
    DEFAULT_GRACE_S,
    MAX_GRACE_S,
    decode_secret,
    new_secret,
    rotate,
)
from tidings.listeners.spec import (
    ListenerSpec,
    WebhookSpec,
    build_row,
    check_webhook_urls,
    url_host,
    validate,
)
from tidings.net import RESOLVE_TIMEOUT_S, DestinationGuard
from tidings.store import Change, EventRow, Store
from tidings.store.create_requests import CreateRequests, Record
from tidings.store.listeners import ListenerRow

log = logging.getLogger(__name__)


class ListenerRegistry:
    """Create, read, change and delete listeners, enforcing the rules of this module.

    Changes of a listener go through one lock: they are rare, and a rotation must not
    interleave with an update of the same row (either would lose the other's change).
    Creating one takes no lock (no one knows its id yet): concurrent creations share
    the store's transactions.
    """

    def __init__(
        self,
        store: Store,
        allow_private: Sequence[str] = (),
        *,
        resolve_timeout: float = RESOLVE_TIMEOUT_S,
        clock: Callable[[], float] = time.time,
        announce: Callable[[str, str, str, float], EventRow] | None = None,
    ) -> None:
        self.store = store
        self.guard = DestinationGuard(allow_private, resolve_timeout=resolve_timeout)
        self._clock = clock
        #: Makes the LISTENER_DISABLED event (listener id, name, reason, time).
        self._announce = announce
        self._lock = asyncio.Lock()
        self._requests = CreateRequests(store, "listener", self._clock)

    # --- listeners the engine makes with workflows and executions ---------------

    def add(self, change: Change, rows: Sequence[ListenerRow]) -> None:
        """Write listeners into `change`.

        A new listener hears what is committed from this change on (its cursor opens at
        the end of the outbox); one that exists already keeps its place.
        """
        for row in rows:
            change.put_listener(row)
            change.open_cursor(row.id)

    @staticmethod
    def remove(change: Change, listener_ids: Sequence[str]) -> None:
        """Delete listeners, and where they had read the outbox to, in `change`."""
        for listener_id in listener_ids:
            change.delete_listener(listener_id)
            change.drop_cursor(listener_id)

    async def put_workflow_callbacks(
        self,
        change: Change,
        workflow_id: str,
        workflow_name: str,
        callback_url: str,
        modify_callback_url: str,
    ) -> list[ListenerRow]:
        """(Re)write a workflow's seed-002 callback listeners into `change`.

        Returns the listeners this makes, with their signing secrets (`_new`). Raises
        InvalidArgumentError (fields ``callback_url``, ``modify_callback_url``) for a
        malformed or refused URL; a URL left empty removes its listener.
        """
        urls = dict(zip(CALLBACK_KEYS, (callback_url, modify_callback_url), strict=True))
        await check_webhook_urls(self.guard, urls)
        rows = workflow_listeners(
            workflow_id, workflow_name, callback_url, modify_callback_url, now=self._clock()
        )
        made = await self._new(rows)
        self.add(change, rows)
        kept = {r.id for r in rows}
        self.remove(
            change, [f"{workflow_id}.{key}" for key in urls if f"{workflow_id}.{key}" not in kept]
        )
        return made

    async def put_job_callbacks(
        self,
        change: Change,
        workflow_id: str,
        workflow_name: str,
        jobs: Sequence[JobCallback],
        stale: Sequence[str] = (),
    ) -> list[ListenerRow]:
        """(Re)write a workflow's seed-002 job callback listeners into `change`.

        ``stale`` are the ids of its job listeners so far: those not written again are
        removed. Returns the listeners this makes, with their signing secrets (`_new`).
        Raises InvalidArgumentError naming each job's ``field`` with a bad URL.
        """
        await check_webhook_urls(self.guard, {job.field: job.url for job in jobs})
        rows = job_listeners(workflow_id, workflow_name, jobs, now=self._clock())
        made = await self._new(rows)
        self.add(change, rows)
        kept = {r.id for r in rows}
        self.remove(change, [i for i in stale if i not in kept])
        return made

    async def _new(self, rows: Sequence[ListenerRow]) -> list[ListenerRow]:
        """Of engine-made `rows` about to be written, those that do not exist yet.

        One that exists keeps its signing secrets and creation time: whoever verifies its
        deliveries was given the secret when it was made.
        """
        old = await self.store.get_listeners([r.id for r in rows])
        for row in rows:
            if row.id in old:
                row.secrets, row.create_time = old[row.id].secrets, old[row.id].create_time
        return [r for r in rows if r.id not in old]

    def drop_workflow_callbacks(self, change: Change, workflow_id: str) -> None:
        """Delete a workflow's seed-002 callback listeners in `change`."""
        self.remove(change, [f"{workflow_id}.{key}" for key in CALLBACK_KEYS])

    async def notify_targets(
        self, execution_id: str, targets: Sequence[Mapping[str, Any]]
    ) -> list[ListenerRow]:
        """The checked listeners of an execution's notify targets (see `notify_listeners`).

        Raises InvalidArgumentError with paths like ``notify[0].url``.
        """
        rows = notify_listeners(execution_id, targets, now=self._clock())
        await check_webhook_urls(
            self.guard, {f"notify[{i}].url": str(t.get("url", "")) for i, t in enumerate(targets)}
        )
        return rows

    async def _checked(
        self, spec: ListenerSpec, extra: Sequence[FieldViolation] = ()
    ) -> ListenerSpec:
        """`spec` with its scope resolved, or InvalidArgumentError naming every problem."""
        out = [*validate(spec), *extra]
        t = spec.transport
        if isinstance(t, WebhookSpec) and not any(v.field == "listener.webhook.url" for v in out):
            refusal = await self.guard.check(url_host(t.url))
            if refusal is not None:
                out.append(FieldViolation("listener.webhook.url", refusal))
        scope_id = spec.scope_id
        scope_ok = not any(v.field.startswith("listener.scope") for v in out)
        if scope_ok and spec.scope == "WORKFLOW":
            wf = await self.store.get_workflow(spec.scope_id)
            if wf is None:
                out.append(FieldViolation("listener.scope_id", "no such workflow"))
            else:
                scope_id = wf.id  # a name is accepted; the id is what events carry
        elif scope_ok and spec.scope == "EXECUTION":
            execution = await self.store.get_execution(spec.scope_id)
            if execution is None:
                out.append(FieldViolation("listener.scope_id", "no such execution"))
        if out:
            raise invalid("listener", out)
        return dataclasses.replace(spec, scope=spec.scope or "GLOBAL", scope_id=scope_id)

    async def create(
        self,
        spec: ListenerSpec,
        signing_secret: str = "",
        request_id: str = "",
        digest: str = "",
    ) -> tuple[ListenerRow, str]:
        """Store a new listener; returns it and its signing secret (generated if not given).

        With a ``request_id``, once (`tidings.store.create_requests`): a repeat of the
        request (``digest`` stands for it) answers with the listener the first one made
        and its newest secret.
        """

        def create(record: Record | None) -> Awaitable[tuple[ListenerRow, str]]:
            return self._create(spec, signing_secret, record)

        return await self._requests.once(request_id, digest, create, self._replay)

    async def _replay(self, made: dict[str, list[str]]) -> tuple[ListenerRow, str]:
        row = await self.get(made["listeners"][0])
        return row, row.secrets[0]["secret"] if row.secrets else ""

    async def _create(
        self, spec: ListenerSpec, signing_secret: str, record: Record | None
    ) -> tuple[ListenerRow, str]:
        extra = []
        if signing_secret:
            try:
                decode_secret(signing_secret)
            except ValueError as exc:
                extra.append(FieldViolation("signing_secret", str(exc)))
        spec = await self._checked(spec, extra)
        secret = signing_secret or new_secret()
        row = build_row(
            spec, str(uuid.uuid4()), self._clock(), [{"secret": secret, "expire_time": None}]
        )
        change = Change()
        self.add(change, [row])
        if record is not None:  # the request_id's record, in the same commit
            record(change, {"listeners": [row.id]})
        await self.store.commit(change)
        log.info("listener %s (%s) created: %s %s", row.id, row.name, row.profile, row.transport)
        return row, secret

    async def get(self, listener_id: str) -> ListenerRow:
        """A listener by id; NotFoundError if there is none."""
        if not listener_id:
            raise invalid("request", [FieldViolation("id", "is required")])
        row = await self.store.get_listener(listener_id)
        if row is None:
            raise not_found("listener", listener_id)
        return row

    async def list_page(self, page_token: str, limit: int) -> tuple[list[ListenerRow], str]:
        """A page of listeners in creation order, and the next page's token."""
        return await self.store.list_listeners(page_token, limit)

    async def update(
        self, listener_id: str, make: Callable[[ListenerRow], ListenerSpec], etag: str = ""
    ) -> ListenerRow:
        """Replace a listener's settings with ``make(stored row)``.

        Its id, secrets and creation time stay. With an ``etag``, only if it is the
        listener's current one (else AbortedError): checked and written under the lock.
        """
        if not listener_id:
            raise invalid("request", [FieldViolation("listener.id", "is required")])
        async with self._lock:
            old = await self.get(listener_id)
            _check_etag(old, etag)
            spec = await self._checked(make(old))
            # Strictly later, so the etag changes even if the clock has not moved.
            now = max(self._clock(), math.nextafter(old.update_time, math.inf))
            row = build_row(spec, old.id, now, old.secrets)
            row.create_time = old.create_time
            if "tasks" in old.filter:  # a job callback's tasks: not a field of the API
                row.filter["tasks"] = old.filter["tasks"]
            # The reason of an automatic disabling stays until someone enables it again.
            row.disabled_reason = "" if row.enabled else old.disabled_reason
            change = Change()
            change.put_listener(row)
            await self.store.commit(change)
        return row

    async def delete(self, listener_id: str, etag: str = "") -> None:
        """Delete a listener; NotFoundError if there is none, AbortedError if stale."""
        async with self._lock:
            _check_etag(await self.get(listener_id), etag)
            change = Change()
            self.remove(change, [listener_id])
            await self.store.commit(change)
        log.info("listener %s deleted", listener_id)

    async def rotate_secret(
        self, listener_id: str, grace_s: float | None = None
    ) -> tuple[str, float]:
        """A new signing secret; the current one keeps signing for `grace_s` (default 24 h).

        Returns the new secret and when the old one stops signing.
        """
        grace = DEFAULT_GRACE_S if grace_s is None else grace_s
        if not (math.isfinite(grace) and 0 <= grace <= MAX_GRACE_S):
            raise invalid(
                "request",
                [FieldViolation("grace_period", f"must be 0 to {MAX_GRACE_S / 86400:g} days")],
            )
        async with self._lock:
            row = await self.get(listener_id)
            now = self._clock()
            secret = new_secret()
            row.secrets, expire = rotate(row.secrets, secret, now, grace)
            row.update_time = now
            change = Change()
            change.put_listener(row)
            await self.store.commit(change)
        log.info("listener %s: signing secret rotated", listener_id)
        return secret, expire

    async def disable(self, listener_id: str, reason: str) -> ListenerRow:
        """Disable a listener automatically (410 Gone, failing too long), saying why."""
        async with self._lock:
            row = await self.get(listener_id)
            if not row.enabled:
                return row
            row.enabled, row.disabled_reason, row.update_time = False, reason, self._clock()
            change = Change()
            change.put_listener(row)
            if self._announce is not None:  # in the same transaction: it happened
                change.add_event(self._announce(row.id, row.name, reason, row.update_time))
            await self.store.commit(change)
        log.warning("listener %s disabled: %s", listener_id, reason)
        return row


def _check_etag(row: ListenerRow, etag: str) -> None:
    """Refuse a request whose etag is not the listener's current one (none: no check)."""
    if etag and etag != row.etag():
        raise AbortedError(
            f"listener {row.id!r} has changed since etag {etag!r} was read: "
            "read it again and retry",
            metadata={"listener": row.id, "etag": row.etag()},
        )
