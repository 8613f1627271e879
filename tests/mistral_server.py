"""Real OpenStack Mistral for the differential tests: started and stopped by
``scripts/mistral``, talked to over its v2 REST API.

``MistralServer`` runs the script in a fresh temporary dir on free ports (like
``kafka_broker.KafkaBroker``); ``MistralClient`` is the few REST calls the tests need.
If Mistral cannot start, :meth:`MistralServer.start` raises: tests that need it fail.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from kafka_broker import repo_root

__all__ = ["MistralClient", "MistralError", "MistralServer", "Refused"]

# Generous: the first start on a fresh machine installs RabbitMQ and builds the venv.
_START_TIMEOUT_S = 900.0
_STOP_TIMEOUT_S = 120.0
#: Mistral's execution states that are not an end (PAUSED is one: it waits for a resume).
RUNNING_STATES = frozenset({"IDLE", "RUNNING"})


class MistralError(RuntimeError):
    """``scripts/mistral`` failed, or Mistral answered what a test cannot use."""


class Refused(Exception):
    """Mistral refused a request with 400 Bad Request; ``message`` is its faultstring."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _free_ports(n: int) -> list[int]:
    # Hold every socket open together, so that the ports differ.
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


class MistralServer:
    """Mistral and its RabbitMQ run by ``scripts/mistral`` in a temporary dir.

    Usage::

        with MistralServer() as mistral:
            client = MistralClient(mistral.url)
    """

    def __init__(self, *, attempts: int = 2) -> None:
        """Prepare (but do not start); ``attempts`` bounds retries with new ports."""
        self._root = repo_root()
        self._script = self._root / "scripts" / "mistral"
        self._attempts = max(1, attempts)
        self._dir: Path | None = None
        self._ports: list[int] = []
        self._running = False

    @property
    def url(self) -> str:
        """The v2 API's base URL, ``http://127.0.0.1:<port>/v2``."""
        if not self._running:
            raise MistralError("Mistral is not running")
        return f"http://127.0.0.1:{self._ports[0]}/v2"

    @property
    def directory(self) -> Path:
        """The dir of its config, database, logs and pid files."""
        if self._dir is None:
            raise MistralError("Mistral has not been started")
        return self._dir

    def env(self) -> dict[str, str]:
        """The environment that points ``scripts/mistral`` at this server."""
        if self._dir is None or len(self._ports) != 4:
            raise MistralError("Mistral has not been started")
        api, amqp, dist, epmd = self._ports
        return {
            **os.environ,
            "MISTRAL_DIR": str(self._dir),
            "MISTRAL_PORT": str(api),
            "MISTRAL_AMQP_PORT": str(amqp),
            "MISTRAL_DIST_PORT": str(dist),
            "MISTRAL_EPMD_PORT": str(epmd),
        }

    def run_script(self, command: str, *, timeout_s: float) -> subprocess.CompletedProcess[str]:
        """Run ``scripts/mistral <command>`` for this server; never raises on exit code."""
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
        """Start Mistral, wait until its API answers, and return its URL."""
        if self._running:
            return self.url
        failures: list[str] = []
        for _ in range(self._attempts):
            self._dir = Path(tempfile.mkdtemp(prefix="tidings-mistral-"))
            self._ports = _free_ports(4)
            try:
                result = self.run_script("start", timeout_s=_START_TIMEOUT_S)
            except subprocess.TimeoutExpired as exc:
                self.run_script("stop", timeout_s=_STOP_TIMEOUT_S)
                failures.append(f"scripts/mistral start timed out after {exc.timeout}s")
                continue
            if result.returncode == 0:
                self._running = True
                return self.url
            self.run_script("stop", timeout_s=_STOP_TIMEOUT_S)
            failures.append(
                f"scripts/mistral start exited {result.returncode} (ports {self._ports}, "
                f"dir {self._dir}):\n{result.stdout}{result.stderr}"
            )
        raise MistralError("could not start Mistral:\n" + "\n".join(failures))

    def stop(self) -> None:
        """Stop Mistral and RabbitMQ (if started) and remove the temporary dir."""
        if self._dir is None:
            return
        result = self.run_script("stop", timeout_s=_STOP_TIMEOUT_S)
        self._running = False
        if result.returncode != 0:
            raise MistralError(
                f"scripts/mistral stop exited {result.returncode}:\n{result.stdout}{result.stderr}"
            )
        shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = None

    def __enter__(self) -> MistralServer:
        """Start Mistral."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop Mistral."""
        self.stop()


def _json_field(value: Any) -> Any:
    # Mistral's API gives JSON fields (input, output, published, params) as JSON text.
    if isinstance(value, str):
        return json.loads(value) if value else None
    return value


class MistralClient:
    """The v2 REST calls of the differential tests (no authentication: a local oracle)."""

    def __init__(self, url: str, *, timeout_s: float = 30.0) -> None:
        self._http = httpx.Client(base_url=url, timeout=timeout_s)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> MistralClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check(self, reply: httpx.Response, what: str) -> Any:
        if reply.status_code == 400:
            try:
                fault = str(reply.json().get("faultstring") or "")
            except ValueError:
                fault = ""
            raise Refused(fault or f"HTTP 400 from {what}: {reply.text[:2000]!r}")
        if reply.status_code >= 300:
            raise MistralError(f"{what}: HTTP {reply.status_code}: {reply.text[:2000]}")
        return reply.json()

    def create_workflows(self, definition: str) -> list[str]:
        """POST /workflows: the names of the workflows created; Refused on 400."""
        reply = self._http.post(
            "/workflows", content=definition.encode(), headers={"Content-Type": "text/plain"}
        )
        return [wf["name"] for wf in self._check(reply, "create workflows")["workflows"]]

    def create_workbook(self, definition: str) -> str:
        """POST /workbooks: the workbook's name; Refused on 400."""
        reply = self._http.post(
            "/workbooks", content=definition.encode(), headers={"Content-Type": "text/plain"}
        )
        name: str = self._check(reply, "create workbook")["name"]
        return name

    def start(
        self, workflow: str, input: dict[str, Any], params: dict[str, Any] | None = None
    ) -> str:
        """POST /executions: the new execution's id; Refused on 400."""
        body = {"workflow_name": workflow, "input": input, "params": params or {}}
        reply = self._http.post("/executions", json=body)
        execution_id: str = self._check(reply, "start execution")["id"]
        return execution_id

    def execution(self, execution_id: str) -> dict[str, Any]:
        """GET /executions/<id>, its JSON text fields parsed."""
        ex: dict[str, Any] = self._check(
            self._http.get(f"/executions/{execution_id}"), "get execution"
        )
        for key in ("input", "output", "params"):
            ex[key] = _json_field(ex.get(key))
        return ex

    def tasks(self, execution_id: str) -> list[dict[str, Any]]:
        """GET /executions/<id>/tasks: every task execution, ``published`` parsed."""
        found: list[dict[str, Any]] = self._check(
            self._http.get(f"/executions/{execution_id}/tasks"), "list tasks"
        )["tasks"]
        for task in found:
            task["published"] = _json_field(task.get("published"))
        return found

    def wait_until_settled(self, execution_id: str, timeout_s: float) -> dict[str, Any]:
        """Poll the execution until it is no longer RUNNING (bounded); the execution."""
        deadline = time.monotonic() + timeout_s
        delay = 0.05
        while True:
            ex = self.execution(execution_id)
            if ex["state"] not in RUNNING_STATES:
                return ex
            if time.monotonic() >= deadline:
                raise MistralError(
                    f"execution {execution_id} still {ex['state']} after {timeout_s}s"
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)
