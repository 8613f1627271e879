"""Honest health: NOT_SERVING while Kafka is unreachable past the threshold, or while the
store cannot commit; SERVING again once they recover. Every transition is seen by
polling the health service, never by sleeping."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from engine_client import unique
from kafka_broker import KafkaBroker, free_port
from metrics_scrape import samples, value
from tidings.server import SERVED
from tidings_process import TidingsProcess
from webhook_receiver import ALLOW_LOCAL, Listeners, webhook_listener

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
#: Every name health answers for: overall, each service, readiness.
NAMES = ("", *(s.full_name for s in SERVED), "tidings.ready")
FAST = {"TIDINGS_HEALTH_INTERVAL_S": "0.2"}


def statuses(server: TidingsProcess) -> dict[str, int]:
    with server.channel() as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return {n: stub.Check(health_pb2.HealthCheckRequest(service=n), timeout=5).status
                for n in NAMES}  # fmt: skip


def wait_until(probe: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def all_are(server: TidingsProcess, status: int) -> Callable[[], bool]:
    return lambda: set(statuses(server).values()) == {status}


@pytest.mark.kafka
def test_health_follows_the_broker_down_and_up(tmp_path: Path) -> None:
    broker = KafkaBroker()
    bootstrap = broker.start()
    port = free_port()
    env = {**FAST, "TIDINGS_HEALTH_KAFKA_UNREACHABLE_AFTER_S": "2",
           "TIDINGS_METRICS_LISTEN": f"127.0.0.1:{port}"}  # fmt: skip
    try:
        with TidingsProcess(tmp_path / "data", "--kafka-bootstrap", bootstrap, env=env) as server:
            # Connected first (a positive signal), and serving everywhere.
            wait_until(lambda: value(samples(port), "tidings_kafka_brokers_up") >= 1, 60,
                       "the producer to connect")  # fmt: skip
            wait_until(all_are(server, SERVING), 30, "SERVING on every name")

            assert broker.run_script("stop").returncode == 0
            wait_until(all_are(server, NOT_SERVING), 60, "NOT_SERVING with the broker down")
            assert value(samples(port), "tidings_health_serving", check="kafka") == 0
            assert value(samples(port), "tidings_health_serving", check="store") == 1

            # The same address again: the producer reconnects, health recovers.
            assert broker.run_script("start", timeout_s=180).returncode == 0
            wait_until(all_are(server, SERVING), 120, "SERVING again with the broker up")
            assert server.stop() == 0
        assert "NOT_SERVING (store commits, kafka unreachable)" in server.log()
    finally:
        broker.stop()


def test_health_is_not_serving_while_the_store_cannot_commit(tmp_path: Path) -> None:
    """Another connection holds SQLite's write lock: the server's commits fail (after
    its busy timeout) on the real commit path, a CreateListener's and the probe's."""
    with TidingsProcess(tmp_path / "data", env={**FAST, **ALLOW_LOCAL}) as server:
        wait_until(all_are(server, SERVING), 30, "SERVING on every name")
        spec = webhook_listener(unique("locked"), "http://127.0.0.1:9/")
        blocker = sqlite3.connect(server.data_dir / "tidings.sqlite3", isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")
            with server.channel() as channel, pytest.raises(grpc.RpcError):
                Listeners(channel).create(spec)
            wait_until(all_are(server, NOT_SERVING), 30, "NOT_SERVING with the store locked")
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        wait_until(all_are(server, SERVING), 30, "SERVING once the store commits again")
        with server.channel() as channel:
            created, _ = Listeners(channel).create(spec)
        assert created.id
        assert server.stop() == 0
    assert "NOT_SERVING (store cannot commit, kafka reachable)" in server.log()
