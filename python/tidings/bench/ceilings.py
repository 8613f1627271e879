"""The dispatch scenario's baselines: the same payloads sent by plain clients.

What a user would otherwise write to move events: a confluent-kafka producer (acks=all,
idempotent, as tidings produces) and an aiohttp client posting with 64 requests in
flight (as many as tidings' webhook sink keeps) to the same receiver. They only send
bytes they already hold, so they are ceilings: tidings reads, renders, signs and records
each event besides.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from typing import Any

import aiohttp
from confluent_kafka import Producer

from tidings.bench.sinks import KafkaReader, Receiver
from tidings.bench.tally import Tally

WEBHOOK_CONCURRENCY = 64


def kafka(bootstrap: str, payload: bytes, count: int) -> dict[str, Any]:
    """Produce `count` copies of `payload` to a fresh topic until all are acknowledged."""
    topic = f"tidings-bench-ceiling-{uuid.uuid4().hex[:12]}"
    KafkaReader(bootstrap, topic, Tally("ceiling"), Counter()).create_topic()
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    failed = 0

    def done(error: Any, message: Any) -> None:
        nonlocal failed
        failed += error is not None

    t0 = time.perf_counter()
    for i in range(count):
        while True:
            try:
                producer.produce(topic, payload, key=str(i % 1000).encode(), on_delivery=done)
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                producer.poll(0.01)
        producer.poll(0)
    producer.flush(120)
    seconds = time.perf_counter() - t0
    return {"events": count, "failed": failed, "seconds": round(seconds, 3),
            "events_per_s": round(count / seconds, 1)}  # fmt: skip


async def webhook(receiver: Receiver, payload: bytes, count: int) -> dict[str, Any]:
    """POST `count` copies of `payload` to the receiver, 64 at a time."""
    url = receiver.url("/count")
    headers = {"Content-Type": "application/json"}
    remaining = iter(range(count))
    failed = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal failed
        for _ in remaining:
            async with session.post(url, data=payload, headers=headers) as reply:
                await reply.read()
                failed += reply.status >= 300

    connector = aiohttp.TCPConnector(limit=WEBHOOK_CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(WEBHOOK_CONCURRENCY)))
        seconds = time.perf_counter() - t0
    return {"events": count, "failed": failed, "seconds": round(seconds, 3),
            "events_per_s": round(count / seconds, 1)}  # fmt: skip
