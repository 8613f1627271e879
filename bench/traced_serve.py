"""`tidings ARGS` with tracing on, every span going to the SDK's in-memory exporter.

What the benchmarks' ``--tracing`` runs instead of ``python -m tidings``: the cost of
making and recording spans, without a collector to send them to.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python"))

from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from tidings.cli import main
from tidings.observe import tracing

if __name__ == "__main__":
    # Batched, as spans going to a collector are.
    tracing.configure(exporter=InMemorySpanExporter(), immediate=False)
    sys.exit(main())
