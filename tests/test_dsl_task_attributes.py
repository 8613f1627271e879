"""The parser's side of Mistral's task attributes: ``task-defaults`` merged into the tasks
as Mistral merges them, ``pause-before``, ``keep-result``, ``safe-rerun``, ``target``,
``tags``, ``input`` as one expression, and what each refuses. The engine runs them in
``test_engine_task_attributes.py``.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tidings.engine import dsl
from tidings.engine.actions import action_specs, default_registry
from tidings.engine.dsl.serialise import workflow_to_jsonable
from tidings.engine.expressions import Expression

SPECS = action_specs(default_registry())


def parse(text: str) -> dsl.Workflow:
    return dsl.parse_workflow(textwrap.dedent(text), SPECS)


def refused(text: str) -> list[tuple[str, str]]:
    with pytest.raises(dsl.DefinitionError) as info:
        parse(text)
    return [(v.field, v.description) for v in info.value.violations]


def targets(transitions: tuple[dsl.Transition, ...]) -> list[str]:
    return [t.target for t in transitions]


DEFAULTS = """
version: '2.0'
wf:
  task-defaults:
    on-error: [handle, fail]
    on-complete: [audit]
    retry: {count: 2, delay: 1}
    timeout: 30
    wait-before: 5
    pause-before: true
    concurrency: 3
    safe-rerun: true
  tasks:
    plain:
      action: std.noop
    own:
      action: std.noop
      on-error: [other]
      on-complete:
        publish: {branch: {x: 1}}
      retry: {count: 0, delay: 0}
      timeout: 10
      wait-before: 0
      pause-before: false
    handle: {}
    other: {}
    audit: {}
"""


def test_defaults_fill_what_a_task_does_not_set() -> None:
    wf = parse(DEFAULTS)
    plain = wf.tasks["plain"]
    assert targets(plain.on_error) == ["handle", "fail"]
    assert targets(plain.on_complete) == ["audit"]
    assert plain.retry == dsl.Retry(2, 1)
    assert (plain.timeout, plain.wait_before, plain.pause_before) == (30, 5, True)


def test_a_task_s_own_settings_win_except_where_mistral_reads_them_as_unset() -> None:
    own = parse(DEFAULTS).tasks["own"]
    assert targets(own.on_error) == ["other"]
    assert own.retry == dsl.Retry(0, 0) and own.timeout == 10
    # A clause with only a publish has no targets: the default's apply, its publish stays.
    assert targets(own.on_complete) == ["audit"] and "on-complete" in own.clause_publish
    # As Mistral builds its policies, a zero wait and pause-before: false are no policy.
    assert own.wait_before == 5 and own.pause_before is True


def test_a_default_clause_leaves_out_the_task_itself() -> None:
    wf = parse(DEFAULTS)
    assert targets(wf.tasks["handle"].on_error) == ["fail"]  # commands stay
    assert targets(wf.tasks["audit"].on_complete) == []
    # handle and audit are reached by the defaults, so they are no start tasks.
    assert wf.start_tasks == ("plain", "own")


def test_defaults_are_kept_and_the_definition_reads_back_equal() -> None:
    wf = parse(DEFAULTS)
    assert wf.task_defaults.concurrency == 3 and wf.task_defaults.safe_rerun is True
    again = dsl.parse_workflow(json.dumps(workflow_to_jsonable(wf)), SPECS)
    assert again == wf


def test_task_attributes_with_no_effect_are_kept() -> None:
    wf = parse(
        """
        version: '2.0'
        wf:
          tags: [ops, nightly]
          tasks:
            a:
              input: <% $.params %>
              action: std.echo
              keep-result: <% $.keep %>
              safe-rerun: true
              target: executor-1
              tags: [storage]
        """
    )
    a = wf.tasks["a"]
    assert wf.tags == ("ops", "nightly") and a.tags == ("storage",)
    assert a.safe_rerun is True and a.target == "executor-1"
    assert isinstance(a.keep_result, Expression) and a.keep_result.source == "<% $.keep %>"
    assert isinstance(a.input_expression, Expression) and a.input == {}
    assert dsl.parse_workflow(json.dumps(workflow_to_jsonable(wf)), SPECS) == wf


@pytest.mark.parametrize(
    ("task", "field", "fragment"),
    [
        ("{pause-before: 'yes'}", "tasks.a.pause-before", "true, false or an expression"),
        ("{keep-result: 1}", "tasks.a.keep-result", "true, false or an expression"),
        ("{tags: storage}", "tasks.a.tags", "must be a list of strings"),
        ("{tags: [x, x]}", "tasks.a.tags", "distinct"),
        ("{target: ''}", "tasks.a.target", "must not be empty"),
        ("{input: 'plain text'}", "tasks.a.input", "a mapping or one expression"),
        (
            "{action: std.echo output=1, input: <% $.x %>}",
            "tasks.a.input",
            "takes no inline parameters as well",
        ),
    ],
)
def test_task_attributes_refused(task: str, field: str, fragment: str) -> None:
    found = refused(f"version: '2.0'\nwf:\n  tasks:\n    a: {task}\n")
    assert any(f == field and fragment in d for f, d in found), found


def test_defaults_transitions_name_tasks() -> None:
    found = refused(
        "version: '2.0'\nwf:\n  task-defaults: {on-success: [nope]}\n  tasks: {a: {}}\n"
    )
    assert found == [("task-defaults.on-success[0]", "no task 'nope'")]


def _documented(name: str) -> dsl.Workflow:
    doc = Path(__file__).resolve().parent.parent / "docs" / "workflow-language.md"
    blocks = [part.split("```", 1)[0] for part in doc.read_text("utf-8").split("```yaml\n")[1:]]
    (text,) = [b for b in blocks if f"\n{name}:\n" in b]
    return dsl.parse_workflow(text, SPECS)


def test_the_documented_examples_mean_what_the_doc_says() -> None:
    demo = _documented("defaults_demo")
    assert targets(demo.tasks["fetch"].on_error) == ["report"]
    assert demo.tasks["store"].retry == dsl.Retry(0, 0)
    assert targets(demo.tasks["report"].on_error) == []
    assert demo.start_tasks == ("fetch",)
    careful = _documented("careful_deploy")
    build, deploy = careful.tasks["build"], careful.tasks["deploy"]
    assert build.input_expression is not None and build.keep_result is False
    assert isinstance(deploy.pause_before, Expression)
    assert (deploy.safe_rerun, deploy.target, deploy.tags) == (True, "deploy-hosts", ("prod",))
