"""Outbox benchmark (the dispatcher's parts, in process): outbox → real Kafka broker
(acks=all) and → a local webhook receiver (64 concurrent requests), ~2 KB mistral events.

A developer's measurement of the dispatcher's internals (no server, no engine: a filled
SQLite outbox drained by the Kafka pipeline and the webhook fan-out); what a deployment
sees end to end is ``tidings bench --scenario dispatch``.

Fills a real SQLite outbox, then measures in one run, for each transport:
  * events/s from the outbox to the sink (render + send + acknowledged / 2xx), and
  * commit-to-delivery latency (p50/p99) while events are committed at half that rate.
The process is tuned as `tidings serve` tunes its own (`tidings.tuning`: malloc keeps
freed memory, a 1 ms GIL switch interval, the heap frozen once the outbox is filled).

    python bench/outbox.py            # a table
    python bench/outbox.py --json     # one JSON object
    python bench/outbox.py --metrics  # metrics recorded and served, scraped every second
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "python"))
sys.path.insert(0, str(ROOT.parent / "tests"))
sys.path.insert(0, str(ROOT))

from codec import canonical, engine_data  # noqa: E402
from kafka_broker import KafkaBroker, free_port  # noqa: E402
from tidings.dispatch.fanout import Fanout  # noqa: E402
from tidings.dispatch.kafka.pipeline import KafkaPipeline  # noqa: E402
from tidings.dispatch.kafka.sink import KafkaSink, Record  # noqa: E402
from tidings.dispatch.targets import builtin_kafka_target  # noqa: E402
from tidings.dispatch.webhook.sink import WebhookSink  # noqa: E402
from tidings.listeners import new_secret  # noqa: E402
from tidings.metrics import record  # noqa: E402
from tidings.metrics.endpoint import MetricsEndpoint  # noqa: E402
from tidings.net import DestinationGuard  # noqa: E402
from tidings.observe import tracing  # noqa: E402
from tidings.store import Change, EventRow  # noqa: E402
from tidings.store.listeners import ListenerRow  # noqa: E402
from tidings.store.sqlite import SQLiteStore  # noqa: E402
from tidings.tuning import freeze_heap, keep_heap, share_gil  # noqa: E402
from tidings.v1 import event_pb2  # noqa: E402
from traced_serve import start_sink  # noqa: E402

TASK_FAILED = event_pb2.EVENT_TYPE_TASK_FAILED


def make_events(start: int, count: int, body: bytes) -> list[EventRow]:
    now = time.time()
    return [
        EventRow(f"ev-{i}", f"ex-{i % 1000}", i // 1000 + 1, TASK_FAILED, "wf", "w", now, body)
        for i in range(start, start + count)
    ]


async def fill(store: SQLiteStore, count: int, body: bytes, chunk: int = 5000) -> None:
    for start in range(0, count, chunk):
        change = Change()
        for ev in make_events(start, min(chunk, count - start), body):
            change.add_event(ev)
        await store.commit(change)


async def commit_at_rate(
    store: SQLiteStore,
    rate: float,
    seconds: float,
    body: bytes,
    first: int,
    committed: dict[str, float],
) -> None:
    """Commit events at `rate` per second for `seconds`, noting in `committed` (as it
    goes, for the delivery side to read) when each event's commit returned."""
    tick = 0.01
    per_tick = max(1, round(rate * tick))
    t_end = time.monotonic() + seconds
    next_tick = time.monotonic()
    while time.monotonic() < t_end:
        events = make_events(first, per_tick, body)
        first += per_tick
        change = Change()
        for ev in events:
            change.add_event(ev)
        await store.commit(change)
        now = time.time()  # the commit has returned: the events are durable
        committed.update((ev.id, now) for ev in events)
        next_tick += tick
        await asyncio.sleep(max(0.0, next_tick - time.monotonic()))


async def throughput(store: SQLiteStore, bootstrap: str, count: int) -> dict[str, Any]:
    sink = KafkaSink(bootstrap)
    # A fresh target (own cursor, own topic) per run.
    target = replace(
        builtin_kafka_target("service-bench", f"mistral-{time.time_ns()}"),
        id=f"bench-{time.time_ns()}",
    )
    pipeline = KafkaPipeline(target, store, sink)
    last = await store.last_position()
    t0 = time.perf_counter()
    task = asyncio.create_task(pipeline.run())
    while pipeline.cursor < last:
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - t0
    task.cancel()
    await asyncio.to_thread(sink.close)
    return {"events": pipeline.delivered, "seconds": round(elapsed, 3),
            "events_per_s": round(pipeline.delivered / elapsed)}  # fmt: skip


