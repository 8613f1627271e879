"""Helpers for the engine's integration tests: a gRPC client, the outbox reader, builders.

``EngineClient`` wraps the two services of a running ``tidings serve``; its waits are
bounded loops over ``GetExecution``. ``EventLog`` reads an execution's committed events
straight from the SQLite outbox (read-only; the server keeps writing, WAL allows it).
``check_event_stream`` asserts the invariants every execution's events must hold.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import textwrap
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import grpc
import yaml
from google.protobuf import duration_pb2, struct_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tidings import values
from tidings.v1 import (
    event_pb2,
    execution_pb2,
    execution_pb2_grpc,
    workflow_pb2,
    workflow_pb2_grpc,
)

T = TypeVar("T")
ET = event_pb2.EventType
ES = execution_pb2.ExecutionState
TS = execution_pb2.TaskState
PB = execution_pb2
WPB = workflow_pb2

RPC_TIMEOUT = 15.0

ENDED_STATES = frozenset(
    {
        ES.EXECUTION_STATE_SUCCESS,
        ES.EXECUTION_STATE_ERROR,
        ES.EXECUTION_STATE_CANCELLED,
        ES.EXECUTION_STATE_TIMED_OUT,
        ES.EXECUTION_STATE_ROLLED_BACK,
    }
)
TERMINAL_EVENTS = frozenset(
    {
        ET.EVENT_TYPE_EXECUTION_SUCCEEDED,
        ET.EVENT_TYPE_EXECUTION_FAILED,
        ET.EVENT_TYPE_EXECUTION_CANCELLED,
        ET.EVENT_TYPE_EXECUTION_TIMED_OUT,
    }
)
#: The last event an execution in each ended state must have committed.
LAST_EVENT_OF_STATE = {
    ES.EXECUTION_STATE_SUCCESS: {ET.EVENT_TYPE_EXECUTION_SUCCEEDED},
    ES.EXECUTION_STATE_ERROR: {ET.EVENT_TYPE_EXECUTION_FAILED},
    ES.EXECUTION_STATE_CANCELLED: {ET.EVENT_TYPE_EXECUTION_CANCELLED},
    ES.EXECUTION_STATE_TIMED_OUT: {ET.EVENT_TYPE_EXECUTION_TIMED_OUT},
    ES.EXECUTION_STATE_ROLLED_BACK: {ET.EVENT_TYPE_EXECUTION_ROLLBACK_FINISHED},
}


def ename(value: ET.ValueType) -> str:
    """An event type's short name (``TASK_STARTED``)."""
    return ET.Name(value).removeprefix("EVENT_TYPE_")


def xname(value: ES.ValueType) -> str:
    """An execution state's short name (``SUCCESS``)."""
    return ES.Name(value).removeprefix("EXECUTION_STATE_")


def tname(value: TS.ValueType) -> str:
    """A task state's short name (``SUCCESS``)."""
    return TS.Name(value).removeprefix("TASK_STATE_")


def plain(message: struct_pb2.Value | struct_pb2.Struct) -> Any:
    """The JSON value of a typed field: a Struct's object, a Value's value (None if unset)."""
    if isinstance(message, struct_pb2.Struct):
        return values.from_struct(message)
    return values.from_value(message)


def typed(value: Any) -> struct_pb2.Value:
    """A JSON value as a typed Value (integers beyond 2**53 as strings, as the server's)."""
    return values.to_value(value)


def struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    """A JSON object as a Struct."""
    return values.to_struct(value)


def duration(seconds: float) -> duration_pb2.Duration:
    """Seconds as a Duration."""
    d = duration_pb2.Duration()
    d.FromNanoseconds(round(seconds * 1e9))
    return d


def seconds(d: duration_pb2.Duration) -> float:
    """A Duration in seconds."""
    return d.seconds + d.nanos / 1e9


