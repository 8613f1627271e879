"""Random ids (UUID version 4 text) for executions, tasks, events and workflows.

`uuid.uuid4()` reads 16 bytes from the system per id. On the engine's thread that
system call lets go of the GIL, and taking it back can wait for another thread's whole
switch interval (5 ms) while the serving loop is busy: a step makes several ids. So the
bytes come from the same source (`os.urandom`) a few kilobytes at a time, one pool per
thread; each id is as random as `uuid4()`'s.
"""

from __future__ import annotations

import os
import threading

__all__ = ["new_id"]

_POOL_BYTES = 4096  # 256 ids per system call


class _Pool(threading.local):
    def __init__(self) -> None:
        self.data = b""
        self.at = 0


_pool = _Pool()


def _forget_pool() -> None:
    # A forked child must not hand out the ids its parent has yet to hand out.
    _pool.data, _pool.at = b"", 0


os.register_at_fork(after_in_child=_forget_pool)


def new_id() -> str:
    """A new random UUID (version 4, RFC 4122 variant) as text, like ``str(uuid.uuid4())``."""
    pool = _pool
    at = pool.at
    if at + 16 > len(pool.data):
        pool.data, at = os.urandom(_POOL_BYTES), 0
    pool.at = at + 16
    raw = bytearray(pool.data[at : at + 16])
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
