"""The Kafka sink: an idempotent producer (acks=all) that sends batches.

It reports, per record, what the broker said.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from confluent_kafka import KafkaError, Message, Producer

from tidings.dispatch.kafka.settings import redacted
from tidings.metrics import record

log = logging.getLogger(__name__)

#: How often librdkafka reports its statistics (brokers up, queue length), in ms.
STATS_INTERVAL_MS = 1000


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka record to produce."""

    topic: str
    key: bytes
    value: bytes
    headers: Sequence[tuple[str, bytes]] = ()


class KafkaSinkError(RuntimeError):
    """The producer cannot work at all (bad configuration, fatal idempotence error)."""


def producer_config(bootstrap: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The producer settings: durable, ordered, and batched for throughput."""
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        # Durable and ordered: every in-sync replica has it, and a retried batch can
        # neither duplicate nor reorder records of a partition.
        "enable.idempotence": True,
        "acks": "all",
        # Throughput: let records gather into large compressed batches.
        "linger.ms": 5,
        "batch.size": 1_000_000,
        "compression.type": "lz4",
        "queue.buffering.max.messages": 1_000_000,
        "queue.buffering.max.kbytes": 1_048_576,
        "message.timeout.ms": 30_000,
        "client.id": "tidings",
        # librdkafka's own messages go through Python logging, not straight to stderr.
        "logger": logging.getLogger("tidings.kafka.librdkafka"),
    }
    config.update(extra or {})
    return config


class _Batch:
    """Delivery reports of one batch, counted in the poll thread."""

    def __init__(self, records: Sequence[Record], loop: asyncio.AbstractEventLoop) -> None:
        self.results: list[str | None] = [None] * len(records)
        self.pending = len(records)
        self.failed: list[tuple[str | None, bytes | None, bytes | None, str]] = []
        self.done: asyncio.Future[None] = loop.create_future()
        self._loop = loop
        self._lock = threading.Lock()

    def settle(self, count: int = 1) -> None:
        with self._lock:
            self.pending -= count
            finished = self.pending == 0
        if finished:
            self._loop.call_soon_threadsafe(_resolve, self.done)

    def on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        # One callback for the whole batch: a closure per record would cost more than
        # the produce call itself. Failures are rare and are matched back afterwards.
        if err is not None:
            self.failed.append((msg.topic(), msg.key(), msg.value(), f"{err.name()}: {err.str()}"))
        self.settle()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class KafkaSink:
    """Produces batches of records; `send` returns one error (or None) per record.

    Several batches may be in flight at once; a background thread serves the delivery
    reports. The idempotent producer keeps each partition in produce order.
    """

    def __init__(self, bootstrap: str, extra: Mapping[str, Any] | None = None) -> None:
        config = producer_config(bootstrap, extra)
        #: What the producer was given, secrets redacted (for logs and checks).
        self.settings = redacted(config)
        #: Since when (time.time()) no broker has been connected, by librdkafka's last
        #: statistics; None while one is (health's Kafka check).
        self.unreachable_since: float | None = None
        #: Brokers connected at the last statistics; None before the first.
        self.brokers_up: int | None = None
        config.setdefault("statistics.interval.ms", STATS_INTERVAL_MS)
        config["stats_cb"] = self._stats
        config["error_cb"] = self._error
        try:
            self._producer = Producer(config)
        except Exception as exc:  # librdkafka rejects bad settings here
            raise KafkaSinkError(f"cannot create a Kafka producer: {exc}") from exc
        self._closed = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="kafka-poll", daemon=True)
        self._poller.start()
        # Batches are queued whole, one at a time, so that their records stay in order.
        self._produce_lock = threading.Lock()

    def _stats(self, text: str) -> None:
        """(The poll thread.) librdkafka's statistics: connected brokers, queue length."""
        try:
            stats = orjson.loads(text)
            brokers = stats.get("brokers", {}).values()
            up = sum(1 for b in brokers if b.get("state") == "UP" and b.get("source") != "internal")
            queued = int(stats.get("msg_cnt", 0))
        except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
            return
        self.brokers_up = up
        if up:
            self.unreachable_since = None
        elif self.unreachable_since is None:
            self.unreachable_since = time.time()
        record.kafka_stats(queued, up)

    def _error(self, error: KafkaError) -> None:
        """(The poll thread.) An error of the client as a whole (brokers down...)."""
        record.kafka_error("client")
        log.debug("kafka: %s", error)

    def _poll(self) -> None:
        while not self._closed.is_set():
            self._producer.poll(0.05)

    def _produce(self, records: Sequence[Record], batch: _Batch) -> None:
        with self._produce_lock:
            for i, r in enumerate(records):
                while True:
                    try:
                        self._producer.produce(
                            r.topic,
                            r.value,
                            r.key,
                            headers=list(r.headers),
                            on_delivery=batch.on_delivery,
                        )
                        break
                    except BufferError:  # the local queue is full: let it drain
                        time.sleep(0.01)
                    except Exception as exc:  # e.g. an invalid topic name
                        batch.results[i] = f"produce: {exc}"
                        batch.settle()
                        break

    async def send(self, records: Sequence[Record], timeout: float = 60.0) -> list[str | None]:
        """Produce the records in order; per record, None if the broker has it, else why."""
        if not records:
            return []
        batch = _Batch(records, asyncio.get_running_loop())
        await asyncio.to_thread(self._produce, records, batch)
        try:
            await asyncio.wait_for(asyncio.shield(batch.done), timeout)
        except TimeoutError:
            # Which records are still unreported is unknown: count none as delivered
            # (the caller sends them again; the idempotent producer makes that safe).
            return [r or "timed out waiting for the delivery report" for r in batch.results]
        results = batch.results
        if record.enabled():
            record.kafka_error("delivery", sum(1 for r in results if r is not None))
        if batch.failed:
            index = {(r.topic, r.key, r.value): i for i, r in enumerate(records)}
            for topic, key, value, error in batch.failed:
                found = index.get((topic or "", key or b"", value or b""))
                if found is not None:
                    results[found] = error
        return results

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued (up to `timeout`), then stop the poll thread."""
        left = self._producer.flush(timeout)
        self._closed.set()
        self._poller.join(timeout=5)
        if left:
            log.warning("kafka: %d records were still queued at close", left)
