"""The webhook sink against a real HTTP server on 127.0.0.1: answers, errors, the guard."""

from __future__ import annotations

import asyncio

from atom_server import AtomServer, Reply
from tidings.dispatch.webhook.sink import Attempt, WebhookSink
from tidings.net import DestinationGuard


def deliver(sink_guard: DestinationGuard, url: str, timeout: float = 5.0) -> Attempt:
    async def main() -> Attempt:
        sink = WebhookSink(sink_guard)
        try:
            return await sink.deliver(url, "POST", {"x-test": "1"}, b'{"a":1}', timeout)
        finally:
            await sink.aclose()

    return asyncio.run(main())


def test_answers_statuses_snippets_and_retry_after() -> None:
    allow = DestinationGuard(["127.0.0.1/32"])
    with AtomServer() as rx:
        rx.script("/ok", Reply(204))
        rx.script("/busy", Reply(429, "slow down", {"Retry-After": "7"}))
        rx.script("/big", Reply(500, "x" * 5000))
        rx.script("/hang", Reply(200, delay=3))
        ok = deliver(allow, rx.url("/ok"))
        busy = deliver(allow, rx.url("/busy"))
        big = deliver(allow, rx.url("/big"))
        hang = deliver(allow, rx.url("/hang"), timeout=0.5)
        sent = rx.requests_to("/ok")[0]
    assert (ok.ok, ok.status) == (True, 204)
    assert sent.headers.get("x-test") == "1" and sent.json() == {"a": 1}
    assert (busy.ok, busy.status, busy.retry_after) == (False, 429, 7.0)
    assert busy.snippet == "slow down"
    assert big.status == 500 and len(big.snippet) == 1024
    assert hang.status == 0 and "timed out" in hang.error


def test_private_destinations_are_refused_at_connect_time() -> None:
    strict = DestinationGuard()
    with AtomServer() as rx:
        rx.script("/ok", Reply(200))
        port = rx.url("/ok").rsplit(":", 1)[1]
        literal = deliver(strict, rx.url("/ok"))
        by_name = deliver(strict, f"http://localhost:{port}")
        assert rx.requests_to("/ok") == []  # nothing reached the receiver
    assert not literal.ok and "loopback" in literal.error
    assert not by_name.ok and "refused" in by_name.error


def test_unreachable_port_is_an_error_not_an_exception() -> None:
    from atom_server import unused_port

    attempt = deliver(DestinationGuard(["127.0.0.1/32"]), f"http://127.0.0.1:{unused_port()}/")
    assert not attempt.ok and attempt.status == 0 and attempt.error
