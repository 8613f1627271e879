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


def test_server_and_token_from_the_config_file(
    recorder: tuple[str, Recorder], tmp_path: Path
) -> None:
    address, found = recorder
    config = tmp_path / "cli.toml"
    config.write_text(f'server = "{address}"\ntoken = "from-file"\n')
    ran = CliRunner().invoke(app, ["workflow", "list"], env={"TIDINGS_CLI_CONFIG": str(config)})
    assert ran.exit_code == 0, ran.stderr
    assert found.metadata[-1]["authorization"] == "Bearer from-file"
    # An option (or the environment) wins over the file.
    ran = CliRunner().invoke(
        app, ["--token", "flag", "workflow", "list"], env={"TIDINGS_CLI_CONFIG": str(config)}
    )
    assert ran.exit_code == 0, ran.stderr
    assert found.metadata[-1]["authorization"] == "Bearer flag"


def test_the_config_file_in_its_default_place(
    recorder: tuple[str, Recorder], tmp_path: Path
) -> None:
    address, found = recorder
    (tmp_path / "tidings").mkdir()
    (tmp_path / "tidings" / "cli.toml").write_text(f'server = "{address}"\ntoken = "xdg"\n')
    ran = CliRunner().invoke(
        app,
        ["workflow", "list"],
        env={"XDG_CONFIG_HOME": str(tmp_path), "TIDINGS_CLI_CONFIG": None},
    )
    assert ran.exit_code == 0, ran.stderr
    assert found.metadata[-1]["authorization"] == "Bearer xdg"


def test_a_config_file_ca_is_relative_to_the_file(tmp_path: Path) -> None:
    config = tmp_path / "cli.toml"
    config.write_text('server = "127.0.0.1:1"\nca_file = "missing-ca.pem"\n')
    ran = CliRunner().invoke(app, ["workflow", "list"], env={"TIDINGS_CLI_CONFIG": str(config)})
    assert ran.exit_code == 2
    assert f"--ca-file: cannot read {tmp_path / 'missing-ca.pem'}" in ran.stderr


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('server = "x"\ntokn = "t"\n', "tokn: unknown"),
        ("token = 5\n", "token: must be a string"),
        ("server = \n", "not a readable TOML file"),
    ],
)
def test_a_bad_config_file_is_bad_usage(tmp_path: Path, text: str, says: str) -> None:
    config = tmp_path / "cli.toml"
    config.write_text(text)
    ran = CliRunner().invoke(app, ["workflow", "list"], env={"TIDINGS_CLI_CONFIG": str(config)})
    assert ran.exit_code == 2
    assert says in ran.stderr and str(config) in ran.stderr


def test_a_named_config_file_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    ran = CliRunner().invoke(app, ["workflow", "list"], env={"TIDINGS_CLI_CONFIG": str(missing)})
    assert ran.exit_code == 2
    assert f"TIDINGS_CLI_CONFIG: no such file: {missing}" in ran.stderr
