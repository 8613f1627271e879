"""ListenerService over real gRPC, against a real `tidings serve` and real HTTP receivers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import grpc
import orjson
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from engine_client import WPB, EngineClient, rpc_failure, unique, workflow_yaml
from seeds import hook as seed_hook
from tidings.v1 import event_pb2, execution_pb2, listener_pb2, listener_pb2_grpc
from tidings.vocab import method_enum, profile_enum
from tidings_process import TidingsProcess

PB = listener_pb2
XPB = execution_pb2
ALLOW_LOCAL = {"TIDINGS_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1/32"}


class Receiver:
    """An HTTP server on 127.0.0.1 that records requests and answers 200 "pong"."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                outer.requests.append((self.command, headers, body))
                port = outer.server.server_address[1]
                seed_hook.check_request(int(port), self.command, self.path, headers, body)
                self.send_response(200)
                self.send_header("content-length", "4")
                self.end_headers()
                self.wfile.write(b"pong")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        seed_hook.forget_port(int(self.server.server_address[1]))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/tidings"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TidingsProcess]:
    with TidingsProcess(tmp_path_factory.mktemp("listeners") / "data", env=ALLOW_LOCAL) as proc:
        yield proc


@pytest.fixture(scope="module")
def stub(server: TidingsProcess) -> Iterator[listener_pb2_grpc.ListenerServiceStub]:
    with grpc.insecure_channel(server.address) as channel:
        yield listener_pb2_grpc.ListenerServiceStub(channel)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def seconds(s: float) -> Duration:
    d = Duration()
    d.FromNanoseconds(round(s * 1e9))
    return d


def webhook(url: str, **kw: Any) -> PB.Listener:
    return PB.Listener(name="orders", profile=profile_enum("mistral"), enabled=True,
                       webhook=PB.WebhookTransport(url=url, **kw))  # fmt: skip


def bad_request(err: grpc.RpcError) -> list[str]:
    """The field paths of the google.rpc.BadRequest detail of an INVALID_ARGUMENT error."""
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err
    status = rpc_status.from_call(cast(grpc.Call, err))  # a client RpcError is a Call
    assert status is not None
    detail = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(detail)
    return [v.field for v in detail.field_violations]


def descriptions(err: grpc.RpcError) -> dict[str, str]:
    status = rpc_status.from_call(cast(grpc.Call, err))  # a client RpcError is a Call
    assert status is not None
    detail = error_details_pb2.BadRequest()
    status.details[0].Unpack(detail)
    return {v.field: v.description for v in detail.field_violations}


def test_create_returns_the_secret_once_and_get_round_trips(
    stub: listener_pb2_grpc.ListenerServiceStub, receiver: Receiver
) -> None:
    asked = webhook(
        receiver.url, method=method_enum("PUT"), headers={"X-Api-Key": "k"}, timeout=seconds(3.5)
    )
    asked.filter.workflows.append("orders-flow")
    asked.filter.categories.append(PB.EVENT_CATEGORY_EXECUTION)
    asked.filter.types.append(event_pb2.EVENT_TYPE_TASK_FAILED)
    asked.retry_policy.schedule.extend([seconds(1), seconds(2.5)])
    asked.retry_policy.jitter = 0.1
    asked.retry_policy.disable_after.CopyFrom(seconds(3600))
    created = stub.CreateListener(PB.CreateListenerRequest(listener=asked), timeout=10)

    secret = created.signing_secret
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    got = stub.GetListener(PB.GetListenerRequest(id=created.listener.id), timeout=10).listener
    assert got == created.listener
    assert secret.encode() not in got.SerializeToString()
    assert "signing_secret" not in PB.GetListenerResponse.DESCRIPTOR.fields_by_name

    assert got.id and got.scope == PB.LISTENER_SCOPE_GLOBAL and not got.scope_id
    assert (got.name, got.profile, got.enabled, got.disabled_reason) == (
        "orders", profile_enum("mistral"), True, "",
    )  # fmt: skip
    assert list(got.filter.workflows) == ["orders-flow"]
    assert list(got.filter.categories) == [PB.EVENT_CATEGORY_EXECUTION]
    assert list(got.filter.types) == [event_pb2.EVENT_TYPE_TASK_FAILED]
    assert got.WhichOneof("transport") == "webhook"
    assert (got.webhook.url, got.webhook.method, dict(got.webhook.headers)) == (
        receiver.url, method_enum("PUT"), {"X-Api-Key": "k"},
    )  # fmt: skip
    assert got.webhook.timeout.ToNanoseconds() == 3_500_000_000
    assert [d.ToNanoseconds() for d in got.retry_policy.schedule] == [10**9, 2_500_000_000]
    assert got.retry_policy.jitter == pytest.approx(0.1)
    assert got.retry_policy.disable_after.seconds == 3600
    assert abs(got.create_time.ToMicroseconds() / 1e6 - time.time()) < 60
    assert got.update_time == got.create_time


