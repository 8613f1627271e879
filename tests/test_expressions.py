"""Expressions: YAQL <% %> and Jinja {{ }} compile once, evaluate to plain JSON values."""

from __future__ import annotations

import datetime
import json
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tidings.engine.expressions import (
    Expression,
    ExpressionContext,
    ExpressionError,
    ExpressionSyntaxError,
    TaskView,
    compile_string,
    compile_value,
    evaluate,
    has_expression,
    to_jsonable,
)

DATA = {
    "x": 1,
    "name": "vpn",
    "l": [1, 2, 3],
    "d": {"a": "中文", "n": None},
    "ok": True,
}
FETCH = TaskView(
    id="t-1",
    name="fetch",
    state="SUCCESS",
    result={"status": 200, "content": {"id": "r-9", "items": [1, 2]}},
    published={"rid": "r-9"},
)
FAILED = TaskView(id="t-2", name="check", state="ERROR", result={"status": 598}, state_info="boom")
CTX = ExpressionContext(
    data=DATA,
    tasks={"fetch": FETCH, "check": FAILED},
    current_task="fetch",
    execution={"id": "ex-1", "input": {"order": 7}},
)


def run(text: str, ctx: ExpressionContext = CTX) -> object:
    return evaluate(compile_string(text), ctx)


# ------------------------------------------------------------------ classification


@pytest.mark.parametrize(
    ("text", "language", "whole"),
    [
        ("<% $.x %>", "yaql", True),
        ("<%$.x%>", "yaql", True),
        ("a <% $.x %>", "yaql", False),
        (" <% $.x %>", "yaql", False),  # surrounding text, even a space, makes it a string
        ("<% $.x %><% $.x %>", "yaql", False),
        ("{{ _.x }}", "jinja", True),
        ("{{- _.x -}}", "jinja", True),
        ("{{ _.x }} ", "jinja", False),
        ("{{ _.x }}{{ _.x }}", "jinja", False),
        ("{% if _.ok %}y{% endif %}", "jinja", False),
        ("{{ {'a': {'b': 1}} }}", "jinja", True),
    ],
)
def test_classification(text: str, language: str, whole: bool) -> None:
    compiled = compile_string(text)
    assert isinstance(compiled, Expression)
    assert (compiled.source, compiled.language, compiled.whole) == (text, language, whole)


@pytest.mark.parametrize("text", ["", "plain", "100%", "a < b % c", "{ not: jinja }", "} }}"])
def test_plain_strings_stay_strings(text: str) -> None:
    assert compile_string(text) == text
    assert not isinstance(compile_string(text), Expression)
    assert run(text) == text


def test_has_expression() -> None:
    assert has_expression("x <% 1 %>")
    assert has_expression("{{ 1 }}")
    assert has_expression("{% raw %}")
    assert has_expression("<% unterminated")
    assert not has_expression("50% off {x}")


def test_expressions_compare_by_source_and_are_cached() -> None:
    a, b = compile_string("<% $.x %>"), compile_string("<% $.x %>")
    assert a == b and hash(a) == hash(b)
    assert a is b  # the cache makes re-parsing a definition cheap
    assert compile_string("<% $.x %>") != compile_string("<% $.x  %>")


# ------------------------------------------------------------------------ syntax


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("<% 1 + %>", "unexpected end of statement"),
        ("<% $.x ) %>", "unexpected ')'"),
        ("<% %>", "unexpected end of statement"),
        ("<% $.x % %>", "illegal character"),
        ("<% $.x", "'<%' without a closing '%>'"),
        ("ok <% 1 %> then <% 2", "'<%' without a closing '%>'"),
        ("{{ 1 + }}", "unexpected"),
        ("{{ _.x", "unexpected end of template"),
        ("{% if _.x %}", "endif"),
        ("{{ _.x | no_such_filter }}", "No filter named 'no_such_filter'"),
        ("{{ _.x is no_such_test }}", "No test named 'no_such_test'"),
        ("<% $.x %> and {{ _.x }}", "not both"),
    ],
)
def test_syntax_errors_name_expression_and_parser_message(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        compile_string(text)
    assert info.value.expression == text
    assert fragment in info.value.message
    assert text in str(info.value)
    assert isinstance(info.value, ValueError)


def test_multiline_jinja_syntax_error_names_the_line() -> None:
    with pytest.raises(ExpressionSyntaxError, match=r"line 2"):
        compile_string("first {{ _.x }}\nsecond {{ _.y ")


# ------------------------------------------------------------------------- YAQL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<% $.x %>", 1),
        ("<% $.x + 1 %>", 2),
        ("<% $.name %>", "vpn"),
        ("<% $.l %>", [1, 2, 3]),
        ("<% $.d %>", {"a": "中文", "n": None}),
        ("<% $.l.where($ > 1) %>", [2, 3]),
        ("<% $.l.select($ * 2) %>", [2, 4, 6]),
        ("<% $.ok and $.x = 1 %>", True),
        ("<% null %>", None),
        ("<% 1.5 %>", 1.5),
        ("<% {a => [1, 2]} %>", {"a": [1, 2]}),
        ("<% set(1, 2) %>", [1, 2]),
        ("<% len($.l) %>", 3),
        ("<% $ %>", DATA),
    ],
)
def test_yaql_whole_expression_gives_raw_value(text: str, expected: object) -> None:
    assert run(text) == expected


