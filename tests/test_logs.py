"""Log lines of a real `tidings serve`: JSON lines carrying ids, text on a terminal."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import grpc

from atom_server import AtomServer, Reply, unused_port
from engine_client import EngineClient, http_task, unique, wait_for, workflow_yaml
from kafka_broker import free_port
from tidings.observe import logs
from tidings.v1 import listener_pb2, listener_pb2_grpc
from tidings_process import REPO, TidingsProcess

LPB = listener_pb2
T = 10.0


def json_lines(text: str) -> list[dict[str, object]]:
    """Every line of the server's output, each of which must be a JSON object."""
    out = []
    for line in text.splitlines():
        value = json.loads(line)  # fails the test on a line that is not JSON
        assert isinstance(value, dict), line
        out.append(value)
    return out


def test_json_lines_carry_the_ids_of_what_they_are_about(tmp_path: Path) -> None:
    env = {
        "TIDINGS_LOG_FORMAT": "json",
        "TIDINGS_HTTP_TRANSPORT_RETRIES": "1",
        "TIDINGS_HTTP_RETRY_DELAY_S": "0",
        "TIDINGS_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1/32",
    }
    with AtomServer() as hooks, TidingsProcess(tmp_path / "data", env=env) as server:
        hooks.script("/refuse", Reply(status=500))
        url = hooks.url("/refuse")
        with EngineClient(server.address) as client, grpc.insecure_channel(server.address) as ch:
            listener = listener_pb2_grpc.ListenerServiceStub(ch).CreateListener(
                LPB.CreateListenerRequest(
                    listener=LPB.Listener(
                        name="refusing", profile=LPB.PROFILE_MISTRAL, enabled=True,
                        webhook=LPB.WebhookTransport(url=url),
                    )
                ),
                timeout=T,
            ).listener  # fmt: skip
            name = unique("logged")
            # No atom listens there: std.http logs its retry, then the task fails.
            nowhere = f"http://127.0.0.1:{unused_port()}/atom"
            client.create_workflow(workflow_yaml(name, {"call": http_task(nowhere)}))
            ex = client.start(name)
            client.wait_until_ended(ex.id)
            task_id = client.task(ex.id, "call").id

            def about(key: str, value: str) -> list[dict[str, object]]:
                return [line for line in json_lines(server.log()) if line.get(key) == value]

            retried = wait_for(
                lambda: about("task_id", task_id), bool, T, "a log line about the task"
            )
            refused = wait_for(
                lambda: about("listener_id", listener.id), bool, T, "a line about the delivery"
            )
    assert retried[0]["execution_id"] == ex.id
    assert "retrying" in str(retried[0]["message"])
    assert {"time", "level", "logger"} <= retried[0].keys()
    assert refused[0]["event_id"] and "not delivered" in str(refused[0]["message"])
    serving = [line for line in json_lines(server.log()) if "serving gRPC" in str(line["message"])]
    assert serving and serving[0]["level"] == "INFO"


def test_text_stays_the_default_on_a_terminal(tmp_path: Path) -> None:
    assert not logs.wants_json("auto", _Terminal())
    assert logs.wants_json("auto", io.StringIO())  # a file, a pipe: JSON lines
    assert not logs.wants_json("text", io.StringIO())

    # A real server whose output is a terminal writes human lines.
    main, child = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO / "python")}
    env.pop("TIDINGS_LOG_FORMAT", None)
    address = f"127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tidings", "serve", "--listen", address,
         "--data-dir", str(tmp_path / "data")],
        stdout=child, stderr=child, stdin=subprocess.DEVNULL, env=env, cwd=REPO,
    )  # fmt: skip
    os.close(child)
    seen = b""
    try:
        deadline = time.monotonic() + 30
        while b"serving gRPC" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 1.0)
            if ready:
                try:
                    seen += os.read(main, 4096)
                except OSError:  # the server exited: its output is all there is
                    break
    finally:
        proc.terminate()
        proc.wait(20)
        os.close(main)
    text = seen.decode(errors="replace")
    (line,) = [ln for ln in text.splitlines() if "serving gRPC" in ln]
    assert " INFO tidings.server: serving gRPC on 127.0.0.1:" in line, text
    assert not line.lstrip().startswith("{")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True
