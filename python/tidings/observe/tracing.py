"""Traces: OpenTelemetry spans of RPCs, task attempts, atom calls and deliveries.

Off by default. Off, every hook here checks one module global and returns a shared
no-op: no span object is made. On (:func:`configure`), spans go to an OTLP collector
(batched, from a background thread, encoded in Rust: `otlp`) or, in tests, to the SDK
exporter given.

Trace context crosses the engine's thread and the outbox as W3C ``traceparent`` text: an
execution keeps the context of the RPC that started it (``ExecutionRow.traceparent``,
stored, so it survives a restart), each of its events carries it (``Event.traceparent``),
and its task attempts, atom calls and webhook deliveries continue that trace.

An RPC's span is a `spans.Recorded`, current in its context (`span`) so that what the
RPC starts finds it. The spans made most often, of task attempts, atom calls and
deliveries, are tuples (`sending`, `child`, `sent`) handed on explicitly. Either is cheap
where it runs and made whole for the exporter on a thread of its own (`spans` says why
and what it measured).
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Coroutine, Mapping
from contextlib import AbstractContextManager
from contextvars import ContextVar
from typing import Any, TypeVar

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue

from tidings.observe.otlp import OtlpExporter
from tidings.observe.spans import (
    Exporting,
    Output,
    Recorded,
    ToSdk,
    TraceContext,
    continued,
    sampled_text,
)

__all__ = [
    "NO_CONTEXT",
    "Recorded",
    "Sending",
    "SpanKind",
    "TraceContext",
    "carried",
    "child",
    "configure",
    "current",
    "enabled",
    "flush",
    "sending",
    "sent",
    "shutdown",
    "span",
    "starting",
]

T = TypeVar("T")

NO_CONTEXT: TraceContext = ("", "")

#: None while tracing is off: the one thing every hook checks.
_exporting: Exporting | None = None
#: A new trace is sampled when the low 64 bits of its id are below this (`_new_trace`).
_sample_below: int = TraceIdRatioBased(1.0).bound
_LOW_64 = TraceIdRatioBased.TRACE_ID_LIMIT
#: A context manager that does nothing and yields no span (reusable).
_NOOP: AbstractContextManager[None] = contextlib.nullcontext(None)
#: The span current in this task (an atom's call is its attempt's child).
_current: ContextVar[Recorded | None] = ContextVar("tidings_trace_current", default=None)
#: The context an execution started in this task takes as its own (see `carried`).
_starting: ContextVar[TraceContext] = ContextVar("tidings_trace_starting", default=NO_CONTEXT)


def configure(
    *,
    otlp_endpoint: str = "",
    sample_ratio: float = 1.0,
    service_name: str = "tidings",
    exporter: SpanExporter | None = None,
    immediate: bool = True,
) -> bool:
    """Turn tracing on when an OTLP endpoint or an exporter is given; whether it is on.

    ``sample_ratio`` is the share of new traces recorded; a trace begun by a caller (its
    ``traceparent``) keeps the caller's decision. ``exporter`` gets every span as it
    ends (tests: the SDK's ``InMemorySpanExporter``), or with ``immediate`` false in
    batches from a background thread, as spans for a collector always go.
    """
    global _exporting, _sample_below
    shutdown()
    if not otlp_endpoint and exporter is None:
        return False
    resource = Resource.create({"service.name": service_name})
    outputs: list[Output] = [] if exporter is None else [ToSdk(exporter, resource)]
    if otlp_endpoint:
        outputs.append(OtlpExporter(otlp_endpoint, resource))
    # An OTLP exporter sends over the network: never on the thread that ends a span.
    now = immediate and not otlp_endpoint
    _exporting = Exporting(outputs, immediate=now)
    _sample_below = TraceIdRatioBased(sample_ratio).bound
    return True


def shutdown() -> None:
    """Export what is pending and turn tracing off."""
    global _exporting
    exporting, _exporting = _exporting, None
    if exporting is not None:
        exporting.shutdown()


def flush() -> None:
    """Export every span ended so far (they are otherwise sent in batches)."""
    if _exporting is not None:
        _exporting.flush()


def enabled() -> bool:
    """Whether tracing is on."""
    return _exporting is not None


class _Current:
    """`span`'s context manager: the span current while the block runs."""

    __slots__ = ("span",)

    def __init__(self, span: Recorded) -> None:
        self.span = span

    def __enter__(self) -> Recorded:
        span = self.span
        span.token = _current.set(span)
        return span

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: Any
    ) -> None:
        span = self.span
        try:  # noqa: SIM105 (contextlib.suppress costs more, once per task attempt)
            _current.reset(span.token)
        except ValueError:  # ended in another context (a stream's last step): not current there
            pass
        if error is not None:
            span.failed(kind, error)
        _end(span)