def test_yaql_results_are_plain_python() -> None:
    result = run("<% dict(a => list(1, 2), b => {c => 3}) %>")
    assert result == {"a": [1, 2], "b": {"c": 3}}
    assert type(result) is dict
    assert isinstance(result, dict)
    assert type(result["a"]) is list
    assert type(result["b"]) is dict
    json.dumps(result)


def test_yaql_non_string_keys_become_json_keys() -> None:
    assert run("<% {2 => a, true => b, null => c} %>") == {"2": "a", "true": "b", "null": "c"}


def test_yaql_dates_become_iso_strings() -> None:
    result = run("<% now() %>")
    assert isinstance(result, str)
    datetime.datetime.fromisoformat(result)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id-<% $.x %>", "id-1"),
        ("<% $.name %>/<% $.x %>", "vpn/1"),
        ("list <% $.l %>", "list [1, 2, 3]"),
        ("map <% $.d %>", 'map {"a": "中文", "n": null}'),  # JSON, not Python repr
        ("<% $.ok %>!", "True!"),
        ("<% null %>!", "None!"),
        ("multi\nline <% $.x %>", "multi\nline 1"),
    ],
)
def test_yaql_interpolation(text: str, expected: str) -> None:
    assert run(text) == expected


def test_yaql_task_function() -> None:
    assert run("<% task(fetch).result.status %>") == 200
    assert run("<% task('fetch').result.content.items[1] %>") == 2
    assert run("<% task(check).state %>") == "ERROR"
    assert run("<% task(check).state_info %>") == "boom"
    assert run("<% task(fetch).published.rid %>") == "r-9"
    assert run("<% task(fetch) %>") == {
        "id": "t-1",
        "name": "fetch",
        "state": "SUCCESS",
        "state_info": None,
        "result": FETCH.result,
        "published": {"rid": "r-9"},
        "type": "ACTION",
        "workflow_execution_id": "",
        "created_at": None,
        "updated_at": None,
    }


def test_yaql_task_without_name_is_the_current_task() -> None:
    assert run("<% task().id %>") == "t-1"
    assert run("<% task().result.content.id %>") == "r-9"


def test_task_of_an_unknown_task_is_null_as_in_mistral() -> None:
    assert run("<% task(nope) %>") is None
    assert run("<% task(nope) = null %>") is True
    assert run("{{ task('nope') }}") is None


def test_task_without_a_current_task_is_an_error() -> None:
    ctx = ExpressionContext(data={}, tasks={"fetch": FETCH})
    with pytest.raises(ExpressionError, match="only valid inside a task"):
        run("<% task() %>", ctx)
    with pytest.raises(ExpressionError, match="only valid inside a task"):
        run("{{ task() }}", ctx)


def test_yaql_execution_function() -> None:
    assert run("<% execution().id %>") == "ex-1"
    assert run("<% execution().input.order %>") == 7


def test_yaql_cannot_reach_the_internal_context() -> None:
    with pytest.raises(ExpressionSyntaxError):
        compile_string("<% $#tidings %>")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("<% $.missing %>", "no key 'missing'"),
        ("<% 1 / 0 %>", "ZeroDivisionError"),
        ("<% $.l[10] %>", "IndexError"),
        ("<% $.x.y %>", "Unknown function"),
        ("<% no_such_function() %>", "no_such_function"),
        ("<% int('x') %>", "ValueError"),
        ("<% task(1) %>", "task name"),
        ("text <% $.missing %>", "no key 'missing'"),
    ],
)
def test_yaql_evaluation_errors_name_the_expression(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        run(text)
    assert info.value.expression == text
    assert fragment in info.value.message
    assert isinstance(info.value, ValueError)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("<% range(0, 100000000).sum() %>", "collection larger than"),
        ("<% range(0, 100000000).select($ * 2).where($ < 0).first(null) %>", "larger than"),
        ("<% list(range(0, 1000000)) %>", "larger than"),
        ("<% 'a' * 100000000 %>", "MemoryQuota"),
        ("<% pow(10, 100000000) %>", "pow() result larger"),
        ("<% shiftBitsLeft(1, 100000000000) %>", "shiftBitsLeft() result larger"),
    ],
)
def test_yaql_expressions_cannot_exhaust_the_engine(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError, match=None) as info:
        run(text)
    assert fragment in info.value.message


