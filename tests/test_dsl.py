"""The workflow language: parsing, and validation that names every bad field."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tidings.engine import dsl
from tidings.engine.actions import action_specs, default_registry
from tidings.engine.dsl import (
    ActionCall,
    ActionSpec,
    DefinitionError,
    InputParam,
    Retry,
    Transition,
    Workflow,
)
from tidings.engine.dsl.serialise import source, workflow_to_jsonable
from tidings.engine.expressions import Expression, ExpressionContext, evaluate
from tidings.errors import FieldViolation

#: The engine's standard actions, as the validator sees them.
STD_ACTIONS = action_specs(default_registry())


def parse_workflow(text: str, actions: Mapping[str, ActionSpec] = STD_ACTIONS) -> Workflow:
    """Parse as the engine does: with its standard actions unless told otherwise."""
    return dsl.parse_workflow(text, actions)


EXAMPLE = textwrap.dedent(
    """\
    version: '2.0'
    create_vpn:
      type: direct
      description: Reserve, activate and confirm a VPN link.
      input:
        - order_id
        - region: cn-hz1
        - body: {speed: 10G}
      output:
        link: <% $.link_id %>
        summary: "order {{ _.order_id }}"
      tasks:
        reserve:
          description: Ask the network atom for a reservation.
          action: std.http
          atom: Network.Fix-L3-VPN.DCI-RESOURCE-PREEMPTION
          atom-name: 资源预占
          atom-type: Reserve
          input:
            url: http://127.0.0.1:3101/reserve
            method: post
            headers: {Content-Type: application/json}
            body:
              order: <% $.order_id %>
              region: <% $.region %>
              tags: [a, '{{ _.region }}']
          publish:
            reservation: <% task().result.content.id %>
          retry: {count: 3, delay: 2, break-on: <% task().result.status = 400 %>}
          timeout: 30
          on-success:
            - activate
          on-error:
            - report: <% task().result.status >= 500 %>
            - cleanup
          rollback:
            action: std.http
            input: {url: http://127.0.0.1:3101/release, method: delete}
        activate:
          action: std.http
          async: true
          input: {url: http://127.0.0.1:3101/activate}
          timeout: <% $.activation_timeout %>
          wait-before: 1
          wait-after: 0.5
          on-success: confirm
          on-complete: [report]
        confirm:
          action: std.echo
          input: {output: done}
          join: all
          publish: {link_id: <% $.reservation %>}
        report:
          action: std.noop
          join: 1
        cleanup:
          action: std.fail
          input: {message: reservation failed}
          rollback: std.noop
    """
)


def violations(text: str, actions: Any = STD_ACTIONS) -> list[tuple[str, str]]:
    with pytest.raises(DefinitionError) as info:
        parse_workflow(text, actions)
    return [(v.field, v.description) for v in info.value.violations]


def fields(text: str, actions: Any = STD_ACTIONS) -> list[str]:
    return [field for field, _ in violations(text, actions)]


def only(text: str, field: str, fragment: str, actions: Any = STD_ACTIONS) -> None:
    """The definition has exactly one violation, at ``field``, saying ``fragment``."""
    found = violations(text, actions)
    assert len(found) == 1, found
    assert found[0][0] == field, found
    assert fragment in found[0][1], found


def definition(tasks: dict[str, Any], **workflow: Any) -> str:
    """YAML text of workflow ``wf`` with these tasks (and other workflow keys)."""
    return yaml.safe_dump({"version": "2.0", "wf": {**workflow, "tasks": tasks}}, sort_keys=False)


def task_def(**task: Any) -> str:
    """A workflow of one task ``a`` (``on_success`` → ``on-success`` and so on)."""
    body = {key.replace("_", "-"): value for key, value in task.items()}
    body.setdefault("action", "std.noop")
    return definition({"a": body})


# ------------------------------------------------------------------------ valid


def test_example_parses() -> None:
    wf = parse_workflow(EXAMPLE)
    assert wf.name == "create_vpn"
    assert wf.description == "Reserve, activate and confirm a VPN link."
    assert wf.inputs == (
        InputParam("order_id"),
        InputParam("region", required=False, default="cn-hz1"),
        InputParam("body", required=False, default={"speed": "10G"}),
    )
    assert list(wf.tasks) == ["reserve", "activate", "confirm", "report", "cleanup"]
    assert wf.start_tasks == ("reserve",)
    assert isinstance(wf.output["link"], Expression)

    reserve = wf.tasks["reserve"]
    assert reserve.action == "std.http"
    assert reserve.atom == "Network.Fix-L3-VPN.DCI-RESOURCE-PREEMPTION"
    assert (reserve.atom_name, reserve.atom_type) == ("资源预占", "Reserve")
    assert (wf.tasks["activate"].atom_name, wf.tasks["activate"].atom_type) == (None, None)
    assert reserve.input["method"] == "post"
    assert reserve.on_success == (Transition("activate"),)
    assert [t.target for t in reserve.on_error] == ["report", "cleanup"]
    condition = reserve.on_error[0].condition
    assert isinstance(condition, Expression) and condition.whole
    assert reserve.on_error[1].condition is None
    assert reserve.retry is not None
    assert (reserve.retry.count, reserve.retry.delay) == (3, 2)
    assert isinstance(reserve.retry.break_on, Expression)
    assert reserve.retry.continue_on is None
    assert reserve.timeout == 30
    assert reserve.rollback == ActionCall(
        "std.http", {"url": "http://127.0.0.1:3101/release", "method": "delete"}
    )
    assert not reserve.is_async

    activate = wf.tasks["activate"]
    assert activate.is_async
    assert isinstance(activate.timeout, Expression)
    assert (activate.wait_before, activate.wait_after) == (1, 0.5)
    assert activate.on_success == (Transition("confirm"),)
    assert activate.on_complete == (Transition("report"),)
    assert [kind for kind, _ in activate.transitions()] == ["on-success", "on-complete"]

    assert wf.tasks["confirm"].join == "all"
    assert wf.tasks["report"].join == 1
    assert wf.tasks["cleanup"].rollback == ActionCall("std.noop")


def test_example_expressions_evaluate() -> None:
    wf = parse_workflow(EXAMPLE)
    ctx = ExpressionContext(data={"order_id": "o-1", "region": "cn-hz1", "link_id": "L-7"})
    assert evaluate(wf.tasks["reserve"].input, ctx) == {
        "url": "http://127.0.0.1:3101/reserve",
        "method": "post",
        "headers": {"Content-Type": "application/json"},
        "body": {"order": "o-1", "region": "cn-hz1", "tags": ["a", "cn-hz1"]},
    }
    assert evaluate(wf.output, ctx) == {"link": "L-7", "summary": "order o-1"}


def test_json_definition_equals_yaml() -> None:
    as_json = json.dumps(yaml.safe_load(EXAMPLE))
    assert as_json.startswith("{")
    assert parse_workflow(as_json) == parse_workflow(EXAMPLE)


def test_to_jsonable_round_trips() -> None:
    wf = parse_workflow(EXAMPLE)
    data = workflow_to_jsonable(wf)
    assert data["version"] == "2.0"
    assert parse_workflow(json.dumps(data)) == wf
    assert parse_workflow(yaml.safe_dump(data)) == wf


def test_yaml_flow_style_starting_with_brace() -> None:
    text = "{version: '2.0', wf: {tasks: {a: {action: std.noop}}}}"
    assert parse_workflow(text).start_tasks == ("a",)


def test_minimal_workflow() -> None:
    wf = parse_workflow(task_def())
    assert wf == Workflow(
        name="wf", tasks=wf.tasks, start_tasks=("a",), inputs=(), output={}, description=None
    )
    task = wf.tasks["a"]
    assert (task.input, task.publish, task.on_success, task.join, task.retry) == (
        {},
        {},
        (),
        None,
        None,
    )


def test_version_may_be_a_float() -> None:
    assert parse_workflow("version: 2.0\nwf: {tasks: {a: {action: std.noop}}}").name == "wf"


def test_type_defaults_to_direct() -> None:
    implicit = parse_workflow(definition({"a": {"action": "std.noop"}}))
    explicit = parse_workflow(definition({"a": {"action": "std.noop"}}, type="direct"))
    assert implicit == explicit


def test_results_are_frozen() -> None:
    wf = parse_workflow(EXAMPLE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        wf.name = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        wf.tasks["reserve"].action = "std.noop"  # type: ignore[misc]


def test_several_start_tasks_in_definition_order() -> None:
    text = definition(
        {
            "z": {"action": "std.noop", "on-success": ["join"]},
            "a": {"action": "std.noop", "on-success": ["join"]},
            "join": {"action": "std.noop", "join": 2},
            "lonely": {"action": "std.noop"},
        }
    )
    assert parse_workflow(text).start_tasks == ("z", "a", "lonely")


def test_cycles_are_allowed_without_join() -> None:
    text = definition(
        {
            "start": {"action": "std.noop", "on-success": ["poll"]},
            "poll": {
                "action": "std.noop",
                "on-success": [{"poll": "<% $.again %>"}, {"done": "<% not $.again %>"}],
            },
            "done": {"action": "std.noop"},
        }
    )
    wf = parse_workflow(text)
    assert wf.start_tasks == ("start",)
    assert [t.target for t in wf.tasks["poll"].on_success] == ["poll", "done"]


def test_transition_forms() -> None:
    tasks = {
        "a": {
            "action": "std.noop",
            "on-success": "b",
            "on-error": ["b", {"c": "<% $.x %>"}, {"c": "{{ _.x }}"}, {"b": None}],
            "on-complete": [],
        },
        "b": {"action": "std.noop"},
        "c": {"action": "std.noop"},
    }
    task = parse_workflow(definition(tasks)).tasks["a"]
    assert task.on_success == (Transition("b"),)
    assert [(t.target, t.condition and t.condition.language) for t in task.on_error] == [
        ("b", None),
        ("c", "yaql"),
        ("c", "jinja"),
        ("b", None),
    ]
    assert task.on_complete == ()


def test_custom_action_registry() -> None:
    actions = {
        "my.atom": ActionSpec(required=frozenset({"id"}), optional=None),
        "my.fixed": ActionSpec(optional=frozenset({"x"})),
    }
    text = definition(
        {
            "a": {"action": "my.atom", "input": {"id": 1, "anything": 2}, "on-success": "b"},
            "b": {"action": "my.fixed", "input": {"x": 1}},
        }
    )
    assert parse_workflow(text, actions).tasks["a"].input == {"id": 1, "anything": 2}
    # The standard actions are not known to this registry.
    only(task_def(action="std.noop"), "tasks.a.action", "unknown action 'std.noop'", actions)


def test_std_actions() -> None:
    assert set(STD_ACTIONS) == {
        "std.http", "std.noop", "std.echo", "std.fail", "std.sleep", "std.async_noop",
        "std.mistral_http", "std.js", "std.javascript", "std.email", "std.ssh",
    }  # fmt: skip
    http = STD_ACTIONS["std.http"]
    assert http.required == {"url"}
    assert http.allowed() == frozenset(
        {
            "url",
            "method",
            "headers",
            "body",
            "params",
            "timeout",
            "allow_redirects",
            "verify",
            "success_statuses",
        }
    )
    assert http.supports_async
    assert STD_ACTIONS["std.sleep"].required == frozenset()  # 1 s by default, as in Mistral
    assert STD_ACTIONS["std.sleep"].allowed() == frozenset({"seconds"})
    assert not STD_ACTIONS["std.sleep"].supports_async
    assert STD_ACTIONS["std.noop"].allowed() == frozenset()
    assert ActionSpec(optional=None).allowed() is None


def test_numbers_may_be_expressions() -> None:
    task = parse_workflow(
        task_def(
            timeout="<% $.t %>",
            wait_before="{{ _.w }}",
            wait_after="<% 1 %>",
            retry={"count": "<% $.n %>", "delay": "{{ _.d }}", "continue-on": "<% $.more %>"},
        )
    ).tasks["a"]
    assert isinstance(task.timeout, Expression)
    assert isinstance(task.wait_before, Expression)
    assert isinstance(task.wait_after, Expression)
    assert task.retry is not None
    assert isinstance(task.retry.count, Expression)
    assert isinstance(task.retry.delay, Expression)
    assert isinstance(task.retry.continue_on, Expression)


def test_retry_delay_defaults_to_zero() -> None:
    assert parse_workflow(task_def(retry={"count": 0})).tasks["a"].retry == Retry(0, 0)


def test_input_default_stays_literal() -> None:
    text = "version: '2.0'\nwf:\n  input: [{a: '<% $.b %>'}]\n  tasks: {a: {action: std.noop}}"
    assert parse_workflow(text).inputs == (InputParam("a", False, "<% $.b %>"),)


def test_yaml_dates_and_odd_keys_become_json_values() -> None:
    text = textwrap.dedent(
        """\
        version: '2.0'
        wf:
          tasks:
            a:
              action: std.echo
              input:
                output: {reqDate: 2018-04-18, on: yes, 200: ok, 1.5: x, null: n}
        """
    )
    output = parse_workflow(text).tasks["a"].input["output"]
    assert output == {"reqDate": "2018-04-18", "true": True, "200": "ok", "1.5": "x", "null": "n"}


def test_unicode_everywhere() -> None:
    text = definition({"任务一": {"action": "std.echo", "input": {"output": "测试电路 <% $.x %>"}}})
    wf = parse_workflow(text)
    assert wf.start_tasks == ("任务一",)


# ------------------------------------------------------------- the document


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "must be a mapping, got null"),
        ("- a\n- b", "must be a mapping, got a list"),
        ("just text", "must be a mapping, got a string"),
        ("version: '2.0'\nwf: [", "not valid YAML or JSON"),
        ("a: b: c", "not valid YAML or JSON"),
        ("\tversion: 1", "not valid YAML or JSON"),
        ("version: '2.0'", "no workflow"),
        ("d: 2018-02-30", "not valid YAML or JSON"),  # pyyaml raises ValueError here
    ],
)
def test_bad_documents(text: str, fragment: str) -> None:
    only(text, "", fragment)


def test_yaml_error_gives_line_and_column() -> None:
    found = violations("version: '2.0'\nwf:\n  tasks: [a\n")
    assert found[0][0] == ""
    assert "line " in found[0][1] and "column " in found[0][1]


def test_definition_must_be_text() -> None:
    only(b"version: 2.0", "", "must be text")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("version", "fragment"),
    [("3.0", "must be '2.0', got '3.0'"), ("v2", "got 'v2'"), (2.1, "got 2.1"), (None, "got None")],
)
def test_bad_version(version: object, fragment: str) -> None:
    text = yaml.safe_dump({"version": version, "wf": {"tasks": {"a": {"action": "std.noop"}}}})
    only(text, "version", fragment)


@pytest.mark.parametrize("version", ["2.0", 2.0, 2, "1.0", 1.0])
def test_versions_mistral_reads_as_v2(version: object) -> None:
    """Mistral 23 takes '1.0' (and 2) as well and runs the workflow as v2."""
    text = yaml.safe_dump({"version": version, "wf": {"tasks": {"a": {"action": "std.noop"}}}})
    assert parse_workflow(text).name == "wf"


def test_missing_version() -> None:
    only("wf: {tasks: {a: {action: std.noop}}}", "version", "required")


def test_several_workflows_in_one_definition() -> None:
    text = (
        "version: '2.0'\n"
        "first: {tasks: {a: {action: std.noop}}}\n"
        "second: {input: [x], tasks: {a: {workflow: first}}}\n"
    )
    definition = dsl.parse_definition(text, STD_ACTIONS)
    assert list(definition.workflows) == ["first", "second"]
    assert definition.workflows["second"].tasks["a"].workflow == "first"
    assert dsl.parse_workflow(text, STD_ACTIONS, name="second").inputs[0].name == "x"
    assert dsl.parse_workflow(text, STD_ACTIONS).name == "first"
    with pytest.raises(dsl.DefinitionError, match="does not define workflow 'third'"):
        dsl.parse_workflow(text, STD_ACTIONS, name="third")


def test_violations_of_several_workflows_are_named_under_each() -> None:
    text = (
        "version: '2.0'\n"
        "first: {tasks: {a: {action: std.noop}}}\n"
        "second: {tasks: {a: {action: std.nope}}}\n"
    )
    assert [f for f, _ in violations(text)] == ["second.tasks.a.action"]


def test_a_workbook_names_its_workflows_and_ad_hoc_actions() -> None:
    text = (
        "version: '2.0'\nname: book\n"
        "actions:\n  greet:\n    base: std.echo\n    base-input: {output: 'hi <% $.who %>'}\n"
        "    input: [who, {polite: true}]\n    output: <% $.upper() %>\n"
        "workflows:\n  main:\n    tasks:\n      a: {action: greet who='Ann'}\n"
        "      b: {workflow: other}\n  other:\n    tasks: {c: {}}\n"
    )
    definition = dsl.parse_definition(text, STD_ACTIONS)
    assert definition.book == "book"
    assert list(definition.workflows) == ["book.main", "book.other"]
    main = definition.workflows["book.main"]
    assert main.book == "book"
    task = main.tasks["a"]
    assert task.action == "greet" and task.adhoc is not None
    assert task.adhoc.base == "std.echo"
    assert [(p.name, p.required, p.default) for p in task.adhoc.inputs] == [
        ("who", True, None),
        ("polite", False, True),
    ]


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [
        (
            "version: '2.0'\nname: b\nactions:\n  x: {base: std.nope}\n"
            "workflows:\n  w: {tasks: {a: {}}}\n",
            "actions.x.base",
            "unknown base action 'std.nope'",
        ),
        (
            "version: '2.0'\nname: b\nactions:\n  x: {base: std.echo, input: [who]}\n"
            "workflows:\n  w: {tasks: {a: {action: x}}}\n",
            "workflows.w.tasks.a.input",
            "missing required input 'who' of action 'x'",
        ),
        (
            "version: '2.0'\nname: b\nactions:\n  x: {base: std.echo, base-input: {nope: 1}}\n"
            "workflows:\n  w: {tasks: {a: {}}}\n",
            "actions.x.base-input.nope",
            "unknown input 'nope' of action 'std.echo'",
        ),
        (
            "version: '2.0'\nname: b\nworkflows:\n  w: {tasks: {a: {action: std.nope}}}\n",
            "workflows.w.tasks.a.action",
            "unknown action 'std.nope'",
        ),
    ],
)
def test_bad_workbooks_are_refused_naming_the_field(text: str, field: str, fragment: str) -> None:
    found = violations(text)
    assert any(f == field and fragment in d for f, d in found), found


@pytest.mark.parametrize("name", ["bad name", "a/b", "x!"])
def test_bad_workflow_name(name: str) -> None:
    text = yaml.safe_dump({"version": "2.0", name: {"tasks": {"a": {"action": "std.noop"}}}})
    found = violations(text)
    assert len(found) == 1
    assert found[0][0] == f"[{json.dumps(name)}]"
    assert "letters, digits" in found[0][1]


def test_workflow_body_must_be_a_mapping() -> None:
    only("version: '2.0'\nwf: [1]", "wf", "a workflow must be a mapping")


def test_non_string_workflow_name() -> None:
    assert "a workflow name must be a string" in violations("version: '2.0'\n3: {}")[0][1]


# ------------------------------------------------------------- workflow keys


def test_unknown_workflow_key_suggests() -> None:
    text = "version: '2.0'\nwf:\n  taks: {}\n  tasks: {a: {action: std.noop}}"
    only(text, "taks", "unknown key 'taks' (did you mean 'tasks'?)")


def test_unknown_key_without_a_close_match() -> None:
    found = violations(task_def(zzzzzz=1))
    assert found == [
        (
            "tasks.a.zzzzzz",
            "unknown key 'zzzzzz'; allowed: action, workflow, input, publish, publish-on-error,"
            " on-success, on-error, on-complete, join, retry, timeout, wait-before, wait-after,"
            " atom, atom-name, atom-type, async, rollback, description, callback-url, with-items,"
            " concurrency, pause-before, keep-result, safe-rerun, target, tags, requires",
        )
    ]


def test_vars_and_output_on_error_are_parsed_and_serialised_back() -> None:
    text = definition(
        {"a": {"action": "std.noop"}},
        vars={"greeting": "hi <% $.who %>", "limits": {"max": 3}},
        **{"output-on-error": {"why": "<% $.why %>"}},
    )
    wf = parse_workflow(text)
    assert set(wf.vars) == {"greeting", "limits"}
    assert list(wf.output_on_error) == ["why"]
    again = parse_workflow(json.dumps(workflow_to_jsonable(wf)))
    assert source(again.vars) == {"greeting": "hi <% $.who %>", "limits": {"max": 3}}
    assert source(again.output_on_error) == {"why": "<% $.why %>"}


@pytest.mark.parametrize("key", ["publish-on-skip", "fail-on"])
def test_mistral_task_keys_we_do_not_support(key: str) -> None:
    only(task_def(**{key: 1}), f"tasks.a.{key}", "Mistral language that tidings does not support")


@pytest.mark.parametrize(
    ("kind", "fragment"),
    [("sideways", "must be 'direct' or 'reverse'"), ("other", "must be 'direct'")],
)
def test_workflow_type(kind: str, fragment: str) -> None:
    only(definition({"a": {"action": "std.noop"}}, type=kind), "type", fragment)


def test_workflow_description_must_be_text() -> None:
    only(definition({"a": {"action": "std.noop"}}, description=3), "description", "string")


# ---------------------------------------------------------------------- input


@pytest.mark.parametrize(
    ("inputs", "field", "fragment"),
    [
        ("a", "input", "must be a list"),
        ({"a": 1}, "input", "must be a list"),
        (["a", "b", "a"], "input[2]", "duplicate input 'a' (first at input[0])"),
        (["a", {"a": 1}], "input[1]", "duplicate input 'a'"),
        (["a", 3], "input[1]", "an input name must be a string, got a number"),
        (["a", ""], "input[1]", "must not be empty"),
        ([{"a": 1, "b": 2}], "input[0]", "one {name: default} pair, got 2 keys"),
        ([{}], "input[0]", "got 0 keys"),
        ([{3: 1}], "input[0]", "must be a string"),
        ([["a"]], "input[0]", "must be a string, got a list"),
    ],
)
def test_bad_inputs(inputs: object, field: str, fragment: str) -> None:
    only(definition({"a": {"action": "std.noop"}}, input=inputs), field, fragment)


def test_input_default_may_be_null() -> None:
    wf = parse_workflow(definition({"a": {"action": "std.noop"}}, input=[{"a": None}]))
    assert wf.inputs == (InputParam("a", required=False, default=None),)


def test_output_must_be_a_mapping() -> None:
    only(definition({"a": {"action": "std.noop"}}, output=["x"]), "output", "must be a mapping")


def test_output_expression_syntax() -> None:
    text = definition({"a": {"action": "std.noop"}}, output={"r": {"deep": ["<% $.x ) %>"]}})
    only(text, "output.r.deep[0]", "bad expression '<% $.x ) %>': Parse error")


# ---------------------------------------------------------------------- tasks


@pytest.mark.parametrize(
    ("tasks", "field", "fragment"),
    [
        (None, "tasks", "required"),
        ({}, "tasks", "at least one task"),
        ([{"a": 1}], "tasks", "must be a mapping, got a list"),
        ({"a": "std.noop"}, "tasks.a", "a task must be a mapping, got a string"),
        ({"": {"action": "std.noop"}}, 'tasks[""]', "must not be empty"),
    ],
)
def test_bad_tasks(tasks: object, field: str, fragment: str) -> None:
    text = yaml.safe_dump({"version": "2.0", "wf": {"tasks": tasks}})
    only(text, field, fragment)


def test_task_name_from_yaml_boolean() -> None:
    found = violations("version: '2.0'\nwf:\n  tasks:\n    yes: {action: std.noop}\n")
    assert found == [("tasks.True", "a task name must be a string, got a boolean")]


def test_field_paths_quote_odd_task_names() -> None:
    only(
        definition({"my task.v2": {"action": "nope"}}),
        'tasks["my task.v2"].action',
        "unknown action",
    )


@pytest.mark.parametrize(
    ("task", "field", "fragment"),
    [
        ({"action": "std.noop", "workflow": "w"}, "tasks.a", "not both"),
        ({"action": "std.htp"}, "tasks.a.action", "unknown action 'std.htp' (did you mean"),
        (
            {"action": "nothing.like.it"},
            "tasks.a.action",
            "known actions: std.async_noop, std.echo, std.email, std.fail",
        ),
        ({"action": "std.http url=x"}, "tasks.a.input", "missing required input 'url'"),
        ({"action": ["std.noop"]}, "tasks.a.action", "must be a string, got a list"),
        ({"action": ""}, "tasks.a.action", "must not be empty"),
        ({"action": "<% $.action %>"}, "tasks.a.action", "named by an expression"),
    ],
)
def test_bad_actions(task: dict[str, Any], field: str, fragment: str) -> None:
    only(definition({"a": task}), field, fragment)


def test_unknown_action_suggests_the_close_one() -> None:
    found = violations(task_def(action="std.htp"))
    assert "did you mean 'std.http'?" in found[0][1]


@pytest.mark.parametrize(
    ("task", "field", "fragment"),
    [
        (
            {"action": "std.http"},
            "tasks.a.input",
            "missing required input 'url' of action 'std.http'",
        ),
        ({"action": "std.http", "input": {}}, "tasks.a.input", "missing required input 'url'"),
        (
            {"action": "std.http", "input": {"url": "u", "methd": "get"}},
            "tasks.a.input.methd",
            "unknown input 'methd' of action 'std.http' (did you mean 'method'?)",
        ),
        ({"action": "std.noop", "input": {"x": 1}}, "tasks.a.input.x", "allowed: none"),
        (
            {"action": "std.sleep", "input": {"second": 1}},
            "tasks.a.input.second",
            "unknown input 'second' of action 'std.sleep' (did you mean 'seconds'?)",
        ),
        ({"action": "std.echo", "input": "hi"}, "tasks.a.input", "input must be a mapping"),
        ({"action": "std.echo", "input": ["hi"]}, "tasks.a.input", "input must be a mapping"),
    ],
)
def test_action_inputs(task: dict[str, Any], field: str, fragment: str) -> None:
    only(definition({"a": task}), field, fragment)


def test_http_with_every_input() -> None:
    inputs = {name: 1 for name in STD_ACTIONS["std.http"].allowed() or ()}
    parse_workflow(task_def(action="std.http", input=inputs))


# --------------------------------------------------------------- expressions


@pytest.mark.parametrize(
    ("task", "field"),
    [
        ({"input": {"output": "<% 1 + %>"}}, "tasks.a.input.output"),
        (
            {"input": {"output": {"body": {"items": [1, "{{ _.x "]}}}},
            "tasks.a.input.output.body.items[1]",
        ),
        ({"input": {"output": "<% $.x %> {{ _.y }}"}}, "tasks.a.input.output"),
        ({"publish": {"r": "<% task( %>"}}, "tasks.a.publish.r"),
        ({"publish": {"r": {"nested": ["<% ) %>"]}}}, "tasks.a.publish.r.nested[0]"),
        ({"retry": {"count": 1, "break-on": "<% ( %>"}}, "tasks.a.retry.break-on"),
        ({"retry": {"count": 1, "continue-on": "{{ ( }}"}}, "tasks.a.retry.continue-on"),
        ({"retry": {"count": "<% ( %>"}}, "tasks.a.retry.count"),
        ({"retry": {"count": 1, "delay": "{{ ( }}"}}, "tasks.a.retry.delay"),
        ({"timeout": "<% ( %>"}, "tasks.a.timeout"),
        ({"wait-before": "{{ _.x | nofilter }}"}, "tasks.a.wait-before"),
        ({"wait-after": "<% $.x"}, "tasks.a.wait-after"),
    ],
)
def test_bad_expression_syntax_everywhere(task: dict[str, Any], field: str) -> None:
    body = {"action": "std.echo", **task}
    found = violations(definition({"a": body}))
    assert [f for f, _ in found] == [field], found
    assert found[0][1].startswith("bad expression ")


def test_bad_condition_syntax() -> None:
    text = definition(
        {
            "a": {"action": "std.noop", "on-success": [{"b": "<% $.x = %>"}]},
            "b": {"action": "std.noop"},
        }
    )
    only(text, "tasks.a.on-success[0].b", "bad expression '<% $.x = %>'")


def test_bad_rollback_input_expression() -> None:
    text = task_def(rollback={"action": "std.echo", "input": {"output": "<% ( %>"}})
    only(text, "tasks.a.rollback.input.output", "bad expression")


def test_expressions_compile_everywhere() -> None:
    wf = parse_workflow(EXAMPLE)
    reserve = wf.tasks["reserve"]
    body = reserve.input["body"]
    assert isinstance(body, dict)
    assert isinstance(body["order"], Expression)
    assert isinstance(body["tags"][1], Expression)
    assert isinstance(reserve.publish["reservation"], Expression)
    assert isinstance(wf.output["summary"], Expression)
    summary = wf.output["summary"]
    assert isinstance(summary, Expression) and summary.language == "jinja"


# ---------------------------------------------------------------- transitions


def two(**a: Any) -> str:
    """Tasks ``a`` (with these keys) and ``b``."""
    body = {key.replace("_", "-"): value for key, value in a.items()}
    return definition({"a": {"action": "std.noop", **body}, "b": {"action": "std.noop"}})


@pytest.mark.parametrize(
    ("a", "field", "fragment"),
    [
        ({"on_success": "nope"}, "tasks.a.on-success", "no task 'nope'"),
        ({"on_success": ["b", "nope"]}, "tasks.a.on-success[1]", "no task 'nope'"),
        ({"on_error": [{"nope": "<% $.x %>"}]}, "tasks.a.on-error[0]", "no task 'nope'"),
        ({"on_complete": ["bb"]}, "tasks.a.on-complete[0]", "no task 'bb' (did you mean 'b'?)"),
        ({"on_error": ["fail x='y'"]}, "tasks.a.on-error[0]", "takes only msg, got 'x'"),
        ({"on_complete": ["noop msg='y'"]}, "tasks.a.on-complete[0]", "takes no parameters"),
        ({"on_error": ["b msg='x'"]}, "tasks.a.on-error[0]", "inline parameters are for engine"),
        ({"on_success": {"b": None, "a": None}}, "tasks.a.on-success", "got keys b, a"),
        ({"on_success": 3}, "tasks.a.on-success", "got a number"),
        ({"on_success": [3]}, "tasks.a.on-success[0]", "got a number"),
        ({"on_success": [["b"]]}, "tasks.a.on-success[0]", "got a list"),
        ({"on_success": [""]}, "tasks.a.on-success[0]", "must not be empty"),
        ({"on_success": [{"b": 1, "a": 2}]}, "tasks.a.on-success[0]", "got 2 keys"),
        ({"on_success": [{"b": "$.x > 1"}]}, "tasks.a.on-success[0].b", "must be an expression"),
        ({"on_success": [{"b": True}]}, "tasks.a.on-success[0].b", "got a boolean"),
        ({"on_success": [{"b": "x <% $.ok %>"}]}, "tasks.a.on-success[0].b", "whole string"),
    ],
)
def test_bad_transitions(a: dict[str, Any], field: str, fragment: str) -> None:
    only(two(**a), field, fragment)


def test_no_start_task() -> None:
    text = definition(
        {
            "a": {"action": "std.noop", "on-success": ["b"]},
            "b": {"action": "std.noop", "on-complete": "a"},
        }
    )
    only(text, "tasks", "no start task")


def test_self_loop_only_task_has_no_start() -> None:
    only(task_def(on_success=[{"a": "<% $.again %>"}]), "tasks", "no start task")


def test_join_in_a_cycle() -> None:
    text = definition(
        {
            "start": {"action": "std.noop", "on-success": ["j"]},
            "j": {"action": "std.noop", "join": "all", "on-success": ["loop"]},
            "loop": {"action": "std.noop", "on-success": [{"j": "<% $.again %>"}]},
        }
    )
    only(text, "tasks.j.join", "part of a cycle (j → loop → j)")


def test_join_number_larger_than_inbound() -> None:
    text = definition(
        {
            "a": {"action": "std.noop", "on-success": ["j"], "on-error": ["j"]},
            "b": {"action": "std.noop", "on-success": ["j"]},
            "j": {"action": "std.noop", "join": 3},
        }
    )
    # a counts once, however many of its transitions lead to j.
    only(text, "tasks.j.join", "join: 3 but only 2 task(s) transition to 'j': a, b")


def test_join_without_inbound() -> None:
    only(task_def(join="all"), "tasks.a.join", "no task transitions to it")


@pytest.mark.parametrize("join", [0, -1, "some", True, 1.5, None, ["all"]])
def test_bad_join(join: object) -> None:
    text = definition(
        {"a": {"action": "std.noop", "on-success": "j"}, "j": {"action": "std.noop", "join": join}}
    )
    only(text, "tasks.j.join", "join must be 'all' or a positive whole number")


# ---------------------------------------------------------- retry and numbers


@pytest.mark.parametrize(
    ("retry", "field", "fragment"),
    [
        (3, "tasks.a.retry", "retry must be a mapping"),
        ({"delay": 1}, "tasks.a.retry.count", "required"),
        ({"count": -1}, "tasks.a.retry.count", "must not be negative, got -1"),
        ({"count": 1.5}, "tasks.a.retry.count", "must be a whole number, got 1.5"),
        ({"count": True}, "tasks.a.retry.count", "got a boolean"),
        ({"count": "3"}, "tasks.a.retry.count", "must be a whole number or an expression"),
        ({"count": 1, "delay": -0.5}, "tasks.a.retry.delay", "must not be negative"),
        ({"count": 1, "delay": None}, "tasks.a.retry.delay", "got null"),
        ({"count": 1, "brake-on": "<% 1 %>"}, "tasks.a.retry.brake-on", "did you mean 'break-on'"),
        ({"count": 1, "break-on": "done"}, "tasks.a.retry.break-on", "must be an expression"),
    ],
)
def test_bad_retry(retry: object, field: str, fragment: str) -> None:
    only(task_def(retry=retry), field, fragment)


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("timeout", 0, "must be greater than 0, got 0"),
        ("timeout", -5, "must be greater than 0"),
        ("timeout", "30", "must be a number or an expression"),
        ("timeout", "30s <% $.x %>", "whole string"),
        ("timeout", True, "got a boolean"),
        ("timeout", float("inf"), "must be a finite number"),
        ("timeout", [1], "got a list"),
        ("wait-before", -1, "must not be negative"),
        ("wait-after", -0.1, "must not be negative"),
        ("wait-after", {"s": 1}, "got a mapping"),
    ],
)
def test_bad_numbers(key: str, value: object, fragment: str) -> None:
    only(task_def(**{key: value}), f"tasks.a.{key}", fragment)


def test_zero_waits_and_fractional_timeout() -> None:
    task = parse_workflow(task_def(wait_before=0, wait_after=0, timeout=0.25)).tasks["a"]
    assert (task.wait_before, task.wait_after, task.timeout) == (0, 0, 0.25)


# -------------------------------------------------------- atom, async, rollback


@pytest.mark.parametrize(
    ("task", "field", "fragment"),
    [
        ({"atom": 3}, "tasks.a.atom", "atom must be a string"),
        ({"atom": ""}, "tasks.a.atom", "must not be empty"),
        ({"atom-name": 3}, "tasks.a.atom-name", "atom-name must be a string"),
        ({"atom-type": " "}, "tasks.a.atom-type", "must not be empty"),
        ({"async": "yes please"}, "tasks.a.async", "must be true or false"),
        ({"async": True}, "tasks.a.async", "'std.noop' cannot run asynchronously"),
        ({"description": ["x"]}, "tasks.a.description", "must be a string"),
        ({"rollback": 3}, "tasks.a.rollback", "must be a mapping"),
        ({"rollback": "std.nop"}, "tasks.a.rollback", "did you mean 'std.noop'"),
        ({"rollback": "std.http"}, "tasks.a.rollback.input", "missing required input 'url'"),
        ({"rollback": {"input": {}}}, "tasks.a.rollback.action", "required"),
        ({"rollback": {"action": "x.y"}}, "tasks.a.rollback.action", "unknown action 'x.y'"),
        ({"rollback": {"action": "std.http"}}, "tasks.a.rollback.input", "missing required"),
        (
            {"rollback": {"action": "std.echo", "input": {"outptu": 1}}},
            "tasks.a.rollback.input.outptu",
            "did you mean 'output'",
        ),
        (
            {"rollback": {"action": "std.noop", "inptu": {}}},
            "tasks.a.rollback.inptu",
            "did you mean 'input'",
        ),
    ],
)
def test_bad_task_extras(task: dict[str, Any], field: str, fragment: str) -> None:
    only(definition({"a": {"action": "std.noop", **task}}), field, fragment)


def test_async_false_is_fine_for_any_action() -> None:
    assert not parse_workflow(task_def(**{"async": False})).tasks["a"].is_async


# ------------------------------------------------- job callbacks (seed 002)


def test_job_callback_urls_of_tasks_and_their_default() -> None:
    text = definition(
        {
            "a": {"action": "std.noop", "on-success": ["b"]},
            "b": {"action": "std.noop", "callback-url": "http://jobs.example/b"},
            "c": {"action": "std.noop", "callback-url": "http://jobs.example/all"},
            "d": {"action": "std.noop"},
        },
        **{"task-defaults": {"callback-url": "http://jobs.example/all"}},
    )
    wf = parse_workflow(text)
    assert wf.task_defaults.callback_url == "http://jobs.example/all"
    assert [wf.tasks[n].callback_url for n in "abcd"] == [
        None, "http://jobs.example/b", "http://jobs.example/all", None,
    ]  # fmt: skip
    # A task's own URL wins; the same URL from both places is one destination.
    assert wf.job_callbacks() == {
        "http://jobs.example/all": ("a", "c", "d"),
        "http://jobs.example/b": ("b",),
    }
    data = workflow_to_jsonable(wf)
    assert data["wf"]["task-defaults"] == {"callback-url": "http://jobs.example/all"}
    assert parse_workflow(json.dumps(data)) == wf


def test_no_job_callbacks_without_callback_urls() -> None:
    wf = parse_workflow(definition({"a": {"action": "std.noop"}}, **{"task-defaults": {}}))
    assert wf.job_callbacks() == {}
    assert "task-defaults" not in workflow_to_jsonable(wf)["wf"]


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("<% $.hook %>", "callback-url must be a URL, not an expression"),
        ("{{ _.hook }}/x", "callback-url must be a URL, not an expression"),
        ("ftp://jobs.example/a", "must be an http:// or https:// URL"),
        ("http://jobs.example/a b", "must not contain spaces"),
        ("http:///a", "must name a host"),
        ("", "callback-url must not be empty"),
        (7, "callback-url must be a string"),
    ],
)
def test_bad_callback_urls(url: object, fragment: str) -> None:
    only(task_def(callback_url=url), "tasks.a.callback-url", fragment)
    only(
        definition({"a": {"action": "std.noop"}}, **{"task-defaults": {"callback-url": url}}),
        "task-defaults.callback-url",
        fragment,
    )


@pytest.mark.parametrize(
    ("defaults", "field", "fragment"),
    [
        ({"on-skip": ["a"]}, "task-defaults.on-skip", "does not support yet"),
        ({"requires": ["a"]}, "task-defaults.requires", "reverse workflows"),
        ({"on-error": ["nope"]}, "task-defaults.on-error[0]", "no task 'nope'"),
        ({"retry": {"delay": 1}}, "task-defaults.retry.count", "required"),
        ({"callback_url": "http://x"}, "task-defaults.callback_url", "did you mean 'callback-url'"),
        ([], "task-defaults", "task-defaults must be a mapping"),
    ],
)
def test_task_defaults_refusals(defaults: object, field: str, fragment: str) -> None:
    only(definition({"a": {"action": "std.noop"}}, **{"task-defaults": defaults}), field, fragment)


def test_callback_url_spelled_as_the_seed_suggests_the_key() -> None:
    only(
        definition({"a": {"action": "std.noop", "callback_url": "http://x"}}),
        "tasks.a.callback_url",
        "did you mean 'callback-url'",
    )


# ---------------------------------------------------------------- collecting


def test_all_violations_are_collected() -> None:
    text = textwrap.dedent(
        """\
        version: '3.0'
        wf:
          descripton: typo
          input: [a, a]
          tasks:
            fetch:
              action: std.http
              input: {urll: x}
              on-success: [nope, {b: 'plain'}]
              retry: {count: -1}
              timeout: 0
            b:
              action: std.htp
              publish: {x: '<% 1 + %>'}
              join: 3
        """
    )
    assert fields(text) == [
        "version",
        "descripton",
        "input[1]",
        "tasks.fetch.input",
        "tasks.fetch.input.urll",
        "tasks.fetch.on-success[0]",
        "tasks.fetch.on-success[1].b",
        "tasks.fetch.retry.count",
        "tasks.fetch.timeout",
        "tasks.b.action",
        "tasks.b.publish.x",
        "tasks.b.join",
    ]


def test_definition_error_message_lists_every_problem() -> None:
    with pytest.raises(DefinitionError) as info:
        parse_workflow("version: '2.0'\nwf:\n  tasks:\n    a: {action: x}\n    b: {retry: {}}\n")
    error = info.value
    assert isinstance(error, ValueError)
    assert all(isinstance(v, FieldViolation) for v in error.violations)
    message = str(error)
    assert message.startswith("invalid workflow definition (2 problems):")
    assert "  tasks.a.action: unknown action 'x'" in message
    assert "  tasks.b.retry.count: required" in message


def test_single_problem_message() -> None:
    with pytest.raises(DefinitionError, match=r"\(1 problem\):\n  \(definition\): "):
        parse_workflow("[]")


# ------------------------------------------------------------------ YAML abuse


def test_recursive_alias_is_refused() -> None:
    text = textwrap.dedent(
        """\
        version: '2.0'
        wf:
          tasks:
            a:
              action: std.echo
              input:
                output: &loop {self: *loop}
        """
    )
    only(text, "tasks.a.input.output.self", "alias refers to the value that contains it")


@pytest.mark.timeout(30)
def test_billion_laughs_is_bounded() -> None:
    # Ten levels of ten aliases: 10**10 values if walked naively.
    lines = ["version: '2.0'", "wf:", "  output:", "    x0: &x0 [lol, lol, lol, lol, lol]"]
    for i in range(1, 11):
        prev = f"*x{i - 1}"
        lines.append(f"    x{i}: &x{i} [{', '.join([prev] * 10)}]")
    lines.append("  tasks: {a: {action: std.noop}}")
    found = violations("\n".join(lines))
    assert found == [
        (
            "",
            "the definition holds more than 200,000 values;"
            " the limit is 200,000 (max_definition_values)",
        )
    ]


def test_deep_nesting_is_refused() -> None:
    nested: Any = "leaf"
    for _ in range(150):
        nested = [nested]
    text = json.dumps(
        {
            "version": "2.0",
            "wf": {"tasks": {"a": {"action": "std.echo", "input": {"output": nested}}}},
        }
    )
    # The document, the workflow, tasks, a and input are 5 levels, the output list the
    # 6th: the 95th list inside it is the 101st level.
    only(
        text,
        "tasks.a.input.output" + "[0]" * 95,
        "nested 101 levels deep; the limit is 100 (max_definition_depth)",
    )


# ------------------------------------------------------------------ limits


def limited(text: str, **limits: int) -> list[tuple[str, str]]:
    """The violations of ``text`` parsed within these limits (the defaults for the rest)."""
    with pytest.raises(DefinitionError) as info:
        dsl.parse_workflow(text, STD_ACTIONS, dsl.DefinitionLimits(**limits))
    return [(v.field, v.description) for v in info.value.violations]


def chain(tasks: int) -> str:
    """A definition of ``tasks`` tasks, each leading to the next."""
    body = {f"t{i}": {"action": "std.noop", "on-success": [f"t{i + 1}"]} for i in range(tasks)}
    body[f"t{tasks - 1}"] = {"action": "std.noop"}
    return definition(body)


def test_the_default_limits() -> None:
    limits = dsl.DefinitionLimits()
    assert (limits.bytes, limits.tasks, limits.depth, limits.values, limits.list_items) == (
        1_048_576,
        1_000,
        100,
        200_000,
        10_000,
    )


def test_a_definition_within_every_limit_parses() -> None:
    assert len(parse_workflow(chain(1_000)).tasks) == 1_000
    listed = task_def(action="std.echo", input={"output": list(range(10_000))})
    assert len(parse_workflow(listed).tasks["a"].input["output"]) == 10_000  # type: ignore[arg-type]


def test_too_large_a_text_is_refused_before_it_is_read() -> None:
    # Not YAML at all: only the size is reported, so nothing was parsed.
    text = "version: '2.0'\nwf: [" + "x" * 1_980
    assert limited(text, bytes=1_000) == [
        ("", "is 2,000 bytes; the limit is 1,000 (max_definition_bytes)")
    ]


def test_the_size_limit_counts_utf8_bytes() -> None:
    text = "version: '2.0'\nwf:\n  description: " + "é" * 400 + "\n  tasks: {a: {action: std.noop}}"
    assert len(text) < 600 < len(text.encode())  # 400 characters, 800 bytes
    found = limited(text, bytes=600)
    assert found == [
        ("", f"is {len(text.encode()):,} bytes; the limit is 600 (max_definition_bytes)")
    ]
    assert parse_workflow(text).description == "é" * 400


def test_too_many_tasks_are_refused_by_count() -> None:
    assert limited(chain(11), tasks=10) == [
        ("tasks", "has 11 tasks; the limit is 10 (max_definition_tasks)")
    ]
    assert len(dsl.parse_workflow(chain(10), STD_ACTIONS, dsl.DefinitionLimits(tasks=10)).tasks)


def test_too_long_a_list_is_refused_naming_it() -> None:
    text = task_def(action="std.echo", input={"output": {"xs": list(range(11))}})
    assert limited(text, list_items=10) == [
        (
            "tasks.a.input.output.xs",
            "has 11 items; the limit is 10 (max_definition_list_items)",
        )
    ]
    inputs = definition({"a": {"action": "std.noop"}}, input=[f"i{n}" for n in range(11)])
    assert limited(inputs, list_items=10) == [
        ("input", "has 11 items; the limit is 10 (max_definition_list_items)")
    ]


def test_the_depth_counts_from_the_document() -> None:
    text = task_def(action="std.echo", input={"output": [[["deep"]]]})
    # The document, wf, tasks, a, input, and three lists: 8 levels.
    assert dsl.parse_workflow(text, STD_ACTIONS, dsl.DefinitionLimits(depth=8))
    assert limited(text, depth=7) == [
        (
            "tasks.a.input.output[0][0]",
            "nested 8 levels deep; the limit is 7 (max_definition_depth)",
        )
    ]


def test_too_many_values_are_refused() -> None:
    text = task_def(action="std.echo", input={"output": list(range(50))})
    found = limited(text, values=40)
    assert found == [
        ("", "the definition holds more than 40 values; the limit is 40 (max_definition_values)")
    ]


def test_a_limit_exceeded_stops_the_checks() -> None:
    # Unknown actions everywhere, but only the limit is reported.
    text = definition({f"t{i}": {"action": "nope", "bogus": [1, 2, 3]} for i in range(20)})
    assert limited(text, list_items=2) == [
        ("tasks.t0.bogus", "has 3 items; the limit is 2 (max_definition_list_items)")
    ]


def test_stored_limits_only_cap_the_depth() -> None:
    assert dsl.parse_workflow(chain(1_001), STD_ACTIONS, dsl.STORED)
    assert dsl.STORED.depth == 200


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"tasks": 0}, "max_definition_tasks: must be at least 1"),
        ({"bytes": -1}, "max_definition_bytes: must be at least 1"),
        ({"depth": 201}, "max_definition_depth: must be at most 200"),
    ],
)
def test_limits_are_checked(limits: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dsl.DefinitionLimits(**limits)


def test_very_deep_text_is_refused_not_crashed() -> None:
    only("[" * 100_000, "", "")
    only("{" * 100_000, "", "")


def test_binary_values_are_refused() -> None:
    text = "version: '2.0'\nwf: {tasks: {a: {action: std.echo, input: {output: !!binary aGk=}}}}"
    only(text, "tasks.a.input.output", "bytes values are not supported")


def test_unsafe_yaml_tags_are_refused() -> None:
    text = "version: '2.0'\nwf: !!python/object/apply:os.system ['true']"
    only(text, "", "not valid YAML or JSON")


def test_nan_is_refused_in_values() -> None:
    text = "version: '2.0'\nwf: {tasks: {a: {action: std.echo, input: {output: .nan}}}}"
    only(text, "tasks.a.input.output", "not a JSON number")


# ------------------------------------------------------------------ property


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(max_size=300)
    | st.text(alphabet="version: '2.0'\n wf{}[]-&*!|>#%@`\"\\,?tasks<>", max_size=300)
)
def test_garbage_text_raises_only_definition_error(text: str) -> None:
    try:
        parse_workflow(text)
    except DefinitionError as exc:
        assert exc.violations


keys = st.sampled_from(
    [
        "version",
        "wf",
        "tasks",
        "input",
        "output",
        "type",
        "action",
        "publish",
        "on-success",
        "on-error",
        "on-complete",
        "join",
        "retry",
        "count",
        "delay",
        "break-on",
        "timeout",
        "wait-before",
        "rollback",
        "async",
        "atom",
        "a",
        "b",
        "std.http",
        "url",
    ]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-3, max_value=5)
    | st.floats(allow_nan=True)
    | st.sampled_from(
        ["2.0", "a", "b", "all", "std.noop", "std.http", "<% $.x %>", "<% ( %>", "{{ _.x }}", ""]
    )
    | st.text(max_size=8)
)
trees = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(keys | st.text(max_size=4), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
def test_random_structures_raise_only_definition_error(tree: object) -> None:
    for text in (yaml.safe_dump(tree), json.dumps(tree)):
        try:
            parse_workflow(text)
        except DefinitionError as exc:
            assert exc.violations
            assert all(isinstance(v.field, str) and v.description for v in exc.violations)


task_bodies = st.fixed_dictionaries(
    {"action": st.sampled_from(["std.noop", "std.echo", "std.http", "std.nop"])},
    optional={
        "on-success": st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=3),
        "on-error": st.sampled_from(["a", "b", "c", "d", "fail"]),
        "on-complete": st.lists(
            st.dictionaries(
                st.sampled_from(["a", "b", "c"]), st.just("<% $.x %>"), min_size=1, max_size=1
            ),
            max_size=2,
        ),
        "join": st.sampled_from(["all", 1, 2, 3, 0]),
        "retry": st.fixed_dictionaries({"count": st.integers(-1, 3)}),
        "timeout": st.sampled_from([1, 0, "<% $.t %>", "x"]),
        "input": st.dictionaries(st.sampled_from(["url", "output", "x"]), st.just("v"), max_size=2),
        "callback-url": st.sampled_from(["http://jobs.example/a", "https://j/b?c=1", "j", ""]),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), task_bodies, min_size=1))
def test_random_workflows_parse_or_explain_and_round_trip(tasks: dict[str, Any]) -> None:
    text = definition(tasks)
    try:
        wf = parse_workflow(text)
    except DefinitionError as exc:
        assert exc.violations
        return
    assert wf.start_tasks
    assert set(wf.start_tasks) <= set(wf.tasks)
    assert parse_workflow(json.dumps(workflow_to_jsonable(wf))) == wf


def test_the_documented_example_is_valid() -> None:
    doc = Path(__file__).resolve().parent.parent / "docs" / "workflow-language.md"
    text = doc.read_text(encoding="utf-8")
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    wf = parse_workflow(example)
    assert wf.name == "create_vpn"
    assert wf.start_tasks == ("reserve",)
    assert wf.tasks["activate"].is_async


def test_the_documented_job_callback_example_is_valid() -> None:
    doc = Path(__file__).resolve().parent.parent / "docs" / "workflow-language.md"
    parts = doc.read_text(encoding="utf-8").split("```yaml\n")[1:]
    (example,) = [b for b in (p.split("```", 1)[0] for p in parts) if "callback-url" in b]
    assert parse_workflow(example).job_callbacks() == {
        "http://jobs.example/provision": ("reserve",),
        "http://jobs.example/activate": ("activate",),
    }
