"""The ``tidings`` command for people, over a real ``tidings serve``: every command group,
its exit codes and its ``--json`` output parsed back."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

from cli_helpers import (
    Ran,
    command,
    env,
    subprocess_tidings,
    tidings,
    wait_for,
)
from engine_client import unique
from tidings.cli.app import app
from tidings_process import REPO, TidingsProcess

ALLOW_LOCAL = {"TIDINGS_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1/32"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TidingsProcess]:
    with TidingsProcess(tmp_path_factory.mktemp("cli") / "data", env=ALLOW_LOCAL) as proc:
        yield proc


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def hello(name: str) -> str:
    return f"""version: '2.0'
{name}:
  input:
    - name: world
  output:
    greeting: <% $.greeting %>
  tasks:
    greet:
      action: std.echo output="hello <% $.name %>"
      publish:
        greeting: <% task().result %>
      on-success: [done]
    done:
      action: std.noop
      rollback:
        action: std.noop
"""


def one_task(name: str, action: str) -> str:
    return f"""version: '2.0'
{name}:
  tasks:
    only:
      action: {action}
"""


#: A definition with three bad fields, and the line of each.
BAD = """version: '2.0'
bad_one:
  tasks:
    a:
      action: std.nope
      on-success:
        - missing
    b:
      action: std.noop
      retry:
        count: -1
