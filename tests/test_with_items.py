"""with-items: the language (parse, refusals, round trip) and the machine's steps.

The machine is driven directly, as the runner drives it (no store, no event loop), so
that which items are called when, and what the task ends with, can be looked at step by
step. ``tests/test_with_items_recovery.py`` runs it in a real server, killed midway;
``tests/mistral/cases/with_items_*`` hold it against real Mistral.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidings.engine import dsl, items
from tidings.engine.actions import ActionOutcome, action_specs, default_registry
from tidings.engine.dsl import DefinitionError, parse_workflow
from tidings.engine.dsl.serialise import workflow_to_jsonable
from tidings.engine.events import EventFactory
from tidings.engine.execution import Run, Step, expression_context, new_run
from tidings.engine.expressions import Expression, compile_string, evaluate
from tidings.engine.machine import Machine
from tidings.store import TaskRow, WorkflowRow
from tidings.v1 import event_pb2
from tidings.vocab import ERROR, RUNNING, SUCCESS

ET = event_pb2.EventType
ACTIONS = default_registry()
SPECS = action_specs(ACTIONS)


def workflow(task: dict[str, Any], **more_tasks: Any) -> str:
    """A workflow ``wf`` whose task ``a`` is ``task`` (inputs ``xs``, ``ys``, ``n``)."""
    body = {"input": [{"xs": [1, 2, 3]}, {"ys": []}, {"n": 0}], "tasks": {"a": task, **more_tasks}}
    return yaml.safe_dump({"version": "2.0", "wf": body}, sort_keys=False)


def violations(task: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(DefinitionError) as info:
        parse_workflow(workflow(task), SPECS)
    return [(v.field, v.description) for v in info.value.violations]


# ------------------------------------------------------------------ the language


def test_one_clause_several_clauses_and_a_literal_list() -> None:
    wf = parse_workflow(
        workflow(
            {
                "with-items": ["x in <% $.xs %>", "y in {{ _.ys }}", 'z in [1, "<% $.n %>"]'],
                "concurrency": "<% $.n %>",
                "action": "std.echo",
                "input": {"output": "<% $.x %>"},
            }
        ),
        SPECS,
    )
    task = wf.tasks["a"]
    names = [name for name, _ in task.with_items]
    assert names == ["x", "y", "z"]
    assert isinstance(task.concurrency, Expression)
    literal = dict(task.with_items)["z"]
    assert isinstance(literal, list) and literal[0] == 1
    assert isinstance(literal[1], Expression)  # a literal list may hold expressions
    one = parse_workflow(workflow({"with-items": "x in <% $.xs %>", "concurrency": 2}), SPECS)
    assert [n for n, _ in one.tasks["a"].with_items] == ["x"]
    assert one.tasks["a"].concurrency == 2


def test_with_items_round_trips() -> None:
    wf = parse_workflow(
        workflow(
            {
                "with-items": ["x in <% $.xs %>", 'y in ["a", "<% $.n %>"]'],
                "concurrency": 3,
                "action": "std.echo",
                "input": {"output": "<% $.x %>"},
            }
        ),
        SPECS,
    )
    assert parse_workflow(json.dumps(workflow_to_jsonable(wf)), SPECS) == wf


@pytest.mark.parametrize(
    ("task", "field", "fragment"),
    [
        ({"with-items": "x of <% $.xs %>"}, "tasks.a.with-items", "must be 'name in <list>'"),
        ({"with-items": [3]}, "tasks.a.with-items[0]", "must be a string"),
        ({"with-items": {"x": 1}}, "tasks.a.with-items", "or a list of them"),
        ({"with-items": []}, "tasks.a.with-items", "or a list of them"),
        ({"with-items": "x in $.xs"}, "tasks.a.with-items", "a JSON list or one expression"),
        ({"with-items": "x in [1, 2"}, "tasks.a.with-items", "is not a JSON list"),
        (
            {"with-items": ["x in [1]", "x in [2]"]},
            "tasks.a.with-items[1]",
            "names the variable 'x' twice",
        ),
        ({"with-items": "x in [1]", "concurrency": -1}, "tasks.a.concurrency", "not be negative"),
        ({"with-items": "x in [1]", "concurrency": 1.5}, "tasks.a.concurrency", "whole number"),
        (
            {
                "with-items": "x in [1]",
                "action": "std.http",
                "async": True,
                "input": {"url": "http://atoms.example/x"},
            },
            "tasks.a.async",
            "a with-items task cannot be asynchronous",
        ),
    ],
)
def test_bad_with_items_is_refused_naming_the_field(
    task: dict[str, Any], field: str, fragment: str
) -> None:
    found = violations({"action": "std.noop", **task})
    assert len(found) == 1, found
    assert found[0][0] == field and fragment in found[0][1], found


def test_concurrency_without_with_items_is_accepted() -> None:
    # Mistral accepts it on any task; it bounds only a with-items task's calls.
    assert parse_workflow(workflow({"action": "std.noop", "concurrency": 2}), SPECS)


# ------------------------------------------------------------------ the machine


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def start(definition: str, values: dict[str, Any] | None = None) -> tuple[Machine, Run, Step]:
    """A machine with a fake clock, and the first step of a new execution."""
    text = textwrap.dedent(definition)
    wf = dsl.parse_workflow(text, SPECS)
    clock = Clock()
    row = WorkflowRow(
        id="wf-1", name=wf.name, definition=text, description="", input_names=[],
        callback_url="", modify_callback_url="", create_time=clock.now, update_time=clock.now,
    )  # fmt: skip
    run = new_run("ex-1", row, wf, dict(values or {}), "", (), 0.0, clock.now)
    machine = Machine(ACTIONS, EventFactory("test", "0"), clock)
    step = Step()
    machine.start(run, step)
    return machine, run, step


def task(run: Run, name: str) -> TaskRow:
    (found,) = [t for t in run.tasks.values() if t.name == name]
    return found


def task_events(step: Step) -> list[int]:
    """The types of the step's task events, in order."""
    return [e.type for e in decoded(step) if e.task_id]


