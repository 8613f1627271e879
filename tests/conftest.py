"""Shared pytest fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from atom_server import AtomServer
from engine_client import EngineClient, EventLog
from kafka_broker import KafkaBroker
from tidings_process import TidingsProcess

# --- Kafka -------------------------------------------------------------------
# One real broker for the whole session, started by scripts/kafka. Set
# TIDINGS_KAFKA_BOOTSTRAP=host:port to use an already running broker instead.
# If the broker cannot start, the fixture raises: tests fail, never skip.


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaBroker | None]:
    """The session's own broker, or None when TIDINGS_KAFKA_BOOTSTRAP is set."""
    if os.environ.get("TIDINGS_KAFKA_BOOTSTRAP"):
        yield None
        return
    broker = KafkaBroker()
    broker.start()  # raises KafkaBrokerError on failure
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: KafkaBroker | None) -> str:
    """``bootstrap.servers`` of the session's Kafka broker."""
    external = os.environ.get("TIDINGS_KAFKA_BOOTSTRAP")
    if external:
        return external
    assert kafka_broker is not None
    return kafka_broker.bootstrap


# --- a module's engine server ------------------------------------------------------------
# Modules that define a module-scoped `server` fixture (a TidingsProcess, configured as
# they need) get a client, its event log and an atom server from here.


@pytest.fixture(scope="module")
def client(server: TidingsProcess) -> Iterator[EngineClient]:
    with EngineClient(server.address) as c:
        yield c


@pytest.fixture(scope="module")
def log(server: TidingsProcess) -> EventLog:
    return EventLog(server.data_dir)


@pytest.fixture(scope="module")
def atoms() -> Iterator[AtomServer]:
    with AtomServer() as server:
        yield server
