"""Definition limits and parsing off the event loop, over real gRPC (issue 10, item 2).

A definition over a limit is refused with INVALID_ARGUMENT and a BadRequest naming the
limit and its setting; one within the limits, however large, is parsed while the server
keeps answering: health (and other RPCs) within 1 s while a 2 MB definition is checked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from engine_client import ES, PB, WPB, EngineClient, rpc_failure, unique
from tidings_process import TidingsProcess

INVALID = grpc.StatusCode.INVALID_ARGUMENT
T = 15.0  # the RPC deadline of the small requests
SLOW = 300.0  # the deadline of a request that parses a definition of tens of thousands of tasks

#: Limits raised far enough for a 2 MB definition of 40,000 tasks (gRPC's own limit on a
#: message is 4 MiB).
ROOMY = {
    "TIDINGS_MAX_DEFINITION_BYTES": "4000000",
    "TIDINGS_MAX_DEFINITION_TASKS": "50000",
    "TIDINGS_MAX_DEFINITION_VALUES": "1000000",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TidingsProcess]:
    """A server with the default limits."""
    with TidingsProcess(tmp_path_factory.mktemp("limits") / "data") as process:
        yield process


def many_tasks(name: str, tasks: int) -> str:
    """A definition of ``tasks`` tasks of which only the first runs (about 52 bytes a task).

    ``t0`` succeeds, so its ``on-error`` branch (the chain ``t1`` → ``t2`` → …) never runs.
    """
    lines = ["version: '2.0'", f"{name}:", "  tasks:", "    t0: {action: std.noop, on-error: [t1]}"]
    for i in range(1, tasks):
        after = f", on-success: [t{i + 1}]" if i + 1 < tasks else ""
        lines.append(f"    t{i}: {{action: std.noop{after}}}")
    return "\n".join(lines) + "\n"


def echo(name: str, output: Any) -> str:
    """A one-task definition echoing ``output``."""
    task = {"action": "std.echo", "input": {"output": output}}
    return yaml.safe_dump({"version": "2.0", name: {"tasks": {"a": task}}})


def create(client: EngineClient, definition: str) -> Any:
    return client.workflows.CreateWorkflow(
        WPB.CreateWorkflowRequest(definition=definition), timeout=T
    )


# ----------------------------------------------------------------------- refused


def test_a_definition_over_the_size_limit_is_refused_before_it_is_read(
    client: EngineClient,
) -> None:
    # Not even YAML: the only violation is the size, so nothing was parsed.
    garbage = "version: '2.0'\nwf: [" + "x" * 1_100_000
    failure = rpc_failure(lambda: create(client, garbage))
    assert failure.code == INVALID
    size = len(garbage.encode())
    assert failure.violations == [
        ("definition", f"is {size:,} bytes; the limit is 1,048,576 (max_definition_bytes)")
    ]
    # A valid definition just as large is refused the same way, by create and update.
    name = unique("large")
    large = many_tasks(name, 2) + f"    # {'x' * 1_048_576}\n"
    size = len(large.encode())
    expected = [("definition", f"is {size:,} bytes; the limit is 1,048,576 (max_definition_bytes)")]
    assert rpc_failure(lambda: create(client, large)).violations == expected
    create(client, many_tasks(name, 2))
    update = WPB.UpdateWorkflowRequest(workflow=name, definition=large)
    failure = rpc_failure(lambda: client.workflows.UpdateWorkflow(update, timeout=T))
    assert (failure.code, failure.violations) == (INVALID, expected)


def billion_laughs(name: str) -> str:
    """Ten levels of ten YAML aliases: 10**10 values if walked naively, 1 KB of text."""
    lines = ["version: '2.0'", f"{name}:", "  output:", "    x0: &x0 [lol, lol, lol, lol, lol]"]
    for i in range(1, 11):
        lines.append(f"    x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 10)}]")
    lines.append("  tasks: {a: {action: std.noop}}")
    return "\n".join(lines) + "\n"


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


# (definition of the named workflow, the field, the description)
LIMITS: list[tuple[str, Callable[[str], str], str, str]] = [
    (
        "tasks",
        lambda name: many_tasks(name, 1_001),
        "definition.tasks",
        "has 1,001 tasks; the limit is 1,000 (max_definition_tasks)",
    ),
    (
        "list_items",
        lambda name: echo(name, list(range(10_001))),
        "definition.tasks.a.input.output",
        "has 10,001 items; the limit is 10,000 (max_definition_list_items)",
    ),
    (
        "depth",
        # The document, the workflow, tasks, a and input are 5 levels; output 96 more.
        lambda name: echo(name, nested(96)),
        "definition.tasks.a.input.output" + "[0]" * 95,
        "nested 101 levels deep; the limit is 100 (max_definition_depth)",
    ),
    (
        "values",
        billion_laughs,
        "definition",
        "the definition holds more than 200,000 values; the limit is 200,000"
        " (max_definition_values)",
    ),
]


@pytest.mark.parametrize(
    ("build", "field", "description"), [c[1:] for c in LIMITS], ids=[c[0] for c in LIMITS]
)
def test_each_limit_is_refused_naming_it_and_its_setting(
    client: EngineClient, build: Callable[[str], str], field: str, description: str
) -> None:
    name = unique("limit")
    failure = rpc_failure(lambda: create(client, build(name)))
    assert failure.code == INVALID
    assert failure.violations == [(field, description)]
    assert rpc_failure(lambda: client.get_workflow(name)).code == grpc.StatusCode.NOT_FOUND


def test_a_definition_at_every_limit_is_accepted(client: EngineClient) -> None:
    assert create(client, many_tasks(unique("tasks"), 1_000)).workflow.name
    assert create(client, echo(unique("list"), list(range(10_000)))).workflow.name
    # A literal value nests at most 32 levels (the input mapping is the first of them),
    # as any value tidings holds (docs/api.md); the document's 100 levels bound the rest.
    assert create(client, echo(unique("deep"), nested(31))).workflow.name
    deeper = rpc_failure(lambda: create(client, echo(unique("deeper"), nested(32))))
    assert deeper.code == INVALID
    assert deeper.violations == [
        ("definition.tasks.a.input.output" + "[0]" * 31, "the value nests deeper than 32 levels")
    ]


# --------------------------------------------------------------- off the event loop


class Probe:
    """Health and GetWorkflow, each with a 1 s deadline, called until ``done`` is set."""

    def __init__(self, address: str, workflow: str) -> None:
        self.channel = grpc.insecure_channel(address)
        self.health = health_pb2_grpc.HealthStub(self.channel)
        self.client = EngineClient(address)
        self.workflow = workflow
        #: Latencies (s) of the answers that came while the request was still in flight.
        self.in_flight: list[float] = []

    def run(self, done: threading.Event) -> None:
        """Raises grpc.RpcError (DEADLINE_EXCEEDED) if one is not answered within 1 s."""
        while not done.is_set():
            for call in (self._health, self._get):
                t0 = time.monotonic()
                call()
                latency = time.monotonic() - t0
                if not done.is_set():  # the request had not been answered yet
                    self.in_flight.append(latency)
            done.wait(0.05)  # pacing, not a proof: the loop ends when the request does

    def _health(self) -> None:
        reply = self.health.Check(health_pb2.HealthCheckRequest(), timeout=1)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING

    def _get(self) -> None:
        assert self.client.workflows.GetWorkflow(
            WPB.GetWorkflowRequest(workflow=self.workflow), timeout=1
        ).workflow.name

    def close(self) -> None:
        self.channel.close()
        self.client.close()


def while_in_flight(address: str, other: str, request: Callable[[], Any]) -> tuple[Any, Probe]:
    """Run ``request`` on a thread while probing; its reply, and the probe."""
    done = threading.Event()
    outcome: dict[str, Any] = {}

    def send() -> None:
        try:
            outcome["reply"] = request()
        except BaseException as exc:  # reported below
            outcome["error"] = exc
        finally:
            done.set()

    probe = Probe(address, other)
    sender = threading.Thread(target=send)
    sender.start()
    try:
        probe.run(done)
    finally:
        done.wait(SLOW)
        sender.join()
        probe.close()
    if "error" in outcome:
        raise outcome["error"]
    # Answered many times while the request was in flight (it takes seconds to parse).
    assert len(probe.in_flight) >= 10, probe.in_flight
    print(f"max latency in flight: {max(probe.in_flight):.3f} s of {len(probe.in_flight)}")
    return outcome["reply"], probe


@pytest.mark.timeout(600)
def test_health_answers_while_a_2_mb_definition_is_parsed(tmp_path: Path) -> None:
    with (
        TidingsProcess(tmp_path / "data", env=ROOMY) as process,
        EngineClient(process.address) as client,
    ):
        other = unique("other")
        client.create_workflow(many_tasks(other, 2))
        name = unique("huge")
        definition = many_tasks(name, 40_000)
        assert len(definition.encode()) > 2_000_000

        def request() -> Any:
            return client.workflows.CreateWorkflow(
                WPB.CreateWorkflowRequest(definition=definition), timeout=SLOW
            )

        reply, _ = while_in_flight(process.address, other, request)
        assert reply.workflow.name == name
        assert client.get_workflow(name).definition == definition


@pytest.mark.timeout(600)
def test_a_definition_parsed_again_after_a_restart_is_parsed_off_the_loop(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    name, other = unique("big"), unique("other")
    with (
        TidingsProcess(data, env=ROOMY) as process,
        EngineClient(process.address) as client,
    ):
        client.create_workflow(many_tasks(other, 2))
        created = client.workflows.CreateWorkflow(
            WPB.CreateWorkflowRequest(definition=many_tasks(name, 10_000)), timeout=SLOW
        )
        assert created.workflow.name == name
        process.stop()
    # A new process holds no parsed definitions: StartExecution parses the stored one.
    with (
        TidingsProcess(data, env=ROOMY) as process,
        EngineClient(process.address) as client,
    ):

        def request() -> Any:
            return client.executions.StartExecution(
                PB.StartExecutionRequest(workflow=name), timeout=SLOW
            )

        reply, _ = while_in_flight(process.address, other, request)
        ended = client.wait_until_ended(reply.execution.id)
        assert ended.state == ES.EXECUTION_STATE_SUCCESS
        assert [t.name for t in client.tasks(ended.id)] == ["t0"]


def test_a_definition_with_hundreds_of_problems_is_refused_with_the_first(
    client: EngineClient,
) -> None:
    # 300 tasks naming an unknown action: too many violations for the trailers of one
    # status (a client refuses more than 8 KiB there, and would see RESOURCE_EXHAUSTED).
    name = unique("problems")
    tasks = {f"t{i:03}": {"action": "std.nope"} for i in range(300)}
    definition = yaml.safe_dump({"version": "2.0", name: {"tasks": tasks}})
    failure = rpc_failure(lambda: create(client, definition))
    assert failure.code == INVALID
    shown = len(failure.violations)
    assert 0 < shown < 300
    assert failure.fields == [f"definition.tasks.t{i:03}.action" for i in range(shown)]
    assert failure.message.startswith(f"({300 - shown} more violations not listed) ")
