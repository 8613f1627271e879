"""Mistral's v2 language, direct workflows: inline parameters, tasks without an action,
engine commands, every form of transition clause, publish scopes, ``global()`` and what
``task().result`` is. The parser and the machine alone (no store, no event loop); the
same constructs run end to end in ``test_engine_mistral.py``.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidings.engine import dsl
from tidings.engine.actions import ActionOutcome, action_specs, default_registry
from tidings.engine.dsl.inline import split_inline
from tidings.engine.dsl.serialise import workflow_to_jsonable
from tidings.engine.events import EventFactory
from tidings.engine.execution import Run, Step, expression_context, new_run
from tidings.engine.expressions import Expression, compile_string, evaluate
from tidings.engine.machine import Machine
from tidings.store import TaskRow, WorkflowRow
from tidings.v1 import event_pb2
from tidings.vocab import CANCELLED, ERROR, PAUSED, RUNNING, SUCCESS

ET = event_pb2.EventType
ACTIONS = default_registry()
SPECS = action_specs(ACTIONS)


def parse(text: str) -> dsl.Workflow:
    return dsl.parse_workflow(textwrap.dedent(text), SPECS)


def refused(text: str) -> list[tuple[str, str]]:
    with pytest.raises(dsl.DefinitionError) as info:
        parse(text)
    return [(v.field, v.description) for v in info.value.violations]


def sources(values: Any) -> Any:
    """Compiled values back as text, to compare."""
    if isinstance(values, Expression):
        return values.source
    if isinstance(values, dict):
        return {k: sources(v) for k, v in values.items()}
    return values


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def start(definition: str, values: dict[str, Any] | None = None) -> tuple[Machine, Run, Step]:
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
    found = [t for t in run.tasks.values() if t.name == name]
    assert len(found) == 1, f"{name}: {len(found)} instances"
    return found[0]


def names(run: Run) -> list[str]:
    return [t.name for t in run.tasks.values()]


def finish(machine: Machine, run: Run, name: str, outcome: ActionOutcome) -> Step:
    step = Step()
    machine.outcome(run, task(run, name), outcome, step)
    return step


# ------------------------------------------------------------- inline parameters


@pytest.mark.parametrize(
    ("text", "name", "params"),
    [
        ("std.echo", "std.echo", {}),
        ("std.echo output=<% $.x %>", "std.echo", {"output": "<% $.x %>"}),
        ("std.echo output={{ _.x }}", "std.echo", {"output": "{{ _.x }}"}),
        (
            "std.http url='http://a/b?c=d e' method=\"POST\" timeout=30",
            "std.http",
            {"url": "http://a/b?c=d e", "method": "POST", "timeout": 30},
        ),
        (
            'child a=1 b=[1, "x"] c=true d=false e=null',
            "child",
            {"a": 1, "b": [1, "x"], "c": True, "d": False, "e": None},
        ),
        ("std.echo output=007", "std.echo", {"output": "007"}),  # as Mistral: not JSON
        ('std.echo output="it\'s <% $.x %>"', "std.echo", {"output": "it's <% $.x %>"}),
        ('fail(msg="no quota")', "fail", {"msg": "no quota"}),
        ("fail msg=<% $.why %>", "fail", {"msg": "<% $.why %>"}),
    ],
)
def test_inline_parameters_are_read_as_mistral_reads_them(
    text: str, name: str, params: dict[str, Any]
) -> None:
    call = split_inline(text)
    assert (call.name, call.params, call.problems) == (name, params, [])


@pytest.mark.parametrize(
    ("text", "params"),
    [
        ("std.http url='x' method=POST", {"url": "x"}),  # an unquoted word is no value
        ("std.echo output=1.5", {"output": 1}),  # digits, then text that is skipped
        ("std.echo junk", {}),
        ('std.echo output={"a": 1}', {}),  # a mapping is no value
        ("std.echo output=[1,", {}),
        ("std.echo a=[1] b=[2]", {"a": "[1] b=[2]"}),  # up to the last ']': not JSON
        ("std.echo url=http://h/?a=1", {"a": 1}),  # a pair wherever one starts
        ("std.echo a=b=1", {"b": 1}),
        ("std.echo msg='it''s'", {"msg": "it"}),
    ],
)
def test_inline_text_that_is_no_parameter_is_skipped_as_mistral_skips_it(
    text: str, params: dict[str, Any]
) -> None:
    call = split_inline(text)
    assert (call.params, call.problems) == (params, [])


@pytest.mark.parametrize("bad", ["a=<%", "a='", 'a="', "a=[", "a={{", "a", "=", "a=1"])
def test_inline_scanning_is_linear_whatever_the_text(bad: str) -> None:
    """Long unbalanced text (no closing quote, expression or ']') is read in linear time:
    a regular-expression search from every position would take hours here."""
    call = split_inline("std.echo " + bad * 200_000)
    assert call.name == "std.echo"


def test_inline_parameters_become_the_task_input_over_input() -> None:
    wf = parse(
        """
        version: '2.0'
        wf:
          tasks:
            call:
              action: std.http url="http://atoms/a" method='POST'
              input: {method: GET, headers: {X: '1'}}
            say:
              action: std.echo output=<% $.x %>
        """
    )
    assert sources(wf.tasks["call"].input) == {
        "method": "POST",  # as in Mistral, the inline value wins
        "headers": {"X": "1"},
        "url": "http://atoms/a",
    }
    assert wf.tasks["call"].action == "std.http"
    output = wf.tasks["say"].input["output"]
    assert isinstance(output, Expression) and output.source == "<% $.x %>"


@pytest.mark.parametrize(
    ("action", "field", "fragment"),
    [
        ("std.echo outpt=1", "tasks.a.input.outpt", "unknown input 'outpt' of action 'std.echo'"),
        ("std.echo output=<% $.x ) %>", "tasks.a.action.output", "bad expression"),
        ("std.http method='GET'", "tasks.a.input", "missing required input 'url'"),
        ("<% $.name %>", "tasks.a.action", "named by an expression"),
        ("std.nope x=1", "tasks.a.action", "unknown action 'std.nope'"),
    ],
)
def test_inline_parameters_are_checked_like_input(action: str, field: str, fragment: str) -> None:
    found = refused(f"version: '2.0'\nwf:\n  tasks:\n    a:\n      action: {action}\n")
    assert [f for f, _ in found] == [field], found
    assert fragment in found[0][1]


def test_a_sub_workflow_takes_inline_parameters_and_an_expression_name() -> None:
    wf = parse(
        """
        version: '2.0'
        wf:
          tasks:
            a:
              workflow: child a=1 b=<% $.y %>
            b:
              workflow: <% 'setup_' + $.kind %>
        """
    )
    a, b = wf.tasks["a"], wf.tasks["b"]
    assert (a.action, a.workflow, sources(a.input)) == (None, "child", {"a": 1, "b": "<% $.y %>"})
    assert isinstance(b.workflow, Expression) and b.workflow.source == "<% 'setup_' + $.kind %>"


def test_a_rollback_takes_inline_parameters() -> None:
    wf = parse(
        """
        version: '2.0'
        wf:
          tasks:
            a:
              action: std.noop
              rollback: std.echo output="undo <% $.x %>"
        """
    )
    rollback = wf.tasks["a"].rollback
    assert rollback is not None and rollback.action == "std.echo"
    assert sources(rollback.input) == {"output": "undo <% $.x %>"}


# ---------------------------------------------------------- tasks with no action


def test_a_task_without_an_action_is_std_noop() -> None:
    wf = parse(
        """
        version: '2.0'
        wf:
          tasks:
            a:
              on-success: [b]
            b:
        """
    )
    assert wf.tasks["a"].action == "std.noop"
    assert wf.tasks["b"].action == "std.noop"
    assert wf.tasks["a"].on_success == (dsl.Transition("b"),)


# ------------------------------------------------------------ clause forms


def test_every_mistral_form_of_a_transition_clause() -> None:
    wf = parse(
        """
        version: '2.0'
        wf:
          tasks:
            a:
              on-success: b
              on-error:
                c: <% $.x > 1 %>
              on-complete:
                publish:
                  branch: {x: 1}
                  global: {g: <% $.x %>}
                  atomic: {z: 3}
                next:
                  - b
                  - fail msg="stop": <% $.x = 0 %>
            b:
              on-success:
                next: c
            c:
              on-success:
                publish: {branch: {done: true}}
        """
    )
    a = wf.tasks["a"]
    assert [t.target for t in a.on_success] == ["b"]
    assert [(t.target, sources(t.condition)) for t in a.on_error] == [("c", "<% $.x > 1 %>")]
    assert [(t.target, t.command, sources(dict(t.params))) for t in a.on_complete] == [
        ("b", None, {}),
        ("fail", "fail", {"msg": "stop"}),
    ]
    scoped = a.clause_publish["on-complete"]
    assert sources(dict(scoped.branch)) == {"x": 1}
    assert sources(dict(scoped.global_)) == {"g": "<% $.x %>"}
    assert sources(dict(scoped.atomic)) == {"z": 3}
    assert [t.target for t in wf.tasks["b"].on_success] == ["c"]
    assert wf.tasks["c"].on_success == ()
    assert sources(dict(wf.tasks["c"].clause_publish["on-success"].branch)) == {"done": True}
    # Commands are not edges: b and c are reached from a, so a alone starts.
    assert wf.start_tasks == ("a",)
    again = dsl.parse_workflow(json.dumps(workflow_to_jsonable(wf)), SPECS)
    assert again == wf


@pytest.mark.parametrize(
    ("clause", "field", "fragment"),
    [
        ({"publish": {"brunch": {"x": 1}}}, "tasks.a.on-success.publish.brunch", "did you mean"),
        ({"publish": {}}, "tasks.a.on-success.publish", "needs branch, global or atomic"),
        ({"next": ["b"], "publish": 3}, "tasks.a.on-success.publish", "must be a mapping"),
        ({"next": ["nope"]}, "tasks.a.on-success.next[0]", "no task 'nope'"),
        ({"b": None, "x": 1}, "tasks.a.on-success", "got keys b, x"),
        ({"next": ["fail bad=1"]}, "tasks.a.on-success.next[0]", "takes only msg"),
    ],
)
def test_bad_clauses(clause: Any, field: str, fragment: str) -> None:
    text = yaml.safe_dump(
        {"version": "2.0", "wf": {"tasks": {"a": {"on-success": clause}, "b": {}}}}
    )
    got = refused(text)
    assert any(f == field and fragment in d for f, d in got), got


def test_publish_on_error_is_parsed() -> None:
    wf = parse(
        """
        version: '2.0'
        wf:
          tasks:
            a:
              action: std.fail
              publish-on-error: {why: <% task().state_info %>}
        """
    )
    assert sources(dict(wf.tasks["a"].publish_on_error)) == {"why": "<% task().state_info %>"}


# ------------------------------------------------------------ engine commands


def test_fail_in_on_error_fails_the_execution_with_its_msg() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            a:
              action: std.fail
              on-error:
                - 'fail msg="a broke - <% task().state_info %>"'
        """
    )
    step = finish(machine, run, "a", ActionOutcome.failure("boom"))
    assert step.ended
    assert run.row.state == ERROR
    assert run.row.error_message == "a broke - boom"
    assert task(run, "a").state == ERROR
    assert step.change.events[-1].type == ET.EVENT_TYPE_EXECUTION_FAILED


