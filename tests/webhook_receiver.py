"""Helpers for the webhook dispatch tests: a recording receiver and ListenerService builders.

``WebhookReceiver`` is the ``AtomServer`` (a real HTTP server on 127.0.0.1) with three
additions: every path answers 200 unless told otherwise, a path can be given a *rule*
(a function of the request and how many requests that path saw before it) instead of a
fixed script, and every request is kept with its arrival time (``time.monotonic``).

Like every ``AtomServer``, it holds each request to a URL a listener was created for to
that listener's seed (``tests/seeds/hook.py``); the conftest fails the test on a violation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from google.protobuf.duration_pb2 import Duration
from standardwebhooks.webhooks import Webhook

from atom_server import AtomServer, RecordedRequest, Reply, _Handler
from engine_client import wait_for
from tidings.v1 import event_pb2, listener_pb2, listener_pb2_grpc
from tidings.vocab import method_enum, profile_enum

T = TypeVar("T")
PB = listener_pb2
RPC_TIMEOUT = 15.0
#: Loopback receivers need the server to allow-list them.
ALLOW_LOCAL = {"TIDINGS_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1/32"}
OK = Reply(200, b"ok")

Rule = Callable[[RecordedRequest, int], Reply]


@dataclass(frozen=True)
class Arrival:
    """One request as received, and when (``time.monotonic``)."""

    at: float
    request: RecordedRequest

    @property
    def path(self) -> str:
        return self.request.path

    @property
    def body(self) -> bytes:
        return self.request.body

    @property
    def webhook_id(self) -> str:
        return self.request.headers.get("webhook-id") or ""

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)

    def headers(self) -> dict[str, str]:
        """Headers with lower-cased names (the first value of each)."""
        out: dict[str, str] = {}
        for k, v in self.request.raw_headers:
            out.setdefault(k.lower(), v)
        return out


class _NoDelayHandler(_Handler):
    # The stdlib handler writes headers and body separately: with Nagle's algorithm on,
    # every answer on a kept-alive connection waits ~40 ms for a delayed ACK.
    disable_nagle_algorithm = True


class WebhookReceiver(AtomServer):
    """A recording HTTP receiver: 200 by default, scripted or rule-driven per path."""

    def __init__(self) -> None:
        super().__init__()
        self._httpd.RequestHandlerClass = _NoDelayHandler
        self._rules: dict[str, Rule] = {}
        self._seen: dict[str, int] = {}
        self._arrivals: list[Arrival] = []
        self._rlock = threading.Lock()

    def rule(self, path: str, decide: Rule) -> None:
        """Answer requests to ``path`` with ``decide(request, n)``, n counting from 0."""
        with self._rlock:
            self._rules[path] = decide

    def arrivals(self, path: str | None = None) -> list[Arrival]:
        """Requests (to ``path``, or all) in arrival order."""
        with self._rlock:
            found = list(self._arrivals)
        return [a for a in found if path is None or a.path == path]

    # AtomServer hooks --------------------------------------------------------------
    def _record(self, request: RecordedRequest) -> None:
        super()._record(request)
        with self._rlock:
            self._arrivals.append(Arrival(time.monotonic(), request))

    def _reply_for(self, request: RecordedRequest) -> Reply:
        with self._rlock:
            decide = self._rules.get(request.path)
            n = self._seen.get(request.path, 0)
            self._seen[request.path] = n + 1
        if decide is not None:
            return decide(request, n)
        with self._lock:
            scripted = request.path in self._scripts
        return super()._reply_for(request) if scripted else OK


# --- waits and checks -------------------------------------------------------------------

#: The webhook tests' name for `engine_client.wait_for`.
wait_until = wait_for


def verify(secret: str, arrival: Arrival) -> None:
    """Check the Standard Webhooks signature with the `standardwebhooks` package."""
    Webhook(secret).verify(arrival.body, arrival.headers(), json_parse=False)


def signatures(arrival: Arrival) -> list[str]:
    """The entries of the ``webhook-signature`` header."""
    return (arrival.header("webhook-signature") or "").split()


def first_arrivals(arrivals: Iterable[Arrival]) -> list[Arrival]:
    """The first request of each webhook id, in arrival order."""
    seen: set[str] = set()
    out = []
    for a in arrivals:
        if a.webhook_id not in seen:
            seen.add(a.webhook_id)
            out.append(a)
    return out


# --- the ListenerService --------------------------------------------------------------


def seconds(s: float) -> Duration:
    d = Duration()
    d.FromNanoseconds(round(s * 1e9))
    return d


def webhook_listener(
    name: str,
    url: str,
    *,
    profile: str = "mistral",
    workflows: Sequence[str] = (),
    categories: Sequence[PB.EventCategory.ValueType] = (),
    types: Sequence[event_pb2.EventType.ValueType] = (),
    method: str = "",
    headers: dict[str, str] | None = None,
    timeout: float | None = None,
    binary: bool = False,
    schedule: Sequence[float] = (),
    jitter: float | None = 0.0,
    disable_after: float | None = None,
) -> PB.Listener:
    """A webhook Listener message."""
    transport = PB.WebhookTransport(url=url, headers=headers or {})
    if method:  # unset: POST
        transport.method = method_enum(method)
    if timeout is not None:
        transport.timeout.CopyFrom(seconds(timeout))
    if binary:
        transport.cloudevents_mode = PB.CLOUD_EVENTS_MODE_BINARY
    listener = PB.Listener(name=name, profile=profile_enum(profile), webhook=transport)
    listener.filter.workflows.extend(workflows)
    listener.filter.categories.extend(categories)
    listener.filter.types.extend(types)
    listener.retry_policy.schedule.extend(seconds(s) for s in schedule)
    if jitter is not None:
        listener.retry_policy.jitter = jitter
    if disable_after is not None:
        listener.retry_policy.disable_after.CopyFrom(seconds(disable_after))
    return listener


class Listeners:
    """The ListenerService of one server."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = listener_pb2_grpc.ListenerServiceStub(channel)

    def create(self, listener: PB.Listener, secret: str = "") -> tuple[PB.Listener, str]:
        """CreateListener; the listener and its signing secret."""
        reply = self.stub.CreateListener(
            PB.CreateListenerRequest(listener=listener, signing_secret=secret),
            timeout=RPC_TIMEOUT,
        )
        return reply.listener, reply.signing_secret

    def get(self, listener_id: str) -> PB.Listener:
        return self.stub.GetListener(
            PB.GetListenerRequest(id=listener_id), timeout=RPC_TIMEOUT
        ).listener

    def delete(self, listener_id: str) -> None:
        self.stub.DeleteListener(PB.DeleteListenerRequest(id=listener_id), timeout=RPC_TIMEOUT)

    def deliveries(
        self,
        listener_id: str,
        *,
        event_id: str = "",
        state: PB.DeliveryState.ValueType = PB.DELIVERY_STATE_UNSPECIFIED,
    ) -> list[PB.Delivery]:
        """Every page of ListDeliveries."""
        out: list[PB.Delivery] = []
        token = ""
        for _ in range(1000):
            reply = self.stub.ListDeliveries(
                PB.ListDeliveriesRequest(
                    listener_id=listener_id, event_id=event_id, state=state,
                    page_size=200, page_token=token,
                ),
                timeout=RPC_TIMEOUT,
            )  # fmt: skip
            out += reply.deliveries
            token = reply.next_page_token
            if not token:
                return out
        raise AssertionError("ListDeliveries never ended")

    def redeliver(self, listener_id: str, event_id: str) -> int:
        return self.stub.RedeliverEvents(
            PB.RedeliverEventsRequest(listener_id=listener_id, event_id=event_id),
            timeout=RPC_TIMEOUT,
        ).queued

    def rotate(self, listener_id: str, grace: float | None = None) -> str:
        request = PB.RotateSecretRequest(id=listener_id)
        if grace is not None:
            request.grace_period.CopyFrom(seconds(grace))
        return self.stub.RotateSecret(request, timeout=RPC_TIMEOUT).signing_secret


def state_name(state: PB.DeliveryState.ValueType) -> str:
    return PB.DeliveryState.Name(state).removeprefix("DELIVERY_STATE_")


def describe(deliveries: Iterable[PB.Delivery]) -> list[tuple[str, int, str, list[Any]]]:
    """A readable summary of deliveries (for assertion messages)."""
    return [
        (d.execution_id[:8], d.sequence, state_name(d.state),
         [(a.http_status, a.error[:40]) for a in d.attempts])
        for d in deliveries
    ]  # fmt: skip
