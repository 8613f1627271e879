"""Expressions are bounded: a time limit per evaluation, and sizes no one C-level call exceeds.

No test asserts on elapsed time: each asserts on the error and its message. Time limits
are small (0.2 s) to keep the runaways short; one case runs at the default limit.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import pytest

from tidings.engine.expressions import (
    DEFAULT_TIME_LIMIT_S,
    ExpressionContext,
    ExpressionError,
    compile_string,
    evaluate,
)
from tidings.engine.expressions.deadline import TimeLimitExceeded, within_time_limit

SHORT = ExpressionContext(data={"x": 1, "l": [1, 2, 3]}, time_limit_s=0.2)
TIME_LIMIT = r"took longer than its time limit of 0\.2 s \(expression_time_limit_s\)"

# The issue's expression: 9 million additions in yaql, minutes of CPU unbounded.
ISSUE_YAQL = "<% range(3000).select(range(3000).sum()).sum() %>"
JINJA_LOOPS = (
    "{% for i in range(100000) %}{% for j in range(100000) %}{{ i + j }}{% endfor %}{% endfor %}"
)


def run(text: str, ctx: ExpressionContext = SHORT) -> Any:
    return evaluate(compile_string(text), ctx)


def quick_expressions_still_work(ctx: ExpressionContext = SHORT, rounds: int = 300) -> None:
    # Many quick evaluations: a stray interruption left pending would land in one of them.
    for i in range(rounds):
        assert run("<% $.x + 1 %>", ctx) == 2
        assert run("{{ _.l | sum }}", ctx) == 6
        assert run(f"<% {i} * 2 %>", ctx) == i * 2


# ------------------------------------------------------------------ the time limit


def test_the_default_time_limit_is_one_second() -> None:
    assert DEFAULT_TIME_LIMIT_S == 1.0
    assert ExpressionContext().time_limit_s == DEFAULT_TIME_LIMIT_S


def test_the_issues_yaql_runaway_stops_at_the_default_limit() -> None:
    with pytest.raises(ExpressionError) as info:
        run(ISSUE_YAQL, ExpressionContext())
    assert info.value.expression == ISSUE_YAQL
    assert info.value.message == (
        "expression took longer than its time limit of 1 s (expression_time_limit_s)"
    )
    quick_expressions_still_work(ExpressionContext(data={"x": 1, "l": [1, 2, 3]}))


@pytest.mark.parametrize(
    "text",
    [
        ISSUE_YAQL,
        "<% sequence().where($ < 0).first() %>",  # an endless generator
        "<% range(10000).select(range(10000).len()).len() %>",
        "<% 1.repeat().len() %>",
        "prefix <% range(3000).select(range(3000).sum()).sum() %> suffix",
        JINJA_LOOPS,
        "{{ range(100000) | map('string') | join(',') | length }}{% for i in range(99999) %}"
        "{% for j in range(99999) %}{% endfor %}{% endfor %}",
        "{{ range(99999) | map('string') | list | sort | sort(reverse=true) | first }}"
        "{% for j in range(99999) %}{% for k in range(99999) %}{% endfor %}{% endfor %}",
    ],
)
def test_runaways_fail_naming_the_time_limit(text: str) -> None:
    with pytest.raises(ExpressionError, match=TIME_LIMIT) as info:
        run(text)
    assert info.value.expression == text
    quick_expressions_still_work(rounds=20)


def test_a_timeout_leaves_nothing_behind_on_the_thread() -> None:
    for _ in range(3):
        with pytest.raises(ExpressionError, match=TIME_LIMIT):
            run(JINJA_LOOPS)
        quick_expressions_still_work()


def test_the_limit_applies_on_any_thread() -> None:
    outcomes: list[BaseException | str] = []

    def work() -> None:
        try:
            run(ISSUE_YAQL)
        except BaseException as exc:  # collected and checked on the main thread
            outcomes.append(exc)
        try:
            quick_expressions_still_work()
            outcomes.append("quick ones fine")
        except BaseException as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(errors) == 3
    for error in errors:
        assert isinstance(error, ExpressionError)
        assert "time limit of 0.2 s" in error.message
    assert outcomes.count("quick ones fine") == 3


def test_a_slow_thread_does_not_stop_a_quick_one() -> None:
    slow_error: list[BaseException] = []

    def slow() -> None:
        try:
            run(JINJA_LOOPS)
        except BaseException as exc:
            slow_error.append(exc)

    thread = threading.Thread(target=slow)
    thread.start()
    quick_expressions_still_work(ExpressionContext(data={"x": 1, "l": [1, 2, 3]}), rounds=200)
    thread.join()
    assert len(slow_error) == 1
    assert isinstance(slow_error[0], ExpressionError)


def test_each_expression_of_a_value_has_its_own_limit() -> None:
    compiled = compile_string("<% $.x %>")
    assert evaluate({"a": compiled, "b": [compiled, "lit"]}, SHORT) == {"a": 1, "b": [1, "lit"]}
    with pytest.raises(ExpressionError, match=TIME_LIMIT) as info:
        evaluate({"a": compiled, "b": compile_string(ISSUE_YAQL)}, SHORT)
    assert info.value.expression == ISSUE_YAQL


def test_no_limit_is_inf_and_a_limit_must_be_positive() -> None:
    assert run("<% 1 + 1 %>", ExpressionContext(time_limit_s=math.inf)) == 2
    for bad in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match="time_limit_s must be more than 0"):
            ExpressionContext(time_limit_s=bad)


def test_swallowing_the_interruption_does_not_escape_the_limit() -> None:
    # Code that catches everything (BaseException included) is fired at again until it
    # gives up; and it fails even if it then returns a value.
    def stubborn(rounds: int) -> str:
        caught = 0
        while caught < rounds:
            try:
                while True:
                    pass
            except BaseException:
                caught += 1
        return "finished anyway"

    with pytest.raises(TimeLimitExceeded) as info:
        within_time_limit(0.1, stubborn, 2)
    assert info.value.limit_s == 0.1
    quick_expressions_still_work()


def test_nested_evaluation_runs_under_the_outer_limit() -> None:
    inner = compile_string("<% $.x %>")

    def outer(ctx: ExpressionContext) -> Any:
        value = evaluate(inner, ctx)  # nested: does not re-arm or disarm
        return value, run(ISSUE_YAQL, ctx)

    with pytest.raises(TimeLimitExceeded):
        within_time_limit(0.3, outer, ExpressionContext(time_limit_s=30.0, data={"x": 1}))
    quick_expressions_still_work()