def decoded(step: Step) -> list[event_pb2.Event]:
    return [event_pb2.Event.FromString(e.body) for e in step.change.events]


def answer(machine: Machine, run: Run, t: TaskRow, index: int, outcome: ActionOutcome) -> Step:
    step = Step()
    machine.item_outcome(run, t, index, outcome, step)
    return step


DOUBLE = """
    version: '2.0'
    wf:
      input: [xs, {limit: 0}]
      output: {doubled: <% $.doubled %>}
      tasks:
        a:
          with-items: x in <% $.xs %>
          concurrency: <% $.limit %>
          action: std.echo
          input: {output: <% $.x * 2 %>}
          publish: {doubled: <% task().result %>}
          on-success: [b]
        b: {action: std.noop}
    """


def test_concurrency_bounds_the_calls_and_the_result_keeps_item_order() -> None:
    machine, run, step = start(DOUBLE, {"xs": [1, 2, 3, 4, 5], "limit": 2})
    a = task(run, "a")
    assert a.input == [{"output": n * 2} for n in (1, 2, 3, 4, 5)]
    assert items.running(a) == [0, 1]
    assert step.item_launches == [(a, 1, 0), (a, 1, 1)] and not step.launches
    # One task_start, its input (an object, as seed 000 has it) the requests of every
    # call, in item order.
    (started,) = [e for e in decoded(step) if e.type == ET.EVENT_TYPE_TASK_STARTED]
    assert task_events(step) == [ET.EVENT_TYPE_TASK_STARTED]

    # Answers out of order: each frees one place, taken by the next item not called yet.
    s = answer(machine, run, a, 1, ActionOutcome.success(4))
    assert items.running(a) == [0, 2] and s.item_launches == [(a, 1, 2)] and not task_events(s)
    s = answer(machine, run, a, 2, ActionOutcome.success(6))
    assert items.running(a) == [0, 3]
    s = answer(machine, run, a, 0, ActionOutcome.success(2))
    assert items.running(a) == [3, 4]
    answer(machine, run, a, 4, ActionOutcome.success(10))
    assert a.state == RUNNING and items.running(a) == [3]
    last = answer(machine, run, a, 3, ActionOutcome.success(8))
    assert a.state == SUCCESS
    assert a.result == [2, 4, 6, 8, 10]
    assert a.published == {"doubled": [2, 4, 6, 8, 10]}  # published once, at the end
    assert task_events(last)[0] == ET.EVENT_TYPE_TASK_SUCCEEDED
    assert [t.name for t in last.launches] == ["b"]
    assert json.loads(started.input) == {"items": [{"output": n * 2} for n in (1, 2, 3, 4, 5)]}


def test_without_concurrency_every_item_is_called_at_once() -> None:
    _, run, _ = start(DOUBLE, {"xs": [1, 2, 3], "limit": 0})
    assert items.running(task(run, "a")) == [0, 1, 2]


def test_a_failed_item_lets_the_others_run_then_fails_the_task() -> None:
    machine, run, _ = start(DOUBLE, {"xs": [1, 2, 3], "limit": 1})
    a = task(run, "a")
    answer(machine, run, a, 0, ActionOutcome.success(2))
    answer(machine, run, a, 1, ActionOutcome.failure("boom", {"why": "boom"}))
    assert items.running(a) == [2]  # the failure stops nothing
    last = answer(machine, run, a, 2, ActionOutcome.success(6))
    assert a.state == ERROR
    assert a.result == [2, {"why": "boom"}, 6]
    assert "1 of 3 items failed; item 1: boom" in a.error_message
    assert task_events(last)[0] == ET.EVENT_TYPE_TASK_FAILED
    assert run.row.state == ERROR