def test_defaults_are_filled_in(stub: listener_pb2_grpc.ListenerServiceStub) -> None:
    asked = PB.Listener(
        name="ce", profile=profile_enum("cloudevents"), kafka=PB.KafkaTransport(topic="ce.events")
    )
    got = stub.CreateListener(PB.CreateListenerRequest(listener=asked), timeout=10).listener
    assert got.kafka.topic == "ce.events"
    assert got.kafka.cloudevents_mode == PB.CLOUD_EVENTS_MODE_STRUCTURED
    assert got.enabled  # optional in the proto: unset means enabled
    assert not got.retry_policy.schedule and not got.retry_policy.HasField("disable_after")

    hook = stub.CreateListener(
        PB.CreateListenerRequest(listener=webhook("https://93.184.216.34/x")), timeout=10
    ).listener
    assert (hook.webhook.method, hook.webhook.timeout.seconds) == (method_enum("POST"), 15)


def test_a_given_secret_is_kept(stub: listener_pb2_grpc.ListenerServiceStub) -> None:
    given = "whsec_" + base64.b64encode(b"0123456789abcdef01234567").decode()
    created = stub.CreateListener(
        PB.CreateListenerRequest(listener=webhook("https://93.184.216.34/"), signing_secret=given),
        timeout=10,
    )
    assert created.signing_secret == given


def test_invalid_listeners_name_every_bad_field(
    stub: listener_pb2_grpc.ListenerServiceStub,
) -> None:
    bad = PB.Listener(
        name="",
        profile=PB.Profile.ValueType(99),
        scope=PB.LISTENER_SCOPE_WORKFLOW,
        filter=PB.ListenerFilter(
            categories=[PB.EVENT_CATEGORY_UNSPECIFIED, PB.EventCategory.ValueType(99)]
        ),
        webhook=PB.WebhookTransport(
            url="gopher://x/", method=PB.HttpMethod.ValueType(99),
            headers={"Content-Type": "x", "X-Bad": "a\nb"},
            timeout=seconds(0), cloudevents_mode=PB.CLOUD_EVENTS_MODE_BINARY,
        ),
        retry_policy=PB.RetryPolicy(schedule=[seconds(-5)], jitter=2.0),
    )  # fmt: skip
    with pytest.raises(grpc.RpcError) as info:
        stub.CreateListener(
            PB.CreateListenerRequest(listener=bad, signing_secret="whsec_xx"), timeout=10
        )
    # sorted: a protobuf map does not keep the order of its keys.
    assert sorted(bad_request(info.value)) == sorted(
        [
            "listener.name",
            "listener.profile",
            "listener.scope_id",
            "listener.filter.categories[0]",
            "listener.filter.categories[1]",
            "listener.webhook.url",
            "listener.webhook.method",
            'listener.webhook.headers["Content-Type"]',
            'listener.webhook.headers["X-Bad"]',
            "listener.webhook.timeout",
            "listener.webhook.cloudevents_mode",
            "listener.retry_policy.schedule[0]",
            "listener.retry_policy.jitter",
            "signing_secret",
        ]
    )
    assert "listener.webhook.url: must be an http:// or https:// URL" in (
        info.value.details() or ""
    )

    with pytest.raises(grpc.RpcError) as info:
        stub.CreateListener(PB.CreateListenerRequest(listener=PB.Listener(name="x")), timeout=10)
    # An unspecified profile is mistral's.
    assert bad_request(info.value) == ["listener.transport"]

    scoped = webhook("https://93.184.216.34/")
    scoped.scope, scoped.scope_id = PB.LISTENER_SCOPE_WORKFLOW, "no-such-workflow"
    with pytest.raises(grpc.RpcError) as info:
        stub.CreateListener(PB.CreateListenerRequest(listener=scoped), timeout=10)
    assert descriptions(info.value) == {"listener.scope_id": "no such workflow"}

    kafka = PB.Listener(
        name="k", profile=profile_enum("thain"), kafka=PB.KafkaTransport(topic="bad topic")
    )
    with pytest.raises(grpc.RpcError) as info:
        stub.CreateListener(PB.CreateListenerRequest(listener=kafka), timeout=10)
    assert bad_request(info.value) == ["listener.kafka.topic"]


