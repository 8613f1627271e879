"""Smoke tests for the real Kafka broker started by the session fixture."""

from __future__ import annotations

import subprocess
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic  # typed; confluent_kafka.admin re-exports it

from kafka_broker import KafkaBroker, repo_root

pytestmark = pytest.mark.kafka


def _create_topic(bootstrap: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=1, replication_factor=1)], operation_timeout=15
    )
    futures[topic].result(timeout=30)


def test_produce_consume_round_trip(kafka_bootstrap: str) -> None:
    topic = f"smoke-{uuid.uuid4().hex}"
    _create_topic(kafka_bootstrap, topic)

    key = b"execution-42"
    value = b'{"state": "done"}'
    headers: list[tuple[str, str | bytes | None]] = [
        ("ce_type", b"tidings.test"),
        ("ce_id", b"\x00\x01binary\xff"),
    ]

    delivered: list[Message] = []
    errors: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            errors.append(err)
        else:
            delivered.append(msg)

    producer = Producer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "message.timeout.ms": 30000,
        }
    )
    producer.produce(topic, value=value, key=key, headers=headers, on_delivery=on_delivery)
    remaining = producer.flush(timeout=45)
    assert remaining == 0, "producer did not deliver within the timeout"
    assert errors == []
    assert len(delivered) == 1
    assert delivered[0].offset() == 0

    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": f"smoke-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe([topic])
        got: Message | None = None
        deadline = time.monotonic() + 60
        while got is None and time.monotonic() < deadline:
            msg = consumer.poll(timeout=1.0)
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                assert not err.fatal(), err
                continue
            got = msg
        assert got is not None, "no message consumed within 60 s"
    finally:
        consumer.close()

    assert got.topic() == topic
    assert got.key() == key
    assert got.value() == value
    assert got.headers() == headers


def test_script_status_reports_running(kafka_broker: KafkaBroker | None) -> None:
    if kafka_broker is None:
        pytest.skip("TIDINGS_KAFKA_BOOTSTRAP is set: the broker is not ours to inspect")
    result = kafka_broker.run_script("status")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "running" in result.stdout
    assert kafka_broker.bootstrap in result.stdout
    assert (repo_root() / "scripts" / "kafka").is_file()


def test_script_help() -> None:
    result = subprocess.run(
        [str(repo_root() / "scripts" / "kafka"), "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0
    assert "start" in result.stdout and "stop" in result.stdout
