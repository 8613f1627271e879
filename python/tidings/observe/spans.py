"""Spans recorded cheaply where work happens, made whole and exported on a thread of their own.

The OpenTelemetry SDK's live ``Span`` (a lock, limits, an attached context, a processor
called as it ends) costs tens of microseconds, as much as the engine spends on a task
transition; a task attempt, an RPC or a delivery adds nothing to its span while it runs
but an attribute or a status. So a span here is a few fields set where it starts (an
RPC's a :class:`Recorded`, current in its context; a task attempt's, an atom call's and a
delivery's a tuple: `tracing.sending`); as it ends, a flat tuple (`Ended`) is queued.
`Exporting` hands queued spans in batches, on its own thread, to its outputs (what the SDK's
``BatchSpanProcessor`` does for its spans): `otlp.OtlpExporter`, which encodes them in
Rust, or an SDK exporter (`ToSdk`: tests' in-memory one), for which the SDK's
``ReadableSpan`` is made. Measured (a microbenchmark): a task attempt's span went from
~20 µs to ~1 µs on the thread that runs it.

Queued spans are tuples of strings and ints because the garbage collector stops tracking
those: a second's worth of span objects waiting for their batch survived into the old
generations and made every full collection walk them.

Their trace context is the parent's (the execution's stored ``traceparent``, the task
attempt's span, or the RPC's span current in the task), taken as text and parsed only
when needed; sampling follows the parent's flag, as the SDK's ``ParentBased`` sampler
does, and the configured ratio (``TraceIdRatioBased``'s rule) decides for a span with no
parent.
"""

from __future__ import annotations

import collections
import functools
import itertools
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    INVALID_SPAN_CONTEXT,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

__all__ = [
    "SCOPE", "Ended", "Exporting", "Output", "Recorded", "ToSdk", "TraceContext", "continued",
    "parse", "readable", "sampled_text",
]  # fmt: skip

log = logging.getLogger(__name__)

#: ``(traceparent, tracestate)``; ``("", "")`` is none.
TraceContext = tuple[str, str]

_PROPAGATOR = TraceContextTextMapPropagator()
#: The instrumentation scope of every span.
SCOPE = "tidings"
_SCOPE = InstrumentationScope(SCOPE)
_UNSET = Status(StatusCode.UNSET)
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NO_STATE = TraceState()
_KINDS = {kind.value: kind for kind in SpanKind}
#: The last hex digit of a ``traceparent`` (its flags) when the trace is sampled.
_SAMPLED_DIGITS = frozenset("13579bdfBDF")


@functools.lru_cache(maxsize=4096)
def parse(traceparent: str, tracestate: str) -> SpanContext:
    """The span context W3C text names (invalid if it names none).

    Cached: the spans of one execution share their parent's.
    """
    context = trace.get_current_span(
        _PROPAGATOR.extract({"traceparent": traceparent, "tracestate": tracestate})
    ).get_span_context()
    return context if context.is_valid else INVALID_SPAN_CONTEXT


def continued(origin: TraceContext) -> tuple[str, str]:
    """What a span continuing ``origin`` puts before its own id, and the state it passes on.

    A version-00 ``traceparent`` with no ``tracestate`` (what the server makes, and keeps
    once it has checked a caller's: `rpc`) is cut, not parsed: parsing with
    OpenTelemetry's propagator cost ~50 µs in place, once per execution's trace, more
    than the rest of its task attempts' spans.
    """
    traceparent, tracestate = origin
    if (not tracestate and len(traceparent) == 55 and traceparent[:3] == "00-"
            and traceparent[35] == "-"):  # fmt: skip
        return traceparent[:36], ""
    return _continued(origin)


@functools.lru_cache(maxsize=4096)
def _continued(origin: TraceContext) -> tuple[str, str]:
    remote = parse(*origin)
    return f"00-{remote.trace_id:032x}-", origin[1] and remote.trace_state.to_header()


#: An ended span waiting for export: one flat tuple of strings, ints and None, which the
#: garbage collector stops tracking at its first collection (a tuple holding tuples may
#: take two, and so reach an older generation), so thousands queued cost it nothing.
#: ``(name, kind, traceparent, tracestate, trace_id, parent_id, span_id, start_ns, end_ns,
#: error, exception type, exception message, exception time, *attributes)``, the fields of
#: `Recorded` (no ``origin``: ``""``; no exception: ``None``), then the attributes' keys
#: and values in turn.
Ended = tuple[Any, ...]
_NO_ORIGIN: TraceContext = ("", "")
_NO_EXCEPTION = (None, None, 0)
_ATTRIBUTES_AT = 13