def every_listener(stub: listener_pb2_grpc.ListenerServiceStub) -> list[PB.Listener]:
    found: list[PB.Listener] = []
    token = ""
    while True:
        page = stub.ListListeners(
            PB.ListListenersRequest(page_size=1000, page_token=token), timeout=10
        )
        found.extend(page.listeners)
        token = page.next_page_token
        if not token:
            return found


# (what issue 10 sent, the listener's name and headers, the field, the description)
HEADER_REPROS: list[tuple[str, str, dict[str, str], str, str]] = [
    (
        "1 MB value",
        "big-1mb",
        {"X-Big": "v" * 1_000_000},
        'listener.webhook.headers["X-Big"]',
        "value is 1,000,000 bytes; the limit is 8,192",
    ),
    (
        "3.9 MB value",
        "big-3.9mb",
        {"X-Big": "v" * 3_900_000},
        'listener.webhook.headers["X-Big"]',
        "value is 3,900,000 bytes; the limit is 8,192",
    ),
    (
        "64 headers of 60 KB",
        "many-60kb",
        {f"X-{i:02}": "v" * 60_000 for i in range(64)},
        'listener.webhook.headers["X-',  # the first of them: a protobuf map has no order
        "value is 60,000 bytes; the limit is 8,192",
    ),
    (
        "64 headers of 200 bytes, 13 KB in all",
        "many-200b",
        {f"X-{i:02}": "v" * 200 for i in range(64)},
        "listener.webhook.headers",
        "are 13,312 bytes in all (name: value lines); the limit is 12,288",
    ),
    ("a NUL name", "\x00", {}, "listener.name", "must be printable: U+0000 is a control"),
]


@pytest.mark.parametrize(
    ("name", "headers", "field", "description"),
    [r[1:] for r in HEADER_REPROS],
    ids=[r[0] for r in HEADER_REPROS],
)
def test_oversized_headers_and_unprintable_names_are_refused_and_not_stored(
    stub: listener_pb2_grpc.ListenerServiceStub,
    name: str,
    headers: dict[str, str],
    field: str,
    description: str,
) -> None:
    asked = webhook("https://93.184.216.34/in", headers=headers)
    asked.name = name
    with pytest.raises(grpc.RpcError) as info:
        stub.CreateListener(PB.CreateListenerRequest(listener=asked), timeout=10)
    found = descriptions(info.value)
    assert any(f.startswith(field) and d.startswith(description) for f, d in found.items()), found
    # Nor by an update of a listener that is fine.
    fine = stub.CreateListener(
        PB.CreateListenerRequest(listener=webhook("https://93.184.216.34/in")), timeout=10
    ).listener
    asked.id = fine.id
    with pytest.raises(grpc.RpcError) as info:
        stub.UpdateListener(PB.UpdateListenerRequest(listener=asked), timeout=10)
    found = descriptions(info.value)
    assert any(f.startswith(field) and d.startswith(description) for f, d in found.items()), found
    stored = {x.id: x for x in every_listener(stub)}
    assert stored[fine.id] == fine  # the update changed nothing
    assert all(x.name != name for x in stored.values())


