"""Run a real `tidings serve` subprocess for integration tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kafka_broker import free_port
from seeds.hook import Expect, expect_topic

REPO = Path(__file__).resolve().parent.parent


class TidingsProcess:
    """`python -m tidings serve` on a free port with its own data folder."""

    def __init__(
        self,
        data_dir: Path,
        *extra_args: str,
        env: dict[str, str] | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        launcher: Sequence[str] = (),
    ) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.log_path = data_dir.parent / f"{data_dir.name}.log"
        self._args = extra_args
        self._env = env or {}
        #: How to reach a server that serves TLS (None: plaintext).
        self.credentials = credentials
        self.proc: subprocess.Popen[bytes] | None = None
        #: What runs ``serve ARGS`` (default ``python -m tidings``).
        self._launcher = list(launcher) or [sys.executable, "-m", "tidings"]

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until its health check answers SERVING."""
        env = {**os.environ, **self._env}
        if "--kafka-bootstrap" in self._args:
            # Seed 000's topics, which a server with Kafka always feeds (config defaults).
            for variable, default, kind in (
                ("TIDINGS_KAFKA_MISTRAL_TOPIC", "mistral", "event"),
                ("TIDINGS_KAFKA_SERVICE_TOPIC", "service", "service"),
            ):
                topic = env.get(variable) or default
                expect_topic(topic, Expect("mistral", kind, origin=f"tidings serve ({variable})"))
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(REPO / "python"), env.get("PYTHONPATH")])
        )
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [*self._launcher, "serve", "--listen", self.address,
                 "--data-dir", str(self.data_dir), *self._args],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        with self.channel() as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"tidings exited with {self.proc.returncode}:\n{self.log()}")
                try:
                    reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.1)
        self.kill()
        raise TimeoutError(f"tidings did not serve within {timeout}s:\n{self.log()}")

    def channel(self) -> grpc.Channel:
        """A channel to the server (TLS if it has ``credentials``)."""
        if self.credentials is None:
            return grpc.insecure_channel(self.address)
        return grpc.secure_channel(self.address, self.credentials)

    def log(self) -> str:
        """What the server printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> TidingsProcess:
        self.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.kill()
