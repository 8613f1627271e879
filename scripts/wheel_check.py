"""Run the installed tidings as an operator would: `tidings serve`, one workflow, stop.

`make wheel-check` copies this file into a temporary folder outside the checkout,
installs the wheel into a fresh venv there and runs it with that venv's Python, from
that folder: everything it imports (tidings, its generated stubs, grpc) comes from the
installed package and its dependencies, never from the checkout, whose path is the one
argument (to prove that).

It starts `tidings serve` (the venv's console script) on a free loopback port, waits
for gRPC health SERVING, creates a workflow, runs an execution to SUCCESS, copies the
database with `tidings backup` while serving, scrapes its Prometheus metrics (served
with `metrics_listen`: prometheus-client must be among the wheel's dependencies), stops
the server with SIGTERM and expects exit code 0. Exits non-zero, saying why, on any failure.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

import tidings
from tidings import values
from tidings.v1 import execution_pb2, execution_pb2_grpc, workflow_pb2, workflow_pb2_grpc

TIMEOUT = 60.0
DEFINITION = """\
version: '2.0'
wheel_check:
  input: [name]
  output:
    greeting: <% $.greeting %>
  tasks:
    greet:
      action: std.echo output="hello <% $.name %>"
      publish:
        greeting: <% task().result %>
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_serving(address: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + TIMEOUT
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                sys.exit(f"tidings serve exited {proc.returncode}:\n{log.read_text()}")
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    sys.exit(f"tidings serve did not serve within {TIMEOUT} s:\n{log.read_text()}")


def run_workflow(address: str) -> None:
    with grpc.insecure_channel(address) as channel:
        workflows = workflow_pb2_grpc.WorkflowServiceStub(channel)
        executions = execution_pb2_grpc.ExecutionServiceStub(channel)
        workflows.CreateWorkflow(workflow_pb2.CreateWorkflowRequest(definition=DEFINITION))
        started = executions.StartExecution(
            execution_pb2.StartExecutionRequest(
                workflow="wheel_check", input=values.to_struct({"name": "operator"})
            )
        ).execution
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            ex = executions.GetExecution(execution_pb2.GetExecutionRequest(id=started.id)).execution
            if ex.state == execution_pb2.EXECUTION_STATE_SUCCESS:
                output = values.from_value(ex.output)
                if output != {"greeting": "hello operator"}:
                    sys.exit(f"unexpected output {output}")
                return
            ended = (execution_pb2.EXECUTION_STATE_ERROR, execution_pb2.EXECUTION_STATE_CANCELLED)
            if ex.state in ended:
                sys.exit(f"the execution ended {execution_pb2.ExecutionState.Name(ex.state)}: {ex}")
            time.sleep(0.05)
    sys.exit(f"the execution did not end within {TIMEOUT} s")


def main() -> int:
    checkout = Path(sys.argv[1]).resolve()
    installed = Path(tidings.__file__).resolve()
    if checkout in installed.parents:
        sys.exit(f"tidings was imported from the checkout ({installed}), not the wheel")
    command = Path(sys.executable).parent / "tidings"
    with tempfile.TemporaryDirectory(prefix="tidings-wheel-") as tmp:
        data, log = Path(tmp) / "data", Path(tmp) / "serve.log"
        address = f"127.0.0.1:{free_port()}"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        metrics = f"127.0.0.1:{free_port()}"
        env["TIDINGS_METRICS_LISTEN"] = metrics
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [command, "serve", "--listen", address, "--data-dir", data],
                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp,
            )  # fmt: skip
        try:
            wait_serving(address, proc, log)
            run_workflow(address)
            copy = Path(tmp) / "copy.sqlite3"
            subprocess.run([command, "backup", copy, "--data-dir", data], check=True, env=env)
            with sqlite3.connect(copy) as conn:
                ended = conn.execute("SELECT count(*) FROM executions WHERE state = 'SUCCESS'")
                if ended.fetchone()[0] != 1:
                    sys.exit("the backup does not hold the execution")
            with urllib.request.urlopen(f"http://{metrics}/metrics", timeout=10) as reply:
                scraped = reply.read().decode()
            if "tidings_executions_started_total 1.0" not in scraped.splitlines():
                sys.exit(f"the metrics do not count the execution:\n{scraped}")
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                sys.exit(f"tidings serve did not stop on SIGTERM:\n{log.read_text()}")
        if code != 0:
            sys.exit(f"tidings serve exited {code}:\n{log.read_text()}")
    print(f"wheel-check: tidings {tidings.__version__} from {installed.parent} served one workflow")
    return 0


if __name__ == "__main__":
    sys.exit(main())
