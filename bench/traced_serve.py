"""`tidings ARGS` with tracing on, every span sent over OTLP/gRPC to a local collector.

What the benchmarks' ``--tracing`` runs instead of ``python -m tidings``: the server
configured as an operator would (``TIDINGS_TRACING_OTLP_ENDPOINT``, and
``TIDINGS_TRACING_SAMPLE_RATIO`` if set), its spans going to ``bench/otlp_sink.py``, a
collector in a process of its own that decodes and counts them (its count goes to
standard error, in the server's log, as the server ends).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "python"))

from tidings.cli import main  # noqa: E402


def start_sink() -> tuple[subprocess.Popen[str], str]:
    """The collector, and its endpoint; it ends when this process does (its stdin closes)."""
    sink = subprocess.Popen(
        [sys.executable, str(ROOT / "otlp_sink.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sink.stdout is not None
    ready = sink.stdout.readline().split()
    if ready[:1] != ["ready"]:
        sink.kill()
        raise RuntimeError("the OTLP sink did not start")
    return sink, f"http://127.0.0.1:{ready[1]}"


if __name__ == "__main__":
    sink, endpoint = start_sink()
    os.environ["TIDINGS_TRACING_OTLP_ENDPOINT"] = endpoint
    try:
        code = main()
    finally:
        assert sink.stdin is not None
        sink.stdin.close()
        sink.wait(10)
    sys.exit(code)
