"""The engine process really serves gRPC and stops cleanly."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from tidings_process import REPO, TidingsProcess


def test_health_check_answered_by_running_server(tmp_path: Path) -> None:
    with TidingsProcess(tmp_path / "data") as server:
        with grpc.insecure_channel(server.address) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=5
            )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        assert server.stop() == 0
    assert "stopped" in server.log()
    # The embedded store lives under the data folder, in WAL mode.
    db = sqlite3.connect(tmp_path / "data" / "tidings.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_reflection_lists_health_service(tmp_path: Path) -> None:
    with TidingsProcess(tmp_path / "data") as server:
        with grpc.insecure_channel(server.address) as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            replies = list(stub.ServerReflectionInfo(iter([request]), timeout=5))
        names = {s.name for s in replies[0].list_services_response.service}
        assert "grpc.health.v1.Health" in names


def test_bad_listen_address_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tidings", "serve", "--listen", "nonsense",
         "--data-dir", str(tmp_path)],
        capture_output=True, text=True, cwd=REPO, env={"PYTHONPATH": str(REPO / "python")},
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "listen: expected host:port" in result.stderr


def test_a_second_server_on_a_data_folder_in_use_refuses_to_start(tmp_path: Path) -> None:
    def second() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tidings", "serve", "--listen", "127.0.0.1:0",
             "--data-dir", str(tmp_path / "data")],
            capture_output=True, text=True, cwd=REPO, timeout=60,
            env={"PYTHONPATH": str(REPO / "python")},
        )  # fmt: skip

    first = TidingsProcess(tmp_path / "data")
    with first:
        assert first.proc is not None
        refused = second()
        assert refused.returncode == 2
        assert str((tmp_path / "data").resolve()) in refused.stderr
        assert f"process {first.proc.pid}" in refused.stderr
        # The first server is untouched: it still answers.
        with grpc.insecure_channel(first.address) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=5
            )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        first.kill()  # as a crash: the kernel releases the lock
    # Free again: a new server takes the folder (and its executions) over.
    with TidingsProcess(tmp_path / "data") as again:
        assert again.stop() == 0
