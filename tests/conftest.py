"""Shared pytest fixtures."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator

import grpc
import pytest

from atom_server import AtomServer
from engine_client import EngineClient, EventLog
from kafka_broker import KafkaBroker
from seeds import hook as seed_hook
from seeds.known import KNOWN
from seeds.learn import learning_channel
from tidings_process import TidingsProcess

# --- seed conformance ----------------------------------------------------------------------
# Every payload a test receiver gets at a listener's URL, and every record `consume` reads,
# is held to its seed (tests/seeds/). The receivers learn what each URL and topic is for
# from the tests' own gRPC calls (seeds/learn.py), so every channel is a learning one. A
# violation fails the test it arrived in, unless seeds/known.py names it.


@pytest.fixture(scope="session", autouse=True)
def _learn_listeners() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(grpc, "insecure_channel", learning_channel)
        yield
    late = seed_hook.take_unexpected()
    if late:
        pytest.fail("after the last test: " + seed_hook.report(late), pytrace=False)


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Before the item's fixtures: payloads its module fixtures cause are its own.
    seed_hook.begin(item.nodeid)


@pytest.fixture(autouse=True)
def _seed_conformance() -> Iterator[None]:
    yield
    found = seed_hook.take_unexpected()
    if found:
        pytest.fail(seed_hook.report(found), pytrace=False)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Which known violations (seeds/known.py) this run let through, and in which tests."""
    hits = seed_hook.known_hits()
    if not hits:
        return
    terminalreporter.section("seed conformance: known violations let through (seeds/known.py)")
    for key, item in KNOWN.items():
        tests = Counter(f.test for f in hits if f.known == key)
        if tests:
            terminalreporter.write_line(
                f"{key} ({item.what}): {sum(tests.values())} in {sorted(tests)}"
            )
    unused = [key for key in KNOWN if all(f.known != key for f in hits)]
    if unused:
        terminalreporter.write_line(f"not hit this run: {', '.join(unused)}")


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
