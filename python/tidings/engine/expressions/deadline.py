"""A time limit for each evaluation: a watchdog thread interrupts one that runs too long.

:func:`within_time_limit` runs a function on the calling thread (any thread); if it is
still running when its limit passes, one watchdog thread, shared by all, raises
:class:`Interrupted` in it with ``PyThreadState_SetAsyncExc``, and the caller gets
:class:`TimeLimitExceeded` instead of a result.

Cost. The engine evaluates thousands of expressions a second, so arming is a few
attribute writes on the thread's own slot, and disarming takes one uncontended lock: no
thread, no timer, no condition notified per evaluation. The watchdog (a daemon thread,
started with the first slot) wakes every :data:`POLL_S` and looks at the slots; an
evaluation is therefore interrupted between its limit and its limit plus ``POLL_S``.

What it can interrupt. An asynchronous exception is raised when the interpreter next
checks for one between bytecodes, so it stops Python-level loops (all of yaql's and
Jinja's), never a single C-level call: those are bounded by size instead (see
:mod:`.limits`, :mod:`.yaql_lang`, :mod:`.jinja_lang`).

Races, and why each is safe:

* The watchdog fires only while holding the slot's lock and after seeing the slot still
  armed past its deadline; the evaluating thread disarms under the same lock. So once
  disarmed, nothing can fire at that evaluation any more; a fire that came just before
  is seen (``fired``), and an exception still pending then is cleared with
  ``PyThreadState_SetAsyncExc(tid, NULL)``. An exception can never land after
  :func:`within_time_limit` returned or raised.
* The exception may land anywhere in the evaluated code, including in the ``finally``
  that disarms. The disarming is written inline, not as a call: between the evaluated
  function's return and ``armed = False`` there is no point where CPython checks for an
  asynchronous exception (``with`` on a C lock enters without one), and one landing
  after it is the pending one, caught by the outer ``except``.
* It derives from ``BaseException``, so library code's ``except Exception`` lets it
  through; code that swallows it anyway is fired at again every :data:`REFIRE_S` until
  the evaluation ends, and an evaluation that was fired at fails even if it then
  returned a value.
* A nested evaluation (an evaluation inside one, on the same thread) runs under the
  outer one's deadline: it neither re-arms nor disarms the slot.
* It may land in code the interpreter runs on the evaluating thread's behalf, such as a
  weakref or garbage-collector callback, which cannot raise: CPython hands it to
  ``sys.unraisablehook`` and the evaluation goes on. The refire stops it then, so the
  hook is wrapped (with the first slot) to drop :class:`Interrupted` quietly instead of
  printing an "Exception ignored" traceback, or, under pytest, failing the test.
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import NoReturn, TypeVar

__all__ = [
    "DEFAULT_TIME_LIMIT_S",
    "POLL_S",
    "REFIRE_S",
    "Interrupted",
    "TimeLimitExceeded",
    "remaining_s",
    "time_is_up",
    "within_time_limit",
]

#: Seconds one evaluation may run by default (the setting ``expression_time_limit_s``).
DEFAULT_TIME_LIMIT_S = 1.0
#: How often the watchdog looks at the armed evaluations, in seconds.
POLL_S = 0.05
#: How often it fires again at an evaluation that swallowed the interruption.
REFIRE_S = 0.1

_T = TypeVar("_T")
_A = TypeVar("_A")


class Interrupted(BaseException):
    """Raised inside an evaluation by the watchdog when its time limit has passed.

    A ``BaseException``, so that ``except Exception`` in yaql, Jinja or user-reachable
    library code does not swallow it. It never leaves :func:`within_time_limit`.
    """


class TimeLimitExceeded(Exception):
    """An evaluation ran past its time limit of ``limit_s`` seconds and was stopped."""

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        super().__init__(
            f"expression took longer than its time limit of {limit_s:g} s (expression_time_limit_s)"
        )


_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
_set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)
_set_async_exc.restype = ctypes.c_int
# An empty py_object passes NULL: it clears a pending asynchronous exception.
_NO_EXCEPTION = ctypes.py_object()


class _Slot:
    """One thread's evaluation: whether one is armed, until when, and whether it was fired at.

    Written by its own thread (arming and disarming) and by the watchdog (firing); see the
    module's docstring for who may write what when.
    """

    __slots__ = ("__weakref__", "armed", "deadline", "fired", "limit", "lock", "next_fire", "tid")

    def __init__(self, tid: int) -> None:
        self.tid = tid
        self.lock = threading.Lock()
        self.armed = False
        self.limit = math.inf
        self.deadline = 0.0
        self.next_fire = 0.0
        self.fired = False


class _Local(threading.local):
    slot: _Slot


_local = _Local()
# Every thread's slot, weakly: a thread's slot (held by its thread-local) goes when it does.
_slots: weakref.WeakSet[_Slot] = weakref.WeakSet()
_slots_lock = threading.Lock()
_watchdog: threading.Thread | None = None


def _new_slot() -> _Slot:
    global _watchdog
    slot = _local.slot = _Slot(threading.get_ident())
    with _slots_lock:
        _slots.add(slot)
        if _watchdog is None:
            sys.unraisablehook = _drop_interrupted(sys.unraisablehook)
            _watchdog = threading.Thread(target=_watch, name="expression-watchdog", daemon=True)
            _watchdog.start()
    return slot


def _drop_interrupted(
    previous: Callable[[sys.UnraisableHookArgs], object],
) -> Callable[[sys.UnraisableHookArgs], object]:
    def hook(unraisable: sys.UnraisableHookArgs) -> object:
        # An interruption a callback could not raise: the watchdog fires again.
        if isinstance(unraisable.exc_value, Interrupted):
            return None
        return previous(unraisable)

    return hook


def within_time_limit(limit_s: float, function: Callable[[_A], _T], argument: _A) -> _T:
    """``function(argument)``, stopped if it runs longer than ``limit_s`` seconds.

    Raises :class:`TimeLimitExceeded` if it was stopped (or fired at, and swallowed it).
    ``math.inf`` means no limit. Called while an evaluation is already running on this
    thread, it runs ``function`` under that evaluation's limit.
    """
    try:
        slot = _local.slot
    except AttributeError:
        slot = _new_slot()
    if slot.armed or limit_s == math.inf:
        return function(argument)
    # Arming: the watchdog reads `armed` first, so it is written last.
    slot.fired = False
    slot.next_fire = 0.0
    slot.limit = limit_s
    slot.deadline = time.monotonic() + limit_s
    slot.armed = True
    fired = True
    try:
        try:
            result = function(argument)
        finally:
            # Inline on purpose (see the module's docstring): no asynchronous exception
            # can land between here and `armed = False`, and none is fired after it.
            with slot.lock:
                slot.armed = False
                fired = slot.fired
            if fired:
                _set_async_exc(slot.tid, _NO_EXCEPTION)
    except Interrupted:
        fired = True
    if fired:
        raise TimeLimitExceeded(limit_s)
    return result


def remaining_s() -> float | None:
    """Seconds left to the evaluation running on this thread; ``None`` if it has no limit.

    For C-level code that can time out by itself (the ``regex`` package's ``timeout=``):
    it is given what is left, and calls :func:`time_is_up` when that runs out.
    """
    slot: _Slot | None = getattr(_local, "slot", None)
    if slot is None or not slot.armed:
        return None
    return slot.deadline - time.monotonic()


def time_is_up() -> NoReturn:
    """Raise :class:`TimeLimitExceeded` for the evaluation running on this thread."""
    slot: _Slot | None = getattr(_local, "slot", None)
    raise TimeLimitExceeded(slot.limit if slot is not None else math.inf)


def _watch() -> None:
    """The watchdog's loop: fire at every armed slot past its deadline, forever."""
    while True:
        time.sleep(POLL_S)
        with _slots_lock:
            slots = list(_slots)
        now = time.monotonic()
        for slot in slots:
            if slot.armed and now >= slot.deadline and now >= slot.next_fire:
                with slot.lock:
                    # Checked again under the lock: the evaluation may have ended, and
                    # another (with its own deadline) begun, since the look above.
                    if slot.armed and now >= slot.deadline:
                        _set_async_exc(slot.tid, Interrupted)
                        slot.fired = True
                        slot.next_fire = now + REFIRE_S


def _after_fork_in_child() -> None:
    # Only the forking thread lives on in a child, and the watchdog is not it: start
    # afresh (new slots, new locks, a new watchdog with the next evaluation).
    global _local, _slots, _slots_lock, _watchdog
    _local = _Local()
    _slots = weakref.WeakSet()
    _slots_lock = threading.Lock()
    _watchdog = None


os.register_at_fork(after_in_child=_after_fork_in_child)
