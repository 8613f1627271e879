"""The engine's own thread and event loop, apart from the one that serves RPCs.

The engine evaluates users' expressions while it makes a step. Even bounded (see
:mod:`.expressions`), one may run for its whole time limit; on the loop that serves
gRPC, commits and delivery, that would stall them all. So the server runs the engine on
an :class:`EngineThread`: RPC handlers hand it coroutines with :meth:`EngineThread.call`,
and the engine reaches the store, which stays on the serving loop, through
:class:`tidings.store.bridge.StoreOnLoop`. Everything that touches the engine's
executions in memory still happens on one loop, so steps need no locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from tidings.store.handoff import run_on

__all__ = ["EngineThread"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class EngineThread:
    """A thread running an event loop of its own, for the engine."""

    def __init__(self, name: str = "tidings-engine") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False

    def start(self) -> None:
        """Start the thread and its loop."""
        self._started = True
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the engine's loop and wait for its result (or exception).

        Cancelling the caller cancels the coroutine on the engine's loop. Calls (and
        their results) cross in batches, one wake-up of a loop per batch
        (:mod:`tidings.store.handoff`).
        """
        return await run_on(self.loop, coro)

    def stop(self) -> None:
        """Stop the loop and wait for the thread (call after the engine has stopped)."""
        if not self._started:
            self.loop.close()
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