def test_headers_at_the_limits_are_accepted_and_sent(
    stub: listener_pb2_grpc.ListenerServiceStub, receiver: Receiver
) -> None:
    # 8 KiB in one value, 12 KiB in all, 64 headers: the receiver takes them.
    headers = {"X-Token": "t" * 8192, **{f"X-{i:02}": "v" * 7 for i in range(63)}}
    sent = sum(len(k) + len(v) + 4 for k, v in headers.items())
    assert sent <= 12 * 1024
    asked = webhook(receiver.url, headers=headers)
    created = stub.CreateListener(PB.CreateListenerRequest(listener=asked), timeout=10)
    before = len(receiver.requests)
    reply = stub.TestListener(PB.TestListenerRequest(id=created.listener.id), timeout=30)
    assert reply.attempt.http_status == 200, reply
    assert receiver.requests[before][1]["x-token"] == "t" * 8192


def test_notify_targets_and_callbacks_are_held_to_the_same_limits(
    server: TidingsProcess, stub: listener_pb2_grpc.ListenerServiceStub
) -> None:
    with EngineClient(server.address) as client:
        name = unique("notify_limits")
        client.create_workflow(workflow_yaml(name, {"a": {"action": "std.noop"}}))
        before = {x.id for x in every_listener(stub)}
        big = XPB.NotifyTarget(url="https://93.184.216.34/n", headers={"X-Big": "v" * 1_000_000})
        failure = rpc_failure(lambda: client.start(name, notify=[big]))
        assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
        assert failure.violations == [
            ('notify[0].headers["X-Big"]', "value is 1,000,000 bytes; the limit is 8,192")
        ]
        many = [XPB.NotifyTarget(url=f"https://93.184.216.34/{i}") for i in range(17)]
        failure = rpc_failure(lambda: client.start(name, notify=many))
        assert failure.violations == [("notify", "has 17 targets; the limit is 16")]
        long_url = "https://93.184.216.34/" + "x" * 3000
        failure = rpc_failure(
            lambda: client.workflows.CreateWorkflow(
                WPB.CreateWorkflowRequest(
                    definition=workflow_yaml(unique("cb"), {"a": {"action": "std.noop"}}),
                    callback_url=long_url,
                ),
                timeout=10,
            )
        )
        assert failure.violations == [("callback_url", "must be at most 2048 characters")]
        assert {x.id for x in every_listener(stub)} == before
        assert (
            client.executions.ListExecutions(
                XPB.ListExecutionsRequest(workflow=name), timeout=10
            ).executions
            == []
        )


def test_private_destinations_are_refused_unless_allow_listed(
    stub: listener_pb2_grpc.ListenerServiceStub, receiver: Receiver, tmp_path: Path
) -> None:
    # 127.0.0.1/32 is allow-listed on this server; 127.0.0.2 and localhost's ::1 are not.
    for url in ("http://127.0.0.2:9/", "http://[::1]:9/", "http://169.254.169.254/latest"):
        with pytest.raises(grpc.RpcError) as info:
            stub.CreateListener(PB.CreateListenerRequest(listener=webhook(url)), timeout=10)
        reason = descriptions(info.value)["listener.webhook.url"]
        assert "address" in reason and "allow-listed" in reason

    # A server without an allow-list refuses 127.0.0.1 too.
    with TidingsProcess(tmp_path / "data") as strict, grpc.insecure_channel(strict.address) as ch:
        strict_stub = listener_pb2_grpc.ListenerServiceStub(ch)
        with pytest.raises(grpc.RpcError) as info:
            strict_stub.CreateListener(
                PB.CreateListenerRequest(listener=webhook(receiver.url)), timeout=10
            )
        assert descriptions(info.value) == {
            "listener.webhook.url": "127.0.0.1 is a loopback address; webhooks to non-public "
            "addresses are refused unless allow-listed (webhook_allow_private)"
        }


