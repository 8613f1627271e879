"""The generated Go, Java and TypeScript clients, each through its own test runner.

Each language's test (clients/*/) starts scripts/client_server.py (a TLS, token-protected
`tidings serve` and a webhook receiver on 127.0.0.1) and runs the example against it:
create a workflow, a webhook listener and an event stream, start an execution with
structured input, watch it to the end, read a field violation and its ErrorInfo, and
check the listener got every event. This module runs those tests so that `make test`
fails when any fails; a missing toolchain (go, mvn, npm) fails too, never skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tidings_process import REPO

CLIENTS = REPO / "clients"
#: A cold run downloads Go modules, Maven artifacts and npm packages, and compiles.
COLD_RUN = 900


def run(command: list[str], cwd: Path) -> str:
    """Run a client's test command with this interpreter for the launcher; its output."""
    tool = shutil.which(command[0])
    assert tool is not None, f"{command[0]} is not installed: the {cwd.name} client needs it"
    env = {**os.environ, "TIDINGS_PYTHON": sys.executable}
    result = subprocess.run(
        [tool, *command[1:]],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=COLD_RUN,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(command)} in {cwd} failed:\n{output[-20000:]}"
    return output


@pytest.mark.timeout(COLD_RUN + 60)
def test_go_client() -> None:
    # -count=1: the test talks to a server, so go test's result cache must not answer.
    output = run(["go", "test", "-count=1", "./..."], CLIENTS / "go")
    assert "ok  \ttidings.dev/clients/go/example" in output


@pytest.mark.timeout(COLD_RUN + 60)
def test_java_client() -> None:
    output = run(["mvn", "-B", "test"], CLIENTS / "java")
    assert "Tests run: 1, Failures: 0, Errors: 0, Skipped: 0" in output


@pytest.mark.timeout(COLD_RUN + 60)
def test_typescript_client() -> None:
    folder = CLIENTS / "typescript"
    if not (folder / "node_modules" / ".package-lock.json").exists():
        # `make clients-deps` does this; pytest run by hand in a fresh clone does it here.
        run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], folder)
    output = run(["npm", "test"], folder)
    assert "# pass 1" in output and "# fail 0" in output