def test_yaql_bounded_functions_still_work_when_small() -> None:
    assert run("<% pow(2, 10) %>") == 1024
    assert run("<% pow(2, 10, 7) %>") == 2
    assert run("<% pow(4.0, 0.5) %>") == 2.0
    assert run("<% shiftBitsLeft(1, 4) %>") == 16
    assert run("<% range(0, 100).sum() %>") == 4950


# ------------------------------------------------------------------------ Jinja


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ _.x }}", 1),
        ("{{ _.x + 1 }}", 2),
        ("{{ _.l }}", [1, 2, 3]),
        ("{{ _.d }}", {"a": "中文", "n": None}),
        ("{{ _.d.n }}", None),
        ("{{ _.ok }}", True),
        ("{{ _.l | select('odd') | list }}", [1, 3]),
        ("{{ _.l | map('string') | join(',') }}", "1,2,3"),
        ("{{ (1, 2) }}", [1, 2]),
        ("{{ range(3) }}", [0, 1, 2]),
        ("{{ _.l | select('odd') }}", [1, 3]),  # a generator becomes a list
        ("{{- _.x -}}", 1),
        ("{{ task('fetch').result.status }}", 200),
        ("{{ task().result.content.id }}", "r-9"),
        ("{{ task('check').state }}", "ERROR"),
        ("{{ execution().input.order }}", 7),
    ],
)
def test_jinja_whole_expression_gives_raw_value(text: str, expected: object) -> None:
    assert run(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id-{{ _.x }}", "id-1"),
        ("{{ _.name }}/{{ _.x }}", "vpn/1"),
        ("list {{ _.l }}", "list [1, 2, 3]"),
        ("map {{ _.d }}", 'map {"a": "中文", "n": null}'),
        ("{% if _.ok %}yes{% else %}no{% endif %}", "yes"),
        ("{% for i in _.l %}{{ i }};{% endfor %}", "1;2;3;"),
        ("{# note #}{{ _.x }}", "1"),
        ("status={{ task('fetch').result.status }}", "status=200"),
    ],
)
def test_jinja_templates_render_strings(text: str, expected: str) -> None:
    assert run(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{{ _.missing }}", "undefined"),
        ("x {{ _.missing }}", "undefined"),
        ("{{ _.missing.deeper }}", "undefined"),
        ("{{ nothing }}", "undefined"),
        ("{{ _.l.append(4) }}", "unsafe"),  # the immutable sandbox
        ("{{ _.d.update({'a': 1}) }}", "unsafe"),
        ("{{ _.__class__ }}", "unsafe"),
        ("{{ range(10000000) }}", "MAX_RANGE"),
        ("{{ 'a' * 100000000 }}", "repetition result larger"),
        ("{{ [1] * 100000000 }}", "repetition result larger"),
        ("{{ 10 ** 100000000 }}", "power result larger"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{{ lipsum }}", "not JSON-able"),
    ],
)
def test_jinja_evaluation_errors(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        run(text)
    assert info.value.expression == text
    assert fragment in info.value.message


def test_jinja_bounds_allow_small_values() -> None:
    assert run("{{ 'ab' * 3 }}") == "ababab"
    assert run("{{ 3 * 'ab' }}") == "ababab"
    assert run("{{ 2 ** 10 }}") == 1024
    assert run("{{ 2.0 * 1.5 }}") == 3.0


def test_jinja_cannot_mutate_the_context() -> None:
    data = {"l": [1], "d": {"a": 1}}
    ctx = ExpressionContext(data=data)
    result = run("{{ _.l }}", ctx)
    assert isinstance(result, list)
    result.append(2)
    assert data == {"l": [1], "d": {"a": 1}}


# ---------------------------------------------------------------- compile_value


def test_compile_value_walks_mappings_and_lists() -> None:
    compiled = compile_value(
        {
            "url": "http://atom/<% $.name %>",
            "body": {"id": "<% $.x %>", "tags": ["{{ _.name }}", "static", 3, None, True]},
            "n": 1.5,
        }
    )
    assert isinstance(compiled, dict)
    assert isinstance(compiled["url"], Expression)
    body = compiled["body"]
    assert isinstance(body, dict)
    assert isinstance(body["id"], Expression)
    assert body["tags"][1:] == ["static", 3, None, True]
    assert evaluate(compiled, CTX) == {
        "url": "http://atom/vpn",
        "body": {"id": 1, "tags": ["vpn", "static", 3, None, True]},
        "n": 1.5,
    }


def test_compile_value_turns_tuples_into_lists() -> None:
    assert compile_value(("a", 1)) == ["a", 1]


def test_compile_value_raises_on_the_first_syntax_error() -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        compile_value({"ok": "<% $.x %>", "bad": ["fine", "<% 1 + %>"]})
    assert info.value.expression == "<% 1 + %>"


def test_compile_value_rejects_non_json_types() -> None:
    with pytest.raises(TypeError):
        compile_value({"x": object()})


def test_evaluate_copies_literals() -> None:
    compiled = compile_value({"a": [1, {"b": 2}]})
    first = evaluate(compiled, CTX)
    first["a"][1]["b"] = 99
    assert evaluate(compiled, CTX) == {"a": [1, {"b": 2}]}


def test_evaluate_names_the_failing_expression_in_a_tree() -> None:
    compiled = compile_value({"a": "<% $.x %>", "b": {"c": "<% $.nope %>"}})
    with pytest.raises(ExpressionError) as info:
        evaluate(compiled, CTX)
    assert info.value.expression == "<% $.nope %>"


# --------------------------------------------------------------------- context


def test_context_defaults_are_empty() -> None:
    ctx = ExpressionContext()
    assert run("<% $ %>", ctx) == {}
    assert run("{{ _ }}", ctx) == {}
    assert run("<% execution() %>", ctx) == {}


def test_one_context_serves_many_expressions() -> None:
    ctx = ExpressionContext(data={"x": 2}, tasks={"fetch": FETCH}, current_task="fetch")
    for _ in range(3):
        assert run("<% $.x * 2 %>", ctx) == 4
        assert run("<% task().result.status %>", ctx) == 200


def test_evaluation_is_thread_safe() -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            ctx = ExpressionContext(data={"n": n})
            for i in range(50):
                source = f"<% $.n + {i} %>"
                assert evaluate(compile_string(source), ctx) == n + i
                assert run("{{ _.n * 2 }}", ctx) == n * 2
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors


# ------------------------------------------------------------------ to_jsonable


def test_to_jsonable_conversions() -> None:
    assert to_jsonable({1: (1, 2), "s": {3}}) == {"1": [1, 2], "s": [3]}
    assert to_jsonable(datetime.date(2018, 4, 18)) == "2018-04-18"
    assert to_jsonable(datetime.timedelta(minutes=1)) == 60.0
    assert to_jsonable(iter([1, 2])) == [1, 2]
    with pytest.raises(TypeError):
        to_jsonable(object())
    with pytest.raises(TypeError):
        to_jsonable({(1, 2): 3})


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)  # what the store holds exactly (see below)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a stall is no failure
@given(json_values)
def test_data_round_trips_through_both_languages(value: object) -> None:
    ctx = ExpressionContext(data={"v": value})
    assert run("<% $.v %>", ctx) == value
    assert run("{{ _.v }}", ctx) == value