class Recorded:
    """One span: what is known where it runs; `readable` makes the rest, after it ends.

    It holds no other span: its trace is ``origin`` (the W3C text of a remote parent or
    ancestor) or ``trace_id`` (a trace begun here), and its parent, if a span here, is
    ``parent_id``. So an ended span is a flat tuple (`Ended`), cheap to keep queued.
    """

    __slots__ = ("attributes", "error", "exception", "kind", "name", "origin", "parent_id",
                 "sampled", "span_id", "start_ns", "token", "trace_id")  # fmt: skip

    def __init__(
        self,
        name: str,
        kind: SpanKind,
        origin: TraceContext | None,
        trace_id: int,
        parent_id: int,
        sampled: bool,
        attributes: Mapping[str, AttributeValue] | None,
    ) -> None:
        self.name, self.kind, self.sampled = name, kind, sampled
        #: The remote context its trace continues; None for a trace begun here.
        self.origin = origin
        #: A trace begun here (else 0: ``origin`` has it).
        self.trace_id = trace_id
        #: Its parent span's id when that is a span here (else 0: ``origin``, or a root).
        self.parent_id = parent_id
        #: Kept, not copied: a caller hands over a mapping it makes for this span.
        self.attributes = attributes
        self.span_id = random.getrandbits(64) or 1
        self.start_ns = time.time_ns()
        self.error: str | None = None  # its status is ERROR with this description
        self.exception: tuple[str, str, int] | None = None  # type, message, when
        self.token: Any = None  # while it is the current span (`tracing.span`)

    def child(
        self, name: str, kind: SpanKind, attributes: Mapping[str, AttributeValue] | None
    ) -> Recorded:
        """A span whose parent is this one, in its trace."""
        return Recorded(
            name, kind, self.origin, self.trace_id, self.span_id, self.sampled, attributes
        )

    def is_recording(self) -> bool:
        """Whether its trace is sampled: it is exported when it ends."""
        return self.sampled

    def traceparent(self) -> TraceContext:
        """Its own context as W3C text, for outgoing headers."""
        origin = self.origin
        if origin is None:
            prefix, state = f"00-{self.trace_id:032x}-", ""
        else:
            prefix, state = continued(origin)
        return f"{prefix}{self.span_id:016x}{'-01' if self.sampled else '-00'}", state

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        """Add an attribute (kept only while recording)."""
        if self.sampled:
            self.attributes = {**(self.attributes or {}), key: value}

    def fail(self, message: str) -> None:
        """Mark it failed: its status ERROR with ``message``."""
        self.error = message

    def failed(self, kind: type[BaseException] | None, error: BaseException) -> None:
        """An exception left it: recorded as the SDK's spans record one.

        A status set before says more, and stays.
        """
        if self.sampled and self.error is None:
            name = kind.__name__ if kind else "Error"
            self.error = f"{name}: {error}"
            self.exception = (name, str(error), time.time_ns())

    def ended(self) -> Ended:
        """It, ended now, as `readable` takes it."""
        attributes = self.attributes
        return (
            self.name, self.kind._value_, *(self.origin or _NO_ORIGIN), self.trace_id,
            self.parent_id, self.span_id, self.start_ns, time.time_ns(), self.error,
            *(self.exception or _NO_EXCEPTION),
            *(itertools.chain.from_iterable(attributes.items()) if attributes else ()),
        )  # fmt: skip


def readable(span: Ended, resource: Resource) -> ReadableSpan:
    """The SDK's finished span, for an exporter."""
    (name, kind, traceparent, tracestate, trace_id, parent_id, span_id, start_ns, end_ns,
     error, exception, message, at) = span[:_ATTRIBUTES_AT]  # fmt: skip
    attributes = span[_ATTRIBUTES_AT:]
    remote: SpanContext | None = None
    state = _NO_STATE
    if traceparent:
        remote = parse(traceparent, tracestate)
        trace_id, state = remote.trace_id, remote.trace_state
    parent = remote
    if parent_id:
        parent = SpanContext(trace_id, parent_id, False, _SAMPLED, state)
    events: tuple[Event, ...] = ()
    if exception is not None:
        attrs = {"exception.type": exception, "exception.message": message}
        events = (Event("exception", attrs, at),)
    return ReadableSpan(
        name=name,
        context=SpanContext(trace_id, span_id, False, _SAMPLED, state),
        parent=parent,
        resource=resource,
        attributes=dict(zip(attributes[::2], attributes[1::2], strict=True))
        if attributes
        else None,
        events=events,
        kind=_KINDS[kind],
        status=_UNSET if error is None else Status(StatusCode.ERROR, error),
        start_time=start_ns,
        end_time=end_ns,
        instrumentation_scope=_SCOPE,
    )


