"""Counting what arrived on one sink against what the workload must have produced there.

Every sink hears each event of each execution once: the event ids seen per execution
tell what is missing (fewer than the workload's count) and what came twice (an id seen
again). Latency is from the moment the harness called StartExecution to the event's
arrival, both on this process's monotonic clock, in an HDR histogram (microseconds).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

#: Microseconds: 1 µs to an hour, 3 significant digits.
_LOWEST_US, _HIGHEST_US, _DIGITS = 1, 3_600_000_000, 3


def histogram() -> HdrHistogram:
    """An empty latency histogram (microseconds)."""
    return HdrHistogram(_LOWEST_US, _HIGHEST_US, _DIGITS)


def percentiles_ms(h: HdrHistogram) -> dict[str, float]:
    """p50, p90, p99 and max of a histogram of microseconds, in milliseconds."""
    if h.get_total_count() == 0:
        return {"p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0}
    out = {f"p{p}": h.get_value_at_percentile(p) / 1000 for p in (50, 90, 99)}
    out["max"] = h.get_max_value() / 1000
    return {k: round(v, 1) for k, v in out.items()}


@dataclass
class Tally:
    """What one sink received: event ids per execution and when each first arrived."""

    name: str
    #: Drops the first event it is handed, as a lossy sink would: the harness's own check.
    lose_one: bool = False
    _ids: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    _arrivals: list[tuple[str, float]] = field(default_factory=list)
    duplicates: int = 0
    received: int = 0
    first_at: float = 0.0
    last_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, execution_id: str, event_id: str, at: float) -> None:
        """One event arrived (from any thread)."""
        with self._lock:
            if self.lose_one:
                self.lose_one = False
                return
            self.received += 1
            seen = self._ids[execution_id]
            if event_id in seen:
                self.duplicates += 1
                return
            seen.add(event_id)
            self._arrivals.append((execution_id, at))
            self.first_at = self.first_at or at
            self.last_at = at

    def distinct(self) -> int:
        """Distinct events received so far."""
        with self._lock:
            return len(self._arrivals)

    def missing(self, starts: dict[str, float], per_execution: int) -> int:
        """Events each started execution must have produced here and that never came."""
        with self._lock:
            return sum(max(0, per_execution - len(self._ids.get(ex, ()))) for ex in starts)

    def unexpected(self, starts: dict[str, float]) -> int:
        """Events of executions the harness did not start (another client's)."""
        with self._lock:
            return sum(len(ids) for ex, ids in self._ids.items() if ex not in starts)

    def latency(self, starts: dict[str, float]) -> HdrHistogram:
        """StartExecution → arrival of every event of the harness's executions."""
        h = histogram()
        with self._lock:
            arrivals = list(self._arrivals)
        for execution_id, at in arrivals:
            t0 = starts.get(execution_id)
            if t0 is not None:
                h.record_value(max(_LOWEST_US, min(_HIGHEST_US, round((at - t0) * 1e6))))
        return h

    def summary(self, starts: dict[str, float], per_execution: int, t0: float) -> dict[str, Any]:
        """Its figures for the result: events/s from the first start, latency, counts."""
        distinct = self.distinct()
        span = self.last_at - t0 if distinct else 0.0
        return {
            "events": distinct,
            "events_per_s": round(distinct / span, 1) if span > 0 else 0.0,
            "latency_ms": percentiles_ms(self.latency(starts)),
            "missing_events": self.missing(starts, per_execution),
            "duplicate_events": self.duplicates,
            "unexpected_events": self.unexpected(starts),
        }
