"""Traces: OpenTelemetry spans of RPCs, task attempts, atom calls and deliveries.

Off by default. Off, every hook here checks one module global and returns a shared
no-op: no span object is made. On (:func:`configure`), spans go to an OTLP collector
(batched, from a background thread) or, in tests and benchmarks, to the exporter given.

Trace context crosses the engine's thread and the outbox as W3C ``traceparent`` text: an
execution keeps the context of the RPC that started it (``ExecutionRow.traceparent``,
stored, so it survives a restart), each of its events carries it (``Event.traceparent``),
and its task attempts, atom calls and webhook deliveries continue that trace.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Coroutine, Mapping, MutableMapping
from contextlib import AbstractContextManager
from contextvars import ContextVar
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

__all__ = [
    "NO_CONTEXT",
    "Span",
    "SpanKind",
    "TraceContext",
    "carried",
    "configure",
    "current",
    "enabled",
    "extract",
    "fail",
    "headers_of",
    "inject",
    "shutdown",
    "span",
    "start",
    "starting",
    "tracer",
]

T = TypeVar("T")

#: ``(traceparent, tracestate)``; ``("", "")`` is none.
TraceContext = tuple[str, str]
NO_CONTEXT: TraceContext = ("", "")

_PROPAGATOR = TraceContextTextMapPropagator()
#: None while tracing is off: the one thing every hook checks.
_tracer: trace.Tracer | None = None
_provider: TracerProvider | None = None
#: A context manager that does nothing and yields no span (reusable).
_NOOP: AbstractContextManager[Span | None] = contextlib.nullcontext(None)
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
    batches from a background thread, as the OTLP exporter does (benchmarks).
    """
    global _tracer, _provider
    shutdown()
    if not otlp_endpoint and exporter is None:
        return False
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}),
        sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
    )
    if exporter is not None:
        processor = SimpleSpanProcessor if immediate else BatchSpanProcessor
        provider.add_span_processor(processor(exporter))
    if otlp_endpoint:
        # Imported only when used: it loads the OTLP protos.
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    _provider, _tracer = provider, provider.get_tracer("tidings")
    return True


def shutdown() -> None:
    """Export what is pending and turn tracing off."""
    global _tracer, _provider
    provider, _provider, _tracer = _provider, None, None
    if provider is not None:
        provider.shutdown()


def enabled() -> bool:
    """Whether tracing is on."""
    return _tracer is not None


def span(
    name: str,
    *,
    parent: TraceContext | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> AbstractContextManager[Span | None]:
    """A span, current while the block runs; yields None (and makes nothing) when off.

    Its parent is ``parent`` when that names a context, else the current span. An
    exception leaving the block marks the span failed.
    """
    tracer = _tracer
    if tracer is None:
        return _NOOP
    context = _parent(*parent) if parent is not None and parent[0] else None
    return tracer.start_as_current_span(name, context=context, kind=kind, attributes=attributes)


def start(
    name: str,
    *,
    parent: TraceContext,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> Span | None:
    """A span the caller ends, never made current; None when off.

    Cheaper than `span` where nothing inside looks for the current span (a delivery:
    its context goes out through `headers_of`).
    """
    tracer = _tracer
    if tracer is None:
        return None
    context = _parent(*parent) if parent[0] else None
    return tracer.start_span(name, context=context, kind=kind, attributes=attributes)


def headers_of(span: Span, headers: MutableMapping[str, str]) -> None:
    """Add ``span``'s W3C ``traceparent`` (and ``tracestate``) to outgoing headers."""
    c = span.get_span_context()
    headers["traceparent"] = f"00-{c.trace_id:032x}-{c.span_id:016x}-{c.trace_flags:02x}"
    if c.trace_state:
        headers["tracestate"] = c.trace_state.to_header()


@functools.lru_cache(maxsize=4096)
def _parent(traceparent: str, tracestate: str) -> Any:
    # The events of one execution share its context: parsed once, not per span. (A
    # Context is immutable: sharing it is safe.)
    return _PROPAGATOR.extract({"traceparent": traceparent, "tracestate": tracestate})


def fail(span: Span | None, message: str) -> None:
    """Mark a span failed (a failed attempt that raised nothing)."""
    if span is not None:
        span.set_status(Status(StatusCode.ERROR, message))


def inject(headers: MutableMapping[str, str]) -> None:
    """Add the current span's ``traceparent`` (and ``tracestate``) to outgoing headers."""
    if _tracer is not None:
        _PROPAGATOR.inject(headers)


def extract(metadata: Mapping[str, str]) -> Any:
    """The OpenTelemetry context of incoming ``traceparent``/``tracestate`` values."""
    return _PROPAGATOR.extract(metadata)


def tracer() -> trace.Tracer | None:
    """The tracer while tracing is on."""
    return _tracer


def current() -> TraceContext:
    """The current span's context as W3C text; none when off or outside a span."""
    if _tracer is None:
        return NO_CONTEXT
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent", ""), carrier.get("tracestate", "")


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
