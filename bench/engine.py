"""Engine benchmark: a 10-task std.noop workflow started by 16 concurrent gRPC clients.

Runs a real `tidings serve` subprocess on a fresh SQLite store and drives it over real
gRPC. Prints executions/s, task transitions/s (task events committed: each task's
start and end), and the p50/p99 time from calling StartExecution to the commit of the
execution's last event (read from the outbox's commit_time column afterwards).

    python bench/engine.py            # a table
    python bench/engine.py --json     # one JSON object
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "tests"))

from tidings.v1 import event_pb2  # noqa: E402
from tidings.v1 import execution_pb2 as E  # noqa: E402
from tidings.v1 import execution_pb2_grpc as EG  # noqa: E402
from tidings.v1 import workflow_pb2 as W  # noqa: E402
from tidings.v1 import workflow_pb2_grpc as WG  # noqa: E402
from tidings_process import TidingsProcess  # noqa: E402

TASKS = 10


def definition(tasks: int) -> str:
    lines = ["version: '2.0'", "bench_chain:", "  tasks:"]
    for i in range(1, tasks + 1):
        lines += [f"    t{i}:", "      action: std.noop"]
        if i < tasks:
            lines.append(f"      on-success: [t{i + 1}]")
    return "\n".join(lines) + "\n"


async def client(
    stub: EG.ExecutionServiceAsyncStub, deadline: float, starts: dict[str, float], limit: int
) -> None:
    while time.monotonic() < deadline and len(starts) < limit:
        t0 = time.time()
        reply = await stub.StartExecution(E.StartExecutionRequest(workflow="bench_chain"))
        starts[reply.execution.id] = t0


async def drive(address: str, clients: int, seconds: float, limit: int) -> dict[str, float]:
    starts: dict[str, float] = {}
    async with grpc.aio.insecure_channel(address) as channel:
        await WG.WorkflowServiceStub(channel).CreateWorkflow(
            W.CreateWorkflowRequest(definition=definition(TASKS))
        )
        stub = EG.ExecutionServiceStub(channel)
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(client(stub, deadline, starts, limit) for _ in range(clients)))
    return starts


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used: steadier than throughput on a
    shared machine, where other work takes the cores."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_end(db: Path, count: int, timeout: float) -> None:
    terminal = (
        event_pb2.EVENT_TYPE_EXECUTION_SUCCEEDED,
        event_pb2.EVENT_TYPE_EXECUTION_FAILED,
    )
    deadline = time.monotonic() + timeout
    with sqlite3.connect(db) as conn:
        while time.monotonic() < deadline:
            done = conn.execute(
                "SELECT count(*) FROM events WHERE type IN (?, ?)", terminal
            ).fetchone()[0]
            if done >= count:
                return
            time.sleep(0.2)
    raise TimeoutError(f"only part of {count} executions ended within {timeout}s")


def measure(db: Path, starts: dict[str, float]) -> dict[str, Any]:
    with sqlite3.connect(db) as conn:
        task_events = conn.execute(
            "SELECT count(*), min(commit_time), max(commit_time) FROM events WHERE type >= 30"
        ).fetchone()
        ends = dict(
            conn.execute(
                "SELECT execution_id, commit_time FROM events WHERE type IN (?, ?)",
                (event_pb2.EVENT_TYPE_EXECUTION_SUCCEEDED, event_pb2.EVENT_TYPE_EXECUTION_FAILED),
            ).fetchall()
        )
        failed = conn.execute(
            "SELECT count(*) FROM events WHERE type = ?", (event_pb2.EVENT_TYPE_EXECUTION_FAILED,)
        ).fetchone()[0]
    first_start = min(starts.values())
    last_commit = max(ends.values())
    span = last_commit - first_start
    latencies = sorted((ends[ex] - t0) * 1000 for ex, t0 in starts.items())
    return {
        "executions": len(starts),
        "failed": failed,
        "task_transitions": task_events[0],
        "seconds": round(span, 3),
        "executions_per_s": round(len(starts) / span, 1),
        "task_transitions_per_s": round(task_events[0] / span, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0, help="how long clients start")
    parser.add_argument("--max-executions", type=int, default=5000)
    parser.add_argument(
        "--tracing", action="store_true", help="trace, spans to the SDK's in-memory exporter"
    )
    args = parser.parse_args()
    launcher = [sys.executable, str(ROOT / "bench" / "traced_serve.py")] if args.tracing else []
    with tempfile.TemporaryDirectory(prefix="tidings-bench-") as tmp:
        data = Path(tmp) / "data"
        with TidingsProcess(data, "--log-level", "WARNING", launcher=launcher) as server:
            assert server.proc is not None
            cpu = cpu_seconds(server.proc.pid)
            starts = asyncio.run(
                drive(server.address, args.clients, args.seconds, args.max_executions)
            )
            wait_for_end(data / "tidings.sqlite3", len(starts), timeout=120)
            cpu = cpu_seconds(server.proc.pid) - cpu
            result = measure(data / "tidings.sqlite3", starts)
            result["server_cpu_ms_per_execution"] = round(cpu * 1000 / len(starts), 3)
            server.stop()
    result.update(
        clients=args.clients, tasks_per_execution=TASKS, cpus=os.cpu_count(), tracing=args.tracing
    )
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"engine benchmark: {TASKS}-task std.noop chain, {args.clients} concurrent gRPC clients,"
        f" SQLite, {os.cpu_count()} CPUs"
    )
    for key in ("executions", "failed", "executions_per_s", "task_transitions_per_s", "p50_ms",
                "p99_ms"):  # fmt: skip
        print(f"  {key:<24}{result[key]:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
