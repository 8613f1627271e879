"""Start and stop a real single-node Kafka broker for tests via ``scripts/kafka``; and
`consume`, the tests' Kafka consumer, which holds every record it reads to its seed."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Protocol, cast

from confluent_kafka import Consumer

from seeds import hook as seed_hook

__all__ = ["KafkaBroker", "KafkaBrokerError", "Record", "consume", "free_port", "repo_root"]

# Generous: the first start on a fresh machine downloads the jars with Maven.
_START_TIMEOUT_S = 600.0
_STOP_TIMEOUT_S = 120.0


class KafkaBrokerError(RuntimeError):
    """Raised when ``scripts/kafka`` fails to start or stop the broker."""


def repo_root() -> Path:
    """Return the repository root: the nearest ancestor holding ``scripts/kafka``."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "scripts" / "kafka").is_file():
            return parent
    raise KafkaBrokerError(f"cannot find the repository root above {here}")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _free_port_pair() -> tuple[int, int]:
    # Hold both sockets open together so the two ports differ.
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as a,
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as b,
    ):
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        return int(a.getsockname()[1]), int(b.getsockname()[1])


class KafkaBroker:
    """A real Kafka broker run by ``scripts/kafka`` in a fresh temporary dir.

    Usage::

        with KafkaBroker() as broker:
            use(broker.bootstrap)

    or call :meth:`start` and :meth:`stop` explicitly. :meth:`start` raises
    :class:`KafkaBrokerError` (with the script's output, which includes the
    tail of the broker log) if the broker does not come up.
    """

    def __init__(self, *, start_timeout_s: float = 90.0, attempts: int = 2) -> None:
        """Prepare (but do not start) a broker.

        ``start_timeout_s`` is the readiness timeout given to the script;
        ``attempts`` bounds retries with new ports (a free port can be taken
        between choosing it and the broker binding it).
        """
        self._root = repo_root()
        self._script = self._root / "scripts" / "kafka"
        self._start_timeout_s = start_timeout_s
        self._attempts = max(1, attempts)
        self._dir: Path | None = None
        self._port: int | None = None
        self._controller_port: int | None = None
        self._running = False

    @property
    def bootstrap(self) -> str:
        """The ``bootstrap.servers`` address, ``"127.0.0.1:<port>"``."""
        if self._port is None or not self._running:
            raise KafkaBrokerError("the broker is not running")
        return f"127.0.0.1:{self._port}"

    @property
    def directory(self) -> Path:
        """The broker's data dir (config, logs, pid file)."""
        if self._dir is None:
            raise KafkaBrokerError("the broker has not been started")
        return self._dir

    def env(self) -> dict[str, str]:
        """Return the environment that points ``scripts/kafka`` at this broker."""
        if self._dir is None or self._port is None or self._controller_port is None:
            raise KafkaBrokerError("the broker has not been started")
        env = dict(os.environ)
        env.update(
            KAFKA_DIR=str(self._dir),
            KAFKA_PORT=str(self._port),
            KAFKA_CONTROLLER_PORT=str(self._controller_port),
            KAFKA_START_TIMEOUT=str(int(self._start_timeout_s)),
        )
        return env

    def run_script(
        self, command: str, *, timeout_s: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run ``scripts/kafka <command>`` for this broker; never raises on exit code."""
        return subprocess.run(
            [str(self._script), command],
            env=self.env(),
            cwd=self._root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    def start(self) -> str:
        """Start the broker, wait until it serves, and return its bootstrap address."""
        if self._running:
            return self.bootstrap
        failures: list[str] = []
        for _ in range(self._attempts):
            self._dir = Path(tempfile.mkdtemp(prefix="tidings-kafka-"))
            self._port, self._controller_port = _free_port_pair()
            try:
                result = self.run_script("start", timeout_s=_START_TIMEOUT_S)
            except subprocess.TimeoutExpired as exc:
                # The script kills its broker on its own timeout; make sure.
                self.run_script("stop", timeout_s=_STOP_TIMEOUT_S)
                failures.append(f"scripts/kafka start timed out after {exc.timeout}s")
                continue
            if result.returncode == 0:
                self._running = True
                return self.bootstrap
            failures.append(
                f"scripts/kafka start exited {result.returncode} "
                f"(port {self._port}, dir {self._dir}):\n{result.stdout}{result.stderr}"
            )
        raise KafkaBrokerError("could not start Kafka:\n" + "\n".join(failures))

    def stop(self) -> None:
        """Stop the broker (if started) and remove its temporary dir."""
        if self._dir is None:
            return
        result = self.run_script("stop", timeout_s=_STOP_TIMEOUT_S)
        self._running = False
        if result.returncode != 0:
            raise KafkaBrokerError(
                f"scripts/kafka stop exited {result.returncode}:\n{result.stdout}{result.stderr}"
            )
        shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = None

    def __enter__(self) -> KafkaBroker:
        """Start the broker."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the broker."""
        self.stop()


class Record(Protocol):
    """A consumed record as the tests read it. confluent_kafka types every accessor
    of `Message` as optional; a record polled without error has a topic and a
    partition, and every record tidings produces has a value and headers, which the
    consumer gives as (name, bytes) pairs."""

    def topic(self) -> str: ...
    def partition(self) -> int: ...
    def key(self) -> bytes | None: ...
    def value(self) -> bytes: ...
    def headers(self) -> list[tuple[str, bytes]]: ...


def consume(bootstrap: str, topics: list[str], want: int, timeout: float = 60) -> list[Record]:
    """Read ``topics`` from the start until ``want`` records came (or ``timeout``).

    Each record is held to the seed of its topic (`seeds.hook.check_record`: topics learnt
    from the listeners and servers the tests made, or named with ``expect_topic``); a
    violation fails the test that consumed it.
    """
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"t-{uuid.uuid4()}",
         "auto.offset.reset": "earliest", "enable.auto.commit": False}
    )  # fmt: skip
    consumer.subscribe(topics)
    got: list[Record] = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < want and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                got.append(cast(Record, msg))
    finally:
        consumer.close()
    for record in got:
        seed_hook.check_record(record.topic(), record.headers() or [], record.value())
    return got
