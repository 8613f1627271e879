"""`tidings ARGS` with tracing on, every span going to the SDK's in-memory exporter.

What the benchmarks' ``--tracing`` runs instead of ``python -m tidings``: the cost of
making and recording spans, without a collector to send them to. The exporter is
emptied every second, as one sending to a collector forgets what it has sent: kept, the
spans of a whole run would only measure the garbage collector walking them.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python"))

from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from tidings.cli import main
from tidings.observe import tracing


def forget(exporter: InMemorySpanExporter, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        exporter.clear()


if __name__ == "__main__":
    spans = InMemorySpanExporter()
    # Batched, as spans going to a collector are.
    # The sampling a configured server would apply (TIDINGS_TRACING_SAMPLE_RATIO).
    ratio = float(os.environ.get("TIDINGS_TRACING_SAMPLE_RATIO", "1"))
    tracing.configure(exporter=spans, immediate=False, sample_ratio=ratio)
    threading.Thread(target=forget, args=(spans, threading.Event()), daemon=True).start()
    sys.exit(main())
