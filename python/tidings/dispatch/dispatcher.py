"""The dispatcher: the outbox to webhook listeners and Kafka targets, woken by commits.

It meets the engine only in the store's outbox: it reads committed events, never the
engine's memory, which is what makes delivery survive a crash of either. Webhook
listeners, however many, share one outbox reader (`fanout`) that hands each event to
those that hear it; Kafka targets (the seed-000 defaults when a bootstrap address is
configured, and each enabled Kafka listener) each follow the outbox from their own
cursor. Listener changes are followed as the store commits them, one listener at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping

from tidings.dispatch.fanout import Fanout
from tidings.dispatch.kafka.pipeline import KafkaPipeline
from tidings.dispatch.kafka.sink import KafkaSink
from tidings.dispatch.targets import EventFilter, KafkaTarget, builtin_kafka_target
from tidings.dispatch.webhook.delivery import WebhookDelivery
from tidings.dispatch.webhook.ping import ping
from tidings.dispatch.webhook.sink import Attempt, WebhookSink
from tidings.errors import FailedPreconditionError
from tidings.listeners import ListenerRegistry, signing_keys
from tidings.metrics import record
from tidings.net import DestinationGuard
from tidings.store import Committed, Store
from tidings.store.listeners import ListenerRow

log = logging.getLogger(__name__)


class Dispatcher:
    """Delivers the outbox to every target."""

    def __init__(
        self,
        store: Store,
        *,
        listeners: ListenerRegistry | None = None,
        guard: DestinationGuard | None = None,
        kafka_bootstrap: str = "",
        kafka_properties: Mapping[str, str] | None = None,
        service_topic: str = "service",
        mistral_topic: str = "mistral",
        mistral_extensions: bool = False,
        timezone: str = "UTC",
        engine_name: str = "",
        engine_version: str = "",
    ) -> None:
        self.store = store
        self.registry = listeners
        self.timezone = timezone
        #: Kafka targets: the seed-000 defaults and each enabled Kafka listener.
        self.pipelines: dict[str, KafkaPipeline] = {}
        self._rows: dict[str, ListenerRow] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        #: The producer; its librdkafka properties are ours plus ``kafka_properties``
        #: (security: TLS, SASL), which `kafka.settings.check` has checked.
        self.kafka = KafkaSink(kafka_bootstrap, kafka_properties) if kafka_bootstrap else None
        self._webhooks = WebhookSink(guard or DestinationGuard())
        self.fanout = Fanout(store, self._webhooks, timezone=timezone, disable=self._disable)
        self._builtin = builtin_kafka_target(
            service_topic, mistral_topic, extensions=mistral_extensions
        )
        #: Who the engine is, for TestListener's synthetic event.
        self.engine = (engine_name, engine_version)
        self._changed: set[str] = set()
        self._following: asyncio.Task[None] | None = None

    def retention_holders(self) -> list[str]:
        """The cursors that keep events from retention (the store adds Kafka listeners').

        The webhook reader's shared cursor, and the seed-000 Kafka target's when Kafka
        is configured (without it, its old cursor would keep everything forever).
        """
        holders = [self.fanout.ledger.cursor_id]
        if self.kafka is not None:
            holders.append(self._builtin.id)
        return holders

    def wake(self) -> None:
        """Called after each commit that wrote events."""
        for pipeline in self.pipelines.values():
            pipeline.wake()

    def _committed(self, info: Committed) -> None:
        self.fanout.committed(info)
        if info.listeners and self.kafka is not None:
            self._changed.update(info.listeners)
            if self._following is None or self._following.done():
                self._following = asyncio.get_running_loop().create_task(self._follow_kafka())

    async def start(self) -> None:
        """Start delivering (webhooks from the shared cursor, Kafka targets from theirs)."""
        self.store.on_committed(self._committed)
        self.store.on_commit(self.wake)
        await self.fanout.start()
        if self.kafka is None:
            return
        self._start(self._builtin.id, KafkaPipeline(self._builtin, self.store, self.kafka,
                                                    timezone=self.timezone))  # fmt: skip
        for row in await self.store.all_listeners():
            if row.enabled and row.transport == "kafka":
                self._start_kafka(row)

    # --- Kafka targets ----------------------------------------------------------------

    def _start(self, key: str, pipeline: KafkaPipeline) -> None:
        self.pipelines[key] = pipeline
        self._tasks[key] = asyncio.create_task(self._guard(key, pipeline), name=f"dispatch {key}")

    def _start_kafka(self, row: ListenerRow) -> None:
        assert self.kafka is not None
        target = KafkaTarget(
            id=row.id,
            profile=row.profile,
            topic=str(row.config["topic"]),
            filter=EventFilter.of_listener(row),
            cloudevents_binary=row.config.get("cloudevents_mode") == "BINARY",
            extensions=bool(row.config.get("extensions")),
        )
        self._rows[row.id] = row
        self._start(row.id, KafkaPipeline(target, self.store, self.kafka, timezone=self.timezone))

    async def _stop(self, key: str) -> None:
        task = self._tasks.pop(key, None)
        self.pipelines.pop(key, None)
        self._rows.pop(key, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _guard(self, key: str, pipeline: KafkaPipeline) -> None:
        # A bug in one pipeline must not silently stop its delivery: log, and start
        # over from the saved cursor (at-least-once).
        while True:
            try:
                await pipeline.run()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatch: pipeline %s failed; restarting", key)
                await asyncio.sleep(1.0)

    async def _follow_kafka(self) -> None:
        """Start, restart or stop the Kafka pipelines of the listeners that changed."""
        while self._changed:
            ids, self._changed = list(self._changed), set()
            try:
                rows = await self.store.get_listeners(ids)
                for key in ids:
                    row, old = rows.get(key), self._rows.get(key)
                    wanted = row is not None and row.enabled and row.transport == "kafka"
                    same = wanted and row is not None and old is not None and _same_route(old, row)
                    if old is not None and not same:
                        await self._stop(key)
                    if wanted and row is not None and key not in self.pipelines:
                        self._start_kafka(row)
                    elif wanted and row is not None:
                        self._rows[key] = row
            except Exception:
                log.exception("dispatch: cannot follow Kafka listener changes")

    async def _disable(self, listener_id: str, reason: str) -> None:
        if self.registry is not None:
            await self.registry.disable(listener_id, reason)
            record.listener_disabled()

    async def redeliver(
        self, listener_id: str, event_id: str = "", start: float = 0.0, end: float = 0.0
    ) -> int:
        """Queue events again for a webhook listener; returns how many were queued.

        One event, or every failed or dead delivery whose event happened in [start, end).
        """
        if listener_id not in self.fanout.index:
            raise _not_running(listener_id)
        if event_id:
            rows = await self.store.delivery_rows(listener_id, event_ids=[event_id])
            if not rows:  # never attempted (e.g. before the listener was enabled)
                events = await self.store.read_events_by_id([event_id])
                if event_id not in events:
                    raise KeyError(f"event {event_id!r} not found")
                rows = [self._running(listener_id).delivery_of(events[event_id])]
        else:
            rows = await self.store.delivery_rows(
                listener_id, states=("FAILED", "DEAD"), start=start, end=end or float("inf")
            )
        return await self._running(listener_id).redeliver(rows)

    def _running(self, listener_id: str) -> WebhookDelivery:
        # Asked for after each wait: an idle listener's delivery is made, dropped, made.
        delivery = self.fanout.delivery(listener_id)
        if delivery is None:
            raise _not_running(listener_id)
        return delivery

    async def test_listener(self, row: ListenerRow) -> Attempt:
        """Send a signed ping (a synthetic event in its own shape) to a webhook listener.

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
        return await ping(self._webhooks, row, self.fanout.renderers, now=now, engine=self.engine)

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) until every target has caught up with the outbox."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last = await self.store.last_position()
        await self.fanout.drain(timeout)
        while loop.time() < deadline:
            if all(p.cursor >= last for p in self.pipelines.values()):
                return
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """Stop delivering, flush the producer, close connections."""
        if self._following is not None:
            self._following.cancel()
        for key in list(self._tasks):
            await self._stop(key)
        await self.fanout.stop()
        if self.kafka is not None:
            await asyncio.to_thread(self.kafka.close)
        await self._webhooks.aclose()


def _not_running(listener_id: str) -> LookupError:
    return LookupError(f"listener {listener_id!r} has no running webhook delivery")


def _same_route(a: ListenerRow, b: ListenerRow) -> bool:
    """Whether two versions of a listener deliver the same events the same way."""
    return (a.transport, a.config, a.profile, a.filter, a.scope, a.scope_id, a.retry) == (
        b.transport, b.config, b.profile, b.filter, b.scope, b.scope_id, b.retry,
    )  # fmt: skip