def unique(prefix: str) -> str:
    """A fresh workflow name."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


# ----------------------------------------------------------------------------- builders


def workflow_yaml(
    name: str,
    tasks: Mapping[str, Mapping[str, Any]],
    *,
    input: Sequence[Any] | None = None,
    output: Mapping[str, Any] | None = None,
    description: str | None = None,
) -> str:
    """A Mistral v2 direct workflow definition as YAML text."""
    body: dict[str, Any] = {"type": "direct"}
    if description is not None:
        body["description"] = description
    if input is not None:
        body["input"] = list(input)
    if output is not None:
        body["output"] = dict(output)
    body["tasks"] = {k: dict(v) for k, v in tasks.items()}
    return yaml.safe_dump({"version": "2.0", name: body}, sort_keys=False, allow_unicode=True)


def chain(*names: str, action: str = "std.noop") -> dict[str, dict[str, Any]]:
    """Tasks running one after another."""
    tasks: dict[str, dict[str, Any]] = {}
    for i, name in enumerate(names):
        tasks[name] = {"action": action}
        if i + 1 < len(names):
            tasks[name]["on-success"] = [names[i + 1]]
    return tasks


def chain_of(n: int) -> dict[str, dict[str, Any]]:
    """A chain of `n` std.noop tasks t0, t1, ..."""
    return chain(*(f"t{i}" for i in range(n)))


def http_task(url: str, **extra: Any) -> dict[str, Any]:
    """A ``std.http`` task calling ``url`` (POST with a small JSON body unless given)."""
    params: dict[str, Any] = {"url": url, "method": "post", "body": {"hello": "atom"}}
    for key in ("method", "body", "headers", "timeout", "success_statuses"):
        if key in extra:
            params[key] = extra.pop(key)
    return {"action": "std.http", "input": params, **extra}


# ----------------------------------------------------------------------------- errors


@dataclass
class RpcFailure:
    """A failed RPC: its code, message, ``google.rpc.BadRequest`` field violations and
    ``google.rpc.ErrorInfo`` (reason, domain, metadata; empty if it had none)."""

    code: grpc.StatusCode
    message: str
    violations: list[tuple[str, str]]
    reason: str = ""
    domain: str = ""
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def fields(self) -> list[str]:
        """The field paths of the violations."""
        return [f for f, _ in self.violations]


def rpc_failure(call: Callable[[], Any]) -> RpcFailure:
    """Run ``call``, which must fail; its status with the BadRequest detail parsed."""
    try:
        call()
    except grpc.RpcError as exc:
        return failure_of(exc)
    raise AssertionError("the RPC was expected to fail but succeeded")


def failure_of(exc: grpc.RpcError) -> RpcFailure:
    """A client error's status, with its BadRequest and ErrorInfo details parsed."""
    failure = RpcFailure(exc.code(), exc.details() or "", [])
    status = rpc_status.from_call(cast(grpc.Call, exc))  # a client RpcError is a Call
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            failure.violations += [(v.field, v.description) for v in bad.field_violations]
        elif detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            failure.reason, failure.domain = info.reason, info.domain
            failure.metadata = dict(info.metadata)
    return failure
    raise AssertionError("the RPC was expected to fail but succeeded")


# ----------------------------------------------------------------------------- client


