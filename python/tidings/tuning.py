"""Process tuning for `tidings serve`: the heap (:func:`keep_heap`, :func:`freeze_heap`), the GIL.

glibc gives freed heap memory back to the system as soon as 128 KiB are free at the
top of the heap, so a process that builds and drops many megabytes of payloads per
batch page-faults the same memory in again and again. ``bench/codec.py`` measures the
codec and its baselines both ways.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import sys

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2


def keep_heap(trim_threshold: int = 128 << 20, top_pad: int = 64 << 20) -> bool:
    """Ask glibc to keep freed heap memory (True if it could be asked)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False
    ok = bool(mallopt(M_TRIM_THRESHOLD, trim_threshold)) and bool(mallopt(M_TOP_PAD, top_pad))
    log.debug("malloc tuning %s", "applied" if ok else "refused")
    return ok


#: How long a thread may hold the GIL while another waits for it (Python's default: 5 ms).
GIL_SWITCH_INTERVAL_S = 0.001


def share_gil(interval_s: float = GIL_SWITCH_INTERVAL_S) -> None:
    """Make a thread that wants the GIL wait at most `interval_s` for a busy one.

    The engine computes on its own thread while the serving loop and the store's writer
    let go of the GIL at every system call (a socket, a poll, each row SQLite writes)
    and then wait for it again: up to Python's 5 ms switch interval each time the
    engine is busy, so a commit of a few dozen rows, or a loop's turn of a few calls,
    took tens of milliseconds. 1 ms bounds that wait; the cost is more switches, at
    most one a millisecond.
    """
    sys.setswitchinterval(interval_s)


def freeze_heap() -> None:
    """Leave what the server made to start out of every later garbage collection.

    After start-up (modules, protobuf descriptors, gRPC, the listeners and executions
    loaded) the heap holds some hundred thousand objects that live as long as the
    process; a full collection walked them all each time (~45 ms, a pause for every
    thread). Frozen, they are never walked again; objects among them still go when their
    last reference does (only a cycle of them would stay).
    """
    gc.collect()
    gc.freeze()
