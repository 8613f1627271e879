"""What an execution outputs and how a failure flows, as in Mistral: real `tidings serve`.

The default output (what the branches that ended published), `output-on-error` and the
`{"result": …}` of a failed or cancelled execution, workflow `vars`, `global` publishes
kept out of a task's published variables, an unhandled error that lets the rest run,
and the transitions a `pause` holds; the examples of docs/workflow-language.md run as
it says.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine_client import (
    ES,
    ET,
    PB,
    EngineClient,
    EventLog,
    check_event_stream,
    payload,
    plain,
    tname,
    unique,
)
from tidings.v1 import event_pb2, execution_pb2
from tidings_process import TidingsProcess

DOC = Path(__file__).resolve().parent.parent / "docs" / "workflow-language.md"
T = 15.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TidingsProcess]:
    with TidingsProcess(tmp_path_factory.mktemp("engine_outputs") / "data") as process:
        yield process


@pytest.fixture(scope="module")
def client(server: TidingsProcess) -> Iterator[EngineClient]:
    with EngineClient(server.address) as c:
        yield c


@pytest.fixture(scope="module")
def log(server: TidingsProcess) -> EventLog:
    return EventLog(server.data_dir)


def define(client: EngineClient, text: str) -> tuple[str, dict[str, Any]]:
    """Create the workflow of ``text`` under a unique name; its name and tasks."""
    text = textwrap.dedent(text)
    (old,) = [k for k in yaml.safe_load(text) if k != "version"]
    name = unique("out")
    definition = re.sub(rf"^{re.escape(old)}:", f"{name}:", text, flags=re.MULTILINE)
    client.create_workflow(definition)
    return name, yaml.safe_load(definition)[name]["tasks"]


def run(
    client: EngineClient, log: EventLog, text: str, input: dict[str, Any] | None = None
) -> tuple[execution_pb2.Execution, list[event_pb2.Event]]:
    name, tasks = define(client, text)
    ex_id = client.start(name, input).id
    ex, _ = log.wait_settled(client, ex_id, 20.0)
    return ex, check_event_stream(log.rows(ex_id), ex, definition=tasks)


def output(ex: execution_pb2.Execution) -> Any:
    return plain(ex.output)


def tasks_of(client: EngineClient, ex_id: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each task's state and published variables."""
    return {t.name: (tname(t.state), plain(t.published)) for t in client.tasks(ex_id)}


def doc_example(name: str) -> str:
    """The example of docs/workflow-language.md that defines workflow ``name``."""
    blocks = [b.split("```", 1)[0] for b in DOC.read_text("utf-8").split("```yaml\n")[1:]]
    (found,) = [b for b in blocks if re.search(rf"^{name}:", b, flags=re.MULTILINE)]
    return found


# ------------------------------------------------------------------ the examples


def test_the_documented_examples_run_as_documented(client: EngineClient, log: EventLog) -> None:
    ex, _ = run(client, log, doc_example("uses_vars"), {"user": "ann"})
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    assert output(ex) == {"line": "Hello, ann", "max": 3}

    ex, _ = run(client, log, doc_example("scopes"))
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    assert output(ex) == {"local_value": 3, "from_global": 30, "from_branch": 3}
    assert tasks_of(client, ex.id)["compute"] == ("SUCCESS", {"local_value": 3})

    ex, events = run(client, log, doc_example("complete_either_way"))
    assert ex.state == ES.EXECUTION_STATE_ERROR
    assert {n: s for n, (s, _) in tasks_of(client, ex.id).items()} == {
        "ok": "SUCCESS", "bad": "ERROR", "after_ok": "SUCCESS", "after_bad": "SUCCESS"}  # fmt: skip
    assert "'bad' failed" in ex.error_message
    assert events[-1].type == ET.EVENT_TYPE_EXECUTION_FAILED

    text = doc_example("report_failure_output")
    ex, events = run(client, log, text, {"order": "o-7"})
    assert ex.state == ES.EXECUTION_STATE_ERROR
    expected = {"result": ex.error_message, "status": "failed", "order": "o-7", "step": "reserve"}
    assert output(ex) == expected
    assert payload(events[-1].output) == expected  # the execution_end's output too
    without = "\n".join(line for line in text.splitlines()
                        if "output-on-error" not in line and "failed" not in line
                        and "<% $.order %>" not in line and "<% $.step %>" not in line)  # fmt: skip
    ex, _ = run(client, log, without, {"order": "o-7"})
    assert output(ex) == {"result": ex.error_message, "step": "reserve"}


# ------------------------------------------------------------------ outputs