def test_fail_after_a_success_without_msg_leaves_no_state_info() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            a:
              on-success: [fail, b]
            b: {}
        """
    )
    step = finish(machine, run, "a", ActionOutcome.success(None))
    assert run.row.state == ERROR and step.ended
    assert run.row.error_message == ""  # Mistral's state_info is null
    assert names(run) == ["a"]  # what follows fail is not run


def test_targets_before_fail_start_and_are_cancelled_with_the_execution() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            a:
              on-success: [b, fail, c]
            b: {action: std.sleep, input: {seconds: 60}}
            c: {}
        """
    )
    step = finish(machine, run, "a", ActionOutcome.success(None))
    assert names(run) == ["a", "b"]
    assert task(run, "b").state == CANCELLED
    assert run.row.state == ERROR
    assert step.stopped == [task(run, "b")]


def test_a_conditional_command_fires_only_when_its_condition_holds() -> None:
    definition = """
        version: '2.0'
        wf:
          input: [n]
          tasks:
            a:
              on-success:
                - fail(msg="too big"): <% $.n > 10 %>
                - b
            b: {}
        """
    machine, run, _ = start(definition, {"n": 1})
    finish(machine, run, "a", ActionOutcome.success(None))
    assert names(run) == ["a", "b"] and run.row.state == RUNNING
    machine, run, _ = start(definition, {"n": 11})
    finish(machine, run, "a", ActionOutcome.success(None))
    assert (run.row.state, run.row.error_message) == (ERROR, "too big")


