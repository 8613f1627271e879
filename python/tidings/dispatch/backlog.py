"""How far each sink is behind the outbox: sampled now and then, never per event.

A sample reads the outbox's last position and, for each sink that is behind, the one
event after its cursor (its age): a few indexed reads however busy the server is. The
sinks are the webhook listeners' shared reader (``webhooks``) and each Kafka target
(``kafka:TARGET``). The sample also says whether delivery has caught up with what the
outbox held at start (health's readiness).
"""

from __future__ import annotations

import time

from tidings.dispatch.dispatcher import Dispatcher
from tidings.dispatch.webhook.delivery import FAILED
from tidings.metrics import families as f
from tidings.metrics import record


class Backlog:
    """Samples the dispatcher's cursors against the outbox."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.store = dispatcher.store
        #: The outbox's end when the server started (`start`); None before.
        self.start_position: int | None = None
        #: Whether every sink has reached `start_position` (stays so once it has).
        self.caught_up = False
        self._sinks: set[str] = set()

    async def start(self) -> None:
        """Note the outbox's end: readiness waits for every sink to reach it."""
        self.start_position = await self.store.last_position()

    def cursors(self) -> dict[str, int]:
        """Each sink's cursor: every event up to it is done with there."""
        sinks = {"webhooks": self.dispatcher.fanout.cursor}
        for key, pipeline in self.dispatcher.pipelines.items():
            sinks[f"kafka:{key}"] = pipeline.cursor
        return sinks

    async def sample(self) -> dict[str, int]:
        """Update readiness and, when metrics are on, the backlog gauges; the depths."""
        last = await self.store.last_position()
        cursors = self.cursors()
        depths = {sink: max(0, last - cursor) for sink, cursor in cursors.items()}
        if not self.caught_up and self.start_position is not None:
            self.caught_up = all(c >= self.start_position for c in cursors.values())
        if not record.enabled():
            return depths
        now = time.time()
        for sink, depth in depths.items():
            age = 0.0
            if depth:
                oldest = await self.store.read_events(cursors[sink], 1)
                if oldest:
                    age = max(0.0, now - oldest[0].time)
            f.OUTBOX_DEPTH.labels(sink).set(depth)
            f.OUTBOX_AGE.labels(sink).set(age)
        for gone in self._sinks - depths.keys():  # a Kafka listener deleted or disabled
            f.OUTBOX_DEPTH.remove(gone)
            f.OUTBOX_AGE.remove(gone)
        self._sinks = set(depths)
        fanout = self.dispatcher.fanout
        f.WEBHOOK_LISTENERS.set(len(fanout.index))
        f.RETRIES_PENDING.set(
            sum(
                1
                for delivery in list(fanout.busy)
                for lane in list(delivery.lanes.values())
                if lane.queue and lane.queue[0].row.state == FAILED
            )
        )
        return depths