class EngineClient:
    """The WorkflowService and ExecutionService of one server, over a real channel."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.channel = grpc.insecure_channel(address)
        self.workflows = workflow_pb2_grpc.WorkflowServiceStub(self.channel)
        self.executions = execution_pb2_grpc.ExecutionServiceStub(self.channel)

    def close(self) -> None:
        """Close the channel."""
        self.channel.close()

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- workflows
    def create_workflow(self, definition: str, **kw: Any) -> workflow_pb2.Workflow:
        """CreateWorkflow; the stored workflow."""
        reply = self.workflows.CreateWorkflow(
            WPB.CreateWorkflowRequest(definition=definition, **kw), timeout=RPC_TIMEOUT
        )
        return reply.workflow

    def get_workflow(self, workflow: str) -> workflow_pb2.Workflow:
        """GetWorkflow by id or name."""
        return self.workflows.GetWorkflow(
            WPB.GetWorkflowRequest(workflow=workflow), timeout=RPC_TIMEOUT
        ).workflow

    # --- executions
    def start(
        self, workflow: str, input: Mapping[str, Any] | None = None, **kw: Any
    ) -> execution_pb2.Execution:
        """StartExecution with ``input`` given as a mapping."""
        request = PB.StartExecutionRequest(
            workflow=workflow, input=struct(input) if input is not None else None, **kw
        )
        return self.executions.StartExecution(request, timeout=RPC_TIMEOUT).execution

    def get(self, execution_id: str) -> execution_pb2.Execution:
        """GetExecution."""
        return self.executions.GetExecution(
            PB.GetExecutionRequest(id=execution_id), timeout=RPC_TIMEOUT
        ).execution

    def tasks(self, execution_id: str) -> list[execution_pb2.Task]:
        """Every task of an execution (all pages of ListTasks), in creation order."""
        out: list[execution_pb2.Task] = []
        token = ""
        for _ in range(1000):
            reply = self.executions.ListTasks(
                PB.ListTasksRequest(execution_id=execution_id, page_token=token, page_size=100),
                timeout=RPC_TIMEOUT,
            )
            out += reply.tasks
            token = reply.next_page_token
            if not token:
                return out
        raise AssertionError("ListTasks never ended")

    def task(self, execution_id: str, name: str) -> execution_pb2.Task:
        """The latest task instance called ``name``."""
        found = [t for t in self.tasks(execution_id) if t.name == name]
        assert found, f"no task {name!r} in execution {execution_id}"
        return found[-1]

    # --- waits
    def wait_until_ended(self, execution_id: str, timeout: float = 20.0) -> execution_pb2.Execution:
        """Poll GetExecution until the execution has ended; bounded by ``timeout``."""
        return self.wait_for_state(execution_id, ENDED_STATES, timeout)

    def wait_for_state(
        self, execution_id: str, states: Iterable[ES.ValueType], timeout: float = 20.0
    ) -> execution_pb2.Execution:
        """Poll GetExecution until its state is one of ``states``."""
        wanted = frozenset(states)
        return wait_for(
            lambda: self.get(execution_id),
            lambda ex: ex.state in wanted,
            timeout,
            f"execution {execution_id} to reach {sorted(xname(s) for s in wanted)}",
        )

    def wait_for_task(
        self, execution_id: str, name: str, states: Iterable[TS.ValueType], timeout: float = 20.0
    ) -> execution_pb2.Task:
        """Poll ListTasks until a task ``name`` is in one of ``states``."""
        wanted = frozenset(states)

        def probe() -> execution_pb2.Task | None:
            found = [t for t in self.tasks(execution_id) if t.name == name]
            return found[-1] if found and found[-1].state in wanted else None

        task = wait_for(
            probe,
            lambda t: t is not None,
            timeout,
            f"task {name!r} of {execution_id} to reach {sorted(tname(s) for s in wanted)}",
        )
        assert task is not None
        return task


def wait_for(probe: Callable[[], T], done: Callable[[T], bool], timeout: float, what: str) -> T:
    """Call ``probe`` until ``done(result)``, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    last: T | None = None
    while True:
        last = probe()
        if done(last):
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.1)


# ----------------------------------------------------------------------------- events


