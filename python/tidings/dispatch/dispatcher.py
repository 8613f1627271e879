"""The dispatcher: starts one pipeline per delivery target and wakes them on commits.

It meets the engine only in the store's outbox: it reads committed events, never the
engine's memory, which is what makes delivery survive a crash of either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from tidings.dispatch.kafka import KafkaSink
from tidings.dispatch.kafka_pipeline import KafkaPipeline
from tidings.dispatch.targets import builtin_kafka_target
from tidings.store import SQLiteStore

log = logging.getLogger(__name__)


class Dispatcher:
    """Delivers the outbox to every configured target."""

    def __init__(
        self,
        store: SQLiteStore,
        *,
        kafka_bootstrap: str = "",
        service_topic: str = "service",
        mistral_topic: str = "mistral",
        timezone: str = "UTC",
    ) -> None:
        self.store = store
        self.pipelines: list[KafkaPipeline] = []
        self._sink: KafkaSink | None = None
        self._tasks: list[asyncio.Task[None]] = []
        if kafka_bootstrap:
            self._sink = KafkaSink(kafka_bootstrap)
            target = builtin_kafka_target(service_topic, mistral_topic)
            self.pipelines.append(KafkaPipeline(target, store, self._sink, timezone=timezone))

    def wake(self) -> None:
        """Called after each commit that wrote events."""
        for pipeline in self.pipelines:
            pipeline.wake()

    async def start(self) -> None:
        """Start the pipelines (each resumes from its saved cursor)."""
        self.store.on_commit(self.wake)
        for pipeline in self.pipelines:
            self._tasks.append(asyncio.create_task(self._guard(pipeline), name=pipeline.target.id))

    async def _guard(self, pipeline: KafkaPipeline) -> None:
        # A bug in one pipeline must not silently stop delivery: log and start over
        # from the saved cursor (at-least-once).
        while True:
            try:
                await pipeline.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatch: pipeline %s failed; restarting", pipeline.target.id)
                await asyncio.sleep(1.0)

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) until every pipeline has delivered what is committed."""
        deadline = asyncio.get_running_loop().time() + timeout
        last = await self.store.last_position()
        while asyncio.get_running_loop().time() < deadline:
            if all(p.cursor >= last for p in self.pipelines):
                return
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """Stop the pipelines and flush the producer."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._sink is not None:
            await asyncio.to_thread(self._sink.close)