async def latency(
    store: SQLiteStore, bootstrap: str, rate: float, seconds: float, body: bytes
) -> dict[str, Any]:
    sink = KafkaSink(bootstrap)
    target = replace(
        builtin_kafka_target("service-bench", f"mistral-lat-{time.time_ns()}"),
        id=f"bench-lat-{time.time_ns()}",
    )
    pipeline = KafkaPipeline(target, store, sink)
    pipeline.cursor = await store.last_position()
    await store.save_cursor(target.id, pipeline.cursor)
    # Create the topic and its producer state first: a production topic exists already,
    # and its creation (hundreds of ms) is not delivery latency.
    warm = await sink.send([Record(target.topic, b"warm-up", b"{}")])
    if warm != [None]:
        raise RuntimeError(f"cannot produce to {target.topic}: {warm}")
    latencies: list[float] = []
    committed: dict[str, float] = {}

    def delivered(events: Any) -> None:
        now = time.time()
        latencies.extend(now - committed[e.id] for e in events if e.id in committed)

    pipeline.on_delivered = delivered
    store.on_commit(pipeline.wake)
    task = asyncio.create_task(pipeline.run())
    await commit_at_rate(store, rate, seconds, body, 10_000_000, committed)
    deadline = time.monotonic() + 30
    while len(latencies) < len(committed) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.to_thread(sink.close)
    ms = sorted(x * 1000 for x in latencies)
    return {"rate": round(rate), "events": len(ms), "p50_ms": round(statistics.median(ms), 1),
            "p99_ms": round(ms[int(len(ms) * 0.99) - 1], 1)}  # fmt: skip


def webhook_listener(listener_id: str, url: str) -> ListenerRow:
    now = time.time()
    return ListenerRow(
        id=listener_id, name=listener_id, scope="GLOBAL", scope_id="",
        filter={"workflows": [], "categories": [], "types": []}, profile="mistral",
        transport="webhook", config={"url": url, "method": "POST", "headers": {},
                                     "timeout_s": 15.0},
        retry={}, enabled=True, disabled_reason="",
        secrets=[{"secret": new_secret(), "expire_time": None}], create_time=now, update_time=now,
    )  # fmt: skip


async def start_fanout(
    store: SQLiteStore, sink: WebhookSink, row: ListenerRow, position: int
) -> Fanout:
    """The one outbox reader, from `position`, with `row` as its only listener."""
    fanout = Fanout(store, sink, concurrency=64, cursor_id=f"bench:{row.id}")
    store.on_committed(fanout.committed)
    await store.save_cursor(fanout.ledger.cursor_id, position)
    fanout.add(row, position)
    await fanout.start()
    return fanout


async def webhook_throughput(store: SQLiteStore, url: str, sink: WebhookSink) -> dict[str, Any]:
    row = webhook_listener(f"bench-wh-{time.time_ns()}", url)
    last = await store.last_position()
    t0 = time.perf_counter()
    fanout = await start_fanout(store, sink, row, 0)
    while fanout.cursor < last:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - t0
    delivery = fanout.delivery(row.id)
    assert delivery is not None
    delivered = delivery.delivered
    await fanout.stop()
    return {"deliveries": delivered, "seconds": round(elapsed, 3),
            "deliveries_per_s": round(delivered / elapsed)}  # fmt: skip


async def webhook_latency(
    store: SQLiteStore, url: str, sink: WebhookSink, rate: float, seconds: float, body: bytes
) -> dict[str, Any]:
    row = webhook_listener(f"bench-wh-lat-{time.time_ns()}", url)
    fanout = await start_fanout(store, sink, row, await store.last_position())
    delivery = fanout.delivery(row.id)
    assert delivery is not None
    committed: dict[str, float] = {}
    latencies: list[float] = []
    original = delivery._attempt

    async def timed(event_id: str, rendered: Any, trace: tuple[str, str] = ("", "")) -> Any:
        attempt = await original(event_id, rendered, trace)
        if attempt.ok and event_id in committed:
            latencies.append(time.time() - committed[event_id])
        return attempt

    delivery._attempt = timed  # type: ignore[method-assign]
    await asyncio.sleep(0.2)
    await commit_at_rate(store, rate, seconds, body, 20_000_000, committed)
    deadline = time.monotonic() + 30
    while len(latencies) < len(committed) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await fanout.stop()
    ms = sorted(x * 1000 for x in latencies)
    return {"rate": round(rate), "events": len(ms), "p50_ms": round(statistics.median(ms), 1),
            "p99_ms": round(ms[int(len(ms) * 0.99) - 1], 1)}  # fmt: skip


def bench_event(args: argparse.Namespace) -> bytes:
    """The canonical event every benchmark event is: with ``--tracing``, of a traced
    execution (each delivery continues its trace)."""
    body = canonical(engine_data(0), TASK_FAILED)
    if args.tracing:
        event = event_pb2.Event.FromString(body)
        event.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        body = event.SerializeToString()
    return body