def span(
    name: str,
    *,
    parent: TraceContext | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> AbstractContextManager[Recorded | None]:
    """A span, current while the block runs; yields None (and makes nothing) when off.

    Its parent is ``parent`` when that names a context, else the current span. An
    exception leaving the block marks the span failed. The span keeps ``attributes``.
    """
    if _exporting is None:
        return _NOOP
    return _Current(_made(name, parent, kind, attributes))


def _end(span: Recorded) -> None:
    exporting = _exporting
    if span.sampled and exporting is not None:
        exporting.add(span.ended())


def _made(
    name: str,
    parent: TraceContext | None,
    kind: SpanKind,
    attributes: Mapping[str, AttributeValue] | None,
) -> Recorded:
    if parent is not None and parent[0]:
        return Recorded(name, kind, parent, 0, 0, sampled_text(parent[0]), attributes)
    above = _current.get()
    if above is not None:
        return above.child(name, kind, attributes)
    trace_id, sampled = _new_trace()
    return Recorded(name, kind, None, trace_id, 0, sampled, attributes)


def _new_trace() -> tuple[int, bool]:
    """A new trace's id, and whether it is sampled: the SDK's ``TraceIdRatioBased`` rule.

    Not its ``should_sample``, which makes a result and reads the OpenTelemetry context
    each time: measured in place, a span beginning a trace cost several times one
    continuing a trace.
    """
    trace_id = _bits(128) or 1
    return trace_id, (trace_id & _LOW_64) < _sample_below


#: A span begun by `sending` or `child`: ``(name, kind, span id, start ns, its
#: traceparent, its tracestate, the remote traceparent, the remote tracestate, trace id,
#: sampled, parent id)``: the remote context is the one its trace continues (``""``: none,
#: and the trace id, begun here, is given instead); the parent id is its parent's when
#: that is a span here (else 0: the parent is the remote context, or it has none).
Sending = tuple[str, int, int, int, str, str, str, str, int, bool, int]

_bits = random.getrandbits
_now = time.time_ns


def sending(name: str, kind: SpanKind, parent: TraceContext) -> Sending | None:
    """A span begun now, whose context is handed on by hand; None when off.

    Its parent is ``parent`` (W3C text), else a trace begins (the sampler decides). Send
    its own ``traceparent`` and ``tracestate`` (fields 4 and 5) with the work, or give it
    to `child`; end it with `sent`. Not a `Recorded`: deliveries and task attempts, the
    spans made most often, are tuples, which cost half a `Recorded` and its context
    manager in a microbenchmark (in place, about the same), and set no context variable.
    """
    if _exporting is None:
        return None
    span_id = _bits(64) or 1
    traceparent, tracestate = parent
    trace_id = 0
    if traceparent:
        prefix, state = continued(parent)
        sampled = sampled_text(traceparent)
    else:
        trace_id, sampled = _new_trace()
        prefix, state = f"00-{trace_id:032x}-", ""
    own = f"{prefix}{span_id:016x}{'-01' if sampled else '-00'}"
    # `_value_`, not `value`: the enum's property costs more than the rest of this line.
    return (name, kind._value_, span_id, _now(), own, state, traceparent, tracestate,
            trace_id, sampled, 0)  # fmt: skip


def child(name: str, kind: SpanKind, of: Sending) -> Sending:
    """A span begun now whose parent is ``of`` (in its trace, with its sampling)."""
    span_id = _bits(64) or 1
    sampled = of[9]
    # Its own traceparent is the parent's with its span id: "00-<trace id>-" is 36 long.
    own = f"{of[4][:36]}{span_id:016x}{'-01' if sampled else '-00'}"
    return (name, kind._value_, span_id, _now(), own, of[5], of[6], of[7], of[8], sampled,
            of[2])  # fmt: skip


def sent(
    span: Sending,
    attributes: tuple[str | int, ...],
    error: str | None = None,
    exception: BaseException | None = None,
) -> None:
    """End a span from `sending` or `child` now: ``attributes`` are keys and values in turn.

    ``error`` marks it failed; ``exception``, one that ended the work, is recorded as
    the SDK records one (and, with no ``error``, says why it failed).
    """
    exporting = _exporting
    if exporting is None or not span[9]:
        return
    end = _now()
    thrown: tuple[str | None, str | None, int] = (None, None, 0)
    if exception is not None:
        kind = type(exception).__name__
        thrown = (kind, str(exception), end)
        error = error or f"{kind}: {exception}"
    name, kind_value, span_id, start, _, _, traceparent, tracestate, trace_id, _, parent = span
    exporting.add((name, kind_value, traceparent, tracestate, trace_id, parent, span_id, start,
                   end, error, *thrown, *attributes))  # fmt: skip


def current() -> TraceContext:
    """The current span's context as W3C text; none when off or outside a span."""
    if _exporting is not None:
        above = _current.get()
        if above is not None:
            return above.traceparent()
    return NO_CONTEXT


def carried(coro: Coroutine[Any, Any, T]) -> Coroutine[Any, Any, T]:
    """``coro``, run so that an execution it starts takes the current span's context.

    The engine runs ``coro`` on its own thread, where the caller's context is not
    current: this hands it over explicitly. Off, ``coro`` itself.
    """
    context = current()
    if not context[0]:
        return coro
    return _starting_in(context, coro)


async def _starting_in(context: TraceContext, coro: Coroutine[Any, Any, T]) -> T:
    _starting.set(context)
    return await coro


def starting() -> TraceContext:
    """The trace context of an execution started now (none unless `carried`)."""
    return _starting.get()
