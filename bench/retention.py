"""Retention soak: steady load with retention 60 s; the database size should stay flat.

Runs a real `tidings serve` (SQLite, retention_s = execution_retention_s = 60) with one
webhook listener (the cloudevents profile: every event) to a receiver in this process
that records each request's `webhook-id` (the event id). Starts executions of a small
std.noop chain at a steady rate for `--minutes`, samples the size of the database file
(and its WAL) and its row counts every `--sample` seconds, then waits until every event
is delivered and checks that none was lost: the receiver heard each execution's events
(2 per task, plus started and succeeded) at least once, a success among them for every
execution.

Columns: the file and its WAL; inside the database (SQLite's dbstat), the bytes of the
outbox (events, delivery records, attempts, with their indexes: what retention bounds),
of the rest (executions and tasks: execution retention is set to the same 60 s, so they
go too) and of free pages.

    python bench/retention.py                  # 5 minutes, a table
    python bench/retention.py --minutes 1      # shorter
    python bench/retention.py --json

Not part of `make test` (it takes minutes); expected: the outbox flat after the first
minute (what retention removes each pass is what the load adds meanwhile), and so the
rest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar, cast

import grpc
from google.protobuf.struct_pb2 import Struct

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "tests"))

from tidings.v1 import execution_pb2 as E  # noqa: E402
from tidings.v1 import execution_pb2_grpc as EG  # noqa: E402
from tidings.v1 import listener_pb2 as L  # noqa: E402
from tidings.v1 import listener_pb2_grpc as LG  # noqa: E402
from tidings.v1 import workflow_pb2 as W  # noqa: E402
from tidings.v1 import workflow_pb2_grpc as WG  # noqa: E402
from tidings_process import TidingsProcess  # noqa: E402

TASKS = 3
EVENTS_PER_EXECUTION = 2 * TASKS + 2
WORKFLOW = "soak_chain"


def definition() -> str:
    lines = ["version: '2.0'", f"{WORKFLOW}:", "  input: [blob]", "  tasks:"]
    for i in range(1, TASKS + 1):
        lines += [f"    t{i}:", "      action: std.noop"]
        if i < TASKS:
            lines.append(f"      on-success: [t{i + 1}]")
    return "\n".join(lines) + "\n"


class Recorder(asyncio.Protocol):
    """HTTP/1.1 keep-alive receiver: answers 200, records each request's webhook-id, and
    the subjects (execution ids) of the execution.succeeded events."""

    ids: ClassVar[set[str]] = set()
    succeeded: ClassVar[set[str]] = set()
    requests = 0
    OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].decode("latin-1").lower().split("\r\n")
            fields = dict(line.split(":", 1) for line in head[1:] if ":" in line)
            total = end + 4 + int(fields.get("content-length", "0").strip() or 0)
            if len(self.buffer) < total:
                return
            body, self.buffer = self.buffer[end + 4 : total], self.buffer[total:]
            if b'"io.tidings.execution.succeeded"' in body:
                Recorder.succeeded.add(json.loads(body)["subject"])
            Recorder.requests += 1
            Recorder.ids.add(fields.get("webhook-id", "").strip())
            self.transport.write(self.OK)


#: The outbox's tables and their indexes (what retention bounds).
OUTBOX = ("events", "deliveries", "delivery_attempts")


def sample(data: Path) -> dict[str, float]:
    """The files' sizes, and the bytes of the outbox and of the rest (dbstat), rows."""
    db = data / "tidings.sqlite3"
    wal = data / "tidings.sqlite3-wal"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        events, deliveries = conn.execute(
            "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM deliveries)"
        ).fetchone()
        owners = dict(conn.execute("SELECT name, tbl_name FROM sqlite_schema").fetchall())
        outbox = rest = 0
        for name, size in conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            if owners.get(name, name) in OUTBOX:
                outbox += size
            else:
                rest += size
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0] * page
    finally:
        conn.close()
    return {
        "db_mb": round(db.stat().st_size / 1e6, 2),
        "wal_mb": round(wal.stat().st_size / 1e6, 2) if wal.exists() else 0.0,
        "outbox_mb": round(outbox / 1e6, 2),
        "rest_mb": round(rest / 1e6, 2),
        "free_mb": round(free / 1e6, 2),
        "events": events,
        "deliveries": deliveries,
    }


#: Answers after which a start is tried again (its request_id makes that safe).
TRANSIENT = (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE)


async def start(
    stub: EG.ExecutionServiceAsyncStub, request: E.StartExecutionRequest
) -> E.StartExecutionResponse:
    """StartExecution, again on a transient failure (a loaded machine)."""
    for _ in range(5):
        try:
            return await stub.StartExecution(request)
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in TRANSIENT:
                raise
            await asyncio.sleep(0.5)
    return await stub.StartExecution(request)