def test_the_default_output_merges_the_ended_branches(client: EngineClient, log: EventLog) -> None:
    ex, _ = run(
        client,
        log,
        """
        version: '2.0'
        wf:
          input: [n]
          tasks:
            first:
              action: std.echo output=1
              publish: {seen: first, who: first}
              on-success: [left, right]
            left:
              publish: {who: left, l: <% $.n %>}
            right:
              publish: {r: true, who: right}
              on-success: [last]
            last:
              publish: {who: last}
        """,
        {"n": 5},
    )
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    # left and last end the branches. Each branch published `who` twice (first, then left
    # / right, last: last's branch published it three times, so last's wins).
    assert output(ex) == {"seen": "first", "who": "last", "l": 5, "r": True}


def test_fail_outputs_its_msg_as_result(client: EngineClient, log: EventLog) -> None:
    plain = """
        version: '2.0'
        wf:
          tasks:
            check:
              publish: {checked: true}
              on-complete: [fail]
        """
    ex, events = run(client, log, plain)
    assert ex.state == ES.EXECUTION_STATE_ERROR and ex.error_message == ""
    assert output(ex) == {"result": None, "checked": True}  # null: no msg, as in Mistral
    assert payload(events[-1].output) == {"result": None, "checked": True}
    ex, _ = run(client, log, plain.replace("[fail]", "['fail msg=\"<% $.checked %> it is\"']"))
    assert output(ex) == {"result": "True it is", "checked": True}


def test_a_failing_output_on_error_still_gives_the_result(
    client: EngineClient, log: EventLog
) -> None:
    ex, _ = run(
        client,
        log,
        """
        version: '2.0'
        wf:
          output-on-error: {bad: <% int('x') %>}
          tasks:
            boom: {action: std.fail}
        """,
    )
    assert ex.state == ES.EXECUTION_STATE_ERROR
    (result,) = output(ex).values()
    assert result.startswith(ex.error_message) and "output-on-error failed" in result


def test_a_cancelled_execution_outputs_the_reason(client: EngineClient, log: EventLog) -> None:
    name, _ = define(
        client,
        """
        version: '2.0'
        wf:
          tasks:
            slow: {action: std.sleep seconds=30}
        """,
    )
    ex_id = client.start(name).id
    log.wait_for_event(ex_id, [ET.EVENT_TYPE_TASK_STARTED])
    client.executions.CancelExecution(
        PB.CancelExecutionRequest(id=ex_id, reason="enough"), timeout=T
    )
    ex, events = log.wait_settled(client, ex_id)
    assert ex.state == ES.EXECUTION_STATE_CANCELLED
    assert output(ex) == {"result": "enough"}
    assert payload(events[-1].output) == {"result": "enough"}


# ------------------------------------------------------------------ vars


def test_vars_see_the_input_and_a_failing_one_fails_the_start(
    client: EngineClient, log: EventLog
) -> None:
    text = """
        version: '2.0'
        wf:
          input: [n, {shadowed: input}]
          vars:
            double: <% int($.n) * 2 %>
            shadowed: vars
          tasks:
            use:
              action: std.echo output="<% $.double %> <% $.shadowed %>"
              publish: {said: <% task().result %>}
        """
    ex, _ = run(client, log, text, {"n": 4})
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    assert output(ex) == {"said": "8 vars"}  # vars win over the input; neither is output
    ex, events = run(client, log, text, {"n": "four"})
    assert ex.state == ES.EXECUTION_STATE_ERROR
    assert ex.error_message.startswith("vars:")
    assert [e.type for e in events] == [
        ET.EVENT_TYPE_EXECUTION_STARTED,
        ET.EVENT_TYPE_EXECUTION_FAILED,
    ]


# ------------------------------------------------------------------ pause


def test_a_pause_holds_what_follows_it_until_the_resume(
    client: EngineClient, log: EventLog
) -> None:
    name, _ = define(
        client,
        """
        version: '2.0'
        wf:
          tasks:
            prepare:
              publish: {prepared: true}
              on-success: [pause, deploy]
            deploy:
              publish: {deployed: true}
        """,
    )
    ex_id = client.start(name).id
    log.wait_for_event(ex_id, [ET.EVENT_TYPE_EXECUTION_PAUSED])
    assert client.get(ex_id).state == ES.EXECUTION_STATE_PAUSED
    # As in Mistral, deploy is no task while the execution is paused.
    assert set(tasks_of(client, ex_id)) == {"prepare"}
    client.executions.ResumeExecution(PB.ResumeExecutionRequest(id=ex_id), timeout=T)
    ex, _ = log.wait_settled(client, ex_id)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS, ex.error_message
    assert tasks_of(client, ex_id)["deploy"] == ("SUCCESS", {"deployed": True})
    assert output(ex) == {"prepared": True, "deployed": True}