def test_list_pages_through_every_listener_in_creation_order(
    stub: listener_pb2_grpc.ListenerServiceStub,
) -> None:
    made = [
        stub.CreateListener(
            PB.CreateListenerRequest(listener=webhook(f"https://93.184.216.34/{i}")), timeout=10
        ).listener.id
        for i in range(5)
    ]
    seen: list[str] = []
    token = ""
    while True:
        page = stub.ListListeners(
            PB.ListListenersRequest(page_size=2, page_token=token), timeout=10
        )
        assert len(page.listeners) <= 2
        seen.extend(x.id for x in page.listeners)
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen))
    assert [i for i in seen if i in made] == made
    everything = stub.ListListeners(PB.ListListenersRequest(), timeout=10)
    assert [x.id for x in everything.listeners] == seen and not everything.next_page_token

    with pytest.raises(grpc.RpcError) as info:
        stub.ListListeners(PB.ListListenersRequest(page_token="garbage"), timeout=10)
    assert bad_request(info.value) == ["page_token"]


def test_update_replaces_settings_and_keeps_identity(
    stub: listener_pb2_grpc.ListenerServiceStub,
) -> None:
    created = stub.CreateListener(
        PB.CreateListenerRequest(listener=webhook("https://93.184.216.34/")), timeout=10
    ).listener
    time.sleep(0.01)
    wanted = PB.Listener(
        id=created.id, name="renamed", profile=profile_enum("thain"), enabled=False,
        kafka=PB.KafkaTransport(topic="thain-callbacks"),
    )  # fmt: skip
    updated = stub.UpdateListener(PB.UpdateListenerRequest(listener=wanted), timeout=10).listener
    assert (updated.id, updated.name, updated.profile, updated.enabled) == (
        created.id, "renamed", profile_enum("thain"), False,
    )  # fmt: skip
    assert updated.WhichOneof("transport") == "kafka" and updated.kafka.topic == "thain-callbacks"
    assert updated.create_time == created.create_time
    assert updated.update_time.ToNanoseconds() > created.update_time.ToNanoseconds()
    assert stub.GetListener(PB.GetListenerRequest(id=created.id), timeout=10).listener == updated

    wanted.id = "no-such-listener"
    with pytest.raises(grpc.RpcError) as info:
        stub.UpdateListener(PB.UpdateListenerRequest(listener=wanted), timeout=10)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    wanted.id, wanted.kafka.topic = "", ".."
    with pytest.raises(grpc.RpcError) as info:
        stub.UpdateListener(PB.UpdateListenerRequest(listener=wanted), timeout=10)
    assert bad_request(info.value) == ["listener.id"]


def test_delete_then_not_found(stub: listener_pb2_grpc.ListenerServiceStub) -> None:
    created = stub.CreateListener(
        PB.CreateListenerRequest(listener=webhook("https://93.184.216.34/")), timeout=10
    ).listener
    stub.DeleteListener(PB.DeleteListenerRequest(id=created.id), timeout=10)
    calls: list[tuple[grpc.UnaryUnaryMultiCallable[Any, Any], Message]] = [
        (stub.GetListener, PB.GetListenerRequest(id=created.id)),
        (stub.DeleteListener, PB.DeleteListenerRequest(id=created.id)),
        (stub.RotateSecret, PB.RotateSecretRequest(id=created.id)),
        (stub.TestListener, PB.TestListenerRequest(id=created.id)),
    ]
    for call, request in calls:
        with pytest.raises(grpc.RpcError) as info:
            call(request, timeout=10)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as info:
        stub.GetListener(PB.GetListenerRequest(), timeout=10)
    assert bad_request(info.value) == ["id"]