async def run_webhooks(args: argparse.Namespace, url: str) -> dict[str, Any]:
    body = bench_event(args)
    with tempfile.TemporaryDirectory(prefix="tidings-webhooks-") as tmp:
        store = SQLiteStore(Path(tmp) / "outbox.sqlite3")
        await store.open()
        await fill(store, args.webhook_events, body)
        freeze_heap()
        sink = WebhookSink(DestinationGuard(["127.0.0.1/32"]), max_connections=64)
        # CPU time of this process per delivery (the receiver is another process):
        # steadier than throughput on a shared machine.
        cpu = time.process_time()
        best = await webhook_throughput(store, url, sink)
        cpu = time.process_time() - cpu
        lat = await webhook_latency(
            store, url, sink, best["deliveries_per_s"] / 2, args.seconds, body
        )
        await sink.aclose()
        await store.close()
    return {
        "webhook_deliveries_per_s": best["deliveries_per_s"],
        "webhook_cpu_us_per_delivery": round(cpu * 1e6 / best["deliveries"], 1),
        "webhook_p50_ms": lat["p50_ms"],
        "webhook_p99_ms": lat["p99_ms"],
        "webhook_latency_rate": lat["rate"],
        "webhook_events": args.webhook_events,
    }


def start_receiver() -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "receiver.py"), str(port)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise RuntimeError("the benchmark receiver did not start")
    return proc, f"http://127.0.0.1:{port}/hook"


async def run(args: argparse.Namespace, bootstrap: str) -> dict[str, Any]:
    body = bench_event(args)
    with tempfile.TemporaryDirectory(prefix="tidings-dispatch-") as tmp:
        store = SQLiteStore(Path(tmp) / "outbox.sqlite3")
        await store.open()
        await fill(store, args.events, body)
        freeze_heap()  # as the server does once it has started
        await throughput(store, bootstrap, args.events)  # warm-up: topics, connections
        cpu = time.process_time()
        best = await throughput(store, bootstrap, args.events)
        cpu = time.process_time() - cpu
        lat = await latency(store, bootstrap, best["events_per_s"] / 2, args.seconds, body)
        await store.close()
    return {
        "kafka_events_per_s": best["events_per_s"],
        "kafka_cpu_us_per_event": round(cpu * 1e6 / args.events, 1),
        "kafka_p50_ms": lat["p50_ms"],
        "kafka_p99_ms": lat["p99_ms"],
        "kafka_latency_rate": lat["rate"],
        "event_bytes": len(body),
        "events": args.events,
        "cpus": os.cpu_count(),
    }


def serve_metrics(stop: threading.Event) -> tuple[MetricsEndpoint, threading.Thread]:
    """Record metrics and serve them, scraped every second (harsher than Prometheus)."""
    record.enable()
    endpoint = MetricsEndpoint(f"127.0.0.1:{free_port()}")
    endpoint.start()

    def scrape() -> None:
        while not stop.wait(1.0):
            url = f"http://127.0.0.1:{endpoint.port}/metrics"
            with urllib.request.urlopen(url, timeout=10) as reply:
                reply.read()

    scraper = threading.Thread(target=scrape, daemon=True)
    scraper.start()
    return endpoint, scraper


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=5.0, help="latency phase length")
    parser.add_argument("--webhook-events", type=int, default=20_000)
    parser.add_argument("--metrics", action="store_true", help="record and serve metrics")
    parser.add_argument(
        "--tracing", action="store_true", help="trace, spans over OTLP to bench/otlp_sink.py"
    )
    args = parser.parse_args()
    # The process tuned as `tidings serve` tunes its own (tidings.tuning): the dispatcher
    # measured as it runs there. Its start-up heap is frozen once the outbox is filled.
    keep_heap()
    share_gil()
    sink = None
    if args.tracing:
        # Every span over OTLP/gRPC to a local collector (bench/otlp_sink.py), as a
        # configured server sends them.
        sink, endpoint = start_sink()
        tracing.configure(otlp_endpoint=endpoint)
    stop = threading.Event()
    if args.metrics:
        serve_metrics(stop)
    with KafkaBroker() as broker:
        result = asyncio.run(run(args, broker.bootstrap))
    receiver, url = start_receiver()
    try:
        result.update(asyncio.run(run_webhooks(args, url)))
    finally:
        receiver.kill()
        receiver.wait()
        stop.set()
        if sink is not None:
            tracing.shutdown()
            assert sink.stdin is not None
            sink.stdin.close()
            sink.wait(10)
    result["metrics"] = args.metrics
    result["tracing"] = args.tracing
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"dispatch benchmark: {result['events']} events of {result['event_bytes']} canonical "
          f"bytes, real Kafka broker (acks=all, idempotent), {result['cpus']} CPUs")  # fmt: skip
    print(f"  outbox -> Kafka            {result['kafka_events_per_s']:>10,} events/s")
    print(
        f"  latency at {result['kafka_latency_rate']:>7,}/s       "
        f"p50 {result['kafka_p50_ms']} ms, p99 {result['kafka_p99_ms']} ms (commit -> broker ack)"
    )
    print(f"  outbox -> webhooks (64 concurrent) {result['webhook_deliveries_per_s']:>7,} /s")
    print(
        f"  latency at {result['webhook_latency_rate']:>7,}/s       "
        f"p50 {result['webhook_p50_ms']} ms, p99 {result['webhook_p99_ms']} ms (commit -> 2xx)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
