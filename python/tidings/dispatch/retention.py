"""Retention: a background service that removes what every target is done with.

Now and then (every `interval_s`) it walks the outbox from its oldest event in small
steps (`Store.prune`: one short transaction of at most `batch` events each, on the
store's one writing connection, so a commit waits for at most one step), then gives
free pages beyond a spare quarter of the file back to the file system
(`Store.reclaim`). Which events are done with is the dispatcher's knowledge: the shared
cursor of the webhook reader (events before it are settled by every webhook listener
that heard them; what is not is in delivery records, which keep their events), the
seed-000 Kafka target's cursor when Kafka is configured, and every Kafka listener's
cursor (the store adds those).

The same pass removes executions that ended more than `execution_retention_s` ago, each
with its sub-workflows and tasks, `batch` top-level executions per step: the engine has
forgotten an ended execution (it reads it back from the store for a re-run), so the
store's rule (whole trees, ended and unchanged since the cut-off) is all it takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tidings.store import Store

log = logging.getLogger(__name__)

#: Pages handed back to the file system per step.
RECLAIM_PAGES = 2000
#: The share of the file that may stay free: under steady load what a pass frees, new
#: rows fill again, and moving pages to shrink the file (then growing it) only costs
#: writes. Beyond it (a burst gone, retention shortened) the file shrinks.
SPARE = 0.25


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long records are kept, and how the service steps."""

    #: Seconds a delivered event, its delivery records and attempts are kept; 0: forever.
    retention_s: float
    #: Seconds between passes over the outbox.
    interval_s: float = 60.0
    #: Seconds an ended execution (its tasks, its sub-workflows) is kept; 0: forever.
    execution_retention_s: float = 0.0
    #: Events looked at per step (one transaction).
    batch: int = 500
    #: Seconds between steps, leaving the writer to commits.
    pause_s: float = 0.01


@dataclass(slots=True)
class PassTotals:
    """What one pass removed."""

    events: int = 0
    deliveries: int = 0
    executions: int = 0
    steps: int = 0


class Retention:
    """Removes old, delivered events and settled delivery records in the background."""

    def __init__(
        self,
        store: Store,
        policy: RetentionPolicy,
        holders: Sequence[str],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.policy = policy
        self.holders = tuple(holders)
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        #: Passes completed (tests wait on it), and what the last one removed.
        self.passes = 0
        self.last = PassTotals()

    def start(self) -> None:
        """Start passing over the outbox (nothing happens when retention is off)."""
        if self.policy.retention_s > 0 or self.policy.execution_retention_s > 0:
            self._task = asyncio.create_task(self._run(), name="retention")

    async def stop(self) -> None:
        """Stop between two steps."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                self.last = await self.run_pass()
                # Every pass at DEBUG (tests count passes in the log), INFO when it removed.
                log.log(
                    logging.INFO
                    if self.last.events or self.last.deliveries or self.last.executions
                    else logging.DEBUG,
                    "retention: pass %d removed %d events, %d delivery records and %d executions",
                    self.passes + 1, self.last.events, self.last.deliveries, self.last.executions,
                )  # fmt: skip
            except asyncio.CancelledError:
                raise
            except Exception:
                # A failed pass (disk full, a bug) must not end retention: try next time.
                log.exception("retention: a pass failed")
            self.passes += 1
            await asyncio.sleep(self.policy.interval_s)

    async def run_pass(self) -> PassTotals:
        """One walk from the oldest event to the youngest that may be due, then reclaim."""
        totals = PassTotals()
        if self.policy.retention_s > 0:
            await self._prune_outbox(totals)
        if self.policy.execution_retention_s > 0:
            await self._expire_executions(totals)
        # Also what an interrupted pass freed: a step when nothing is free costs little.
        free = await self.store.reclaim(RECLAIM_PAGES, SPARE)
        while free > 0:
            await asyncio.sleep(self.policy.pause_s)
            left = await self.store.reclaim(RECLAIM_PAGES, SPARE)
            if left >= free:  # no progress (the database cannot give pages back)
                break
            free = left
        return totals

    async def _prune_outbox(self, totals: PassTotals) -> None:
        after = 0
        while True:
            step = await self.store.prune(
                after=after, holders=self.holders, now=self._clock(),
                retention_s=self.policy.retention_s, limit=self.policy.batch,
            )  # fmt: skip
            totals.events += step.events
            totals.deliveries += step.deliveries
            totals.steps += 1
            if step.done or step.scanned_to <= after:
                break
            after = step.scanned_to
            await asyncio.sleep(self.policy.pause_s)

    async def _expire_executions(self, totals: PassTotals) -> None:
        before = self._clock() - self.policy.execution_retention_s
        while True:
            removed = await self.store.expire_executions(before=before, limit=self.policy.batch)
            totals.executions += removed
            totals.steps += 1
            # Fewer than a batch of trees (children count too, kept trees do not): a
            # step that removed nothing ends the walk; kept trees wait for the next pass.
            if removed == 0:
                break
            await asyncio.sleep(self.policy.pause_s)
