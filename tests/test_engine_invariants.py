"""Property: no state change can wedge an execution (issue 10).

Hypothesis generates small workflows (std.echo, std.noop and std.fail tasks with
publish, transitions with conditions, on-error, joins and retries), their input
defaults, execution inputs and expressions (integers far beyond 64 bits, NaN and
infinities, nesting around the 32-level limit, unicode and lone surrogates,
expressions that raise), runs them, sometimes retries or skips a failed task with a
generated result, and checks the invariant:

- a definition or an input the store cannot hold exactly is refused (INVALID_ARGUMENT,
  never UNKNOWN or INTERNAL); one it can hold starts;
- every execution ends, and its committed events hold their invariants
  (:func:`check_event_stream`);
- every task state change has its events: the outbox agrees with ListTasks (each task
  that started has its TASK_STARTED, one per attempt, and an ended one its end event,
  with the same result and error), and the terminal event's summary with both;
- nothing reached a fallback ("internal error"): every failure was an ordinary one;
- the API, the outbox and a restart on the same data folder agree.

``make test`` runs a bounded number of examples over a real ``tidings serve``
(:func:`test_no_execution_wedges_over_a_real_server`) and a few in process. The long
run drives an :class:`~tidings.engine.runner.Engine` in process on a temporary SQLite
store, restarting it every few hundred examples::

    TIDINGS_HYPOTHESIS_EXAMPLES=10000 pytest tests/test_engine_invariants.py -k in_process
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine_client import (
    ENDED_STATES,
    ES,
    ET,
    PB,
    TS,
    EngineClient,
    EventLog,
    check_event_stream,
    payload,
    plain,
    struct,
    tname,
    typed,
    types_of,
    unique,
    workflow_yaml,
    xname,
)
from tidings.api import convert
from tidings.engine.actions import default_registry
from tidings.engine.events import EventFactory
from tidings.engine.runner import Engine
from tidings.errors import (
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    TidingsError,
)
from tidings.store.columns import INT64_MAX, INT64_MIN, unstorable
from tidings.store.sqlite import SQLiteStore
from tidings.v1 import event_pb2, execution_pb2
from tidings_process import TidingsProcess

#: Examples of the in-process run (the long run sets it); the server run has its own.
IN_PROCESS_EXAMPLES = int(os.environ.get("TIDINGS_HYPOTHESIS_EXAMPLES", "20"))
SERVER_EXAMPLES = int(os.environ.get("TIDINGS_HYPOTHESIS_SERVER_EXAMPLES", "30"))
#: The in-process engine restarts (and is compared) after this many examples.
RESTART_EVERY = 250
SETTLE_TIMEOUT = 20.0

NAMES = ("t0", "t1", "t2", "t3", "t4")
TASK_END = {
    ET.EVENT_TYPE_TASK_SUCCEEDED: TS.TASK_STATE_SUCCESS,
    ET.EVENT_TYPE_TASK_FAILED: TS.TASK_STATE_ERROR,
    ET.EVENT_TYPE_TASK_SKIPPED: TS.TASK_STATE_SKIPPED,
}
TASK_LIFECYCLE = {
    ET.EVENT_TYPE_TASK_STARTED,
    ET.EVENT_TYPE_TASK_RUNNING,
    ET.EVENT_TYPE_TASK_RETRIED,
    *TASK_END,
}

# ================================================================================ values

EDGE_INTS = [INT64_MAX, INT64_MIN, INT64_MAX + 1, INT64_MIN - 1, 2**64 - 1, 2**64, 10**30,
             2**100, -(2**200)]  # fmt: skip


def nest(depth: int) -> Any:
    """A list nested `depth` levels deep around a 1."""
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(INT64_MIN, INT64_MAX),
    st.sampled_from(EDGE_INTS),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
values = st.one_of(
    st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                    max_size=3),
        max_leaves=10,
    ),
    st.integers(28, 36).map(nest),  # around the 32-level limit
)  # fmt: skip

EXPRESSIONS = [
    "<% $.x %>",
    "<% $.y %>",
    "{{ _.x }}",
    "<% $ %>",
    "<% $.missing %>",
    "{{ _.missing.deeper }}",
    "<% 1 / 0 %>",
    "{{ 1e308 * 10 }}",
    "<% float('nan') %>",
    "{{ '\\ud800' }}",
    "<% task().result %>",
    "<% task().state %>",
    "<% execution().input %>",
    "héllo ☃ 𝄞 <% $.x %>",
    "{{ [_.x, _.y] }}",
    "<% str($.x) + '☃' %>",
    "<% 9223372036854775807 + 1 %>",
    "<% -9223372036854775807 - 1 %>",
    "<% 10 * 9223372036854775807 %>",
    "{{ _.x is number and _.x > 2 }}",
    "<% $.x = 1 %>",
    "<% $.p0 %>",
    "<% $.p1 != null %>",
    "<% len(str($)) > 40 %>",
]
expressions = st.one_of(
    st.sampled_from(EXPRESSIONS),
    st.integers(0, 200).map(lambda n: f"{{{{ 2 ** {n} }}}}"),
    st.integers(0, 130).map(lambda d: "{{ " + "[" * d + "1" + "]" * d + " }}"),
    st.integers(95, 105).map(lambda d: "<% " + "list(" * d + "1" + ")" * d + " %>"),
    st.sampled_from(NAMES).map(lambda name: f"<% task({name}).result %>"),
)
data = st.one_of(values, expressions, st.dictionaries(st.sampled_from("abc"), values | expressions,
                                                      max_size=2))  # fmt: skip


def has_unholdable_number(value: Any) -> bool:
    """An integer beyond 64 bits or a non-finite float anywhere in a literal."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return not INT64_MIN <= value <= INT64_MAX
    if isinstance(value, float):
        return value != value or value in (float("inf"), float("-inf"))
    if isinstance(value, Mapping):
        return any(has_unholdable_number(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unholdable_number(v) for v in value)
    return False


@dataclass
class Case:
    """One generated workflow, an execution input, and maybe a command after it fails."""

    tasks: dict[str, dict[str, Any]]
    wf_input: list[Any]
    output: dict[str, Any] | None
    input: dict[str, Any]
    #: After the execution fails: ("retry", None) or ("skip", result), or None.
    command: tuple[str, Any] | None
    literals: list[Any] = field(default_factory=list)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    n = draw(st.integers(1, len(NAMES)))
    names = NAMES[:n]
    tasks: dict[str, dict[str, Any]] = {}
    inbound: dict[str, int] = dict.fromkeys(names, 0)
    for i, name in enumerate(names):
        action = draw(st.sampled_from(["std.echo", "std.noop", "std.fail"]))
        body: dict[str, Any] = {"action": action}
        if action == "std.echo":
            body["input"] = {"output": draw(data)}
        elif action == "std.fail" and draw(st.booleans()):
            body["input"] = {"message": draw(expressions | st.text(max_size=8)),
                             "error_data": draw(data)}  # fmt: skip
            if draw(st.booleans()):
                body["retry"] = {"count": draw(st.integers(1, 2)), "delay": 0}
        if draw(st.booleans()):
            body["publish"] = {f"p{i}": draw(data)}
        later = names[i + 1 :]
        for kind in ("on-success", "on-error", "on-complete"):
            if not later or not draw(st.booleans()):
                continue
            targets = draw(st.lists(st.sampled_from(later), min_size=1, max_size=2, unique=True))
            transitions: list[Any] = []
            for target in targets:
                inbound[target] += 1
                if draw(st.booleans()):
                    transitions.append({target: draw(expressions)})
                else:
                    transitions.append(target)
            body[kind] = transitions
        tasks[name] = body
    for name in names:
        if inbound[name] >= 2 and draw(st.booleans()):
            tasks[name]["join"] = draw(st.sampled_from(["all", 1]))
    default = draw(values)
    wf_input: list[Any] = ["x", {"y": default}]
    output = {"out": draw(data)} if draw(st.booleans()) else None
    given: dict[str, Any] = {"x": draw(values)}
    if draw(st.booleans()):
        given["y"] = draw(values)
    command: tuple[str, Any] | None = None
    if draw(st.booleans()):
        command = ("retry", None) if draw(st.booleans()) else ("skip", draw(values))
    return Case(tasks, wf_input, output, given, command, [default, tasks, output])


# ============================================================================= harnesses


class Harness(Protocol):
    """What the property needs of a tidings: its API, its outbox, and a restart."""

    log: EventLog

    def create(self, definition: str) -> grpc.StatusCode | None: ...
    def start(self, name: str, given: dict[str, Any]) -> str | grpc.StatusCode: ...
    def get(self, ex_id: str) -> execution_pb2.Execution: ...
    def tasks(self, ex_id: str) -> list[execution_pb2.Task]: ...
    def command(self, kind: str, task_id: str, result: Any) -> grpc.StatusCode | None: ...
    def restart(self) -> None: ...


class ServerHarness:
    """A real `tidings serve` over gRPC."""

    def __init__(self, data_dir: Path) -> None:
        self.process = TidingsProcess(data_dir)
        self.process.start()
        self.client = EngineClient(self.process.address)
        self.log = EventLog(data_dir)

    def create(self, definition: str) -> grpc.StatusCode | None:
        try:
            self.client.create_workflow(definition)
        except grpc.RpcError as exc:
            return exc.code()
        return None

    def start(self, name: str, given: dict[str, Any]) -> str | grpc.StatusCode:
        request = PB.StartExecutionRequest(workflow=name, input=struct(given))
        try:
            return str(self.client.executions.StartExecution(request, timeout=15).execution.id)
        except grpc.RpcError as exc:
            return exc.code()

    def get(self, ex_id: str) -> execution_pb2.Execution:
        return self.client.get(ex_id)

    def tasks(self, ex_id: str) -> list[execution_pb2.Task]:
        return self.client.tasks(ex_id)

    def command(self, kind: str, task_id: str, result: Any) -> grpc.StatusCode | None:
        ex = self.client.executions
        try:
            if kind == "retry":
                ex.RetryTask(PB.RetryTaskRequest(task_id=task_id), timeout=15)
            else:
                ex.SkipTask(PB.SkipTaskRequest(task_id=task_id, result=typed(result)),
                            timeout=15)  # fmt: skip
        except grpc.RpcError as exc:
            return exc.code()
        return None

    def restart(self) -> None:
        self.client.close()
        assert self.process.stop() == 0, self.process.log()
        self.process.start()
        self.client = EngineClient(self.process.address)

    def close(self) -> None:
        self.client.close()
        self.process.kill()


_CODES: list[tuple[type[TidingsError], grpc.StatusCode]] = [
    (InvalidArgumentError, grpc.StatusCode.INVALID_ARGUMENT),
    (FailedPreconditionError, grpc.StatusCode.FAILED_PRECONDITION),
    (NotFoundError, grpc.StatusCode.NOT_FOUND),
    (InternalError, grpc.StatusCode.INTERNAL),
]


def _code(exc: TidingsError) -> grpc.StatusCode:
    for kind, code in _CODES:
        if isinstance(exc, kind):
            return code
    return grpc.StatusCode.INTERNAL


class InProcessHarness:
    """An Engine on a SQLite store in this process, through the API's own conversions.

    Anything but a TidingsError escapes, as it would reach a client as UNKNOWN.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.log = EventLog(data_dir)
        self.loop = asyncio.new_event_loop()
        self._boot()

    def _boot(self) -> None:
        async def boot() -> tuple[SQLiteStore, Engine]:
            store = SQLiteStore(self.data_dir / "tidings.sqlite3")
            await store.open()
            engine = Engine(store, default_registry(), EventFactory("hypothesis", "0"))
            await engine.start()
            return store, engine

        self.store, self.engine = self.loop.run_until_complete(boot())

    def _run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def create(self, definition: str) -> grpc.StatusCode | None:
        try:
            self._run(self.engine.create_workflow(definition))
        except TidingsError as exc:
            return _code(exc)
        return None

    def start(self, name: str, given: dict[str, Any]) -> str | grpc.StatusCode:
        try:
            row = self._run(self.engine.start_execution(name, given))
        except TidingsError as exc:
            return _code(exc)
        return str(row.id)

    def get(self, ex_id: str) -> execution_pb2.Execution:
        return convert.execution(self._run(self.engine.get_execution(ex_id)))

    def tasks(self, ex_id: str) -> list[execution_pb2.Task]:
        rows, token = self._run(self.engine.list_tasks(ex_id, "", 1000))
        assert not token
        return [convert.task(r) for r in rows]

    def command(self, kind: str, task_id: str, result: Any) -> grpc.StatusCode | None:
        try:
            if kind == "retry":
                self._run(self.engine.retry_task(task_id))
            else:
                self._run(self.engine.skip_task(task_id, result))
        except TidingsError as exc:
            return _code(exc)
        return None

    def settle(self, seconds: float = 0.002) -> None:
        """Let the engine run a moment (its steps and commits need the loop)."""
        self._run(asyncio.sleep(seconds))

    def restart(self) -> None:
        async def stop() -> None:
            await self.engine.stop()
            await self.store.close()

        self._run(stop())
        self._boot()

    def close(self) -> None:
        try:
            self._run(self.engine.stop())
            self._run(self.store.close())
        finally:
            self.loop.close()


# ============================================================================ invariants


def wait_settled(
    h: Harness, ex_id: str, terminal_events: int
) -> tuple[execution_pb2.Execution, list[tuple[int, int, event_pb2.Event]]]:
    """Wait until the execution ended and its last event (the n-th terminal one) is in."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    terminal = {ET.EVENT_TYPE_EXECUTION_SUCCEEDED, ET.EVENT_TYPE_EXECUTION_FAILED}
    while True:
        ex = h.get(ex_id)
        if ex.state in ENDED_STATES:
            rows = h.log.rows(ex_id)
            ended = [e for _, _, e in rows if e.type in terminal]
            if len(ended) >= terminal_events and rows[-1][2].type in terminal:
                return h.get(ex_id), rows
        if time.monotonic() > deadline:
            raise AssertionError(
                f"execution {ex_id} did not settle in {SETTLE_TIMEOUT}s: {xname(ex.state)}, "
                f"events {types_of(e for _, _, e in h.log.rows(ex_id))}"
            )
        if isinstance(h, InProcessHarness):
            h.settle()
        else:
            time.sleep(0.01)


def on_the_wire(value: Any) -> Any:
    """A value as it arrives through the API's typed values."""
    return plain(typed(value))


def _json(value: Any, *, members: bool = False) -> Any:
    """A typed field of the API, as plain(); what it holds must be storable (each
    member's, for a mapping of values such as an input, a context or an output)."""
    for held in value.values() if members and isinstance(value, dict) else [value]:
        problem = unstorable(held)
        assert problem is None, f"the API shows a value the store cannot hold: {problem}"
    return value


def check_execution(
    h: Harness,
    ex_id: str,
    definition: Mapping[str, Any],
    terminal_events: int = 1,
) -> tuple[execution_pb2.Execution, list[execution_pb2.Task], list[event_pb2.Event]]:
    """The invariant of one ended execution; its API view and events."""
    ex, rows = wait_settled(h, ex_id, terminal_events)
    assert ex.state in (ES.EXECUTION_STATE_SUCCESS, ES.EXECUTION_STATE_ERROR), xname(ex.state)
    events = check_event_stream(rows, ex, definition=definition, terminal_events=terminal_events)
    tasks = h.tasks(ex_id)
    # A fallback's message is "internal error: <step>..." (engine/atomic.py); seed 000's
    # 599 fault text ("workflow engine internal error!") may be quoted by any failure.
    assert "internal error:" not in ex.error_message, ex.error_message
    _json(plain(ex.input), members=True)
    output = _json(plain(ex.output), members=True)

    last = events[-1]
    assert last.execution.state == xname(ex.state)
    # The summary holds the tasks of the run that ended (a re-run is a run of its own).
    assert last.execution.run == ex.run
    assert sorted((t.task_id, t.state) for t in last.execution.tasks) == sorted(
        (t.id, tname(t.state)) for t in tasks if t.run == ex.run
    ), "the terminal event's summary differs from ListTasks"
    if ex.state == ES.EXECUTION_STATE_SUCCESS:
        assert on_the_wire(payload(last.output)) == output
    else:
        assert last.error_message == ex.error_message and ex.error_message

    known = {t.id for t in tasks}
    assert {e.task_id for e in events if e.task_id} <= known, "an event of an unknown task"
    for t in tasks:
        assert "internal error:" not in t.error_message, t.error_message
        result = _json(plain(t.result))
        _json(plain(t.input), members=True)
        mine = [e for e in events if e.task_id == t.id and e.type in TASK_LIFECYCLE]
        kinds = types_of(mine)
        starts = kinds.count("TASK_STARTED")
        retried = kinds.count("TASK_RETRIED")
        assert starts == (retried + 1 if starts else 0), f"{t.name}: {kinds}"
        ends = [e for e in mine if e.type in TASK_END]
        if t.state in (TS.TASK_STATE_SUCCESS, TS.TASK_STATE_SKIPPED):
            assert ends and TASK_END[ends[-1].type] == t.state, (
                f"{t.name} {tname(t.state)}: {kinds}"
            )
            assert mine[-1] is ends[-1], f"{t.name}: events after its end: {kinds}"
            assert on_the_wire(payload(ends[-1].output)) == result
        elif t.state == TS.TASK_STATE_ERROR:
            if not mine:  # a join that could never be satisfied never started
                assert "never satisfied" in t.error_message, t.error_message
                continue
            assert mine[-1].type == ET.EVENT_TYPE_TASK_FAILED, f"{t.name}: {kinds}"
            assert on_the_wire(payload(mine[-1].output)) == result
            assert mine[-1].error_message == t.error_message
        else:
            assert t.state == TS.TASK_STATE_CANCELLED, f"{t.name} is {tname(t.state)} at the end"
            assert not mine or mine[-1].type not in TASK_END, f"{t.name}: {kinds}"
    return ex, tasks, events


@dataclass
class Seen:
    """What the API showed of the executions checked since the last restart."""

    views: dict[str, tuple[bytes, list[bytes], list[str]]] = field(default_factory=dict)
    #: How the examples went (printed at the end: pytest -s).
    stats: Counter[str] = field(default_factory=Counter)

    def note(self, what: str) -> None:
        self.stats[what] += 1

    def record(self, h: Harness, ex_id: str) -> None:
        self.views[ex_id] = self.view(h, ex_id)

    @staticmethod
    def view(h: Harness, ex_id: str) -> tuple[bytes, list[bytes], list[str]]:
        ex = h.get(ex_id).SerializeToString(deterministic=True)
        tasks = [t.SerializeToString(deterministic=True) for t in h.tasks(ex_id)]
        return ex, tasks, [e.id for e in h.log.events(ex_id)]

    def restart_and_compare(self, h: Harness) -> None:
        h.restart()
        for ex_id, before in self.views.items():
            after = self.view(h, ex_id)
            assert after == before, f"execution {ex_id} differs after a restart"
        self.views.clear()


def run_case(h: Harness, case: Case, seen: Seen) -> None:
    """Create, start, settle, maybe retry or skip, settle again: the invariant throughout."""
    name = unique("prop")
    definition = workflow_yaml(name, case.tasks, input=case.wf_input, output=case.output)
    refused = h.create(definition)
    if refused is not None:
        assert refused == grpc.StatusCode.INVALID_ARGUMENT, refused
        seen.note("CreateWorkflow refused")
        return
    assert not any(has_unholdable_number(v) for v in case.literals), (
        "CreateWorkflow accepted a literal the store cannot hold"
    )
    # What the server receives: integers beyond 2**53 travel as strings (docs/api.md).
    given = on_the_wire(case.input)
    started = h.start(name, given)
    holdable = all(unstorable(v) is None for v in given.values())
    if not holdable:
        assert started == grpc.StatusCode.INVALID_ARGUMENT, started
        seen.note("StartExecution refused")
        return
    assert isinstance(started, str), f"StartExecution refused a holdable input: {started}"
    ex, tasks, events = check_execution(h, started, case.tasks)
    seen.note(f"execution {xname(ex.state)}")
    if any("64-bit" in t.error_message or "finite" in t.error_message for t in tasks):
        seen.note("a task refused a value")
    if case.command is not None and ex.state == ES.EXECUTION_STATE_ERROR:
        failed = [t for t in tasks if t.state == TS.TASK_STATE_ERROR
                  and any(e.task_id == t.id for e in events)]  # fmt: skip
        if failed:
            kind, result = case.command
            # As the server receives it: an integer beyond 2**53 is a string then.
            sent = on_the_wire(result) if kind == "skip" else None
            code = h.command(kind, failed[-1].id, sent)
            seen.note(f"{kind}: {'done' if code is None else code.name}")
            if code is None:
                check_execution(h, started, case.tasks, terminal_events=2)
            else:
                assert code == grpc.StatusCode.INVALID_ARGUMENT, code
                assert kind == "skip"
                # Refused whole: nothing changed.
                assert [e.id for e in h.log.events(started)] == [e.id for e in events]
                assert h.get(started).state == ES.EXECUTION_STATE_ERROR
            if kind == "skip" and unstorable(sent) is not None:
                assert code == grpc.StatusCode.INVALID_ARGUMENT
    seen.record(h, started)


SETTINGS = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture],
)  # fmt: skip