@given(st.integers(2**63, 2**200) | st.integers(-(2**200), -(2**63) - 1))
def test_results_beyond_64_bits_are_refused_naming_where(n: int) -> None:
    ctx = ExpressionContext(data={"v": {"a": [1, n]}})
    for source in ("<% $.v %>", "{{ _.v }}"):
        with pytest.raises(ExpressionError, match=r"result\.a\[1\]: .*signed 64-bit range"):
            run(source, ctx)
    assert run("<% str($.v.a[1]) %>", ctx) == str(n)  # as text it is kept exactly


def test_results_json_cannot_hold_are_refused() -> None:
    for source, why in [
        ("{{ 1e308 * 10 }}", "not a finite number"),
        ("<% float('nan') %>", "not a finite number"),
        ("{{ '\\ud800' }}", "lone surrogate"),
        ("<% " + "list(" * 33 + "1" + ")" * 33 + " %>", "deeper than 32 levels"),
    ]:
        with pytest.raises(ExpressionError, match=why):
            run(source, ExpressionContext())


def test_an_expression_nested_too_deeply_to_compile_is_a_syntax_error() -> None:
    with pytest.raises(ExpressionSyntaxError, match="nested too deeply"):
        compile_string("{{ " + "[" * 400 + "1" + "]" * 400 + " }}")


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a stall is no failure
@given(st.text(max_size=40))
def test_any_string_compiles_or_raises_a_syntax_error(text: str) -> None:
    try:
        compiled = compile_string(text)
    except ExpressionSyntaxError:
        return
    if not isinstance(compiled, Expression):
        assert compiled == text
        assert not has_expression(text)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a stall is no failure
# (No lone surrogates: a result holding one is refused, as UTF-8 cannot encode it.)
@given(
    st.text(
        alphabet=st.characters(blacklist_characters="<%>{}#", codec="utf-8"),
        max_size=30,
    )
)
def test_text_without_delimiters_is_never_an_expression(text: str) -> None:
    assert compile_string(text) == text
    assert run(f"<% $.s %>{text}", ExpressionContext(data={"s": "x"})) == f"x{text}"