def test_succeed_ends_the_execution_with_its_output_and_stops_the_rest() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          output: {got: <% $.v %>}
          tasks:
            a:
              action: std.echo output=7
              publish: {v: <% task().result %>}
              on-success: [succeed msg="early"]
            slow: {action: std.sleep, input: {seconds: 60}}
        """
    )
    step = finish(machine, run, "a", ActionOutcome.success(7))
    assert step.ended
    assert run.row.state == SUCCESS
    assert run.row.output == {"got": 7}
    assert run.row.error_message == "early"  # the state info
    assert task(run, "slow").state == CANCELLED
    end = step.change.events[-1]
    assert end.type == ET.EVENT_TYPE_EXECUTION_SUCCEEDED


def test_succeed_in_on_error_succeeds() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            a: {action: std.fail, on-error: [succeed]}
        """
    )
    finish(machine, run, "a", ActionOutcome.failure("boom"))
    assert (run.row.state, task(run, "a").state) == (SUCCESS, ERROR)


def test_pause_pauses_and_what_follows_it_waits_for_the_resume() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            a:
              on-success: [b, pause msg="look first", c]
            b: {}
            c: {}
        """
    )
    step = finish(machine, run, "a", ActionOutcome.success(None))
    assert run.row.state == PAUSED
    assert run.row.error_message == "look first"
    assert [t.name for t in step.launches] == ["b"]  # before pause: started
    # After it: held, as Mistral holds it (no task yet), until the resume.
    assert "c" not in {t.name for t in run.tasks.values()}
    assert [entry["task"] for entry in run.row.backlog] == ["c"]
    assert step.change.events[-1].type == ET.EVENT_TYPE_EXECUTION_PAUSED
    assert not step.ended
    # b ends while paused; nothing new starts; the resume starts c.
    finish(machine, run, "b", ActionOutcome.success(None))
    assert run.row.state == PAUSED
    resumed = Step()
    machine.reopen(run, resumed)
    machine.resume_waiting(run, resumed)
    assert run.row.error_message == ""
    assert [t.name for t in resumed.launches] == ["c"]
    last = finish(machine, run, "c", ActionOutcome.success(None))
    assert last.ended and run.row.state == SUCCESS


def test_pause_after_an_unhandled_error_holds_it_until_the_resume() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            a: {action: std.fail, on-complete: [pause]}
        """
    )
    step = finish(machine, run, "a", ActionOutcome.failure("boom"))
    assert not step.ended
    assert run.row.state == PAUSED
    resumed = Step()
    machine.reopen(run, resumed)
    machine.resume_waiting(run, resumed)
    assert resumed.ended
    assert run.row.state == ERROR
    assert "task 'a' failed: boom" in run.row.error_message