# ================================================================================= tests


@pytest.fixture
def server_harness(tmp_path: Path) -> Iterator[ServerHarness]:
    h = ServerHarness(tmp_path / "data")
    try:
        yield h
    finally:
        h.close()


def test_no_execution_wedges_over_a_real_server(server_harness: ServerHarness) -> None:
    seen = Seen()

    @settings(max_examples=SERVER_EXAMPLES, **SETTINGS)  # type: ignore[arg-type]
    @given(cases())
    def prop(case: Case) -> None:
        run_case(server_harness, case, seen)

    prop()
    print(f"\n{dict(seen.stats.most_common())}")
    assert seen.views, "no example ran an execution: nothing was tested"
    seen.restart_and_compare(server_harness)
    log = server_harness.process.log()
    assert "its changes are undone" not in log and "unexpected error in" not in log, log[-3000:]


def test_no_execution_wedges_in_process(tmp_path: Path) -> None:
    h = InProcessHarness(tmp_path / "data")
    seen = Seen()
    count = [0]
    try:

        @settings(max_examples=IN_PROCESS_EXAMPLES, **SETTINGS)  # type: ignore[arg-type]
        @given(cases())
        def prop(case: Case) -> None:
            run_case(h, case, seen)
            count[0] += 1
            if count[0] % RESTART_EVERY == 0:
                seen.restart_and_compare(h)

        prop()
        seen.restart_and_compare(h)
        print(f"\n{count[0]} examples: {dict(seen.stats.most_common())}")
    finally:
        h.close()