"""
BAD_LINES = {
    "definition.tasks.a.action": 5,
    "definition.tasks.a.on-success[0]": 7,
    "definition.tasks.b.retry.count": 11,
}


def created(server: TidingsProcess, tmp_path: Path, definition: str) -> dict[str, Any]:
    file = write(tmp_path, "wf.yaml", definition)
    answer: dict[str, Any] = tidings(server.address, "workflow", "create", file, "--json").json()
    return answer["workflow"]  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------- help


def _commands(group: Any, path: list[str]) -> Iterator[list[str]]:
    # Typer's own (vendored) click: its classes are not the click package's.
    yield path
    for name, sub in getattr(group, "commands", {}).items():
        yield from _commands(sub, [*path, name])


def test_help_is_complete_on_every_command() -> None:
    root = typer.main.get_command(app)
    # serve, token and backup have argparse parsers of their own (test_api_access, below).
    paths = [p for p in _commands(root, []) if p[:1] not in (["serve"], ["token"], ["backup"])]
    assert len(paths) > 25
    for path in paths:
        ran = tidings("127.0.0.1:1", *path, "--help")
        assert "Usage: " in ran.stdout, path
        node: Any = root
        for name in path:
            node = node.commands[name]
        assert node.help, f"{path} has no help text"
        for param in node.params:
            if param.param_type_name == "option" and param.name != "help":
                assert param.help, f"{path} {param.opts} has no help"
        if not hasattr(node, "commands"):
            assert "--json" in ran.stdout, f"{path} has no --json"


def test_serve_keeps_its_own_options_and_exit_codes(tmp_path: Path) -> None:
    ran = subprocess_tidings("", "serve", "--help")
    for option in ("--config", "--listen", "--data-dir", "--kafka-bootstrap", "--log-level"):
        assert option in ran.stdout
    missing = tmp_path / "missing.toml"
    bad = subprocess_tidings("", "serve", "--config", str(missing), code=2)
    assert "configuration error" in bad.stderr
    assert subprocess_tidings("", "--version").stdout.startswith("tidings ")


def test_bad_usage_exits_2_and_an_unreachable_server_3() -> None:
    assert subprocess_tidings("", "workflow", "get", code=2).stderr  # a missing argument
    ran = subprocess_tidings("127.0.0.1:1", "workflow", "list", code=3)
    assert ran.stderr.count("\n") == 1 and "127.0.0.1:1 unreachable" in ran.stderr
    as_json = tidings("127.0.0.1:1", "execution", "list", "--json", code=3)
    assert as_json.stdout == ""
    assert '"exit_code": 3' in as_json.stderr


# --------------------------------------------------------------------------- workflow


def test_workflow_create_get_list_update_delete(server: TidingsProcess, tmp_path: Path) -> None:
    name = unique("cli_wf")
    wf = created(server, tmp_path, hello(name))
    assert wf["name"] == name and wf["input_names"] == ["name"]
    again = tidings(server.address, "workflow", "create", write(tmp_path, "w.yaml", hello(name)),
                    code=2)  # fmt: skip
    assert f"workflow '{name}' exists already" in again.stderr
    got = tidings(server.address, "workflow", "get", name, "--json").json()
    assert got["id"] == wf["id"] and got["definition"] == hello(name)
    listed = tidings(server.address, "workflow", "list", "--limit", "1000", "--json").json()
    assert name in [w["name"] for w in listed["workflows"]]
    people = tidings(server.address, "workflow", "list")
    assert name in people.stdout and wf["id"] in people.stdout
    changed = hello(name).replace("std.noop", "std.echo output=1", 1)
    file = write(tmp_path, "changed.yaml", changed)
    updated = tidings(server.address, "workflow", "update", name, file, "--json").json()
    assert updated["workflow"]["definition"] == changed
    renamed = write(tmp_path, "renamed.yaml", hello(unique("other")))
    refused = tidings(server.address, "workflow", "update", name, renamed, code=2)
    assert refused.stderr.startswith("tidings: error: definition: names")
    assert tidings(server.address, "workflow", "delete", name, "--json").json() == {"deleted": name}
    gone = tidings(server.address, "workflow", "get", name, code=2)
    assert gone.stderr == f"tidings: error: workflow '{name}' not found\n"


def test_workflow_validate_names_every_field_with_its_line(
    server: TidingsProcess, tmp_path: Path
) -> None:
    file = write(tmp_path, "bad.yaml", BAD)
    ran = tidings(server.address, "workflow", "validate", file, code=2)
    for field, line in BAD_LINES.items():
        assert f"{file}:{line}: {field}: " in ran.stderr
    as_json = tidings(server.address, "workflow", "validate", file, "--json", code=2).json()
    assert as_json["valid"] is False
    assert {v["field"]: v["line"] for v in as_json["violations"]} == BAD_LINES
    name = unique("cli_valid")
    good = write(tmp_path, "good.yaml", hello(name))
    valid = tidings(server.address, "workflow", "validate", good, "--json").json()
    assert valid["valid"] is True and valid["workflow"]["name"] == name
    assert valid["workflow"]["id"] == ""
    # Nothing was stored: the name is free.
    tidings(server.address, "workflow", "get", name, code=2)
    from_stdin = tidings(server.address, "workflow", "validate", "-", stdin=hello(name))
    assert "valid: workflow" in from_stdin.stdout
    unreadable = tidings(server.address, "workflow", "validate", str(tmp_path / "none.yaml"),
                         code=2)  # fmt: skip
    assert "FILE: cannot read" in unreadable.stderr


def test_validate_only_checks_callback_urls_and_stores_nothing(
    server: TidingsProcess,
) -> None:
    from engine_client import WPB, EngineClient, rpc_failure

    name = unique("cli_vo")
    with EngineClient(server.address) as client:
        request = WPB.CreateWorkflowRequest(
            definition=hello(name), callback_url="ftp://x", validate_only=True
        )
        failure = rpc_failure(lambda: client.workflows.CreateWorkflow(request, timeout=30))
        assert failure.fields == ["callback_url"]
        request.callback_url = ""
        answer = client.workflows.CreateWorkflow(request, timeout=30)
        assert answer.workflow.name == name and not answer.workflow.id
        assert not answer.workflow.HasField("create_time")
        listed = client.workflows.ListWorkflows(WPB.ListWorkflowsRequest(page_size=1000))
        assert name not in [w.name for w in listed.workflows]


# -------------------------------------------------------------------------------- run


def test_run_follow_streams_events_and_exits_0_on_success(
    server: TidingsProcess, tmp_path: Path
) -> None:
    name = created(server, tmp_path, hello(unique("cli_run")))["name"]
    file = write(tmp_path, "input.json", '{"name": "file"}')
    ran = subprocess_tidings(server.address, "run", name, "--input", f"@{file}", "--follow",
                             "--json")  # fmt: skip
    lines = ran.lines()
    types = [line["event"]["type"].removeprefix("EVENT_TYPE_") for line in lines[:-1]]
    assert types[0] == "EXECUTION_STARTED" and types[-1] == "EXECUTION_SUCCEEDED"
    assert types.count("TASK_SUCCEEDED") == 2
    last = lines[-1]["execution"]
    assert last["state"] == "EXECUTION_STATE_SUCCESS"
    assert last["output"] == {"greeting": "hello file"}
    people = subprocess_tidings(server.address, "run", name, "--input", '{"name": "you"}', "-f")
    assert "TASK_SUCCEEDED  greet" in people.stdout
    assert "SUCCESS" in people.stdout and "hello you" in people.stdout
    started = tidings(server.address, "run", name, "--json").json()
    assert started["workflow_name"] == name and started["id"]


def test_run_follow_exits_1_on_a_failed_execution(server: TidingsProcess, tmp_path: Path) -> None:
    name = created(server, tmp_path, one_task(unique("cli_fail"), "std.fail"))["name"]
    ran = subprocess_tidings(server.address, "run", name, "--follow", code=1)
    assert "EXECUTION_FAILED" in ran.stdout and "ERROR" in ran.stdout


def test_run_refusals_name_the_field(server: TidingsProcess, tmp_path: Path) -> None:
    name = created(server, tmp_path, hello(unique("cli_bad_input")))["name"]
    ran = tidings(server.address, "run", name, "--input", '{"nope": 1}', code=2)
    assert ran.stderr == f"tidings: error: input.nope: workflow '{name}' has no such input\n"
    not_json = tidings(server.address, "run", name, "--input", "{", code=2)
    assert not_json.stderr.startswith("tidings: error: --input: not JSON")
    a_list = tidings(server.address, "run", name, "--input", "[1]", code=2)
    assert "--input: must be a JSON object" in a_list.stderr
    too_big = tidings(server.address, "run", name, "--input", '{"n": [9007199254740993]}', code=2)
    assert too_big.stderr.startswith("tidings: error: --input: .n[0] is an integer beyond 2^53")
    tidings(server.address, "run", unique("no_such"), code=2)


def test_run_a_reverse_workflow_for_its_target(server: TidingsProcess, tmp_path: Path) -> None:
    name = unique("cli_reverse")
    definition = (
        f"version: '2.0'\n{name}:\n  type: reverse\n  tasks:\n"
        "    first: {}\n    second: {requires: first}\n    third: {requires: second}\n"
    )
    created(server, tmp_path, definition)
    ran = subprocess_tidings(server.address, "run", name, "--task-name", "second", "-f", "--json")
    last = ran.lines()[-1]["execution"]
    assert last["state"] == "EXECUTION_STATE_SUCCESS" and last["task_name"] == "second"
    ran_tasks = [line["event"].get("task_name") for line in ran.lines()[:-1]]
    assert "first" in ran_tasks and "second" in ran_tasks and "third" not in ran_tasks
    missing = tidings(server.address, "run", name, code=2)
    assert "task_name" in missing.stderr


def test_run_follow_shows_events_as_they_happen(server: TidingsProcess, tmp_path: Path) -> None:
    """The follower sees the async task start before anyone completes it, then the end."""
    name = created(server, tmp_path, one_task(unique("cli_async"), "std.async_noop"))["name"]
    follower = subprocess.Popen(
        command("run", name, "--follow", "--json"),
        env=env(server.address), cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert follower.stdout is not None
        task_id = ""
        for line in follower.stdout:
            event = Ran(0, line, "").json()["event"]
            if event["type"] == "EVENT_TYPE_TASK_STARTED":
                task_id = event["task_id"]
                break
        assert task_id
        done = tidings(server.address, "task", "complete", task_id, "--result", '{"a": 1}',
                       "--json").json()  # fmt: skip
        assert done["state"] == "TASK_STATE_SUCCESS" and done["result"] == {"a": 1}
        rest = follower.stdout.read()
        assert follower.wait(30) == 0
        assert '"EXECUTION_STATE_SUCCESS"' in rest.splitlines()[-1]
    finally:
        follower.kill()
        follower.wait()


# -------------------------------------------------------------------- execution, task


def _task_ids(server: TidingsProcess, execution_id: str) -> dict[str, dict[str, Any]]:
    listed = tidings(server.address, "execution", "tasks", execution_id, "--json").json()
    return {t["name"]: t for t in listed["tasks"]}


def _state_of(server: TidingsProcess, execution_id: str) -> str:
    ex = tidings(server.address, "execution", "get", execution_id, "--json").json()
    return str(ex["state"]).removeprefix("EXECUTION_STATE_")


def test_execution_get_list_tasks_pause_resume_cancel(
    server: TidingsProcess, tmp_path: Path
) -> None:
    name = created(server, tmp_path, one_task(unique("cli_steer"), "std.async_noop"))["name"]
    ex = tidings(server.address, "run", name, "--json").json()
    task = wait_for(lambda: _task_ids(server, ex["id"]).get("only"), "the async task")
    assert task["execution_id"] == ex["id"]
    table = tidings(server.address, "execution", "tasks", ex["id"])
    assert "only" in table.stdout and "std.async_noop" in table.stdout
    listed = tidings(server.address, "execution", "list", "--workflow", name, "--json").json()
    assert [e["id"] for e in listed["executions"]] == [ex["id"]]
    running = tidings(server.address, "execution", "list", "--workflow", name, "--state",
                      "running").stdout  # fmt: skip
    assert ex["id"] in running
    bad_state = tidings(server.address, "execution", "list", "--state", "sleepy", code=2)
    assert bad_state.stderr.startswith("tidings: error: --state: 'sleepy' is not a state: one of")
    paused = tidings(server.address, "execution", "pause", ex["id"], "--json").json()
    assert paused["state"] == "EXECUTION_STATE_PAUSED"
    resumed = tidings(server.address, "execution", "resume", ex["id"]).stdout
    assert resumed == f"resumed execution {ex['id']}: RUNNING\n"
    cancelled = tidings(server.address, "execution", "cancel", ex["id"], "--reason", "enough",
                        "--json").json()  # fmt: skip
    assert cancelled["state"] == "EXECUTION_STATE_CANCELLED"
    assert cancelled["error_message"] == "enough"
    again = tidings(server.address, "execution", "pause", ex["id"], code=2)
    assert again.stderr.startswith("tidings: error: ") and again.stderr.count("\n") == 1
    people = tidings(server.address, "execution", "get", ex["id"]).stdout
    assert "CANCELLED" in people and "enough" in people


def test_execution_rollback(server: TidingsProcess, tmp_path: Path) -> None:
    name = created(server, tmp_path, hello(unique("cli_rollback")))["name"]
    ex = subprocess_tidings(server.address, "run", name, "-f", "--json").lines()[-1]["execution"]
    answer = tidings(server.address, "execution", "rollback", ex["id"], "--json").json()
    assert answer["id"] == ex["id"]
    wait_for(lambda: _state_of(server, ex["id"]) == "ROLLED_BACK" or None, "ROLLED_BACK")
    tasks = _task_ids(server, ex["id"])
    assert tasks["done"]["state"] == "TASK_STATE_ROLLED_BACK"


def test_task_retry_and_skip(server: TidingsProcess, tmp_path: Path) -> None:
    name = created(server, tmp_path, one_task(unique("cli_retry"), "std.fail"))["name"]
    ex = subprocess_tidings(server.address, "run", name, "-f", "--json",
                            code=1).lines()[-1]["execution"]  # fmt: skip
    task = _task_ids(server, ex["id"])["only"]
    retried = tidings(server.address, "task", "retry", task["id"], "--json").json()
    assert retried["id"] == task["id"]
    wait_for(
        lambda: (
            (
                _task_ids(server, ex["id"])["only"]["attempt"] >= 2
                and _state_of(server, ex["id"]) == "ERROR"
            )
            or None
        ),
        "the retried task to fail again",
    )
    skipped = tidings(server.address, "task", "skip", task["id"], "--result", '{"ok": true}')
    assert skipped.stdout.startswith(f"skipped task only ({task['id']}): SKIPPED")
    wait_for(lambda: _state_of(server, ex["id"]) == "SUCCESS" or None, "SUCCESS after the skip")
    bad = tidings(server.address, "task", "skip", task["id"], "--result", "{", code=2)
    assert bad.stderr.startswith("tidings: error: --result: not JSON")
    missing = tidings(server.address, "task", "retry", "no-such-task", code=2)
    assert "no-such-task" in missing.stderr