def sampled_text(traceparent: str) -> bool:
    """Whether W3C text's flags say sampled (read without parsing the rest)."""
    return traceparent[-1:] in _SAMPLED_DIGITS


class Output(Protocol):
    """Where batches of ended spans go: `otlp.OtlpExporter`, or an SDK exporter (`ToSdk`)."""

    def export(self, spans: Sequence[Ended]) -> None:
        """Send a batch; raises if it could not be sent."""

    def closing(self) -> None:
        """The server is stopping: what is left is sent once, without waiting to retry."""

    def shutdown(self) -> None:
        """Release what it holds."""


class ToSdk:
    """An SDK ``SpanExporter`` (tests: the in-memory one), fed the SDK's ``ReadableSpan``."""

    def __init__(self, exporter: SpanExporter, resource: Resource) -> None:
        self.exporter, self.resource = exporter, resource

    def export(self, spans: Sequence[Ended]) -> None:
        """Make each span the SDK's and hand the batch over."""
        resource = self.resource
        self.exporter.export([readable(span, resource) for span in spans])

    def closing(self) -> None:
        """Nothing to stop: an SDK exporter does its own waiting."""

    def shutdown(self) -> None:
        """Shut the exporter down."""
        self.exporter.shutdown()


class Exporting:
    """Ended spans, queued from any thread and exported in batches from a thread of its own.

    A full queue drops what comes (counted and logged once per batch), as the SDK's
    ``BatchSpanProcessor`` does: tracing must never hold up or grow the server without
    bound. ``immediate`` exports each span as it ends, on the thread that ends it (tests).
    """

    def __init__(
        self,
        outputs: Sequence[Output],
        *,
        immediate: bool = False,
        max_queue: int = 8192,
        batch: int = 512,
        interval_s: float = 1.0,
    ) -> None:
        self._outputs = tuple(outputs)
        self._queue: collections.deque[Ended] = collections.deque()
        self._max_queue, self._batch, self._interval = max_queue, batch, interval_s
        #: Spans dropped because the queue was full.
        self.dropped = 0
        self._wake = threading.Event()
        self._done = threading.Event()
        self._lock = threading.Lock()  # one export at a time (the thread, or `flush`)
        self.add: Callable[[Ended], None] = self._export_now if immediate else self._queued
        self._thread: threading.Thread | None = None
        if not immediate:
            self._thread = threading.Thread(target=self._run, name="tidings-spans", daemon=True)
            self._thread.start()

    def _queued(self, span: Ended) -> None:
        queue = self._queue
        if len(queue) >= self._max_queue:
            self.dropped += 1
            return
        queue.append(span)
        if len(queue) == self._batch:
            self._wake.set()

    def _export_now(self, span: Ended) -> None:
        with self._lock:
            self._send([span])

    def _run(self) -> None:
        while not self._done.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        """Export every span queued so far."""
        with self._lock:
            queue = self._queue
            while queue:
                self._send([queue.popleft() for _ in range(min(self._batch, len(queue)))])
            if self.dropped:
                log.warning("tracing: %d spans dropped, the export queue was full", self.dropped)
                self.dropped = 0

    def _send(self, spans: list[Ended]) -> None:
        for output in self._outputs:
            try:
                output.export(spans)
            except Exception as error:  # a collector's trouble must not end the export thread
                log.warning("tracing: %d spans not exported: %s", len(spans), error)

    def shutdown(self) -> None:
        """Stop the thread, export what is queued (once, no retries), shut the outputs down."""
        self._done.set()
        self._wake.set()
        for output in self._outputs:
            output.closing()
        if self._thread is not None:
            self._thread.join()
        self.flush()
        for output in self._outputs:
            output.shutdown()
