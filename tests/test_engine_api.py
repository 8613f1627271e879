"""WorkflowService and ExecutionService over real gRPC against a running `tidings serve`.

Every RPC, its happy path and its errors: INVALID_ARGUMENT with a google.rpc.BadRequest
naming the field, NOT_FOUND, ALREADY_EXISTS and FAILED_PRECONDITION.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import grpc
import pytest

from atom_server import AtomServer
from engine_client import (
    ES,
    ET,
    PB,
    TS,
    WPB,
    EngineClient,
    EventLog,
    check_event_stream,
    duration,
    http_task,
    payload,
    plain,
    rpc_failure,
    seconds,
    struct,
    typed,
    types_of,
    unique,
    workflow_yaml,
)
from tidings.vocab import profile_enum
from tidings_process import TidingsProcess

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
T = 15.0  # the RPC deadline


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("engine_api") / "data"


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[TidingsProcess]:
    env = {
        "TIDINGS_HTTP_TRANSPORT_RETRIES": "1",
        "TIDINGS_HTTP_RETRY_DELAY_S": "0.01",
        # The callback URLs of these tests point at loopback.
        "TIDINGS_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1/32",
    }
    with TidingsProcess(data_dir, env=env) as process:
        yield process


def noop_workflow(name: str, **kw: Any) -> str:
    return workflow_yaml(name, {"only": {"action": "std.noop"}}, **kw)


# ======================================================================= WorkflowService


def test_create_workflow_returns_what_was_stored(client: EngineClient) -> None:
    name = unique("create")
    definition = workflow_yaml(
        name,
        {"hello": {"action": "std.echo", "input": {"output": "<% $.who %>"}}},
        input=["who", {"greeting": "hi"}],
        description="says hello",
    )
    wf = client.create_workflow(
        definition,
        callback_url="http://127.0.0.1:9/flow",
        modify_callback_url="http://127.0.0.1:9/modify",
    )
    uuid.UUID(wf.id)  # a server-assigned UUID
    assert wf.name == name
    assert wf.definition == definition
    assert wf.description == "says hello"
    assert list(wf.input_names) == ["who", "greeting"]
    assert wf.callback_url == "http://127.0.0.1:9/flow"
    assert wf.modify_callback_url == "http://127.0.0.1:9/modify"
    assert wf.create_time.seconds > 0
    assert wf.update_time == wf.create_time


def test_create_accepts_json_definitions(client: EngineClient) -> None:
    name = unique("json")
    text = json.dumps({"version": "2.0", name: {"tasks": {"t": {"action": "std.noop"}}}})
    assert client.create_workflow(text).name == name


# (definition body under the workflow name, expected field path, a word of the description)
BAD_DEFINITIONS = {
    "unknown_transition_target": (
        {"tasks": {"a": {"action": "std.noop", "on-success": ["b", "nope"]},
                   "b": {"action": "std.noop"}}},
        "definition.tasks.a.on-success[1]",
        "nope",
    ),
    "bad_yaql_syntax": (
        {"tasks": {"a": {"action": "std.echo", "input": {"output": "<% $.x + %>"}}}},
        "definition.tasks.a.input.output",
        "$.x +",
    ),
    "bad_jinja_syntax": (
        {"tasks": {"a": {"action": "std.echo", "input": {"output": "{{ _.x + }}"}}}},
        "definition.tasks.a.input.output",
        "_.x +",
    ),
    "bad_condition_syntax": (
        {"tasks": {"a": {"action": "std.noop", "on-success": [{"b": "<% $.x = %>"}]},
                   "b": {"action": "std.noop"}}},
        "definition.tasks.a.on-success[0].b",
        "$.x =",
    ),
    "unknown_action": (
        {"tasks": {"a": {"action": "std.htp"}}},
        "definition.tasks.a.action",
        "std.htp",
    ),
    "missing_required_action_input": (
        {"tasks": {"a": {"action": "std.http", "input": {"method": "get"}}}},
        "definition.tasks.a.input",
        "url",
    ),
    "unknown_action_input": (
        {"tasks": {"a": {"action": "std.http", "input": {"url": "http://x/", "bogus": 1}}}},
        "definition.tasks.a.input.bogus",
        "bogus",
    ),
    "join_in_a_cycle": (
        {"tasks": {"s": {"action": "std.noop", "on-success": ["a"]},
                   "a": {"action": "std.noop", "on-success": ["b"]},
                   "b": {"action": "std.noop", "join": "all", "on-success": ["a"]}}},
        "definition.tasks.b.join",
        "cycle",
    ),
    "join_more_than_inbound": (
        {"tasks": {"a": {"action": "std.noop", "on-success": ["c"]},
                   "b": {"action": "std.noop", "on-success": ["c"]},
                   "c": {"action": "std.noop", "join": 3}}},
        "definition.tasks.c.join",
        "join",
    ),
    "bad_retry_count": (
        {"tasks": {"a": {"action": "std.noop", "retry": {"count": -1}}}},
        "definition.tasks.a.retry.count",
        "negative",
    ),
    "async_local_action": (
        {"tasks": {"a": {"action": "std.noop", "async": True}}},
        "definition.tasks.a.async",
        "std.noop",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_DEFINITIONS))
def test_create_refuses_invalid_definition_naming_the_field(
    client: EngineClient, case: str
) -> None:
    body, field, word = BAD_DEFINITIONS[case]
    name = unique("bad")
    text = json.dumps({"version": "2.0", name: body})
    failure = rpc_failure(lambda: client.create_workflow(text))
    assert failure.code == INVALID
    assert field in failure.fields, failure.violations
    description = dict(failure.violations)[field]
    assert word in description
    # Nothing was stored.
    assert rpc_failure(lambda: client.get_workflow(name)).code == NOT_FOUND


def test_create_reports_every_violation_at_once(client: EngineClient) -> None:
    text = json.dumps(
        {
            "version": "2.0",
            unique("many"): {
                "tasks": {
                    "a": {"action": "std.nope", "on-success": ["ghost"]},
                    "b": {"action": "std.echo", "input": {"output": "<% ( %>"}},
                }
            },
        }
    )
    failure = rpc_failure(lambda: client.create_workflow(text))
    assert failure.code == INVALID
    assert {
        "definition.tasks.a.action",
        "definition.tasks.a.on-success[0]",
        "definition.tasks.b.input.output",
    } <= set(failure.fields)


def test_unparseable_definition_names_the_definition_field(client: EngineClient) -> None:
    failure = rpc_failure(lambda: client.create_workflow("version: '2.0'\nw: [\n"))
    assert failure.code == INVALID
    assert failure.fields == ["definition"]


def test_create_requires_a_definition(client: EngineClient) -> None:
    failure = rpc_failure(lambda: client.create_workflow(""))
    assert failure.code == INVALID
    assert failure.fields == ["definition"]


def test_create_twice_is_already_exists(client: EngineClient) -> None:
    name = unique("twice")
    first = client.create_workflow(noop_workflow(name))
    failure = rpc_failure(lambda: client.create_workflow(noop_workflow(name)))
    assert failure.code == grpc.StatusCode.ALREADY_EXISTS
    assert name in failure.message
    assert client.get_workflow(name).id == first.id  # the first one is untouched


def test_get_workflow_by_id_and_by_name(client: EngineClient) -> None:
    name = unique("get")
    created = client.create_workflow(noop_workflow(name))
    by_id = client.get_workflow(created.id)
    by_name = client.get_workflow(name)
    assert by_id == by_name == created
    assert rpc_failure(lambda: client.get_workflow(unique("missing"))).code == NOT_FOUND
    assert rpc_failure(lambda: client.get_workflow(str(uuid.uuid4()))).code == NOT_FOUND
    empty = rpc_failure(lambda: client.get_workflow(""))
    assert empty.code == INVALID
    assert empty.fields == ["workflow"]


def _list_workflow_pages(client: EngineClient, page_size: int) -> list[list[str]]:
    pages: list[list[str]] = []
    token = ""
    for _ in range(500):
        reply = client.workflows.ListWorkflows(
            WPB.ListWorkflowsRequest(page_size=page_size, page_token=token), timeout=T
        )
        pages.append([w.name for w in reply.workflows])
        token = reply.next_page_token
        if not token:
            return pages
    raise AssertionError("ListWorkflows never ended")


def test_list_workflows_paginates(client: EngineClient) -> None:
    mine = [client.create_workflow(noop_workflow(unique(f"list{i}"))).name for i in range(5)]
    everything = _list_workflow_pages(client, 1000)
    assert len(everything) == 1
    names = everything[0]
    assert set(mine) <= set(names)
    pages = _list_workflow_pages(client, 2)
    # Pages of exactly 2 but the last, together the whole listing once, in the same order.
    assert all(len(p) == 2 for p in pages[:-1])
    assert 1 <= len(pages[-1]) <= 2
    assert len(pages) == (len(names) + 1) // 2
    assert [n for p in pages for n in p] == names
    # The listing holds full workflows.
    reply = client.workflows.ListWorkflows(WPB.ListWorkflowsRequest(page_size=1000), timeout=T)
    listed = {w.name: w for w in reply.workflows}
    assert listed[mine[0]] == client.get_workflow(mine[0])


def test_list_workflows_refuses_bad_page_arguments(client: EngineClient) -> None:
    bad_token = rpc_failure(
        lambda: client.workflows.ListWorkflows(
            WPB.ListWorkflowsRequest(page_token="not-a-token"), timeout=T
        )
    )
    assert bad_token.code == INVALID
    assert bad_token.fields == ["page_token"]
    negative = rpc_failure(
        lambda: client.workflows.ListWorkflows(WPB.ListWorkflowsRequest(page_size=-1), timeout=T)
    )
    assert negative.code == INVALID
    assert negative.fields == ["page_size"]


def test_update_workflow(client: EngineClient) -> None:
    name = unique("update")
    created = client.create_workflow(noop_workflow(name), callback_url="http://127.0.0.1:9/a")
    new_definition = workflow_yaml(
        name,
        {"echo": {"action": "std.echo", "input": {"output": "<% $.v %>"}}},
        input=[{"v": 41}],
        description="second version",
    )
    updated = client.workflows.UpdateWorkflow(
        WPB.UpdateWorkflowRequest(
            workflow=created.id,
            definition=new_definition,
            modify_callback_url="http://127.0.0.1:9/m",
        ),
        timeout=T,
    ).workflow
    assert updated.id == created.id
    assert updated.definition == new_definition
    assert updated.description == "second version"
    assert list(updated.input_names) == ["v"]
    assert updated.callback_url == "http://127.0.0.1:9/a"  # not given, no mask: kept
    assert updated.modify_callback_url == "http://127.0.0.1:9/m"
    assert updated.create_time == created.create_time
    assert (updated.update_time.seconds, updated.update_time.nanos) > (
        created.update_time.seconds,
        created.update_time.nanos,
    )
    assert client.get_workflow(name) == updated
    # New executions run the new definition.
    ex = client.wait_until_ended(client.start(name).id)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    assert plain(ex.input) == {"v": 41}
    assert [t.name for t in client.tasks(ex.id)] == ["echo"]


def test_update_refuses_a_name_change_and_invalid_definitions(client: EngineClient) -> None:
    name = unique("rename")
    created = client.create_workflow(noop_workflow(name))
    renamed = rpc_failure(
        lambda: client.workflows.UpdateWorkflow(
            WPB.UpdateWorkflowRequest(workflow=name, definition=noop_workflow(unique("other"))),
            timeout=T,
        )
    )
    assert renamed.code == INVALID
    assert renamed.fields == ["definition"]
    broken = workflow_yaml(name, {"a": {"action": "std.noop", "on-error": ["zzz"]}})
    invalid = rpc_failure(
        lambda: client.workflows.UpdateWorkflow(
            WPB.UpdateWorkflowRequest(workflow=name, definition=broken), timeout=T
        )
    )
    assert invalid.code == INVALID
    assert invalid.fields == ["definition.tasks.a.on-error[0]"]
    assert client.get_workflow(name) == created  # unchanged
    missing = rpc_failure(
        lambda: client.workflows.UpdateWorkflow(
            WPB.UpdateWorkflowRequest(workflow=unique("nobody"), definition=noop_workflow("x")),
            timeout=T,
        )
    )
    assert missing.code == NOT_FOUND


def test_delete_workflow(client: EngineClient, log: EventLog) -> None:
    name = unique("delete")
    wf = client.create_workflow(
        workflow_yaml(name, {"nap": {"action": "std.sleep", "input": {"seconds": 0.4}}})
    )
    running = client.start(name)
    client.workflows.DeleteWorkflow(WPB.DeleteWorkflowRequest(workflow=wf.id), timeout=T)
    assert rpc_failure(lambda: client.get_workflow(wf.id)).code == NOT_FOUND
    assert rpc_failure(lambda: client.get_workflow(name)).code == NOT_FOUND
    again = rpc_failure(
        lambda: client.workflows.DeleteWorkflow(WPB.DeleteWorkflowRequest(workflow=name), timeout=T)
    )
    assert again.code == NOT_FOUND
    assert rpc_failure(lambda: client.start(name)).code == NOT_FOUND
    # An execution that was running carries on with its own copy of the definition.
    ex, _ = log.wait_settled(client, running.id)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    # The name is free again.
    assert client.create_workflow(noop_workflow(name)).id != wf.id


# ====================================================================== ExecutionService


@pytest.fixture(scope="module")
def inputs_workflow(client: EngineClient) -> str:
    name = unique("inputs")
    client.create_workflow(
        workflow_yaml(
            name,
            {"echo": {"action": "std.echo", "input": {"output": "<% $.order %>-<% $.region %>"},
                      "publish": {"said": "<% task().result %>"}}},
            input=["order", {"region": "cn-hz1"}, {"count": 3}],
            output={"said": "<% $.said %>", "count": "{{ _.count }}"},
        )
    )  # fmt: skip
    return name


def test_start_applies_defaults_and_commits_the_first_event(
    client: EngineClient, log: EventLog, inputs_workflow: str
) -> None:
    started = client.start(inputs_workflow, {"order": "A1", "count": 7})
    # StartExecution returns only once the execution and its first event are committed.
    first = log.events(started.id)
    assert first, "StartExecution returned before its first event was committed"
    assert first[0].type == ET.EVENT_TYPE_EXECUTION_STARTED
    assert payload(first[0].input) == {"order": "A1", "region": "cn-hz1", "count": 7}
    wf = client.get_workflow(inputs_workflow)
    assert started.workflow_id == wf.id
    assert started.workflow_name == inputs_workflow
    assert plain(started.input) == {"order": "A1", "region": "cn-hz1", "count": 7}
    assert started.state in (ES.EXECUTION_STATE_RUNNING, ES.EXECUTION_STATE_SUCCESS)
    ex, _ = log.wait_settled(client, started.id)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    assert plain(ex.output) == {"said": "A1-cn-hz1", "count": 7}
    assert ex.end_time.seconds > 0
    check_event_stream(log.rows(ex.id), ex)


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({}, "input.order"),  # a required input missing
        ({"order": 1, "bogus": 2}, "input.bogus"),  # an unknown input
        ({"order": float("nan")}, "input.order"),  # not a number JSON can hold
    ],
)
def test_start_refuses_bad_input(
    client: EngineClient, inputs_workflow: str, given: dict[str, Any], field: str
) -> None:
    before = _execution_ids(client, inputs_workflow)
    failure = rpc_failure(
        lambda: client.executions.StartExecution(
            PB.StartExecutionRequest(workflow=inputs_workflow, input=struct(given)), timeout=T
        )
    )
    assert failure.code == INVALID
    assert field in failure.fields, failure.violations
    assert _execution_ids(client, inputs_workflow) == before  # nothing started


def test_start_refuses_bad_requests(client: EngineClient, inputs_workflow: str) -> None:
    no_workflow = rpc_failure(lambda: client.start(""))
    assert no_workflow.code == INVALID
    assert no_workflow.fields == ["workflow"]
    assert rpc_failure(lambda: client.start(unique("ghost"))).code == NOT_FOUND
    negative = rpc_failure(
        lambda: client.start(inputs_workflow, {"order": 1}, timeout=duration(-1))
    )
    assert negative.code == INVALID
    assert negative.fields == ["timeout"]
    # An enum value this server does not know is refused naming its field.
    unknown = rpc_failure(
        lambda: client.start(
            inputs_workflow,
            {"order": 1},
            notify=[PB.NotifyTarget(url="http://127.0.0.1:9/", profile=cast(Any, 99))],
        )
    )
    assert unknown.code == INVALID
    assert unknown.fields == ["notify[0].profile"]
    no_url = rpc_failure(
        lambda: client.start(
            inputs_workflow, {"order": 1}, notify=[PB.NotifyTarget(profile=profile_enum("thain"))]
        )
    )
    assert no_url.code == INVALID
    assert no_url.fields == ["notify[0].url"]


def test_start_keeps_notify_targets_and_timeout(client: EngineClient, inputs_workflow: str) -> None:
    target = PB.NotifyTarget(
        url="http://127.0.0.1:9/hook",
        profile=profile_enum("thain"),
        events=["EXECUTION"],
        headers={"k": "v"},
    )
    ex = client.start(inputs_workflow, {"order": 1}, notify=[target], timeout=duration(30))
    got = client.get(ex.id)
    assert list(got.notify) == [target]
    assert seconds(got.timeout) == 30
    assert not client.start(inputs_workflow, {"order": 3}).HasField("timeout")
    default = client.start(
        inputs_workflow, {"order": 2}, notify=[PB.NotifyTarget(url="http://127.0.0.1:9/")]
    )
    assert default.notify[0].profile == profile_enum("mistral")


def test_request_id_makes_start_idempotent(
    client: EngineClient, log: EventLog, inputs_workflow: str
) -> None:
    request_id = str(uuid.uuid4())
    first = client.start(inputs_workflow, {"order": "R"}, request_id=request_id)
    second = client.start(inputs_workflow, {"order": "R"}, request_id=request_id)
    assert first.id == second.id
    assert second.request_id == request_id
    client.wait_until_ended(first.id)
    third = client.start(inputs_workflow, {"order": "R"}, request_id=request_id)
    assert third.id == first.id
    assert [e.type for e in log.events(first.id)].count(ET.EVENT_TYPE_EXECUTION_STARTED) == 1


def test_request_id_under_concurrent_starts(
    client: EngineClient, log: EventLog, inputs_workflow: str
) -> None:
    name = unique("concurrent")
    client.create_workflow(noop_workflow(name))
    request_id = str(uuid.uuid4())
    barrier = threading.Barrier(8)

    def start(_: int) -> str:
        barrier.wait(timeout=10)
        return client.start(name, request_id=request_id).id

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(start, range(8)))
    assert len(set(ids)) == 1
    assert _execution_ids(client, name) == set(ids)
    ex, events = log.wait_settled(client, ids[0])
    check_event_stream(log.rows(ex.id), ex)
    assert types_of(events).count("TASK_STARTED") == 1


def test_get_execution(client: EngineClient, log: EventLog, inputs_workflow: str) -> None:
    started = client.start(inputs_workflow, {"order": "G"})
    ex, _ = log.wait_settled(client, started.id)
    assert ex.id == started.id
    assert ex.create_time == started.create_time
    assert ex.end_time.seconds > 0
    assert ex.error_message == ""
    missing = rpc_failure(lambda: client.get(str(uuid.uuid4())))
    assert missing.code == NOT_FOUND
    empty = rpc_failure(lambda: client.get(""))
    assert empty.code == INVALID
    assert empty.fields == ["id"]


def _execution_ids(
    client: EngineClient,
    workflow: str,
    state: ES.ValueType = ES.EXECUTION_STATE_UNSPECIFIED,
) -> set[str]:
    pages = _list_execution_pages(client, workflow, state, 1000)
    return {i for p in pages for i in p}


def _list_execution_pages(
    client: EngineClient, workflow: str, state: ES.ValueType, page_size: int
) -> list[list[str]]:
    pages: list[list[str]] = []
    token = ""
    for _ in range(500):
        reply = client.executions.ListExecutions(
            PB.ListExecutionsRequest(
                workflow=workflow, state=state, page_size=page_size, page_token=token
            ),
            timeout=T,
        )
        for e in reply.executions:
            if workflow:
                assert e.workflow_name == workflow or e.workflow_id == workflow
            if state:
                assert e.state == state
        pages.append([e.id for e in reply.executions])
        token = reply.next_page_token
        if not token:
            return pages
    raise AssertionError("ListExecutions never ended")


def test_list_executions_filters_and_paginates(client: EngineClient, log: EventLog) -> None:
    name = unique("listex")
    client.create_workflow(
        workflow_yaml(
            name,
            {
                "check": {"action": "std.noop", "on-success": [{"boom": "<% $.fail %>"}]},
                "boom": {"action": "std.fail"},
            },
            input=[{"fail": False}],
        )
    )
    good = {client.start(name, {"fail": False}).id for _ in range(3)}
    bad = {client.start(name, {"fail": True}).id for _ in range(2)}
    for ex_id in good | bad:
        log.wait_settled(client, ex_id)
    pages = _list_execution_pages(client, name, ES.EXECUTION_STATE_UNSPECIFIED, 2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in p if i] == list(dict.fromkeys(i for p in pages for i in p))
    assert {i for p in pages for i in p} == good | bad
    # The workflow's id filters the same as its name.
    wf_id = client.get_workflow(name).id
    assert _execution_ids(client, wf_id) == good | bad
    failed_pages = _list_execution_pages(client, name, ES.EXECUTION_STATE_ERROR, 1)
    assert [len(p) for p in failed_pages] in ([1, 1], [1, 1, 0])
    assert {i for p in failed_pages for i in p} == bad
    assert _execution_ids(client, name, ES.EXECUTION_STATE_SUCCESS) == good
    assert _execution_ids(client, name, ES.EXECUTION_STATE_RUNNING) == set()
    # Without a workflow, the state filter spans all workflows.
    assert bad <= _execution_ids(client, "", ES.EXECUTION_STATE_ERROR)
    assert not good & _execution_ids(client, "", ES.EXECUTION_STATE_ERROR)
    unknown = rpc_failure(
        lambda: client.executions.ListExecutions(
            PB.ListExecutionsRequest(workflow=unique("nobody")), timeout=T
        )
    )
    assert unknown.code == NOT_FOUND
    bad_token = rpc_failure(
        lambda: client.executions.ListExecutions(
            PB.ListExecutionsRequest(page_token="%%%"), timeout=T
        )
    )
    assert bad_token.code == INVALID
    assert bad_token.fields == ["page_token"]


def test_list_tasks(client: EngineClient, log: EventLog, atoms: AtomServer) -> None:
    name = unique("tasks")
    tasks = {
        "first": {**http_task(atoms.url("/json")), "atom": "Atom.First", "on-success": ["second"]},
        "second": {"action": "std.echo", "input": {"output": "<% $.n * 2 %>"},
                   "on-success": ["third"]},
        "third": {"action": "std.noop"},
    }  # fmt: skip
    client.create_workflow(workflow_yaml(name, tasks, input=[{"n": 21}]))
    ex, _ = log.wait_settled(client, client.start(name).id)
    assert ex.state == ES.EXECUTION_STATE_SUCCESS
    listed = client.tasks(ex.id)
    assert [t.name for t in listed] == ["first", "second", "third"]
    first, second, third = listed
    assert all(t.execution_id == ex.id and t.state == TS.TASK_STATE_SUCCESS for t in listed)
    assert all(t.attempt == 1 and t.end_time.seconds > 0 for t in listed)
    assert first.action == "std.http" and first.atom_id == "Atom.First"
    assert plain(first.input)["url"] == atoms.url("/json")
    assert plain(first.result)["result"]["status"] == 200
    assert list(first.triggered_by) == []
    assert plain(second.input) == {"output": 42}
    assert plain(second.result) == 42
    assert [(r.event, r.task_id) for r in second.triggered_by] == [("on-success", first.id)]
    assert [(r.event, r.task_id) for r in third.triggered_by] == [("on-success", second.id)]
    # Page by page.
    paged: list[str] = []
    token = ""
    for _ in range(10):
        reply = client.executions.ListTasks(
            PB.ListTasksRequest(execution_id=ex.id, page_size=1, page_token=token), timeout=T
        )
        assert len(reply.tasks) <= 1
        paged += [t.id for t in reply.tasks]
        token = reply.next_page_token
        if not token:
            break
    assert paged == [t.id for t in listed]
    missing = rpc_failure(
        lambda: client.executions.ListTasks(
            PB.ListTasksRequest(execution_id=str(uuid.uuid4())), timeout=T
        )
    )
    assert missing.code == NOT_FOUND


def test_unknown_ids_are_not_found(client: EngineClient) -> None:
    ex_id, task_id = str(uuid.uuid4()), str(uuid.uuid4())
    e = client.executions
    calls = {
        "Pause": lambda: e.PauseExecution(PB.PauseExecutionRequest(id=ex_id), timeout=T),
        "Resume": lambda: e.ResumeExecution(PB.ResumeExecutionRequest(id=ex_id), timeout=T),
        "Cancel": lambda: e.CancelExecution(PB.CancelExecutionRequest(id=ex_id), timeout=T),
        "Rollback": lambda: e.RollbackExecution(PB.RollbackExecutionRequest(id=ex_id), timeout=T),
        "Retry": lambda: e.RetryTask(PB.RetryTaskRequest(task_id=task_id), timeout=T),
        "Skip": lambda: e.SkipTask(PB.SkipTaskRequest(task_id=task_id), timeout=T),
        "Complete": lambda: e.CompleteTask(
            PB.CompleteTaskRequest(task_id=task_id, success=True), timeout=T
        ),
    }
    codes = {name: rpc_failure(call).code for name, call in calls.items()}
    assert codes == dict.fromkeys(calls, NOT_FOUND)
    empty = rpc_failure(lambda: e.RetryTask(PB.RetryTaskRequest(), timeout=T))
    assert empty.code == INVALID
    assert empty.fields == ["task_id"]


def test_operations_in_the_wrong_state_are_failed_precondition(
    client: EngineClient, log: EventLog
) -> None:
    name = unique("precond")
    client.create_workflow(
        workflow_yaml(
            name,
            {"first": {"action": "std.echo", "input": {"output": 1}, "on-success": ["nap"]},
             "nap": {"action": "std.sleep", "input": {"seconds": "<% $.nap %>"}}},
            input=[{"nap": 0}],
        )
    )  # fmt: skip
    e = client.executions
    # An ended execution.
    done, _ = log.wait_settled(client, client.start(name).id)
    assert done.state == ES.EXECUTION_STATE_SUCCESS
    first = client.task(done.id, "first")
    ops = {
        "pause": lambda: e.PauseExecution(PB.PauseExecutionRequest(id=done.id), timeout=T),
        "resume": lambda: e.ResumeExecution(PB.ResumeExecutionRequest(id=done.id), timeout=T),
        "cancel": lambda: e.CancelExecution(PB.CancelExecutionRequest(id=done.id), timeout=T),
        "retry a succeeded task": lambda: e.RetryTask(
            PB.RetryTaskRequest(task_id=first.id), timeout=T
        ),
        "skip a succeeded task": lambda: e.SkipTask(
            PB.SkipTaskRequest(task_id=first.id), timeout=T
        ),
        "complete a non-async task": lambda: e.CompleteTask(
            PB.CompleteTaskRequest(task_id=first.id, success=True), timeout=T
        ),
    }
    codes = {op: rpc_failure(call).code for op, call in ops.items()}
    assert codes == dict.fromkeys(ops, PRECONDITION)
    # A running execution, its non-async task in the middle of its call.
    running = client.start(name, {"nap": 30})
    nap = client.wait_for_task(running.id, "nap", [TS.TASK_STATE_RUNNING])
    live = {
        "resume a running execution": lambda: e.ResumeExecution(
            PB.ResumeExecutionRequest(id=running.id), timeout=T
        ),
        "rollback a running execution": lambda: e.RollbackExecution(
            PB.RollbackExecutionRequest(id=running.id), timeout=T
        ),
        "complete a running non-async task": lambda: e.CompleteTask(
            PB.CompleteTaskRequest(task_id=nap.id, success=True, result=typed(1)), timeout=T
        ),
        "retry a running task": lambda: e.RetryTask(PB.RetryTaskRequest(task_id=nap.id), timeout=T),
    }
    codes = {op: rpc_failure(call).code for op, call in live.items()}
    assert codes == dict.fromkeys(live, PRECONDITION)
    # Nothing of that changed the execution.
    assert client.task(running.id, "nap").state == TS.TASK_STATE_RUNNING
    bad_value = rpc_failure(
        lambda: e.SkipTask(
            PB.SkipTaskRequest(task_id=nap.id, result=typed(float("nan"))), timeout=T
        )
    )
    assert bad_value.code == INVALID
    assert bad_value.fields == ["result"]
    e.CancelExecution(PB.CancelExecutionRequest(id=running.id), timeout=T)
    cancelled, _ = log.wait_settled(client, running.id)
    assert cancelled.state == ES.EXECUTION_STATE_CANCELLED
    again = rpc_failure(
        lambda: e.CancelExecution(PB.CancelExecutionRequest(id=running.id), timeout=T)
    )
    assert again.code == PRECONDITION
    events = check_event_stream(log.rows(running.id), cancelled)
    assert types_of(events).count("EXECUTION_CANCELLED") == 1


def test_pause_resume_cancel_return_the_execution(client: EngineClient, log: EventLog) -> None:
    name = unique("steer")
    client.create_workflow(
        workflow_yaml(name, {"nap": {"action": "std.sleep", "input": {"seconds": 30}}})
    )
    ex = client.start(name)
    e = client.executions
    paused = e.PauseExecution(PB.PauseExecutionRequest(id=ex.id), timeout=T).execution
    assert paused.state == ES.EXECUTION_STATE_PAUSED
    assert client.get(ex.id).state == ES.EXECUTION_STATE_PAUSED
    twice = rpc_failure(lambda: e.PauseExecution(PB.PauseExecutionRequest(id=ex.id), timeout=T))
    assert twice.code == PRECONDITION
    resumed = e.ResumeExecution(PB.ResumeExecutionRequest(id=ex.id), timeout=T).execution
    assert resumed.state == ES.EXECUTION_STATE_RUNNING
    cancelled = e.CancelExecution(
        PB.CancelExecutionRequest(id=ex.id, reason="operator said so"), timeout=T
    ).execution
    assert cancelled.state == ES.EXECUTION_STATE_CANCELLED
    assert cancelled.error_message == "operator said so"
    final, _ = log.wait_settled(client, ex.id)
    events = check_event_stream(log.rows(ex.id), final)
    assert types_of(events) == [
        "EXECUTION_STARTED",
        "TASK_STARTED",
        "EXECUTION_PAUSED",
        "EXECUTION_RESUMED",
        "TASK_CANCELLED",
        "EXECUTION_CANCELLED",
    ]
    assert events[-1].error_message == "operator said so"