def test_noop_in_on_error_handles_the_error() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            a: {action: std.fail, on-error: [noop]}
        """
    )
    finish(machine, run, "a", ActionOutcome.failure("boom"))
    assert run.row.state == SUCCESS


def test_a_failing_msg_expression_fails_the_task() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            a: {on-success: ['fail msg=<% $.missing.deeper %>']}
        """
    )
    finish(machine, run, "a", ActionOutcome.success(None))
    assert run.row.state == ERROR
    assert task(run, "a").state == ERROR
    assert "on-success condition" in task(run, "a").error_message


# ------------------------------------------------------------ publishing


def test_publish_on_error_publishes_when_the_task_fails() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            a:
              action: std.fail
              publish: {ok: true}
              publish-on-error: {ok: false, why: <% task().state_info %>}
              on-error: [report]
            report:
              action: std.echo output=<% $.why %>
        """
    )
    finish(machine, run, "a", ActionOutcome.failure("boom"))
    assert run.row.context == {"ok": False, "why": "boom"}
    assert run.row.state == RUNNING
    assert task(run, "report").input == {"output": "boom"}


def test_scoped_publish_precedence_and_global() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            a:
              action: std.echo output=5
              publish: {x: task, y: task}
              on-success:
                publish:
                  branch: {x: clause, w: clause}
                  global: {g: <% task().result %>, y: global}
                  atomic: {never: 1}
                next: [b]
              on-complete:
                publish:
                  branch: {y: complete}
            b:
              action: std.echo output="<% global(g) %>-<% global(x) %>"
              on-success: [c]
            c:
              action: std.echo output="{{ global('g') }}"
        """
    )
    finish(machine, run, "a", ActionOutcome.success(5))
    # on-complete over the task's publish over on-success's; branch over global.
    assert run.row.context == {"x": "task", "y": "complete", "w": "clause", "g": 5}
    assert "never" not in run.row.context  # atomic publishes nothing, as in Mistral
    assert task(run, "b").input == {"output": "5-task"}
    finish(machine, run, "b", ActionOutcome.success("5-task"))
    assert task(run, "c").input == {"output": 5}


