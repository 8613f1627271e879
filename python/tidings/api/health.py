"""Honest health: the gRPC health service says what the server can do now.

Every service the server registers, and the overall ``""``, is SERVING while the store
commits and (when ``health_kafka_unreachable_after_s`` is set) Kafka has not been
unreachable for longer than that; NOT_SERVING otherwise, and SERVING again once it
recovers. ``tidings.ready`` is readiness: NOT_SERVING after start until every delivery
target has caught up with what the outbox held at start (and whenever ``""`` is
NOT_SERVING), then SERVING.

A check runs every ``health_interval_s`` on the serving loop: the store is probed with a
small write while its commits fail, and when none has committed for a while (an idle
server's store must still be able to write); otherwise real commits are the evidence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any, Protocol

from grpc_health.v1 import health_pb2

from tidings.dispatch.backlog import Backlog
from tidings.dispatch.kafka.sink import KafkaSink
from tidings.metrics import families as f
from tidings.metrics import record

log = logging.getLogger(__name__)

#: The readiness service's name.
READY = "tidings.ready"
#: An idle store is probed once every this many checks.
IDLE_PROBE_CHECKS = 10

_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class WritableStore(Protocol):
    """What health needs of the store."""

    @property
    def commits(self) -> int:
        """Transactions so far."""
        ...

    @property
    def failing_since(self) -> float | None:
        """Since when writes fail; None while they commit."""
        ...

    async def probe(self) -> bool:
        """Whether one small write commits now."""
        ...


class HealthServicer(Protocol):
    """grpc_health's asyncio servicer (untyped there)."""

    async def set(self, service: str, status: Any) -> None:
        """Set a service's status."""
        ...


class Health:
    """Runs the checks and sets the statuses of `services`, ``""`` and `READY`."""

    def __init__(
        self,
        servicer: HealthServicer,
        services: Sequence[str],
        store: WritableStore,
        backlog: Backlog,
        *,
        kafka: KafkaSink | None = None,
        kafka_unreachable_after_s: float = 0.0,
        interval_s: float = 1.0,
    ) -> None:
        self.servicer = servicer
        self.services = ("", *services)
        self.store = store
        self.backlog = backlog
        self.kafka = kafka
        self.kafka_after = kafka_unreachable_after_s
        self.interval_s = interval_s
        #: The last statuses set: overall, ready (None before the first check).
        self.serving: bool | None = None
        self.ready: bool | None = None
        self._commits = -1
        self._probed = 0.0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Check once (and set every status), then keep checking in the background."""
        await self.backlog.start()
        await self.check()
        self._task = asyncio.create_task(self._loop(), name="health")

    async def stop(self) -> None:
        """Stop checking (the statuses stay as they are)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.check()
            except Exception:
                log.exception("health: a check failed")

    async def store_ok(self) -> bool:
        """Whether the store commits: by its last commits, else by a probe."""
        now = time.monotonic()
        commits = self.store.commits
        idle = commits == self._commits
        self._commits = commits
        due = now - self._probed >= IDLE_PROBE_CHECKS * self.interval_s
        if self.store.failing_since is None and not (idle and due):
            return True
        self._probed = now
        return await self.store.probe()

    def kafka_ok(self) -> bool:
        """Whether Kafka has been reachable within the threshold (always, if none is set)."""
        if self.kafka is None or self.kafka_after <= 0:
            return True
        since = self.kafka.unreachable_since
        return since is None or time.time() - since < self.kafka_after

    async def check(self) -> None:
        """Run the checks and set the statuses that changed."""
        store_ok = await self.store_ok()
        kafka_ok = self.kafka_ok()
        await self.backlog.sample()
        serving = store_ok and kafka_ok
        ready = serving and self.backlog.caught_up
        if record.enabled():
            f.HEALTH.labels("store").set(store_ok)
            f.HEALTH.labels("kafka").set(kafka_ok)
            f.HEALTH.labels("ready").set(ready)
        if serving != self.serving:
            if self.serving is not None:
                log.warning(
                    "health: %s (store %s, kafka %s)",
                    "SERVING again" if serving else "NOT_SERVING",
                    "commits" if store_ok else "cannot commit",
                    "reachable" if kafka_ok else "unreachable",
                )
            for service in self.services:
                await self.servicer.set(service, _SERVING if serving else _NOT_SERVING)
            self.serving = serving
        if ready != self.ready:
            await self.servicer.set(READY, _SERVING if ready else _NOT_SERVING)
            self.ready = ready
