"""Log lines: human text on a terminal, JSON lines elsewhere (``log_format``).

A JSON line carries the ids of what it is about (``execution_id``, ``task_id``,
``listener_id``, ``event_id``) from context variables the engine and the dispatcher
bind around a task attempt or a delivery (:func:`bound`), besides those passed as
``extra``. Binding costs nothing unless JSON lines are on.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from typing import IO

from pythonjsonlogger.json import JsonFormatter

__all__ = ["FORMATS", "bound", "configure", "structured"]

FORMATS = ("auto", "json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_ids: ContextVar[tuple[tuple[str, str], ...]] = ContextVar("tidings_log_ids", default=())
#: Whether lines are JSON: binding ids is skipped otherwise (they would not be shown).
_structured = False


class _Ids(logging.Filter):
    """Adds the bound ids to each record (an ``extra`` of the same name wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _ids.get():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def structured() -> bool:
    """Whether log lines are JSON."""
    return _structured


@contextlib.contextmanager
def bound(**ids: str) -> Iterator[None]:
    """Within the block, log lines of this task carry these ids (when JSON is on)."""
    if not _structured:
        yield
        return
    token = _ids.set((*_ids.get(), *((k, v) for k, v in ids.items() if v)))
    try:
        yield
    finally:
        _ids.reset(token)


def wants_json(log_format: str, stream: IO[str]) -> bool:
    """JSON for ``json``; for ``auto``, unless ``stream`` is a terminal."""
    if log_format not in FORMATS:
        raise ValueError(f"expected one of {', '.join(FORMATS)}, got {log_format!r}")
    if log_format == "auto":
        return not stream.isatty()
    return log_format == "json"


def configure(log_format: str, level: int | str, stream: IO[str] | None = None) -> None:
    """Send the root logger's lines to ``stream`` (stderr) as text or JSON lines."""
    global _structured
    out = sys.stderr if stream is None else stream
    handler = logging.StreamHandler(out)
    _structured = wants_json(log_format, out)
    if _structured:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                json_ensure_ascii=False,
            )
        )
        handler.addFilter(_Ids())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
