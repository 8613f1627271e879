"""The client options of the ``tidings`` command: a bearer token on every call, a CA file.

A real gRPC server on 127.0.0.1 stands in for a server that checks tokens: it records
the metadata each call brings.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from typer.testing import CliRunner

from cli_helpers import tidings
from tidings.cli.app import app
from tidings.v1 import workflow_pb2, workflow_pb2_grpc


class Recorder(workflow_pb2_grpc.WorkflowServiceServicer):
    """Answers ListWorkflows with nothing, keeping each call's metadata."""

    def __init__(self) -> None:
        self.metadata: list[dict[str, str]] = []

    def ListWorkflows(self, request: Any, context: Any) -> workflow_pb2.ListWorkflowsResponse:
        self.metadata.append(dict(context.invocation_metadata()))
        return workflow_pb2.ListWorkflowsResponse()


@pytest.fixture
def recorder() -> Iterator[tuple[str, Recorder]]:
    server = grpc.server(futures.ThreadPoolExecutor(2))
    found = Recorder()  # type: ignore[abstract]  # only ListWorkflows is called
    workflow_pb2_grpc.add_WorkflowServiceServicer_to_server(found, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}", found
    finally:
        server.stop(None)


def test_token_is_sent_as_a_bearer_authorization(recorder: tuple[str, Recorder]) -> None:
    address, found = recorder
    listed = tidings(address, "--token", "s3cret", "workflow", "list", "--json").json()
    assert listed == {"workflows": [], "next_page_token": ""}
    assert found.metadata[-1]["authorization"] == "Bearer s3cret"
    from_env = CliRunner().invoke(
        app, ["workflow", "list"], env={"TIDINGS_SERVER": address, "TIDINGS_TOKEN": "t2"}
    )
    assert from_env.exit_code == 0
    assert found.metadata[-1]["authorization"] == "Bearer t2"
    tidings(address, "workflow", "list")
    assert "authorization" not in found.metadata[-1]


def test_an_unreadable_ca_file_is_bad_usage(tmp_path: Path) -> None:
    missing = tmp_path / "ca.pem"
    ran = tidings("127.0.0.1:1", "--ca-file", str(missing), "workflow", "list", code=2)
    assert ran.stderr.startswith(f"tidings: error: --ca-file: cannot read {missing}")
