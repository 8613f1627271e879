"""The hooks the hot paths call: each a few counter increments per batch, not per event.

Recording is off until `enable()` (the server turns it on with ``metrics_listen``), so
that a process that serves no metrics pays one function call and one test per hook.
Every hook is safe on any thread (prometheus_client's values take a lock).
"""

from __future__ import annotations

from collections import Counter as Tally
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


def committed(seconds: float, changes: int, event_types: Iterable[int]) -> None:
    """(The writer's thread.) One transaction committed `changes` with these events."""
    if not _ON:
        return
    f.COMMIT_SECONDS.observe(seconds)
    f.COMMIT_BATCH.observe(changes)
    for kind, n in Tally(event_types).items():
        name = _NAMES.get(kind, str(kind))
        f.EVENTS_COMMITTED.labels(name).inc(n)
        if kind == _ET.EVENT_TYPE_EXECUTION_STARTED:
            f.EXECUTIONS_STARTED.inc(n)
        elif kind in _ENDED:
            f.EXECUTIONS_FINISHED.labels(_ENDED[kind]).inc(n)
        elif kind in _TASKS:
            f.TASK_TRANSITIONS.labels(name).inc(n)


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


def rendered(profile: str, events: int, seconds: float) -> None:
    """The codec rendered a batch of `events` in `seconds`."""
    if _ON and events:
        f.CODEC_BATCH.labels(profile).observe(events)
        f.CODEC_SECONDS.labels(profile).observe(seconds)


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


def rpc(method: str, code: str, seconds: float) -> None:
    """An RPC ended with `code` after `seconds`."""
    if _ON:
        f.RPCS.labels(method, code).inc()
        f.RPC_SECONDS.labels(method).observe(seconds)