def verify(secret: str, headers: dict[str, str], body: bytes) -> list[bool]:
    """Standard Webhooks verification, by hand: one result per signature in the header."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return [
        hmac.compare_digest(sig.removeprefix("v1,"), expected)
        for sig in headers["webhook-signature"].split(" ")
    ]


def test_test_listener_sends_a_signed_ping(
    stub: listener_pb2_grpc.ListenerServiceStub, receiver: Receiver
) -> None:
    created = stub.CreateListener(
        PB.CreateListenerRequest(listener=webhook(receiver.url, headers={"X-Api-Key": "k"})),
        timeout=10,
    )
    before = len(receiver.requests)
    attempt = stub.TestListener(PB.TestListenerRequest(id=created.listener.id), timeout=30).attempt
    assert (attempt.http_status, attempt.error, attempt.response_snippet) == (200, "", "pong")
    assert 0 < attempt.latency.ToNanoseconds() < 10**10
    assert abs(attempt.time.seconds - time.time()) < 60

    method, headers, body = receiver.requests[before]
    assert method == "POST"
    assert headers["content-type"] == "application/json"
    assert headers["x-api-key"] == "k"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    # In the listener's profile: a mistral listener of every event gets seed 000's
    # `service` notification (the engine is up), under the ping's own id.
    ping = orjson.loads(body)
    assert list(ping) == ["serviceName", "version", "status", "timeStamp"]
    assert ping["status"] == "up"
    assert headers["webhook-id"].startswith("ping_")
    assert verify(created.signing_secret, headers, body) == [True]


def test_rotation_signs_with_both_secrets_during_the_grace_period(
    stub: listener_pb2_grpc.ListenerServiceStub, receiver: Receiver
) -> None:
    created = stub.CreateListener(
        PB.CreateListenerRequest(listener=webhook(receiver.url)), timeout=10
    )
    lid, old = created.listener.id, created.signing_secret
    rotated = stub.RotateSecret(
        PB.RotateSecretRequest(id=lid, grace_period=seconds(60)), timeout=10
    )
    new = rotated.signing_secret
    assert new.startswith("whsec_") and new != old
    assert abs(rotated.old_secret_expire_time.seconds - (time.time() + 60)) < 30

    before = len(receiver.requests)
    stub.TestListener(PB.TestListenerRequest(id=lid), timeout=30)
    _, headers, body = receiver.requests[before]
    assert verify(new, headers, body) == [True, False]  # the new secret's signature first
    assert verify(old, headers, body) == [False, True]

    # Rotating with no grace period ends the old secrets at once; the default is 24 h.
    newest = stub.RotateSecret(
        PB.RotateSecretRequest(id=lid, grace_period=seconds(0)), timeout=10
    ).signing_secret
    stub.TestListener(PB.TestListenerRequest(id=lid), timeout=30)
    _, headers, body = receiver.requests[-1]
    assert verify(newest, headers, body) == [True]
    default = stub.RotateSecret(PB.RotateSecretRequest(id=lid), timeout=10)
    assert abs(default.old_secret_expire_time.seconds - (time.time() + 86400)) < 30

    with pytest.raises(grpc.RpcError) as info:
        stub.RotateSecret(PB.RotateSecretRequest(id=lid, grace_period=seconds(-1)), timeout=10)
    assert bad_request(info.value) == ["grace_period"]


def test_kafka_listener_has_no_ping_and_no_webhook_redelivery(
    stub: listener_pb2_grpc.ListenerServiceStub,
) -> None:
    kafka = stub.CreateListener(
        PB.CreateListenerRequest(
            listener=PB.Listener(
                name="k", profile=profile_enum("mistral"), kafka=PB.KafkaTransport(topic="t")
            )
        ),
        timeout=10,
    ).listener
    with pytest.raises(grpc.RpcError) as info:
        stub.TestListener(PB.TestListenerRequest(id=kafka.id), timeout=10)
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "webhook listeners only" in (info.value.details() or "")
    listed = stub.ListDeliveries(PB.ListDeliveriesRequest(listener_id=kafka.id), timeout=10)
    assert list(listed.deliveries) == []
    with pytest.raises(grpc.RpcError) as info:
        stub.RedeliverEvents(PB.RedeliverEventsRequest(listener_id=kafka.id), timeout=10)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as info:
        stub.ListDeliveries(PB.ListDeliveriesRequest(listener_id="nope"), timeout=10)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


def test_reflection_lists_the_listener_service(server: TidingsProcess) -> None:
    with grpc.insecure_channel(server.address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        replies = list(stub.ServerReflectionInfo(iter([request]), timeout=5))
    names = {s.name for s in replies[0].list_services_response.service}
    assert "tidings.v1.ListenerService" in names
