"""The dispatcher: one pipeline per delivery target, woken by commits.

It meets the engine only in the store's outbox: it reads committed events, never the
engine's memory, which is what makes delivery survive a crash of either. Targets are
the seed-000 Kafka defaults (when a bootstrap address is configured) and every enabled
listener; the set follows listener changes as they happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

from tidings.dispatch.kafka.pipeline import KafkaPipeline
from tidings.dispatch.kafka.sink import KafkaSink
from tidings.dispatch.targets import EventFilter, KafkaTarget, builtin_kafka_target
from tidings.dispatch.webhook.ping import ping
from tidings.dispatch.webhook.pipeline import WebhookPipeline
from tidings.dispatch.webhook.sink import Attempt, WebhookSink
from tidings.errors import FailedPreconditionError
from tidings.listeners import ListenerRegistry, signing_keys
from tidings.net import DestinationGuard
from tidings.store import Store
from tidings.store.listeners import ListenerRow

log = logging.getLogger(__name__)


class Pipeline(Protocol):
    """What the dispatcher drives."""

    cursor: int

    def wake(self) -> None:
        """New events were committed."""

    async def run(self) -> None:
        """Deliver until cancelled."""


class Dispatcher:
    """Delivers the outbox to every target."""

    def __init__(
        self,
        store: Store,
        *,
        listeners: ListenerRegistry | None = None,
        guard: DestinationGuard | None = None,
        kafka_bootstrap: str = "",
        service_topic: str = "service",
        mistral_topic: str = "mistral",
        timezone: str = "UTC",
    ) -> None:
        self.store = store
        self.registry = listeners
        self.timezone = timezone
        self.pipelines: dict[str, Pipeline] = {}
        self._rows: dict[str, ListenerRow] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._kafka = KafkaSink(kafka_bootstrap) if kafka_bootstrap else None
        self._webhooks = WebhookSink(guard or DestinationGuard())
        self._builtin = builtin_kafka_target(service_topic, mistral_topic)
        self._reconciling: asyncio.Task[None] | None = None
        self._dirty = False

    def wake(self) -> None:
        """Called after each commit that wrote events."""
        for pipeline in self.pipelines.values():
            pipeline.wake()

    async def start(self) -> None:
        """Start the pipelines (each resumes from its saved cursor)."""
        self.store.on_commit(self.wake)
        if self._kafka is not None:
            self._start(self._builtin.id, KafkaPipeline(self._builtin, self.store, self._kafka,
                                                        timezone=self.timezone))  # fmt: skip
        if self.registry is not None:
            self.registry.on_change(self.listeners_changed)
        await self.reconcile()

    def _start(self, key: str, pipeline: Pipeline) -> None:
        self.pipelines[key] = pipeline
        self._tasks[key] = asyncio.create_task(self._guard(key, pipeline), name=f"dispatch {key}")

    async def _stop(self, key: str) -> None:
        task = self._tasks.pop(key, None)
        self.pipelines.pop(key, None)
        self._rows.pop(key, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _guard(self, key: str, pipeline: Pipeline) -> None:
        # A bug in one pipeline must not silently stop its delivery: log, and start
        # over from the saved cursor (at-least-once).
        while True:
            try:
                await pipeline.run()
                # Finished (an execution's notify target after the end): forget the
                # pipeline but keep the row, so a reopened execution can restart it.
                self.pipelines.pop(key, None)
                self._tasks.pop(key, None)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatch: pipeline %s failed; restarting", key)
                await asyncio.sleep(1.0)

    def listeners_changed(self) -> None:
        """A listener was created, changed or deleted: bring the pipelines in line."""
        self._dirty = True
        if self._reconciling is None or self._reconciling.done():
            self._reconciling = asyncio.get_running_loop().create_task(self._reconcile_loop())

    async def _reconcile_loop(self) -> None:
        while self._dirty:
            self._dirty = False
            try:
                await self.reconcile()
            except Exception:
                log.exception("dispatch: cannot follow listener changes")

    async def reconcile(self) -> None:
        """Start, restart or stop pipelines to match the enabled listeners."""
        rows = {r.id: r for r in await self.store.all_listeners() if r.enabled}
        for key in [k for k in self._rows if k not in rows]:
            await self._stop(key)
        for key, row in rows.items():
            old = self._rows.get(key)
            if old is not None and key not in self.pipelines:
                # A finished notify target: only more events of its execution revive it.
                cursor = await self.store.load_cursor(key) or 0
                if row.scope != "EXECUTION" or not await self.store.has_events_after(
                    row.scope_id, cursor
                ):
                    continue
                old = None
            if old is not None:
                pipeline = self.pipelines.get(key)
                if _same_route(old, row) and isinstance(pipeline, WebhookPipeline):
                    pipeline.row = row  # e.g. a rotated secret: no restart, no re-send
                    self._rows[key] = row
                    continue
                if _same_route(old, row):
                    self._rows[key] = row
                    continue
                await self._stop(key)
            pipeline = self._pipeline(row)
            if pipeline is not None:
                self._rows[key] = row
                self._start(key, pipeline)

    def _pipeline(self, row: ListenerRow) -> Pipeline | None:
        if row.transport == "webhook":
            return WebhookPipeline(
                row, self.store, self._webhooks, timezone=self.timezone, disable=self._disable
            )
        if row.transport == "kafka":
            if self._kafka is None:
                log.warning("listener %s: Kafka is not configured; nothing delivered", row.id)
                return None
            target = KafkaTarget(
                id=row.id,
                profile=row.profile,
                topic=str(row.config["topic"]),
                filter=EventFilter.of_listener(row),
                cloudevents_binary=row.config.get("cloudevents_mode") == "BINARY",
            )
            return KafkaPipeline(target, self.store, self._kafka, timezone=self.timezone)
        log.warning("listener %s: unknown transport %r", row.id, row.transport)
        return None

    async def _disable(self, listener_id: str, reason: str) -> None:
        if self.registry is not None:
            await self.registry.disable(listener_id, reason)

    async def redeliver(
        self, listener_id: str, event_id: str = "", start: float = 0.0, end: float = 0.0
    ) -> int:
        """Queue events again for a webhook listener; returns how many were queued.

        One event, or every failed or dead delivery whose event happened in [start, end).
        """
        pipeline = self.pipelines.get(listener_id)
        if not isinstance(pipeline, WebhookPipeline):
            raise LookupError(f"listener {listener_id!r} has no running webhook delivery")
        if event_id:
            rows = await self.store.delivery_rows(listener_id, event_ids=[event_id])
            if not rows:  # never attempted (e.g. before the listener was enabled)
                events = await self.store.read_events_by_id([event_id])
                if event_id not in events:
                    raise KeyError(f"event {event_id!r} not found")
                ev = events[event_id]
                rows = [pipeline.delivery_of(ev)]
        else:
            rows = await self.store.delivery_rows(
                listener_id, states=("FAILED", "DEAD"), start=start, end=end or float("inf")
            )
        return await pipeline.redeliver(rows)

    async def test_listener(self, row: ListenerRow) -> Attempt:
        """Send a signed ping to a webhook listener through the webhook sink.

        NotImplementedError for other transports; FailedPreconditionError if no secret
        is in force.
        """
        if row.transport != "webhook":
            raise NotImplementedError(
                f"TestListener supports webhook listeners only, not {row.transport}"
            )
        now = time.time()
        if not signing_keys(row, now):
            raise FailedPreconditionError(f"listener {row.id} has no valid signing secret")
        return await ping(self._webhooks, row, now=now)

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) until every pipeline has caught up with the outbox."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last = await self.store.last_position()
        while loop.time() < deadline:
            if all(p.cursor >= last for p in self.pipelines.values()):
                return
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """Stop the pipelines, flush the producer, close connections."""
        if self._reconciling is not None:
            self._reconciling.cancel()
        for key in list(self._tasks):
            await self._stop(key)
        if self._kafka is not None:
            await asyncio.to_thread(self._kafka.close)
        await self._webhooks.aclose()


def _same_route(a: ListenerRow, b: ListenerRow) -> bool:
    """Whether two versions of a listener deliver the same events the same way."""
    return (a.transport, a.config, a.profile, a.filter, a.scope, a.scope_id, a.retry) == (
        b.transport, b.config, b.profile, b.filter, b.scope, b.scope_id, b.retry,
    )  # fmt: skip
