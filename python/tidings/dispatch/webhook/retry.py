"""When a failed delivery is tried again."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

from tidings.store.listeners import ListenerRow

#: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h (as Svix and Standard Webhooks).
DEFAULT_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
DEFAULT_JITTER = 0.2
DEFAULT_DISABLE_AFTER = 5 * 86400.0
#: A Retry-After longer than this is capped (a receiver cannot park us for a week).
MAX_RETRY_AFTER = 86400.0
#: The jitter of every listener (seeding a generator per policy cost ~10 µs each time a
#: listener's delivery state was made).
_JITTER = random.Random()


@dataclass(frozen=True)
class RetryPolicy:
    """A listener's retry schedule (waits before retry 1, 2, …) and jitter."""

    schedule: Sequence[float] = DEFAULT_SCHEDULE
    jitter: float = DEFAULT_JITTER
    disable_after: float = DEFAULT_DISABLE_AFTER
    rng: random.Random = field(default=_JITTER, compare=False, repr=False)

    def delay(self, failures: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait after the `failures`-th failed attempt; None: no more attempts.

        A receiver's Retry-After (429/503) is honoured when it asks for longer.
        """
        if failures < 1 or failures > len(self.schedule):
            return None
        base = float(self.schedule[failures - 1])
        wait = base * (1 + self.rng.uniform(-self.jitter, self.jitter))
        if retry_after is not None:
            wait = max(wait, min(retry_after, MAX_RETRY_AFTER))
        return max(0.0, wait)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), if valid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def policy_of(row: ListenerRow) -> RetryPolicy:
    """The retry policy in force for a listener (the defaults filled in).

    Rows keep what was asked (empty meaning "the default") so that a changed default
    reaches every listener that never chose its own.
    """
    r = row.retry
    jitter, disable_after = r.get("jitter"), r.get("disable_after_s")
    return RetryPolicy(
        schedule=tuple(r.get("schedule_s") or DEFAULT_SCHEDULE),
        jitter=DEFAULT_JITTER if jitter is None else float(jitter),
        disable_after=DEFAULT_DISABLE_AFTER if disable_after is None else disable_after,
    )
