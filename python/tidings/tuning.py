"""Process tuning for `tidings serve`.

glibc gives freed heap memory back to the system as soon as 128 KiB are free at the
top of the heap, so a process that builds and drops many megabytes of payloads per
batch page-faults the same memory in again and again. ``bench/codec.py`` measures the
codec and its baselines both ways.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

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
