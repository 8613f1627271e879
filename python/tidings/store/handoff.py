"""Handing work to an event loop on another thread, in batches: :func:`run_on`, :func:`inbox_of`.

The server's engine runs on a loop of its own while the store and the RPCs stay on the
serving loop (``tidings.engine.host``, :mod:`.bridge`), so every RPC and every commit
crosses between two threads. `asyncio.run_coroutine_threadsafe` wakes the other loop
once per call (a write to its self-pipe), and once more to hand the result back. Each
such system call also lets go of the GIL, and taking it back may wait for another
busy thread's whole switch interval. An :class:`Inbox` wakes its loop once for all the
work handed over meanwhile: under load one wake-up carries many calls and results.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["Inbox", "inbox_of", "run_on"]

T = TypeVar("T")


class Inbox:
    """Callables to run on one event loop, handed over from any thread, run in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._items: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
        self._woken = False
        #: How many times the loop was woken to empty the inbox (for tests and profiles).
        self.wakeups = 0

    def put(self, fn: Callable[..., None], *args: Any) -> None:
        """Run ``fn(*args)`` on the loop soon, after everything put before it."""
        with self._lock:
            self._items.append((fn, args))
            wake = not self._woken
            self._woken = True
        if not wake:  # the loop has been told already, and has yet to empty the inbox
            return
        try:
            self._loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # the loop is closed: nothing put here will run
            with self._lock:
                self._items.clear()
                self._woken = False
            raise

    def _drain(self) -> None:
        self.wakeups += 1
        with self._lock:
            batch, self._items = self._items, []
            self._woken = False
        for fn, args in batch:
            try:
                fn(*args)
            except Exception as exc:  # one item's failure must not drop the rest
                self._loop.call_exception_handler(
                    {"message": f"inbox item {fn!r} failed", "exception": exc}
                )


_inboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Inbox] = weakref.WeakKeyDictionary()
_inboxes_lock = threading.Lock()


def inbox_of(loop: asyncio.AbstractEventLoop) -> Inbox:
    """The one inbox of `loop` (one, so that what is put in it keeps its order)."""
    inbox = _inboxes.get(loop)
    if inbox is None:
        with _inboxes_lock:
            inbox = _inboxes.get(loop)
            if inbox is None:
                inbox = _inboxes[loop] = Inbox(loop)
    return inbox


class _Call:
    """One coroutine run on another loop for a caller waiting on its own."""

    __slots__ = ("back", "coro", "done", "task")

    def __init__(
        self, coro: Coroutine[Any, Any, Any], back: Inbox, done: asyncio.Future[Any]
    ) -> None:
        self.coro = coro
        self.back = back
        self.done = done
        self.task: asyncio.Task[Any] | None = None

    def start(self) -> None:
        """Start the coroutine (on the callee's loop)."""
        if self.done.cancelled():  # the caller gave up before it started
            self.coro.close()
            return
        self.task = asyncio.get_running_loop().create_task(self.coro)
        self.task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[Any]) -> None:
        """Send the outcome back (on the callee's loop)."""
        self.back.put(self._settle, task)

    def _settle(self, task: asyncio.Task[Any]) -> None:
        """The caller learns the outcome, unless it gave up (on the caller's loop)."""
        done = self.done
        if task.cancelled():
            if not done.done():
                done.cancel()
            return
        exc = task.exception()  # retrieved even if no one waits for it any more
        if done.done():
            return
        if exc is not None:
            done.set_exception(exc)
        else:
            done.set_result(task.result())

    def cancel(self) -> None:
        """Cancel the coroutine (on the callee's loop, after `start`)."""
        if self.task is not None:
            self.task.cancel()


async def run_on(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on `loop` (another thread's) and wait for its result or exception.

    Cancelling the caller cancels the coroutine on `loop`. Calls and results go
    through the loops' inboxes: in order, one wake-up of a loop per batch.
    """
    here = asyncio.get_running_loop()
    if loop is here:
        return await coro
    done: asyncio.Future[T] = here.create_future()
    call = _Call(coro, inbox_of(here), done)
    there = inbox_of(loop)
    there.put(call.start)
    try:
        return await done
    except asyncio.CancelledError:
        there.put(call.cancel)  # after `start`: the inbox keeps the order
        raise
