"""The action layer: std.http against a real HTTP atom server on 127.0.0.1, and std.*."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atom_server import ERROR_501, TEXT_BODY, AtomServer, Reply, unused_port
from tidings.engine.actions import (
    Action,
    ActionContext,
    ActionOutcome,
    ActionRegistry,
    HttpAction,
    HttpActionConfig,
    UnknownActionError,
    default_registry,
)
from tidings.engine.actions import http_response as actions_module

T = TypeVar("T")

FAST = HttpActionConfig(transport_retries=3, retry_delay=0.01)
CTX = ActionContext(
    execution_id="8a54c0f2-9927-44f4-953d-8ac72ef12230",
    task_id="eac1e35b-ff01-419d-bdf9-997155fdd3ba",
    task_name="A27510_7_68366_780_69844",
    atom_id="Network.Fix-L3-VPN.DCI-RESOURCE-PREEMPTION",
    attempt=2,
    is_async=False,
)
ASYNC_CTX = dataclasses.replace(CTX, is_async=True)
BODY = {"dispatchCode": "中国电信翼翮[2018]485号", "reqDate": "2018-04-17", "worktId": "20540"}
SEED_KEYS = ["status", "encoding", "url", "elapsed", "content", "headers"]


@pytest.fixture
def atoms() -> Iterator[AtomServer]:
    with AtomServer() as server:
        yield server


def run_action(
    name: str,
    params: Mapping[str, Any],
    ctx: ActionContext = CTX,
    config: HttpActionConfig = FAST,
) -> ActionOutcome:
    async def go() -> ActionOutcome:
        async with default_registry(config) as registry:
            return await registry.get(name).run(params, ctx)

    outcome = asyncio.run(go())
    json.dumps(outcome.result, allow_nan=False)  # always JSON
    json.dumps(outcome.request, allow_nan=False)
    return outcome


def http(params: Mapping[str, Any], **kw: Any) -> ActionOutcome:
    return run_action("std.http", params, **kw)


def result_of(outcome: ActionOutcome) -> dict[str, Any]:
    assert isinstance(outcome.result, dict)
    inner = outcome.result["result"]
    assert isinstance(inner, dict)
    return inner


def assert_fault(outcome: ActionOutcome, status: int) -> dict[str, Any]:
    assert outcome.state == "error"
    assert outcome.error and outcome.error.startswith(f"HTTP {status}")
    result = result_of(outcome)
    assert list(result) == ["status", "content"]
    assert result["status"] == status
    content = result["content"]
    assert isinstance(content, dict)
    fault = "http request error!" if status == 598 else "workflow engine internal error!"
    assert content["fault"] == fault
    assert isinstance(content["faultString"], str) and content["faultString"]
    return content


def cancel_after(delay: float, make: Callable[[], Awaitable[T]]) -> float:
    """Run ``make()`` and cancel it after ``delay``; asserts CancelledError; returns seconds."""

    async def go() -> float:
        task = asyncio.ensure_future(make())
        await asyncio.sleep(delay)
        started = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.perf_counter() - started

    return asyncio.run(go())


# --- std.http: answers -------------------------------------------------------------------
def test_json_success_has_the_seed_shape(atoms: AtomServer) -> None:
    url = atoms.url("/json")
    outcome = http({"url": url, "body": BODY, "headers": {"Accept": "application/json"}})
    assert outcome.state == "success" and outcome.error is None
    result = result_of(outcome)
    assert list(result) == SEED_KEYS
    assert result["status"] == 200
    assert result["encoding"] == "UTF-8"
    assert result["url"] == url
    assert isinstance(result["elapsed"], float) and 0 <= result["elapsed"] < 5
    assert result["elapsed"] == round(result["elapsed"], 6)
    assert result["content"] == {"code": 200}
    headers = result["headers"]
    assert headers["Content-Type"] == "application/json;charset=UTF-8"  # case as received
    assert headers["X-Application-Context"] == "ite-oss-apigateway:3101"
    assert "Date" in headers and "Content-Length" in headers
    # The request as seed 000's `input` convention, keys in the seed's order.
    assert outcome.request == {
        "body": BODY,
        "headers": {"Accept": "application/json", "Content-Type": "application/json"},
        "session": CTX.execution_id,
        "atom": CTX.atom_id,
        "url": url,
        "method": "post",
    }
    assert isinstance(outcome.request, dict)
    assert list(outcome.request) == ["body", "headers", "session", "atom", "url", "method"]
    (seen,) = atoms.requests_to("/json")
    assert seen.method == "POST"
    assert seen.json() == BODY
    assert seen.headers["Content-Type"] == "application/json"


def test_501_is_an_error_with_the_seed_shape(atoms: AtomServer) -> None:
    outcome = http({"url": atoms.url("/error501"), "method": "post", "body": BODY})
    assert outcome.state == "error"
    assert outcome.error is not None
    assert outcome.error.startswith("HTTP 501: ") and "链路带宽无法设置" in outcome.error
    result = result_of(outcome)
    assert list(result) == SEED_KEYS
    assert result["status"] == 501 and result["content"] == ERROR_501


def test_text_content(atoms: AtomServer) -> None:
    outcome = http({"url": atoms.url("/text")})
    assert outcome.state == "success"
    result = result_of(outcome)
    assert result["content"] == TEXT_BODY
    assert result["encoding"] == "UTF-8"  # the atom wrote "utf-8": one spelling
    assert atoms.requests_to("/text")[0].method == "GET"  # no body: GET


@pytest.mark.parametrize(
    ("reply", "content"),
    [
        (Reply(200, b'{"a": [1, 2]}', {"Content-Type": "text/plain"}), {"a": [1, 2]}),
        (Reply(200, b"123", {"Content-Type": "text/plain"}), "123"),
        (Reply(200, b"[1,", {"Content-Type": "text/plain"}), "[1,"),
        (Reply(200, b"7", {"Content-Type": "application/problem+json"}), 7),
        (Reply(204), ""),
        (Reply(200, "中文".encode("gbk"), {"Content-Type": "text/plain; charset=GBK"}), "中文"),
    ],
)
def test_content_parsing(atoms: AtomServer, reply: Reply, content: Any) -> None:
    atoms.script("/scripted", reply)
    outcome = http({"url": atoms.url("/scripted")})
    assert result_of(outcome)["content"] == content


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"[1,", "application/json"),
        (b'{"x": NaN}', "application/json; charset=utf-8"),
        (b"<html>oops</html>", "application/problem+json"),
        (b"  ", "application/json"),
    ],
)
def test_declared_json_that_does_not_parse_is_599(
    atoms: AtomServer, body: bytes, content_type: str
) -> None:
    # Seed 000: "解析原子能力返回值发生Exception" is the engine's 599, whatever the status.
    atoms.script("/scripted", Reply(200, body, {"Content-Type": content_type}))
    content = assert_fault(http({"url": atoms.url("/scripted")}), 599)
    assert content["faultString"].startswith(
        "parsing the atom's return value raised an exception: "
    )
    assert "orgRequest" not in content


@pytest.mark.parametrize(
    ("content_type", "encoding"),
    [
        ("application/json", "UTF-8"),
        ("application/json; charset=utf-8", "UTF-8"),
        ("application/json; charset=UTF8", "UTF-8"),
        ('application/json; charset="Utf-8"', "UTF-8"),
        ("application/json; charset=no-such-set", "UTF-8"),
        ("application/json; charset=gbk", "GBK"),
        ("text/plain; charset=GBK", "GBK"),
    ],
)
def test_encoding_has_one_spelling(atoms: AtomServer, content_type: str, encoding: str) -> None:
    atoms.script("/scripted", Reply(200, b"{}", {"Content-Type": content_type}))
    assert result_of(http({"url": atoms.url("/scripted")}))["encoding"] == encoding


def test_an_atom_timeout_and_a_completion_have_seed_000_results() -> None:
    action = HttpAction(FAST)
    params: dict[str, Any] = {"url": "http://127.0.0.1:9/atom?a=1", "method": "post", "body": BODY}
    content = assert_fault(action.timed_out(params, CTX, "task timed out after 1s"), 598)
    assert content["faultString"] == "POST http://127.0.0.1:9/atom?a=1: task timed out after 1s"
    assert content["orgRequest"] == {
        "url": "http://127.0.0.1:9/atom?a=1",
        "method": "post",
        "headers": {"Content-Type": "application/json"},
        "body": BODY,
    }
    done = action.completed(params, ASYNC_CTX, True, {"done": 1}, "", 2.5)
    assert done.state == "success"
    assert done.result == {
        "result": {"status": 200, "encoding": "UTF-8", "url": "http://127.0.0.1:9/atom?a=1",
                   "elapsed": 2.5, "content": {"done": 1}, "headers": {}}
    }  # fmt: skip
    failed = action.completed(params, ASYNC_CTX, False, None, "no way", 0.1)
    assert (failed.state, failed.error) == ("error", "no way")
    assert list(result_of(failed)) == SEED_KEYS
    assert result_of(failed)["status"] == 500 and result_of(failed)["content"] == ""


def test_success_statuses(atoms: AtomServer) -> None:
    assert http({"url": atoms.url("/error501"), "success_statuses": ["5xx"]}).state == "success"
    assert http({"url": atoms.url("/status/204"), "success_statuses": [200, "201-204"]}).state == (
        "success"
    )
    assert http({"url": atoms.url("/status/404"), "success_statuses": "404"}).state == "success"
    assert http({"url": atoms.url("/status/404")}).state == "error"
    assert http({"url": atoms.url("/json"), "success_statuses": [201]}).state == "error"
    for bad in ["abc", [], [700], [True], "3xx-4xx"]:
        content = assert_fault(http({"url": atoms.url("/json"), "success_statuses": bad}), 599)
        assert "success" in content["faultString"]


def test_headers_reach_the_atom(atoms: AtomServer) -> None:
    outcome = http(
        {
            "url": atoms.url("/json"),
            "method": "PUT",
            "headers": {"X-Custom": "v1", "X-Tidings-Task-Id": "forged", "X-Num": 5},
            "body": "plain 文本",
            "params": {"a": 1, "b": ["x", "y"], "skip": None},
        }
    )
    assert outcome.state == "success"
    (seen,) = atoms.requests_to("/json")
    assert seen.method == "PUT"
    assert seen.headers["X-Tidings-Task-Id"] == CTX.task_id  # the engine's, never the user's
    assert seen.headers["X-Tidings-Execution-Id"] == CTX.execution_id
    assert seen.headers["X-Tidings-Attempt"] == "2"
    assert seen.headers["X-Custom"] == "v1" and seen.headers["X-Num"] == "5"
    assert seen.headers["User-Agent"].startswith("tidings/")
    assert seen.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert seen.text == "plain 文本"
    assert seen.query == {"a": ["1"], "b": ["x", "y"]}
    assert isinstance(outcome.request, dict)
    assert outcome.request["method"] == "put"
    assert outcome.request["url"] == atoms.url("/json?a=1&b=x&b=y")


def test_one_pooled_client_keeps_the_connection(atoms: AtomServer) -> None:
    async def go() -> list[ActionOutcome]:
        async with HttpAction(FAST) as action:
            first = await action.run({"url": atoms.url("/json")}, CTX)
            (client,) = action._clients.values()
            second = await action.run({"url": atoms.url("/json")}, CTX)
            assert list(action._clients.values()) == [client]
        assert action._clients == {} and client.is_closed
        return [first, second]

    assert [o.state for o in asyncio.run(go())] == ["success", "success"]
    ports = {r.client_port for r in atoms.requests_to("/json")}
    assert len(ports) == 1  # one kept-alive connection


def test_verify_false_uses_a_separate_client(atoms: AtomServer) -> None:
    async def go() -> list[bool]:
        async with HttpAction(FAST) as action:
            for verify in (True, "false", False):
                outcome = await action.run({"url": atoms.url("/json"), "verify": verify}, CTX)
                assert outcome.state == "success"
            return sorted(action._clients)

    assert asyncio.run(go()) == [False, True]


def test_an_action_is_usable_after_aclose_and_on_a_new_loop(atoms: AtomServer) -> None:
    action = HttpAction(FAST)

    async def call_then_close() -> str:
        try:
            return (await action.run({"url": atoms.url("/json")}, CTX)).state
        finally:
            await action.aclose()

    assert asyncio.run(call_then_close()) == "success"
    assert asyncio.run(call_then_close()) == "success"
    asyncio.run(action.aclose())  # nothing open: a no-op


def test_redirect_is_not_followed_by_default(atoms: AtomServer) -> None:
    outcome = http({"url": atoms.url("/redirect")})
    assert outcome.state == "error" and outcome.error == "HTTP 302"
    result = result_of(outcome)
    assert result["status"] == 302 and result["headers"]["Location"] == "/json"
    assert atoms.requests_to("/json") == []

    followed = http({"url": atoms.url("/redirect"), "allow_redirects": True})
    assert followed.state == "success"
    assert result_of(followed)["url"] == atoms.url("/json")


def test_an_answer_too_large_is_refused(atoms: AtomServer) -> None:
    outcome = http({"url": atoms.url("/text")}, config=HttpActionConfig(max_response_bytes=4))
    assert "larger than 4 bytes" in assert_fault(outcome, 599)["faultString"]


# --- std.http: transport failures → 598 ----------------------------------------------------
def test_transport_retries_then_598(atoms: AtomServer) -> None:
    url = atoms.url("/flaky/k?fail=100")
    outcome = http({"url": url, "body": BODY, "headers": {"X-A": "b"}})
    content = assert_fault(outcome, 598)
    assert content["orgRequest"] == {
        "url": url,
        "method": "post",
        "headers": {"X-A": "b", "Content-Type": "application/json"},
        "body": BODY,
    }
    assert "3 retries (4 attempts)" in content["faultString"]
    assert "connection dropped" in content["faultString"]
    seen = atoms.requests_to("/flaky/k")
    assert len(seen) == 1 + FAST.transport_retries
    assert {r.headers["X-Tidings-Task-Id"] for r in seen} == {CTX.task_id}


def test_retry_count_is_configurable(atoms: AtomServer) -> None:
    config = HttpActionConfig(transport_retries=1, retry_delay=0.01)
    content = assert_fault(http({"url": atoms.url("/flaky/k?fail=100")}, config=config), 598)
    assert "1 retry (2 attempts)" in content["faultString"]
    assert len(atoms.requests_to("/flaky/k")) == 2
    none = HttpActionConfig(transport_retries=0)
    assert_fault(http({"url": atoms.url("/flaky/z?fail=100")}, config=none), 598)
    assert len(atoms.requests_to("/flaky/z")) == 1


def test_transport_failures_then_success(atoms: AtomServer) -> None:
    outcome = http({"url": atoms.url("/flaky/k?fail=2")})
    assert outcome.state == "success" and result_of(outcome)["content"] == {"code": 200}
    assert len(atoms.requests_to("/flaky/k")) == 3


def test_http_errors_are_not_retried(atoms: AtomServer) -> None:
    outcome = http({"url": atoms.url("/flaky/k?fail=5&how=503")})
    assert outcome.state == "error" and result_of(outcome)["status"] == 503
    assert len(atoms.requests_to("/flaky/k")) == 1


def test_unreachable_port_is_598() -> None:
    url = f"http://127.0.0.1:{unused_port()}/atom"
    content = assert_fault(http({"url": url}), 598)
    assert "connection failed" in content["faultString"]
    assert content["orgRequest"] == {"url": url, "method": "get", "headers": {}, "body": None}


def test_timeout_is_598(atoms: AtomServer) -> None:
    # Each of the four tries gives up at 0.2 s: the 3 s answer is never waited for.
    outcome = http({"url": atoms.url("/slow?seconds=3"), "timeout": 0.2})
    content = assert_fault(outcome, 598)
    assert "timeout" in content["faultString"] and "0.2 s" in content["faultString"]
    assert len(atoms.requests_to("/slow")) == 4


def test_dropped_connection_is_598(atoms: AtomServer) -> None:
    content = assert_fault(http({"url": atoms.url("/drop")}), 598)
    assert "connection dropped" in content["faultString"]
    assert len(atoms.requests_to("/drop")) == 4


# --- std.http: engine-side errors → 599 ----------------------------------------------------
@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"url": "not a url"}, "http://"),
        ({"url": "file:///etc/passwd"}, "https://"),
        ({"url": "ftp://127.0.0.1/x"}, "https://"),
        ({"url": "/relative"}, "http://"),
        ({"url": "http://"}, "no host"),
        ({"url": ""}, "'url'"),
        ({"url": 123}, "'url'"),
        ({}, "'url'"),
        ({"url": "http://127.0.0.1:1/", "method": "GE T"}, "method"),
        ({"url": "http://127.0.0.1:1/", "method": 5}, "method"),
        ({"url": "http://127.0.0.1:1/", "body": {"x": math.nan}}, "JSON"),
        ({"url": "http://127.0.0.1:1/", "body": {"x": {1, 2}}}, "JSON"),
        ({"url": "http://127.0.0.1:1/", "headers": ["a"]}, "headers"),
        ({"url": "http://127.0.0.1:1/", "headers": {"X-A": {"b": 1}}}, "X-A"),
        ({"url": "http://127.0.0.1:1/", "headers": {"X-A": "a\r\nb"}}, "line breaks"),
        ({"url": "http://127.0.0.1:1/", "headers": {"X-A": "中文"}}, "ASCII"),
        ({"url": "http://127.0.0.1:1/", "headers": {"X A": "a"}}, "header name"),
        ({"url": "http://127.0.0.1:1/", "timeout": 0}, "timeout"),
        ({"url": "http://127.0.0.1:1/", "timeout": "soon"}, "timeout"),
        ({"url": "http://127.0.0.1:1/", "allow_redirects": "maybe"}, "allow_redirects"),
        ({"url": "http://127.0.0.1:1/", "verify": "/etc/ca.pem"}, "verify"),
        ({"url": "http://127.0.0.1:1/", "urll": "x"}, "unknown parameter"),
    ],
)
def test_invalid_params_are_599(params: dict[str, Any], needle: str) -> None:
    content = assert_fault(http(params), 599)
    assert needle in content["faultString"]
    assert "orgRequest" not in content


def test_an_exception_while_parsing_is_599(
    atoms: AtomServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object) -> None:
        raise RuntimeError("解析失败")

    monkeypatch.setattr(actions_module, "_content", boom)
    content = assert_fault(http({"url": atoms.url("/json")}), 599)
    assert "RuntimeError: 解析失败" in content["faultString"]


def test_request_view_never_raises() -> None:
    action = HttpAction()
    view = action.request_view({"url": 5, "method": "PATCH", "body": [1]}, CTX)
    assert view == {
        "body": [1],
        "headers": {},
        "session": CTX.execution_id,
        "atom": CTX.atom_id,
        "url": 5,
        "method": "patch",
    }
    assert action.request_view({"url": "http://h/x", "body": "t"}, CTX) == {
        "body": "t",
        "headers": {"Content-Type": "text/plain; charset=utf-8"},
        "session": CTX.execution_id,
        "atom": CTX.atom_id,
        "url": "http://h/x",
        "method": "post",
    }


# --- std.http: async atoms -----------------------------------------------------------------
def test_async_atom_accepted_is_running(atoms: AtomServer) -> None:
    outcome = http({"url": atoms.url("/json"), "body": BODY}, ctx=ASYNC_CTX)
    assert outcome.state == "running" and outcome.error is None
    result = result_of(outcome)
    assert list(result) == SEED_KEYS and result["status"] == 200


def test_async_atom_failures_are_errors(atoms: AtomServer) -> None:
    assert http({"url": atoms.url("/error501")}, ctx=ASYNC_CTX).state == "error"
    assert_fault(http({"url": atoms.url("/drop")}, ctx=ASYNC_CTX), 598)


# --- cancellation --------------------------------------------------------------------------
def test_cancelling_a_call_propagates(atoms: AtomServer) -> None:
    async def call() -> ActionOutcome:
        async with HttpAction(FAST) as action:
            return await action.run({"url": atoms.url("/slow?seconds=5"), "timeout": 10}, CTX)

    # Bounds far below what finishing the call would take: cancelled, not waited for.
    assert cancel_after(0.3, call) < 3.0


def test_cancelling_during_retry_backoff_propagates() -> None:
    config = HttpActionConfig(transport_retries=3, retry_delay=30)

    async def call() -> ActionOutcome:
        async with HttpAction(config) as action:
            return await action.run({"url": f"http://127.0.0.1:{unused_port()}/"}, CTX)

    assert cancel_after(0.3, call) < 15.0


def test_cancelling_std_sleep_propagates() -> None:
    async def call() -> ActionOutcome:
        return await default_registry().get("std.sleep").run({"seconds": 30}, CTX)

    assert cancel_after(0.1, call) < 15.0


# --- std.* ---------------------------------------------------------------------------------
def test_std_actions() -> None:
    noop = run_action("std.noop", {})
    assert (noop.state, noop.result, noop.error, noop.request) == ("success", None, None, {})
    echo = run_action("std.echo", {"output": {"a": ["中", 1]}})
    assert (echo.state, echo.result) == ("success", {"a": ["中", 1]})
    assert echo.request == {"output": {"a": ["中", 1]}}
    assert run_action("std.echo", {}).result is None
    fail = run_action("std.fail", {})
    assert (fail.state, fail.error, fail.result) == ("error", "std.fail", None)
    fail = run_action("std.fail", {"message": "no", "error_data": {"code": 7}})
    assert (fail.state, fail.error, fail.result) == ("error", "no", {"code": 7})
    started = time.perf_counter()
    sleep = run_action("std.sleep", {"seconds": "0.05"})
    assert sleep.state == "success" and time.perf_counter() - started >= 0.05
    assert run_action("std.sleep", {"seconds": 0}).state == "success"


@pytest.mark.parametrize(
    ("name", "params", "needle"),
    [
        ("std.sleep", {"seconds": -1}, "seconds"),
        ("std.sleep", {"seconds": "x"}, "seconds"),
        ("std.sleep", {"seconds": True}, "seconds"),
        ("std.noop", {"x": 1}, "unknown parameter"),
        ("std.echo", {"out": 1}, "unknown parameter"),
    ],
)
def test_std_action_bad_params_are_errors(name: str, params: dict[str, Any], needle: str) -> None:
    outcome = run_action(name, params)
    assert outcome.state == "error" and outcome.error is not None and needle in outcome.error


# --- registry ------------------------------------------------------------------------------
def test_registry() -> None:
    registry = default_registry()
    names = ["std.async_noop", "std.echo", "std.email", "std.fail", "std.http", "std.javascript",
             "std.js", "std.mistral_http", "std.noop", "std.sleep", "std.ssh"]  # fmt: skip
    assert registry.names() == names
    assert "std.http" in registry and "std.nope" not in registry
    for name in registry.names():
        assert isinstance(registry.get(name), Action)
    with pytest.raises(KeyError) as info:
        registry.get("std.nope")
    assert isinstance(info.value, UnknownActionError)
    assert str(info.value) == ("unknown action 'std.nope'; known actions: " + ", ".join(names))
    with pytest.raises(ValueError, match="already registered"):
        registry.register(HttpAction())
    registry.register(HttpAction(FAST), replace=True)
    assert registry.check_params("std.http", ["url", "body"]) == []
    assert registry.check_params("std.http", ["body", "bdy"]) == [
        "missing required input 'url' of action 'std.http'",
        "unknown input 'bdy' of action 'std.http' (allowed: allow_redirects, body, headers,"
        " method, params, success_statuses, timeout, url, verify)",
    ]
    assert registry.check_params("std.noop", []) == []
    assert ActionRegistry().names() == []


def test_config_is_checked() -> None:
    with pytest.raises(ValueError):
        HttpActionConfig(transport_retries=-1)
    with pytest.raises(ValueError):
        HttpActionConfig(default_timeout=0)


# --- property: any JSON body reaches the atom intact ---------------------------------------
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    # Strings: any text without surrogates (not encodable as UTF-8).
    | st.text(st.characters(codec="utf-8"), max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def shared_atoms() -> Iterator[AtomServer]:
    with AtomServer() as server:
        yield server


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=json_values.filter(lambda v: v is not None and not isinstance(v, str)))
def test_any_json_body_round_trips(shared_atoms: AtomServer, body: Any) -> None:
    outcome = http({"url": shared_atoms.url("/echo"), "body": body})
    assert outcome.state == "success"
    echoed = result_of(outcome)["content"]
    assert echoed["method"] == "POST"
    assert json.loads(echoed["body"]) == body
    assert isinstance(outcome.request, dict) and outcome.request["body"] == body
