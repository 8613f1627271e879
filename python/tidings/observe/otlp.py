"""Spans to an OpenTelemetry collector over OTLP/gRPC, encoded by the Rust codec.

The SDK's OTLP exporter makes the SDK's ``ReadableSpan`` of each span, then a protobuf
message object per field of it: ~50 µs a span on the export thread (a microbenchmark
of 512-span batches: 5 and 45), more than the engine spends on a whole task transition:
at 240 executions a second of 11 spans each, an eighth of a core. Here the spans' flat
tuples (`spans.Ended`) go straight to ``tidings._codec.encode_spans`` (~2 µs a span in
the same microbenchmark), and the bytes to the collector's ``TraceService/Export`` over
the grpcio the server already serves with. The request is the one the SDK's exporter
sends (a test decodes both with the OTLP protos and compares them).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence

import grpc
from opentelemetry.sdk.resources import Resource

from tidings import _codec
from tidings.observe.spans import SCOPE, Ended

__all__ = ["EXPORT", "OtlpExporter", "channel_of", "target_of"]

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#: The codes the OTLP specification says a client tries again after.
RETRYABLE = frozenset({
    grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.ABORTED, grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DATA_LOSS,
})  # fmt: skip
#: Seconds waited before each try again; then the batch is dropped (and logged).
BACKOFF = (0.5, 1.0, 2.0)


def target_of(endpoint: str) -> tuple[str, bool]:
    """``endpoint``'s gRPC target, and whether it is plaintext, as the SDK's exporter reads it.

    ``http://host:port`` is plaintext; ``https://host:port`` and a bare ``host:port``
    use TLS with the system's roots. ValueError says what is wrong with another.
    """
    scheme, sep, rest = endpoint.partition("://")
    if sep and scheme not in ("http", "https"):
        raise ValueError(f"{endpoint!r}: expected http://host:port, https://host:port or host:port")
    target = (rest if sep else endpoint).rstrip("/")
    if not target or "/" in target:
        raise ValueError(f"{endpoint!r}: expected http://host:port, https://host:port or host:port")
    return target, scheme == "http" and bool(sep)


def channel_of(endpoint: str) -> grpc.Channel:
    """A channel to ``endpoint`` (`target_of` says how it is read)."""
    target, plaintext = target_of(endpoint)
    if plaintext:
        return grpc.insecure_channel(target)
    return grpc.secure_channel(target, grpc.ssl_channel_credentials())


class OtlpExporter:
    """Sends batches of ended spans to one collector; tries again on the codes OTLP says."""

    def __init__(self, endpoint: str, resource: Resource, *, timeout_s: float = 10.0) -> None:
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self._channel = channel_of(endpoint)
        # No serializers: bytes in, bytes out.
        self._export = self._channel.unary_unary(EXPORT, None, None)
        self._resource = tuple(itertools.chain.from_iterable(resource.attributes.items()))
        self._closing = threading.Event()

    def export(self, spans: Sequence[Ended]) -> None:
        """Send ``spans`` in one request; raises the last error once the tries are spent."""
        body = _codec.encode_spans(self._resource, SCOPE, spans)
        for delay in (*BACKOFF, None):
            try:
                self._export(body, timeout=self.timeout_s)
                return
            except grpc.RpcError as error:
                code = error.code() if isinstance(error, grpc.Call) else None
                if delay is None or code not in RETRYABLE or self._closing.wait(delay):
                    raise

    def closing(self) -> None:
        """From now on one try each, with at most 2 s to answer: the server is stopping."""
        self._closing.set()
        self.timeout_s = min(self.timeout_s, 2.0)

    def shutdown(self) -> None:
        """Close the channel."""
        self._closing.set()
        self._channel.close()