def test_global_of_an_unknown_variable_is_null() -> None:
    ctx = expression_context(start("version: '2.0'\nwf:\n  tasks:\n    a: {}\n")[1], None)
    assert evaluate(compile_string("<% global(nothing) %>"), ctx) is None
    assert evaluate(compile_string("{{ global('nothing') }}"), ctx) is None


# ------------------------------------------------------------ task().result


def test_task_result_of_std_http_is_what_mistral_std_http_returns() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            call:
              action: std.http url="http://atoms/x"
              publish:
                status: <% task().result.status %>
                id: "{{ task().result.content.id }}"
        """
    )
    seed: dict[str, Any] = {"result": {"status": 200, "content": {"id": "r-1"}, "headers": {}}}
    finish(machine, run, "call", ActionOutcome.success(seed))
    assert run.row.context == {"status": 200, "id": "r-1"}
    assert task(run, "call").result == seed  # kept (and sent) as seed 000's object


def test_task_result_of_other_actions_is_unchanged() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            a:
              action: std.echo
              input: {output: {result: 1}}
              publish: {r: <% task().result %>}
        """
    )
    finish(machine, run, "a", ActionOutcome.success({"result": 1}))
    assert run.row.context == {"r": {"result": 1}}


def test_every_example_of_the_language_reference_is_valid() -> None:
    doc = Path(__file__).resolve().parent.parent / "docs" / "workflow-language.md"
    examples = [part.split("```", 1)[0] for part in doc.read_text("utf-8").split("```yaml\n")[1:]]
    # Whole definitions; fragments (a task, a `tasks:` mapping) are parsed by the tests of
    # their sections (test_mistral_actions).
    examples = [e for e in examples if e.startswith("version:")]
    assert len(examples) >= 4
    parsed = {wf.name: wf for wf in (dsl.parse_workflow(text, SPECS) for text in examples)}
    greet = parsed["greet"]
    assert sources(dict(greet.tasks["call"].input))["method"] == "PUT"
    assert greet.tasks["last"].action == "std.noop"
    clauses = parsed["clauses"]
    assert clauses.tasks["a"].clause_publish["on-complete"].global_
    assert [t.command for t in parsed["approve"].tasks["review"].on_success] == [
        None,
        "pause",
        None,
    ]


def test_task_result_of_an_engine_fault_reads_as_the_inner_object() -> None:
    machine, run, _ = start(
        """
        version: '2.0'
        wf:
          tasks:
            nap:
              action: std.sleep seconds=5
              publish-on-error: {status: <% task().result.status %>}
        """
    )
    fault: dict[str, Any] = {
        "result": {"status": 599, "content": {"fault": "x", "faultString": "timed out"}}
    }
    finish(machine, run, "nap", ActionOutcome.failure("timed out", fault))
    assert run.row.context == {"status": 599}
