"""A minimal OTLP/gRPC collector for benchmarks: takes every span export, counts the spans.

Run as ``python bench/otlp_sink.py`` (prints ``ready PORT`` once it listens on
127.0.0.1); it stops when its standard input closes (the process that started it has
ended) and then prints ``otlp sink: N spans in M requests, C of a core`` (its own CPU
use) to standard error. Each request is decoded with the OTLP protos, so a benchmark
that counts on it also checks that what the server sent was whole OTLP. Not for tests
of behaviour.
"""

from __future__ import annotations

import resource
import sys
import threading
import time
from concurrent import futures

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def main() -> int:
    counts = {"spans": 0, "requests": 0}
    lock = threading.Lock()

    def export(request: ExportTraceServiceRequest, _: grpc.ServicerContext) -> bytes:
        spans = sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        with lock:
            counts["spans"] += spans
            counts["requests"] += 1
        return ExportTraceServiceResponse().SerializeToString()

    handler = grpc.method_handlers_generic_handler(
        "opentelemetry.proto.collector.trace.v1.TraceService",
        {
            "Export": grpc.unary_unary_rpc_method_handler(
                export, request_deserializer=ExportTraceServiceRequest.FromString
            )
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"ready {port}", flush=True)
    t0 = time.monotonic()
    sys.stdin.read()  # until the starter ends
    server.stop(1).wait()
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (used.ru_utime + used.ru_stime) / (time.monotonic() - t0)
    print(
        f"otlp sink: {counts['spans']} spans in {counts['requests']} requests, {cpu:.1%} of a core",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
