"""The hooks the hot paths call: each a few counter increments per batch, not per event.

Recording is off until `enable()` (the server turns it on with ``metrics_listen``), so
that a process that serves no metrics pays one function call and one test per hook.
Every hook is safe on any thread (prometheus_client's values take a lock).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from prometheus_client import Counter, Histogram

from tidings.metrics import families as f
from tidings.v1 import event_pb2

_ON = False

_ET = event_pb2.EventType
_NAMES: Final = {
    v.number: v.name.removeprefix("EVENT_TYPE_")
    for v in event_pb2.DESCRIPTOR.enum_types_by_name["EventType"].values
}
#: The final state each execution-ending event stands for.
_ENDED: Final[dict[int, str]] = {
    _ET.EVENT_TYPE_EXECUTION_SUCCEEDED: "SUCCESS",
    _ET.EVENT_TYPE_EXECUTION_FAILED: "ERROR",
    _ET.EVENT_TYPE_EXECUTION_CANCELLED: "CANCELLED",
    _ET.EVENT_TYPE_EXECUTION_TIMED_OUT: "TIMED_OUT",
    _ET.EVENT_TYPE_EXECUTION_ROLLBACK_FINISHED: "ROLLED_BACK",
}
_TASKS: Final = range(30, 50)  # the TASK category (vocab.CATEGORY_TYPES)


def enable(on: bool = True) -> None:
    """Start (or stop) recording."""
    global _ON
    _ON = on


def enabled() -> bool:
    """Whether hooks record."""
    return _ON


#: The counters one event of a type adds to, made once per type.
_BY_TYPE: dict[int, tuple[Counter, ...]] = {}


def _counters_of(kind: int) -> tuple[Counter, ...]:
    name = _NAMES.get(kind, str(kind))
    counters = [f.EVENTS_COMMITTED.labels(name)]
    if kind == _ET.EVENT_TYPE_EXECUTION_STARTED:
        counters.append(f.EXECUTIONS_STARTED)
    elif kind in _ENDED:
        counters.append(f.EXECUTIONS_FINISHED.labels(_ENDED[kind]))
    elif kind in _TASKS:
        counters.append(f.TASK_TRANSITIONS.labels(name))
    _BY_TYPE[kind] = found = tuple(counters)
    return found


def committed(seconds: float, changes: int, event_types: Iterable[int]) -> None:
    """(The writer's thread.) One transaction committed `changes` with these events."""
    if not _ON:
        return
    f.COMMIT_SECONDS.observe(seconds)
    f.COMMIT_BATCH.observe(changes)
    tally: dict[int, int] = {}
    for kind in event_types:
        tally[kind] = tally.get(kind, 0) + 1
    for kind, n in tally.items():
        for counter in _BY_TYPE.get(kind) or _counters_of(kind):
            counter.inc(n)


def commit_failed() -> None:
    """(The writer's thread.) A transaction failed."""
    if _ON:
        f.COMMIT_FAILURES.inc()


def position(value: int) -> None:
    """The outbox reached `value`."""
    if _ON:
        f.OUTBOX_POSITION.set(value)


# Children by label values, made once: `labels()` looks them up under a lock each time.
_DELIVERIES: dict[tuple[str, str, str], Counter] = {}
_DELIVERY_SECONDS: dict[tuple[str, str], Histogram] = {}


def delivered(
    transport: str, profile: str, outcome: str, count: int = 1, seconds: float | None = None
) -> None:
    """`count` deliveries of one transport and profile ended so (and one took `seconds`)."""
    if not _ON:
        return
    key = (transport, profile, outcome)
    counter = _DELIVERIES.get(key)
    if counter is None:
        counter = _DELIVERIES[key] = f.DELIVERIES.labels(*key)
    counter.inc(count)
    if seconds is not None:
        timing = _DELIVERY_SECONDS.get(key[:2])
        if timing is None:
            timing = _DELIVERY_SECONDS[key[:2]] = f.DELIVERY_SECONDS.labels(*key[:2])
        timing.observe(seconds)


_RENDERED: dict[str, tuple[Histogram, Histogram]] = {}


def rendered(profile: str, events: int, seconds: float) -> None:
    """The codec rendered a batch of `events` in `seconds`."""
    if not (_ON and events):
        return
    pair = _RENDERED.get(profile)
    if pair is None:
        pair = _RENDERED[profile] = (f.CODEC_BATCH.labels(profile), f.CODEC_SECONDS.labels(profile))
    pair[0].observe(events)
    pair[1].observe(seconds)


def listener_disabled() -> None:
    """The dispatcher disabled a listener."""
    if _ON:
        f.LISTENERS_DISABLED.inc()


def kafka_error(kind: str, count: int = 1) -> None:
    """Kafka errors of a kind (``delivery``, ``client``)."""
    if _ON and count:
        f.KAFKA_ERRORS.labels(kind).inc(count)


def kafka_stats(queued: int, brokers_up: int) -> None:
    """The producer's queue length and connected brokers, from librdkafka's statistics."""
    if _ON:
        f.KAFKA_QUEUE.set(queued)
        f.KAFKA_BROKERS_UP.set(brokers_up)


_RPCS: dict[tuple[str, str], tuple[Counter, Histogram]] = {}


def rpc(method: str, code: str, seconds: float) -> None:
    """An RPC ended with `code` after `seconds`."""
    if not _ON:
        return
    key = (method, code)
    pair = _RPCS.get(key)
    if pair is None:
        pair = _RPCS[key] = (f.RPCS.labels(method, code), f.RPC_SECONDS.labels(method))
    pair[0].inc()
    pair[1].observe(seconds)
