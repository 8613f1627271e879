"""Running the ``tidings`` command in tests: in-process (Typer's runner) or as a subprocess.

In-process runs go through the session's learning gRPC channel (conftest), so listeners
the command makes are known to the seed checks; subprocess runs are the command as people
run it (``python -m tidings``), exit codes included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from typer.testing import CliRunner

from tidings.cli.app import app
from tidings_process import REPO

T = TypeVar("T")


@dataclass
class Ran:
    """One run of the command."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """Its stdout as one JSON document."""
        return json.loads(self.stdout)

    def lines(self) -> list[Any]:
        """Its stdout as JSON lines."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


def tidings(server: str, *args: str, code: int | None = 0, stdin: str | None = None) -> Ran:
    """``tidings --server SERVER ARGS`` in-process; asserts the exit code unless None."""
    result = CliRunner().invoke(app, ["--server", server, *args], input=stdin)
    ran = Ran(result.exit_code, result.stdout, result.stderr)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    if code is not None:
        assert ran.code == code, f"exit {ran.code}, wanted {code}:\n{ran.stdout}\n{ran.stderr}"
    return ran


def env(server: str = "") -> dict[str, str]:
    """The environment of a subprocess command: our sources first, TIDINGS_SERVER."""
    out = {**os.environ, "PYTHONPATH": str(REPO / "python")}
    if server:
        out["TIDINGS_SERVER"] = server
    return out


def command(*args: str) -> list[str]:
    """``python -m tidings ARGS``."""
    return [sys.executable, "-m", "tidings", *args]


def subprocess_tidings(server: str, *args: str, code: int | None = 0, timeout: float = 60) -> Ran:
    """``python -m tidings ARGS`` with TIDINGS_SERVER=SERVER; asserts the exit code."""
    done = subprocess.run(
        command(*args), env=env(server), cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    ran = Ran(done.returncode, done.stdout, done.stderr)
    if code is not None:
        assert ran.code == code, f"exit {ran.code}, wanted {code}:\n{ran.stdout}\n{ran.stderr}"
    return ran


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 20.0) -> T:
    """Poll `probe` until it returns something; fails naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
