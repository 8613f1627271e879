"""Mistral's expression functions in YAQL and Jinja (functions and filters), and their bounds."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tidings.engine.expressions import (
    ExpressionContext,
    ExpressionError,
    TaskView,
    compile_string,
    evaluate,
)
from tidings.engine.expressions.context import mistral_time
from tidings.engine.expressions.limits import MAX_TEXT
from tidings.engine.expressions.std_functions import dumped_size, json_dump, yaml_dump

T0 = 1_800_000_000.25  # 2027-01-15 08:00:00 UTC and a quarter second
DONE = TaskView(
    id="t-1", name="fetch", state="SUCCESS", result={"n": 1}, workflow_execution_id="ex-1",
    created_at=T0, updated_at=T0 + 2,
)  # fmt: skip
FAILED = TaskView(
    id="t-2", name="check", state="ERROR", state_info="boom", workflow_execution_id="ex-1",
    created_at=T0 + 3, updated_at=T0 + 4,
)  # fmt: skip
RUNNING_TASK = TaskView(id="t-3", name="later", state="RUNNING", workflow_execution_id="ex-1")
EXECUTION = {
    "id": "ex-1", "name": "wf", "input": {"order": 7}, "state": "RUNNING",
    "params": {"env": {"region": "eu"}}, "created_at": mistral_time(T0),
}  # fmt: skip
CTX = ExpressionContext(
    data={"a": {"b": [1, 2]}, "s": "x: 1\ny: [a, b]\n", "j": '{"k": [1, null, true]}'},
    tasks={"fetch": DONE, "check": FAILED},
    current_task="fetch",
    execution=EXECUTION,
    env={"region": "eu", "limits": {"n": 3}},
    all_tasks=lambda: [DONE, FAILED, RUNNING_TASK],
)


def run(text: str, ctx: ExpressionContext = CTX) -> Any:
    return evaluate(compile_string(text), ctx)


@pytest.mark.parametrize("text", ["<% env() %>", "{{ env() }}", "{{ _ | env }}"])
def test_env_is_the_executions_environment(text: str) -> None:
    assert run(text) == {"region": "eu", "limits": {"n": 3}}


def test_env_reads_through() -> None:
    assert run("<% env().limits.n %>") == 3
    assert run("{{ env().region }}") == "eu"
    assert run("<% env() %>", ExpressionContext()) == {}


def test_task_has_mistrals_fields() -> None:
    assert run("<% task(check) %>") == {
        "id": "t-2", "name": "check", "state": "ERROR", "state_info": "boom", "result": None,
        "published": {}, "type": "ACTION", "workflow_execution_id": "ex-1",
        "created_at": "2027-01-15 08:00:03", "updated_at": "2027-01-15 08:00:04",
    }  # fmt: skip
    assert run("{{ task().created_at }}") == "2027-01-15 08:00:00"
    assert run("{{ 'check' | task }}") == run("<% task(check) %>")


def test_tasks_lists_every_instance_in_creation_order() -> None:
    assert [t["id"] for t in run("<% tasks() %>")] == ["t-1", "t-2", "t-3"]
    assert [t["id"] for t in run("{{ tasks() }}")] == ["t-1", "t-2", "t-3"]
    assert [t["state"] for t in run("<% tasks('ex-1') %>")] == ["SUCCESS", "ERROR", "RUNNING"]


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("<% tasks(state => ERROR) %>", ["t-2"]),
        ("<% tasks(null, false, SUCCESS) %>", ["t-1"]),
        (
            "<% tasks(workflowExecutionId => 'ex-1', recursive => true, state => RUNNING) %>",
            ["t-3"],
        ),
        ("<% tasks('ex-1', true, null, true) %>", ["t-1", "t-2", "t-3"]),
        ("<% tasks(other) %>", []),
        ("{{ tasks(workflow_execution_id='ex-1', state='SUCCESS') }}", ["t-1"]),
        ("{{ tasks('other') }}", []),
        ("{{ 'ex-1' | tasks(state='ERROR') }}", ["t-2"]),
    ],
)
def test_tasks_filters_as_mistral(text: str, ids: list[str]) -> None:
    assert [t["id"] for t in run(text)] == ids


def test_execution_has_mistrals_fields() -> None:
    ex = run("<% execution() %>")
    assert {k: ex[k] for k in ("id", "name", "input", "state", "params", "created_at")} == {
        "id": "ex-1", "name": "wf", "input": {"order": 7}, "state": "RUNNING",
        "params": {"env": {"region": "eu"}}, "created_at": "2027-01-15 08:00:00",
    }  # fmt: skip
    assert run("{{ execution().params.env.region }}") == "eu"


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("<% executions() %>", 1),
        ("<% executions('ex-1') %>", 1),
        ("<% executions(other) %>", 0),
        ("<% executions(state => RUNNING) %>", 1),
        ("<% executions(state => SUCCESS) %>", 0),
        ("<% executions(fromTime => '2027-01-15 08:00:00') %>", 1),
        ("<% executions(fromTime => '2027-01-15T08:00:01') %>", 0),
        ("<% executions(toTime => '2027-01-15 08:00:00') %>", 0),
        ("<% executions(toTime => '2027-01-15T09:00:00+01:00') %>", 0),
        ("<% executions(toTime => '2027-01-15T10:00:00+01:00') %>", 1),
        ("{{ executions(from_time='2027-01-01', state='RUNNING') }}", 1),
        ("{{ executions(root_execution_id='x') }}", 0),
    ],
)
def test_executions_sees_its_own_execution(text: str, count: int) -> None:
    found = run(text)
    assert len(found) == count
    assert all(ex["id"] == "ex-1" for ex in found)


@pytest.mark.parametrize("text", ["<% uuid() %>", "{{ uuid() }}", "{{ _ | uuid }}"])
def test_uuid_is_a_new_uuid_each_time(text: str) -> None:
    first, second = run(text), run(text)
    assert str(uuid.UUID(first)) == first
    assert first != second


@pytest.mark.parametrize(
    "text", ["<% json_dump($.a) %>", "{{ json_dump(_.a) }}", "{{ _.a | json_dump }}"]
)
def test_json_dump_is_indented_by_four(text: str) -> None:
    assert run(text) == '{\n    "b": [\n        1,\n        2\n    ]\n}'


def test_json_dump_escapes_as_mistral() -> None:
    assert run("<% json_dump('中') %>") == '"\\u4e2d"'


@pytest.mark.parametrize(
    "text", ["<% json_parse($.j) %>", "{{ json_parse(_.j) }}", "{{ _.j | json_parse }}"]
)
def test_json_parse(text: str) -> None:
    assert run(text) == {"k": [1, None, True]}


@pytest.mark.parametrize(
    "text", ["<% yaml_dump($.a) %>", "{{ yaml_dump(_.a) }}", "{{ _.a | yaml_dump }}"]
)
def test_yaml_dump_is_block_style(text: str) -> None:
    assert run(text) == "b:\n- 1\n- 2\n"


def test_yaml_dump_sorts_keys_and_writes_no_aliases() -> None:
    ctx = ExpressionContext(data={"shared": [1], "z": 1, "a": 2})
    assert run("<% yaml_dump(dict(z => $.shared, a => $.shared)) %>", ctx) == ("a:\n- 1\nz:\n- 1\n")


@pytest.mark.parametrize(
    "text", ["<% yaml_parse($.s) %>", "{{ yaml_parse(_.s) }}", "{{ _.s | yaml_parse }}"]
)
def test_yaml_parse(text: str) -> None:
    assert run(text) == {"x": 1, "y": ["a", "b"]}


def test_yaml_parse_reads_anchors_and_aliases_as_text() -> None:
    # "Billion laughs": each alias would double the value; read as text it stays small.
    lines = ["a0: &a0 [x, x]"] + [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, 40)]
    ctx = ExpressionContext(data={"doc": "\n".join(lines)})
    parsed = run("<% yaml_parse($.doc) %>", ctx)
    assert parsed["a0"] == "&a0 [x, x]"
    assert parsed["a39"] == "&a39 [*a38, *a38]"


@pytest.mark.parametrize("text", ["<% json_pp($.a) %>", "{{ _.a | json_pp }}"])
def test_json_pp(text: str) -> None:
    assert run(text) == '{\n    "b": [\n        1,\n        2\n    ]\n}'


def test_json_pp_writes_line_breaks_and_defaults_to_the_context() -> None:
    ctx = ExpressionContext(data={"t": "a\nb"})
    assert run("<% json_pp() %>", ctx) == '{\n    "t": "a\nb"\n}'
    assert run("{{ json_pp() }}", ctx) == '{\n    "t": "a\nb"\n}'


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("<% json_parse('{') %>", "JSONDecodeError"),
        ("<% json_parse(1) %>", "takes a string"),
        ("<% yaml_parse('a: [') %>", "expected"),
    ],
)
def test_parse_errors_fail_the_expression(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError, match=fragment):
        run(text)


def _deep_wide(depth: int, width: int) -> Any:
    value: Any = ["x"] * width
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "text",
    [
        "<% json_dump($.deep) %>",
        "<% json_pp($.deep) %>",
        "<% yaml_dump($.deep) %>",
        "{{ _.deep | json_dump }}",
        "{{ yaml_dump(_.deep) }}",
        "<% json_dump($.long) %>",
        "{{ _.wide | yaml_dump }}",
    ],
)
def test_dumps_that_would_be_huge_are_refused(text: str) -> None:
    # Indentation grows with depth and escapes widen each character: small values, huge
    # text. Each is refused before anything is written.
    deep = _deep_wide(300, 20_000)
    assert len(json.dumps(deep, indent=4)) > MAX_TEXT  # the amplification is real
    ctx = ExpressionContext(
        data={"deep": deep, "long": ["\U0001f600" * 1_000_000], "wide": [" a" * 3_000_000]}
    )
    with pytest.raises(ExpressionError, match=f"larger than {MAX_TEXT} characters"):
        run(text, ctx)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=200),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(_JSON)
def test_the_size_estimate_is_never_below_the_dump(value: Any) -> None:
    assert dumped_size(value, 4) >= len(json_dump(value))
    assert dumped_size(value, 2, folding=True) >= len(yaml_dump(value))
    assert yaml.safe_load(yaml_dump(value)) == value


def test_jinja_cannot_reach_the_internal_context() -> None:
    with pytest.raises(ExpressionError):
        run("{{ _tidings }}")