async def soak(
    server: TidingsProcess, port: int, rate: float, seconds: float, every: float
) -> tuple[list[str], list[dict[str, Any]]]:
    # A kilobyte of input in every execution's events.
    blob = Struct()
    blob.update({"blob": "x" * 1024})
    curve: list[dict[str, Any]] = []
    started: list[str] = []
    async with grpc.aio.insecure_channel(server.address) as channel:
        await WG.WorkflowServiceStub(channel).CreateWorkflow(
            W.CreateWorkflowRequest(definition=definition())
        )
        listener = L.Listener(
            name="soak",
            profile=L.PROFILE_CLOUDEVENTS,
            webhook=L.WebhookTransport(url=f"http://127.0.0.1:{port}/soak"),
        )
        listener.filter.workflows.append(WORKFLOW)
        await LG.ListenerServiceStub(channel).CreateListener(
            L.CreateListenerRequest(listener=listener)
        )
        stub = EG.ExecutionServiceStub(channel)
        begin = time.monotonic()
        next_sample = begin
        pending: set[asyncio.Future[E.StartExecutionResponse]] = set()
        n = 0
        while (now := time.monotonic()) < begin + seconds:
            if now >= next_sample:
                curve.append({"t_s": round(now - begin), **sample(server.data_dir)})
                print(json.dumps(curve[-1]), file=sys.stderr, flush=True)  # as it goes
                next_sample += every
            due = int((now - begin) * rate) - n
            for _ in range(due):
                request = E.StartExecutionRequest(
                    workflow=WORKFLOW, input=blob, request_id=f"soak-{n}"
                )
                pending.add(asyncio.ensure_future(start(stub, request)))
                n += 1
            done = {t for t in pending if t.done()}
            started.extend(t.result().execution.id for t in done)
            pending -= done
            await asyncio.sleep(0.01)
        for reply in await asyncio.gather(*pending):
            started.append(reply.execution.id)
        curve.append({"t_s": round(time.monotonic() - begin), **sample(server.data_dir)})
        # Every execution ends, and every event reaches the receiver (bounded).
        deadline = time.monotonic() + 300
        want = len(started) * EVENTS_PER_EXECUTION
        while len(Recorder.ids - {""}) < want and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
    # Execution rows go with retention too: how each one ended is in its events.
    failed = set(started) - Recorder.succeeded
    if failed:
        raise SystemExit(f"{len(failed)} executions did not succeed, e.g. {sorted(failed)[:3]}")
    return started, curve


async def run(args: argparse.Namespace, data: Path) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    receiver = await loop.create_server(Recorder, "127.0.0.1", 0, backlog=1024)
    port = receiver.sockets[0].getsockname()[1]
    env = {
        "TIDINGS_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1/32",
        "TIDINGS_RETENTION_S": str(args.retention),
        "TIDINGS_EXECUTION_RETENTION_S": str(args.retention),
        "TIDINGS_RETENTION_INTERVAL_S": str(args.interval),
    }
    with TidingsProcess(data, "--log-level", "WARNING", env=env) as server:
        started, curve = await soak(server, port, args.rate, args.minutes * 60, args.sample)
        server.stop()
    receiver.close()
    delivered = len(Recorder.ids - {""})
    expected = len(started) * EVENTS_PER_EXECUTION
    steady = [p["outbox_mb"] for p in curve if p["t_s"] >= 60 + args.retention / 2]
    steady_db = [p["db_mb"] for p in curve if p["t_s"] >= 60 + args.retention / 2]
    return {
        "executions": len(started),
        "events_expected": expected,
        "events_delivered": delivered,
        "requests": Recorder.requests,
        "lost": expected - delivered,
        "retention_s": args.retention,
        "interval_s": args.interval,
        "rate_per_s": args.rate,
        "steady_outbox_mb_min": min(steady, default=0.0),
        "steady_outbox_mb_max": max(steady, default=0.0),
        "steady_db_mb_min": min(steady_db, default=0.0),
        "steady_db_mb_max": max(steady_db, default=0.0),
        "curve": curve,
        "cpus": os.cpu_count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=20.0, help="executions started per second")
    parser.add_argument("--retention", type=float, default=60.0, help="retention_s")
    parser.add_argument("--interval", type=float, default=10.0, help="retention_interval_s")
    parser.add_argument("--sample", type=float, default=15.0, help="seconds between samples")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tidings-soak-") as tmp:
        result = asyncio.run(run(args, Path(tmp) / "data"))
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"retention soak: {args.rate:g} executions/s of a {TASKS}-task chain "
            f"({EVENTS_PER_EXECUTION} events each) for {args.minutes:g} min, retention "
            f"{args.retention:g} s (a pass every {args.interval:g} s), {os.cpu_count()} CPUs"
        )
        print(
            f"  {'t (s)':>6} {'file MB':>8} {'wal MB':>8} {'outbox MB':>10} {'rest MB':>8}"
            f" {'free MB':>8} {'events':>8} {'deliveries':>11}"
        )
        for p in result["curve"]:
            print(
                f"  {p['t_s']:>6} {p['db_mb']:>8} {p['wal_mb']:>8} {p['outbox_mb']:>10}"
                f" {p['rest_mb']:>8} {p['free_mb']:>8} {p['events']:>8} {p['deliveries']:>11}"
            )
        print(
            f"  executions {result['executions']}, events delivered "
            f"{result['events_delivered']} of {result['events_expected']} (lost: "
            f"{result['lost']}), requests {result['requests']}"
        )
        print(
            f"  after the first minute: database {result['steady_db_mb_min']}-"
            f"{result['steady_db_mb_max']} MB, outbox {result['steady_outbox_mb_min']}-"
            f"{result['steady_outbox_mb_max']} MB"
        )
    return 1 if result["lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