class EventLog:
    """The committed events of the outbox, read from the SQLite file (read-only)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "tidings.sqlite3"

    def _query(self, sql: str, args: Sequence[Any]) -> list[Any]:
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def rows(self, execution_id: str) -> list[tuple[int, int, event_pb2.Event]]:
        """``(position, sequence column, event)`` of an execution, in commit order."""
        found = self._query(
            "SELECT position, sequence, body FROM events WHERE execution_id = ? ORDER BY position",
            (execution_id,),
        )
        return [(p, s, event_pb2.Event.FromString(bytes(b))) for p, s, b in found]

    def events(self, execution_id: str) -> list[event_pb2.Event]:
        """An execution's events, in commit order."""
        return [e for _, _, e in self.rows(execution_id)]

    def all_execution_ids(self) -> list[str]:
        """Every execution that has events."""
        return [r[0] for r in self._query("SELECT DISTINCT execution_id FROM events", ())]

    def wait_for_event(
        self,
        execution_id: str,
        types: Iterable[ET.ValueType],
        timeout: float = 20.0,
        *,
        count: int = 1,
    ) -> list[event_pb2.Event]:
        """Wait until ``count`` events of ``types`` are committed; all events then."""
        wanted = frozenset(types)
        return wait_for(
            lambda: self.events(execution_id),
            lambda evs: sum(e.type in wanted for e in evs) >= count,
            timeout,
            f"{count} event(s) {sorted(ename(t) for t in wanted)} of {execution_id}",
        )

    def wait_settled(
        self, client: EngineClient, execution_id: str, timeout: float = 20.0
    ) -> tuple[execution_pb2.Execution, list[event_pb2.Event]]:
        """Wait until the execution ended *and* its last event is committed."""
        ex = client.wait_until_ended(execution_id, timeout)
        last = LAST_EVENT_OF_STATE[ex.state]
        events = wait_for(
            lambda: self.events(execution_id),
            lambda evs: bool(evs) and evs[-1].type in last,
            timeout,
            f"the last event of {execution_id} ({xname(ex.state)})",
        )
        return client.get(execution_id), events


def types_of(events: Iterable[event_pb2.Event]) -> list[str]:
    """Short type names of events, in order."""
    return [ename(e.type) for e in events]


def task_events(events: Iterable[event_pb2.Event], name: str) -> list[event_pb2.Event]:
    """The events of the tasks called ``name``."""
    return [e for e in events if e.task_name == name]


def payload(raw: bytes) -> Any:
    """A JSON input/output of an event (None when absent)."""
    return json.loads(raw) if raw else None


_TRIGGER_SOURCE = {
    "on-success": {ET.EVENT_TYPE_TASK_SUCCEEDED, ET.EVENT_TYPE_TASK_SKIPPED},
    "on-error": {ET.EVENT_TYPE_TASK_FAILED},
    "on-complete": {
        ET.EVENT_TYPE_TASK_SUCCEEDED,
        ET.EVENT_TYPE_TASK_FAILED,
        ET.EVENT_TYPE_TASK_SKIPPED,
    },
}