def test_an_empty_list_succeeds_at_once_with_an_empty_result() -> None:
    _, run, step = start(DOUBLE, {"xs": [], "limit": 0})
    a = task(run, "a")
    assert a.state == SUCCESS and a.result == [] and a.published == {"doubled": []}
    assert task_events(step)[:2] == [ET.EVENT_TYPE_TASK_STARTED, ET.EVENT_TYPE_TASK_SUCCEEDED]
    assert a not in step.launches


def test_zipped_lists_of_different_lengths_fail_the_task() -> None:
    _, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            a:
              with-items:
                - x in [1, 2]
                - y in [1]
              action: std.echo
              input: {output: <% $.x %>}
        """
    )
    a = task(run, "a")
    assert a.state == ERROR
    assert "the lists must have the same length (x: 2, y: 1)" in a.error_message


def test_a_string_is_its_characters_and_an_item_hides_a_workflow_variable() -> None:
    # As Mistral: list() of the value, and the item's variables over the workflow's.
    _, run, _ = start(
        """
        version: '2.0'
        wf:
          input: [{x: outer}]
          tasks:
            a:
              with-items:
                - c in <% 'ab' %>
                - x in [1, 2]
              action: std.echo
              input: {output: "<% [$.c, $.x] %>"}
        """,
        {"x": "outer"},
    )
    assert task(run, "a").input == [{"output": ["a", 1]}, {"output": ["b", 2]}]


def test_retry_runs_every_item_again() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            a:
              with-items: x in [1, 2]
              action: std.echo
              input: {output: <% $.x %>}
              retry: {count: 1}
        """
    )
    a = task(run, "a")
    answer(machine, run, a, 0, ActionOutcome.failure("no"))
    retried = answer(machine, run, a, 1, ActionOutcome.success(2))
    assert ET.EVENT_TYPE_TASK_RETRIED in task_events(retried)
    assert a.attempt == 2 and items.running(a) == [0, 1]
    assert retried.item_launches == [(a, 2, 0), (a, 2, 1)]
    answer(machine, run, a, 0, ActionOutcome.success(1))
    answer(machine, run, a, 1, ActionOutcome.success(2))
    assert a.state == SUCCESS and a.result == [1, 2]


def test_task_result_of_std_http_items_is_each_http_result() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            a:
              with-items: p in ["/a", "/b"]
              action: std.http url=<% 'http://atoms.example' + $.p %>
        """
    )
    a = task(run, "a")
    for i, status in enumerate((200, 404)):
        answer(machine, run, a, i, ActionOutcome.success({"result": {"status": status}}))
    # Stored (and sent) as seed 000's objects; expressions see what Mistral users write against.
    assert a.result == [{"result": {"status": 200}}, {"result": {"status": 404}}]
    ctx = expression_context(run, a)
    view = evaluate(compile_string("<% task(a).result %>"), ctx)
    assert view == [{"status": 200}, {"status": 404}]


def test_cancelling_the_execution_stops_every_item_call() -> None:
    machine, run, _ = start(DOUBLE, {"xs": [1, 2, 3], "limit": 0})
    a = task(run, "a")
    step = Step()
    machine.end(run, "CANCELLED", "stop", step)
    assert a in step.stopped and a.state == "CANCELLED"
    assert items.running(a) == []  # no call is re-made for it after a restart


def test_the_documented_example_runs() -> None:
    doc = Path(__file__).resolve().parent.parent / "docs" / "workflow-language.md"
    parts = doc.read_text("utf-8").split("```yaml\n")[1:]
    (example,) = [p.split("```", 1)[0] for p in parts if "create_vms:" in p]
    machine, run, _ = start(example, {"names": ["a", "b", "c"], "flavours": ["s", "m", "l"],
                                      "limit": 2})  # fmt: skip
    create = task(run, "create")
    assert isinstance(create.input, list)
    assert [p["body"] for p in create.input] == [
        {"name": "a", "flavour": "s"}, {"name": "b", "flavour": "m"}, {"name": "c", "flavour": "l"},
    ]  # fmt: skip
    assert all(p["method"] == "POST" for p in create.input)
    assert items.running(create) == [0, 1]
    for i in (1, 0, 2):
        answer(machine, run, create, i, ActionOutcome.success({"result": {"content": {"id": i}}}))
    assert create.state == SUCCESS
    assert run.row.state == SUCCESS and run.row.output == {"ids": [0, 1, 2]}
