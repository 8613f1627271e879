"""What ``--local`` starts and stops: a ``tidings serve``, a Kafka broker, Mistral.

The broker is the project's ``scripts/kafka`` (found through ``TIDINGS_KAFKA_SCRIPT``,
else in a checkout above the working folder or this package); a wheel installed without
a checkout gives a broker with ``--kafka-bootstrap`` instead. Mistral, the engine
scenario's baseline, is ``scripts/mistral`` likewise (its REST API and RabbitMQ on free
ports of 127.0.0.1).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


class ServiceError(RuntimeError):
    """A local service could not start (the message says why, with its log's tail)."""


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def project_script(name: str) -> Path | None:
    """The project's ``scripts/NAME`` (``kafka``, ``mistral``), if this machine has one.

    ``TIDINGS_KAFKA_SCRIPT`` / ``TIDINGS_MISTRAL_SCRIPT`` name it; else a checkout above
    the working folder or this package holds it.
    """
    named = os.environ.get(f"TIDINGS_{name.upper()}_SCRIPT")
    if named:
        return Path(named) if Path(named).is_file() else None
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            if (folder / "scripts" / name).is_file():
                return folder / "scripts" / name
    return None


def kafka_script() -> Path | None:
    """The project's ``scripts/kafka``, if this machine has one."""
    return project_script("kafka")


class LocalServer:
    """``python -m tidings serve`` on a free port with a fresh data folder."""

    def __init__(self, kafka_bootstrap: str = "", launcher: Path | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="tidings-bench-"))
        #: A Python script run instead of ``-m tidings`` with the same arguments (an
        #: instrumented server, e.g. bench/traced_serve.py: tracing to memory).
        self._launcher = launcher
        self.address = f"127.0.0.1:{free_port()}"
        self._kafka = kafka_bootstrap
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self.proc is not None
        return self.proc.pid

    def log(self) -> str:
        """The tail of what the server printed."""
        path = self.folder / "server.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def start(self, timeout_s: float = 60.0) -> None:
        """Start it and wait until its health check answers SERVING."""
        command = [str(self._launcher)] if self._launcher else ["-m", "tidings"]
        args = [sys.executable, *command, "serve", "--listen", self.address,
                "--data-dir", str(self.folder / "data"), "--log-level", "WARNING"]  # fmt: skip
        if self._kafka:
            args += ["--kafka-bootstrap", self._kafka]
        # The harness's webhook receiver listens on 127.0.0.1: the server must allow it.
        # Seed 000's topics, which a server with Kafka always feeds, get names of this run:
        # a broker the harness shares keeps its own `mistral` and `service` topics clean.
        run = self.folder.name
        env = {
            **os.environ,
            "TIDINGS_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1/32",
            "TIDINGS_KAFKA_MISTRAL_TOPIC": f"{run}-mistral",
            "TIDINGS_KAFKA_SERVICE_TOPIC": f"{run}-service",
        }
        with (self.folder / "server.log").open("wb") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout_s
        with grpc.insecure_channel(self.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise ServiceError(
                        f"tidings serve exited {self.proc.returncode}:\n{self.log()}"
                    )
                try:
                    reply = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.1)
        self.stop()
        raise ServiceError(f"tidings serve did not serve within {timeout_s:.0f}s:\n{self.log()}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers; remove its folder."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class LocalKafka:
    """A single-node broker of ``scripts/kafka`` in a fresh folder on free ports."""

    def __init__(self, script: Path) -> None:
        self._script = script
        self.folder = Path(tempfile.mkdtemp(prefix="tidings-bench-kafka-"))
        self.port = free_port()
        self._controller = free_port()
        while self._controller == self.port:
            self._controller = free_port()

    @property
    def bootstrap(self) -> str:
        """Its ``bootstrap.servers``."""
        return f"127.0.0.1:{self.port}"

    def _run(self, command: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KAFKA_DIR": str(self.folder), "KAFKA_PORT": str(self.port),
               "KAFKA_CONTROLLER_PORT": str(self._controller),
               "KAFKA_START_TIMEOUT": "90"}  # fmt: skip
        return subprocess.run(
            [str(self._script), command], env=env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=timeout_s, check=False,
        )  # fmt: skip

    def start(self) -> None:
        """Start it and wait until it serves (the first start may download its jars)."""
        result = self._run("start", 600)
        if result.returncode != 0:
            self._run("stop", 120)
            raise ServiceError(f"scripts/kafka start exited {result.returncode}:\n"
                               f"{result.stdout[-3000:]}{result.stderr[-3000:]}")  # fmt: skip

    def stop(self) -> None:
        """Stop it and remove its folder."""
        self._run("stop", 120)
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> LocalKafka:
        self.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class LocalMistral:
    """OpenStack Mistral and its RabbitMQ, run by ``scripts/mistral`` in a fresh folder."""

    def __init__(self, script: Path) -> None:
        self._script = script
        self.folder = Path(tempfile.mkdtemp(prefix="tidings-bench-mistral-"))
        ports: set[int] = set()
        while len(ports) < 4:
            ports.add(free_port())
        self._ports = sorted(ports)

    @property
    def url(self) -> str:
        """Its v2 REST API."""
        return f"http://127.0.0.1:{self._ports[0]}/v2"

    def _run(self, command: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
        api, amqp, dist, epmd = self._ports
        env = {**os.environ, "MISTRAL_DIR": str(self.folder), "MISTRAL_PORT": str(api),
               "MISTRAL_AMQP_PORT": str(amqp), "MISTRAL_DIST_PORT": str(dist),
               "MISTRAL_EPMD_PORT": str(epmd)}  # fmt: skip
        return subprocess.run(
            [str(self._script), command], env=env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=timeout_s, check=False,
        )  # fmt: skip

    def start(self) -> None:
        """Start it and wait until its API answers (the first start builds its venv)."""
        result = self._run("start", 900)
        if result.returncode != 0:
            self._run("stop", 120)
            raise ServiceError(f"scripts/mistral start exited {result.returncode}:\n"
                               f"{result.stdout[-3000:]}{result.stderr[-3000:]}")  # fmt: skip

    def stop(self) -> None:
        """Stop it and remove its folder."""
        self._run("stop", 120)
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> LocalMistral:
        self.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