def check_event_stream(
    rows: Sequence[tuple[int, int, event_pb2.Event]],
    execution: execution_pb2.Execution,
    *,
    definition: Mapping[str, Mapping[str, Any]] | None = None,
    terminal_events: int = 1,
) -> list[event_pb2.Event]:
    """Assert the invariants of one execution's committed events; returns the events.

    - sequences are exactly 1..n, in commit order, and the column matches the body;
    - every event belongs to the execution (ids, workflow) and has a unique id;
    - exactly one EXECUTION_STARTED, first; ``terminal_events`` terminal events, the
      last of them after every task event (bar rollback events);
    - every task event's ``triggered_by`` names a task of the same execution whose
      matching event (on-success → succeeded/skipped, on-error → failed, on-complete →
      either) was committed before, and (given the ``definition``'s tasks) that task
      really has such a transition to this one.
    """
    events = [e for _, _, e in rows]
    assert events, f"no events committed for {execution.id}"
    sequences = [e.sequence for e in events]
    assert sequences == list(range(1, len(events) + 1)), f"sequences not 1..n: {sequences}"
    assert [s for _, s, _ in rows] == sequences, "sequence column differs from the event body"
    positions = [p for p, _, _ in rows]
    assert positions == sorted(positions)
    ids = [e.id for e in events]
    assert len(set(ids)) == len(ids), "an event id appears twice"
    for e in events:
        assert e.execution_id == execution.id
        assert e.workflow_id == execution.workflow_id
        assert e.workflow_name == execution.workflow_name
    started = [i for i, e in enumerate(events) if e.type == ET.EVENT_TYPE_EXECUTION_STARTED]
    assert started == [0], f"EXECUTION_STARTED must be exactly once and first: {types_of(events)}"
    terminals = [i for i, e in enumerate(events) if e.type in TERMINAL_EVENTS]
    assert len(terminals) == terminal_events, (
        f"expected {terminal_events} terminal event(s): {types_of(events)}"
    )
    if terminals:
        after = [
            e
            for e in events[terminals[-1] + 1 :]
            if e.type
            not in (
                ET.EVENT_TYPE_EXECUTION_ROLLBACK_STARTED,
                ET.EVENT_TYPE_TASK_ROLLED_BACK,
                ET.EVENT_TYPE_EXECUTION_ROLLBACK_FINISHED,
            )
        ]
        assert not after, f"events after the terminal one: {types_of(events)}"
        for i in terminals[:-1]:
            assert events[i + 1].type == ET.EVENT_TYPE_EXECUTION_RERUN, (
                f"an ended execution went on without EXECUTION_RERUN: {types_of(events)}"
            )
    # triggered_by: the transition that scheduled each task happened before it.
    seen: dict[str, set[int]] = {}
    names: dict[str, str] = {}
    for e in events:
        if e.task_id:
            names.setdefault(e.task_id, e.task_name)
            assert names[e.task_id] == e.task_name, "a task id changed its name"
            for trig in e.triggered_by:
                assert trig.event in _TRIGGER_SOURCE, f"unknown trigger {trig.event!r}"
                assert trig.task_id != e.task_id
                fired = seen.get(trig.task_id, set())
                assert fired & _TRIGGER_SOURCE[trig.event], (
                    f"{e.task_name} ({ename(e.type)}) triggered by {trig.event} of task"
                    f" {trig.task_id}, which had no matching event before"
                )
                if definition is not None:
                    source = definition[names[trig.task_id]]
                    targets = _targets(source.get(trig.event))
                    assert e.task_name in targets, (
                        f"{names[trig.task_id]} has no {trig.event} transition to {e.task_name}"
                    )
            seen.setdefault(e.task_id, set()).add(e.type)
    return events


def _targets(value: Any) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, str):
        return {value.split()[0]}
    if isinstance(value, Mapping) and set(value) <= {"publish", "next"}:
        return _targets(value.get("next"))  # Mistral's {publish, next} form
    out: set[str] = set()
    for item in [value] if isinstance(value, Mapping) else value:
        keys = item if isinstance(item, Mapping) else [item]
        out |= {str(k).split()[0] for k in keys}
    return out


def count_types(events: Iterable[event_pb2.Event]) -> dict[str, int]:
    """How many events of each type."""
    counts: dict[str, int] = {}
    for e in events:
        counts[ename(e.type)] = counts.get(ename(e.type), 0) + 1
    return counts


def pairs(items: Iterable[T]) -> Iterable[tuple[T, T]]:
    """Consecutive pairs."""
    a, b = itertools.tee(items)
    next(b, None)
    return zip(a, b, strict=False)


def define(client: EngineClient, text: str) -> tuple[str, dict[str, Any]]:
    """Create the workflow of ``text`` (its name ``wf`` made unique); its name and tasks."""
    name = unique("wf")
    definition = textwrap.dedent(text).replace("\nwf:\n", f"\n{name}:\n")
    client.create_workflow(definition)
    return name, yaml.safe_load(definition)[name]["tasks"]


def settle(
    client: EngineClient, log: EventLog, ex_id: str, tasks: dict[str, Any]
) -> tuple[execution_pb2.Execution, list[event_pb2.Event]]:
    """Wait until the execution settles; it and its events, checked against ``tasks``."""
    ex, _ = log.wait_settled(client, ex_id, 20.0)
    return ex, check_event_stream(log.rows(ex_id), ex, definition=tasks)


def run(
    client: EngineClient, log: EventLog, text: str, input: dict[str, Any] | None = None
) -> tuple[execution_pb2.Execution, list[event_pb2.Event]]:
    """Define the workflow of ``text``, start it with ``input`` and wait until it settles."""
    name, tasks = define(client, text)
    return settle(client, log, client.start(name, input).id, tasks)
