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

from confluent_kafka import KafkaError, Message, Producer

log = logging.getLogger(__name__)


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
    }
    config.update(extra or {})
    return config


class KafkaSink:
    """Produces batches of records; `send` returns one error (or None) per record."""

    def __init__(self, bootstrap: str, extra: Mapping[str, Any] | None = None) -> None:
        try:
            self._producer = Producer(producer_config(bootstrap, extra))
        except Exception as exc:  # librdkafka rejects bad settings here
            raise KafkaSinkError(f"cannot create a Kafka producer: {exc}") from exc
        # One batch at a time: delivery reports are collected by the thread that polls.
        self._lock = threading.Lock()

    def _send(self, records: Sequence[Record], timeout: float) -> list[str | None]:
        results: list[str | None] = [None] * len(records)
        reported = [False] * len(records)
        pending = len(records)

        def report(index: int) -> Any:
            def on_delivery(err: KafkaError | None, _msg: Message) -> None:
                nonlocal pending
                pending -= 1
                reported[index] = True
                if err is not None:
                    results[index] = f"{err.name()}: {err.str()}"

            return on_delivery

        with self._lock:
            for i, r in enumerate(records):
                while True:
                    try:
                        self._producer.produce(
                            r.topic, r.value, r.key, headers=list(r.headers),
                            on_delivery=report(i),
                        )  # fmt: skip
                        break
                    except BufferError:  # the local queue is full: let it drain
                        self._producer.poll(0.05)
                    except Exception as exc:  # e.g. an invalid topic name
                        results[i] = f"produce: {exc}"
                        reported[i] = True
                        pending -= 1
                        break
            deadline = time.monotonic() + timeout
            while pending > 0 and time.monotonic() < deadline:
                self._producer.poll(0.05)
            if pending > 0:
                # Reports may still come later; the caller treats these as failed and
                # retries them, which the idempotent producer makes safe.
                for i, done in enumerate(reported):
                    if not done:
                        results[i] = "timed out waiting for the delivery report"
        return results

    async def send(self, records: Sequence[Record], timeout: float = 60.0) -> list[str | None]:
        """Produce the records in order; per record, None if the broker has it, else why."""
        if not records:
            return []
        return await asyncio.to_thread(self._send, records, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued (up to `timeout`), then release the producer."""
        with self._lock:
            left = self._producer.flush(timeout)
        if left:
            log.warning("kafka: %d records were still queued at close", left)
