"""The listener registry's rules: validation, SSRF safety, secrets, seed-002 builders.

IP literals and `localhost` only: nothing here needs a network beyond 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tidings import listeners as L
from tidings import net
from tidings.dispatch.webhook.ping import ping as send_ping
from tidings.dispatch.webhook.render import Renderers
from tidings.dispatch.webhook.retry import policy_of
from tidings.dispatch.webhook.signing import signature
from tidings.dispatch.webhook.sink import Attempt, WebhookSink
from tidings.errors import InvalidArgumentError, NotFoundError, invalid
from tidings.store import Change, WorkflowRow
from tidings.store.listeners import ListenerRow
from tidings.store.sqlite import SQLiteStore

LOCAL = ["127.0.0.1/32"]


def spec(**kw: Any) -> L.ListenerSpec:
    base: dict[str, Any] = {
        "name": "orders",
        "profile": "mistral",
        # A public address: the registry checks destinations, and tests resolve no names.
        "transport": L.WebhookSpec("https://93.184.216.34/in"),
    }
    return L.ListenerSpec(**{**base, **kw})


def fields(s: L.ListenerSpec) -> list[str]:
    return [v.field for v in L.validate(s)]


# --- validation ---------------------------------------------------------------


def test_a_valid_listener_has_no_violations() -> None:
    assert L.validate(spec()) == []
    full = spec(
        profile="cloudevents",
        transport=L.WebhookSpec(
            "http://hooks.example.com:8080/x?y=1", method="put", headers={"X-Api-Key": "k\tv"},
            timeout_s=300, cloudevents_mode="BINARY",
        ),
        workflows=("wf",), categories=("EXECUTION", "TASK"), types=("TASK_FAILED",),
        retry=L.RetrySpec((1.0, 60.0), jitter=0.0, disable_after_s=3600),
    )  # fmt: skip
    assert L.validate(full) == []
    kafka = spec(transport=L.KafkaSpec("orders.events_v1-x"))
    assert L.validate(kafka) == []


def test_every_violation_is_reported_with_its_field_path() -> None:
    bad = spec(
        name=" ",
        profile="xml",
        scope="GLOBAL",
        scope_id="wf-1",
        workflows=("",),
        categories=("EXECUTION", "UNSPECIFIED"),
        types=("9", "TASK_STARTED"),
        transport=L.WebhookSpec(
            "ftp://hooks.example.com/",
            method="GET",
            headers={
                "Bad Header": "v", "Content-Type": "text/plain", "CE-Id": "1",
                "Webhook-Signature": "x", "X-Crlf": "a\r\nb", "X-Wide": "中",
            },
            timeout_s=301,
            cloudevents_mode="BINARY",
        ),
        retry=L.RetrySpec((5.0, 0.0, -1.0), jitter=1.5, disable_after_s=0),
    )  # fmt: skip
    assert fields(bad) == [
        "listener.name",
        "listener.profile",
        "listener.scope_id",
        "listener.filter.workflows[0]",
        "listener.filter.categories[1]",
        "listener.filter.types[0]",
        "listener.webhook.url",
        "listener.webhook.method",
        'listener.webhook.headers["Bad Header"]',
        'listener.webhook.headers["Content-Type"]',
        'listener.webhook.headers["CE-Id"]',
        'listener.webhook.headers["Webhook-Signature"]',
        'listener.webhook.headers["X-Crlf"]',
        'listener.webhook.headers["X-Wide"]',
        "listener.webhook.timeout",
        "listener.webhook.cloudevents_mode",
        "listener.retry_policy.schedule[1]",
        "listener.retry_policy.schedule[2]",
        "listener.retry_policy.jitter",
        "listener.retry_policy.disable_after",
    ]
    error = invalid("listener", L.validate(bad))
    assert isinstance(error, InvalidArgumentError)
    assert "listener.webhook.url: must be an http:// or https:// URL" in str(error)
    assert "UNSPECIFIED" in str(error)


def violations_of(s: L.ListenerSpec) -> list[tuple[str, str]]:
    return [(v.field, v.description) for v in L.validate(s)]


def with_headers(headers: dict[str, str]) -> L.ListenerSpec:
    return spec(transport=L.WebhookSpec("https://93.184.216.34/in", headers=headers))


H = "listener.webhook.headers"


def test_header_values_are_at_most_8_kib() -> None:
    assert violations_of(with_headers({"X-A": "v" * 8192})) == []
    assert violations_of(with_headers({"X-A": "v" * 8193})) == [
        (f'{H}["X-A"]', "value is 8,193 bytes; the limit is 8,192")
    ]
    # The repros of issue 10: 1 MB and 3.9 MB values.
    for size in (1_000_000, 3_900_000):
        found = violations_of(with_headers({"X-Big": "v" * size}))
        assert (f'{H}["X-Big"]', f"value is {size:,} bytes; the limit is 8,192") in found


def test_header_names_are_at_most_256_characters() -> None:
    assert violations_of(with_headers({"X" * 256: "v"})) == []
    long = "X" * 1000
    assert violations_of(with_headers({long: "v"})) == [
        (f'{H}["{"X" * 256}"]', "name is 1,000 characters; the limit is 256")
    ]


def test_headers_are_at_most_64_and_12_kib_in_all() -> None:
    # 64 headers of 60 KB (issue 10): each too large, too much in all.
    found = violations_of(with_headers({f"X-{i}": "v" * 60_000 for i in range(64)}))
    assert found == [
        (f'{H}["X-{i}"]', "value is 60,000 bytes; the limit is 8,192") for i in range(64)
    ]
    many = {f"X-{i}": "v" for i in range(65)}
    assert violations_of(with_headers(many)) == [(H, "has 65 headers; the limit is 64")]
    # Each line within the limit, too many bytes together: "X-n: " + value + CRLF.
    two = {"X-1": "v" * 6140, "X-2": "v" * 6140}  # 6,147 bytes each
    assert violations_of(with_headers(two)) == [
        (H, "are 12,294 bytes in all (name: value lines); the limit is 12,288")
    ]
    assert violations_of(with_headers({"X-1": "v" * 6140, "X-2": "v" * 6134})) == []


def test_header_names_must_not_repeat_in_another_case() -> None:
    assert violations_of(with_headers({"X-Token": "a", "x-token": "b"})) == [
        (f'{H}["x-token"]', "repeats header 'X-Token' (names ignore case)")
    ]


@pytest.mark.parametrize(
    "name", ["\x00", "a\x00b", "tab\there", "line\nbreak", "bidi\u202eevil", "zero\u200bwidth"]
)
def test_listener_names_must_be_printable(name: str) -> None:
    found = violations_of(spec(name=name))
    assert len(found) == 1 and found[0][0] == "listener.name", found
    assert found[0][1].startswith("must be printable: U+"), found


@pytest.mark.parametrize(
    "name", ["orders", "Bestellungen – Ü", "订单 🚀", "family 👨\u200d👩\u200d👧"]
)
def test_printable_names_are_fine(name: str) -> None:
    assert violations_of(spec(name=name)) == []


def test_names_are_stripped_then_at_most_200_characters() -> None:
    assert violations_of(spec(name=" " * 50 + "n" * 200 + " " * 50)) == []
    assert violations_of(spec(name="n" * 201)) == [
        ("listener.name", "must be at most 200 characters")
    ]
    assert violations_of(spec(name=" \t\n")) == [("listener.name", "is required")]


def test_filter_workflows_are_at_most_a_workflow_name_long() -> None:
    assert violations_of(spec(workflows=("w" * 255,))) == []
    assert violations_of(spec(workflows=("w" * 256,))) == [
        (
            "listener.filter.workflows[0]",
            "must be at most 255 characters (a workflow name)",
        )
    ]


@pytest.mark.parametrize(
    ("url", "word"),
    [
        ("", "required"),
        ("ftp://example.com/", "http:// or https://"),
        ("http:///path", "must name a host"),
        ("http://example.com:99999/", "not a valid URL"),
        ("http://example.com/a b", "spaces"),
        ("https://example.com/" + "a" * 2048, "at most 2048"),
    ],
)
def test_webhook_urls(url: str, word: str) -> None:
    violations = L.validate(spec(transport=L.WebhookSpec(url)))
    assert [v.field for v in violations] == ["listener.webhook.url"]
    assert word in violations[0].description


@pytest.mark.parametrize("seconds", [0.0, -1.0, 300.5, float("nan")])
def test_webhook_timeout_must_be_positive_and_at_most_300s(seconds: float) -> None:
    assert fields(spec(transport=L.WebhookSpec("https://e.com/", timeout_s=seconds))) == [
        "listener.webhook.timeout"
    ]


@pytest.mark.parametrize("topic", ["", ".", "..", "a" * 250, "bad topic", "ümlaut", "a/b"])
def test_kafka_topic_must_be_legal(topic: str) -> None:
    assert fields(spec(transport=L.KafkaSpec(topic))) == ["listener.kafka.topic"]


@pytest.mark.parametrize("topic", ["a", "a" * 249, "service", "x.y_z-1", "..."])
def test_legal_kafka_topics(topic: str) -> None:
    assert fields(spec(transport=L.KafkaSpec(topic))) == []


def test_cloudevents_mode_only_with_the_cloudevents_profile() -> None:
    kafka = spec(profile="mistral", transport=L.KafkaSpec("t", cloudevents_mode="STRUCTURED"))
    assert fields(kafka) == ["listener.kafka.cloudevents_mode"]
    unknown = spec(profile="cloudevents", transport=L.KafkaSpec("t", cloudevents_mode="7"))
    assert fields(unknown) == ["listener.kafka.cloudevents_mode"]


def test_transport_and_profile_are_required() -> None:
    assert fields(spec(transport=None, profile="")) == ["listener.profile", "listener.transport"]


@pytest.mark.parametrize(
    ("scope", "scope_id", "expected"),
    [
        ("", "", []),
        ("GLOBAL", "", []),
        ("GLOBAL", "wf", ["listener.scope_id"]),
        ("WORKFLOW", "", ["listener.scope_id"]),
        ("EXECUTION", "", ["listener.scope_id"]),
        ("WORKFLOW", "wf", []),
        ("7", "", ["listener.scope"]),
    ],
)
def test_scope_rules(scope: str, scope_id: str, expected: list[str]) -> None:
    assert fields(spec(scope=scope, scope_id=scope_id)) == expected


def test_filters_leave_out_the_extension_types_unless_asked_for() -> None:
    from tidings.dispatch.targets import EventFilter
    from tidings.store.rows import EventRow
    from tidings.v1 import event_pb2

    T = event_pb2.EventType
    every = set(T.values()) - {T.EVENT_TYPE_UNSPECIFIED}

    def hears(profile: str, types: tuple[str, ...], extensions: bool) -> set[int]:
        row = L.build_row(spec(profile=profile, types=types, extensions=extensions), "l", 0.0, [])
        f = EventFilter.of_listener(row)
        return {t for t in every if f.matches(EventRow("e", "x", 1, t, "w", "w", 0.0, b""))}

    paused, resumed = T.EVENT_TYPE_EXECUTION_PAUSED, T.EVENT_TYPE_EXECUTION_RESUMED
    assert hears("mistral", (), False) == every - {paused, resumed}
    assert hears("mistral", (), True) == every
    assert hears("thain", (), False) == every  # pause and resume are seed 002's modify callbacks
    # Only extension types asked for, without extensions: nothing at all (not "every type").
    assert hears("mistral", ("EXECUTION_PAUSED", "EXECUTION_RESUMED"), False) == set()
    assert hears("mistral", ("EXECUTION_PAUSED", "TASK_STARTED"), False) == {
        T.EVENT_TYPE_TASK_STARTED
    }
    assert hears("mistral", ("EXECUTION_PAUSED",), True) == {paused}


def test_rows_fill_in_defaults_and_normalise() -> None:
    row = L.build_row(
        spec(profile="cloudevents", transport=L.WebhookSpec("https://e.com/", method="put")),
        "id-1", 10.0, [],
    )  # fmt: skip
    assert row.scope == "GLOBAL"
    assert row.config == {
        "url": "https://e.com/", "method": "PUT", "headers": {}, "timeout_s": 15.0,
        "cloudevents_mode": "STRUCTURED", "extensions": False,
    }  # fmt: skip
    assert row.retry == {"schedule_s": [], "jitter": None, "disable_after_s": None}
    policy = policy_of(row)
    assert policy.schedule[0] == 5 and policy.schedule[-1] == 86400
    assert (policy.jitter, policy.disable_after) == (0.2, 5 * 86400)
    row.retry = {"schedule_s": [1.0, 2.0], "jitter": 0.0, "disable_after_s": 60.0}
    policy = policy_of(row)
    assert (tuple(policy.schedule), policy.jitter, policy.disable_after) == ((1.0, 2.0), 0.0, 60)


# --- SSRF safety ----------------------------------------------------------------


def check(host: str, allow: list[str] | None = None) -> str | None:
    return asyncio.run(net.check_destination(host, allow or []))


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("100.64.0.1", "non-public"),
        ("240.0.0.1", "reserved"),
        ("::1", "loopback"),
        ("[::1]", "loopback"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::127.0.0.1", "loopback"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("fe80::1", "link-local"),
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
        ("2002:7f00:1::1", "loopback"),
        ("64:ff9b::a00:1", "private"),
    ],
)
def test_non_public_addresses_are_refused(host: str, kind: str) -> None:
    refusal = check(host)
    assert refusal is not None
    assert f" {kind} address" in refusal
    assert "allow-listed" in refusal


@pytest.mark.parametrize(
    "host", ["93.184.216.34", "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946", "64:ff9b::5db8:d822"]
)
def test_public_addresses_are_allowed_without_resolving(host: str) -> None:
    assert check(host) is None


def test_the_allow_list_lets_chosen_networks_through() -> None:
    assert check("127.0.0.1", LOCAL) is None
    assert check("::ffff:127.0.0.1", LOCAL) is None
    assert check("127.0.0.2", LOCAL) is not None
    assert check("::1", LOCAL) is not None
    assert check("10.9.8.7", ["10.0.0.0/8"]) is None
    assert check("fd00::5", ["fd00::/8"]) is None


def test_names_are_resolved_and_every_address_checked() -> None:
    refusal = check("localhost")
    assert refusal is not None and refusal.startswith("localhost resolves to ")
    assert "loopback" in refusal
    # localhost may resolve to ::1 as well as 127.0.0.1: both must be allowed.
    assert check("localhost", ["127.0.0.0/8", "::1"]) is None
    # A host name on the allow-list is trusted whatever it resolves to.
    assert check("LOCALHOST.", ["localhost"]) is None


def test_unresolvable_hosts_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kw: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    assert check("nowhere.invalid") == (
        "cannot resolve host nowhere.invalid: Name or service not known"
    )


def test_slow_resolution_is_refused_after_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    # The resolver answers only once the test lets it: the refusal must come before.
    release, answered = threading.Event(), threading.Event()

    def slow(*args: object, **kw: object) -> object:
        release.wait(30)
        answered.set()
        return []

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    guard = net.DestinationGuard(resolve_timeout=0.05)

    async def main() -> str | None:
        try:
            return await guard.check("slow.example")
        finally:
            refused_first = not answered.is_set()
            release.set()
            assert refused_first, "the guard waited for the resolver"

    assert asyncio.run(main()) == "resolving slow.example took longer than 0.05 s"


def test_resolve_returns_the_vetted_addresses() -> None:
    guard = net.DestinationGuard(["127.0.0.0/8", "::1"])
    addresses = asyncio.run(guard.resolve("localhost"))
    assert addresses and all(a.is_loopback for a in addresses)
    with pytest.raises(net.DestinationRefused):
        asyncio.run(net.DestinationGuard().resolve("127.0.0.1"))


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "not a host", "http://x/", "1.2.3.4/8/1"])
def test_bad_allow_list_entries_are_errors(entry: str) -> None:
    with pytest.raises(ValueError, match="neither a network"):
        net.AllowList([entry])


def test_check_urls_names_each_bad_field() -> None:
    guard = net.DestinationGuard(LOCAL)
    asyncio.run(L.check_webhook_urls(guard, {"callback_url": "http://127.0.0.1:1/", "other": ""}))
    with pytest.raises(InvalidArgumentError) as info:
        asyncio.run(
            L.check_webhook_urls(
                guard, {"callback_url": "http://10.0.0.1/", "modify_callback_url": "x"}
            )
        )
    assert [v.field for v in info.value.violations] == ["callback_url", "modify_callback_url"]
    assert "private" in info.value.violations[0].description


# --- secrets ---------------------------------------------------------------------


def test_new_secrets_are_standard_webhooks_secrets() -> None:
    a, b = L.new_secret(), L.new_secret()
    assert a.startswith("whsec_") and a != b
    assert len(base64.b64decode(a.removeprefix("whsec_"))) == 32
    assert L.decode_secret(a) == base64.b64decode(a[6:])


@pytest.mark.parametrize(
    ("secret", "word"),
    [
        ("c2VjcmV0", "must start with whsec_"),
        ("whsec_not base64!", "base64"),
        ("whsec_" + base64.b64encode(b"x" * 23).decode(), "24 to 64 bytes, not 23"),
        ("whsec_" + base64.b64encode(b"x" * 65).decode(), "not 65"),
    ],
)
def test_given_secrets_must_be_well_formed(secret: str, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        L.decode_secret(secret)


@pytest.mark.parametrize("size", [24, 64])
def test_secret_sizes_at_the_limits(size: int) -> None:
    assert L.decode_secret("whsec_" + base64.b64encode(b"k" * size).decode()) == b"k" * size


def test_rotation_keeps_the_old_secret_for_the_grace_period() -> None:
    s1, s2, s3, s4 = "whsec_1", "whsec_2", "whsec_3", "whsec_4"
    secrets, expire = L.rotate([{"secret": s1, "expire_time": None}], s2, 1000.0, 100.0)
    assert expire == 1100.0
    assert secrets == [{"secret": s2, "expire_time": None}, {"secret": s1, "expire_time": 1100.0}]
    secrets, expire = L.rotate(secrets, s3, 1050.0, 100.0)
    assert secrets == [
        {"secret": s3, "expire_time": None},
        {"secret": s2, "expire_time": 1150.0},
        {"secret": s1, "expire_time": 1100.0},
    ]
    # Expired secrets are dropped.
    secrets, _ = L.rotate(secrets, s4, 1120.0, 100.0)
    assert [s["secret"] for s in secrets] == [s4, s3, s2]
    assert secrets[1]["expire_time"] == 1220.0 and secrets[2]["expire_time"] == 1150.0
    # A grace period of 0 ends every older secret now (a leaked secret).
    secrets, _ = L.rotate(secrets, "whsec_5", 1130.0, 0.0)
    assert secrets == [{"secret": "whsec_5", "expire_time": None}]


def test_rotation_keeps_a_bounded_number_of_secrets() -> None:
    secrets: list[dict[str, Any]] = [{"secret": "whsec_0", "expire_time": None}]
    for i in range(1, 10):
        secrets, _ = L.rotate(secrets, f"whsec_{i}", 1000.0 + i, 86400.0)
    assert [s["secret"] for s in secrets] == [f"whsec_{i}" for i in (9, 8, 7, 6, 5)]


def row_with(secrets: list[dict[str, Any]]) -> ListenerRow:
    return L.build_row(spec(), "l-1", 0.0, secrets)


def test_signing_keys_are_the_valid_secrets_newest_first() -> None:
    new, old, gone = L.new_secret(), L.new_secret(), L.new_secret()
    row = row_with(
        [
            {"secret": new, "expire_time": None},
            {"secret": old, "expire_time": 200.0},
            {"secret": gone, "expire_time": 100.0},
        ]
    )
    k = L.decode_secret
    assert L.signing_keys(row, 50.0) == [k(new), k(old), k(gone)]
    assert L.signing_keys(row, 150.0) == [k(new), k(old)]
    assert L.signing_keys(row, 200.0) == [k(new)]


def test_signature_is_standard_webhooks_hmac_per_key() -> None:
    k1, k2 = b"a" * 32, b"b" * 32
    header = signature([k1, k2], "msg_1", 1700000000, b'{"x":1}')
    signed = b'msg_1.1700000000.{"x":1}'
    expected = [
        "v1," + base64.b64encode(hmac.new(k, signed, hashlib.sha256).digest()).decode()
        for k in (k1, k2)
    ]
    assert header.split(" ") == expected


# --- seed 002 and notify targets ---------------------------------------------------


def test_workflow_callback_urls_become_thain_listeners() -> None:
    rows = L.workflow_listeners(
        "wf-1", "orders", "https://sched.example.com/cb", "https://sched.example.com/mod", now=5.0
    )
    cb, mod = rows
    assert (cb.id, mod.id) == ("wf-1.callback_url", "wf-1.modify_callback_url")
    for row in rows:
        assert (row.scope, row.scope_id, row.profile, row.transport) == (
            "WORKFLOW", "wf-1", "thain", "webhook",
        )  # fmt: skip
        assert row.config["method"] == "POST" and row.enabled
        assert row.create_time == 5.0 and len(L.signing_keys(row, 5.0)) == 1
        assert L.validate(
            L.ListenerSpec(row.name, row.profile, L.WebhookSpec(row.config["url"]),
                           row.scope, row.scope_id, types=tuple(row.filter["types"]))
        ) == []  # fmt: skip
    assert cb.config["url"] == "https://sched.example.com/cb"
    assert cb.filter == {
        "workflows": [],
        "categories": [],
        "types": [
            "EXECUTION_STARTED", "EXECUTION_RERUN", "EXECUTION_SUCCEEDED", "EXECUTION_FAILED",
            "EXECUTION_CANCELLED", "EXECUTION_TIMED_OUT",
        ],
    }  # fmt: skip
    assert mod.filter["types"] == ["EXECUTION_PAUSED", "EXECUTION_RESUMED"]
    assert [r.id for r in L.workflow_listeners("w", "n", "", "http://e.com/m", now=0)] == [
        "w.modify_callback_url"
    ]
    assert L.workflow_listeners("w", "n", "", "", now=0) == []


def test_bad_callback_urls_name_their_field() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        L.workflow_listeners("w", "n", "ftp://e.com/", "nonsense", now=0)
    assert [v.field for v in info.value.violations] == ["callback_url", "modify_callback_url"]


def test_notify_targets_become_execution_listeners() -> None:
    rows = L.notify_listeners(
        "ex-1",
        [
            {"url": "https://a.example.com/", "profile": "", "events": [], "headers": {}},
            {
                "url": "https://b.example.com/",
                "profile": "cloudevents",
                "events": ["EXECUTION", "task_started", "EVENT_TYPE_TASK_FAILED"],
                "headers": {"X-Token": "t"},
            },
        ],
        now=1.0,
    )
    a, b = rows
    assert (a.id, b.id) == ("ex-1.notify.0", "ex-1.notify.1")
    assert (a.scope, a.scope_id, a.profile) == ("EXECUTION", "ex-1", "mistral")
    assert a.filter == {"workflows": [], "categories": [], "types": []}
    assert b.filter == {
        "workflows": [], "categories": ["EXECUTION"], "types": ["TASK_STARTED", "TASK_FAILED"],
    }  # fmt: skip
    assert b.config["headers"] == {"X-Token": "t"}
    assert b.config["cloudevents_mode"] == "STRUCTURED"


def test_bad_notify_targets_name_every_field() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        L.notify_listeners(
            "ex-1",
            [
                {"url": "https://ok.example.com/"},
                {"url": "", "profile": "xml", "events": ["NOPE"], "headers": {"Content-Type": "x"}},
            ],
            now=0,
        )
    assert [v.field for v in info.value.violations] == [
        "notify[1].events[0]",
        "notify[1].url",
        "notify[1].profile",
        'notify[1].headers["Content-Type"]',
    ]


def test_notify_targets_headers_are_held_to_the_same_limits() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        L.notify_listeners(
            "ex-1",
            [
                {"url": "https://a.example.com/", "headers": {"X-Big": "v" * 1_000_000}},
                {"url": "https://b.example.com/", "headers": {f"X-{i}": "v" for i in range(65)}},
            ],
            now=0,
        )
    assert [(v.field, v.description) for v in info.value.violations] == [
        ('notify[0].headers["X-Big"]', "value is 1,000,000 bytes; the limit is 8,192"),
        ("notify[1].headers", "has 65 headers; the limit is 64"),
    ]


def test_notify_targets_are_at_most_16() -> None:
    targets = [{"url": f"https://{i}.example.com/"} for i in range(17)]
    with pytest.raises(InvalidArgumentError) as info:
        L.notify_listeners("ex-1", targets, now=0)
    assert [(v.field, v.description) for v in info.value.violations] == [
        ("notify", "has 17 targets; the limit is 16")
    ]
    assert len(L.notify_listeners("ex-1", targets[:16], now=0)) == 16
    events = {"url": "https://a.example.com/", "events": ["TASK"] * 201}
    with pytest.raises(InvalidArgumentError) as info:
        L.notify_listeners("ex-1", [events], now=0)
    assert [v.field for v in info.value.violations] == ["notify[0].events"]


# --- the registry over a real SQLite store -------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_registry_lifecycle(tmp_path: Path) -> None:
    async def main() -> None:
        store = SQLiteStore(tmp_path / "s.db")
        await store.open()
        clock = Clock()
        registry = L.ListenerRegistry(store, LOCAL, clock=clock)
        try:
            row, secret = await registry.create(
                spec(transport=L.WebhookSpec("http://127.0.0.1:9/"))
            )
            assert secret.startswith("whsec_") and row.secrets[0]["secret"] == secret
            assert await registry.get(row.id) == row

            # Given secrets are kept; bad ones reported along with the listener's problems.
            given = "whsec_" + base64.b64encode(b"s" * 24).decode()
            _, kept = await registry.create(spec(), given)
            assert kept == given
            with pytest.raises(InvalidArgumentError) as info:
                await registry.create(spec(name=""), "whsec_short")
            assert [v.field for v in info.value.violations] == ["listener.name", "signing_secret"]

            # Updating replaces the settings but keeps id, secrets and creation time.
            clock.now = 2000.0
            updated = await registry.update(
                row.id,
                lambda _: spec(name="renamed", transport=L.KafkaSpec("orders"), enabled=False),
            )
            assert (updated.name, updated.transport, updated.config["topic"]) == (
                "renamed", "kafka", "orders",
            )  # fmt: skip
            assert (updated.create_time, updated.update_time) == (1000.0, 2000.0)
            assert updated.secrets == row.secrets and not updated.enabled
            assert await registry.get(row.id) == updated

            # Automatic disabling keeps its reason until someone enables the listener.
            assert (await registry.disable(row.id, "ignored: disabled already")) == updated
            await registry.update(row.id, lambda _: spec(enabled=True))
            disabled = await registry.disable(row.id, "410 Gone")
            assert disabled.disabled_reason == "410 Gone"
            again = await registry.update(row.id, lambda _: spec(enabled=False))
            assert again.disabled_reason == "410 Gone"
            enabled = await registry.update(row.id, lambda _: spec(enabled=True))
            assert enabled.enabled and enabled.disabled_reason == ""

            # Rotation: the old secret signs until the end of the grace period.
            new, expire = await registry.rotate_secret(row.id, 60.0)
            assert expire == 2060.0
            stored = await registry.get(row.id)
            assert [s["secret"] for s in stored.secrets] == [new, secret]
            assert L.signing_keys(stored, 2059.0) == [L.decode_secret(new), L.decode_secret(secret)]
            assert L.signing_keys(stored, 2060.0) == [L.decode_secret(new)]
            _, default_expire = await registry.rotate_secret(row.id)
            assert default_expire == 2000.0 + 86400
            with pytest.raises(InvalidArgumentError):
                await registry.rotate_secret(row.id, -1.0)

            page, token = await registry.list_page("", 1)
            assert [r.id for r in page] == [row.id] and token
            page, token = await registry.list_page(token, 10)
            assert len(page) == 1 and token == ""
            assert len(await store.all_listeners()) == 2

            await registry.delete(row.id)
            with pytest.raises(NotFoundError):
                await registry.get(row.id)
            with pytest.raises(NotFoundError):
                await registry.delete(row.id)
            with pytest.raises(NotFoundError):
                await registry.update(row.id, lambda _: spec())
        finally:
            await store.close()

    asyncio.run(main())


def test_concurrent_creations_share_transactions(tmp_path: Path) -> None:
    # Nothing can touch a listener before its creation returns its id: creations do not
    # wait for each other's commits, they share the store's group commit.
    async def main() -> None:
        store = SQLiteStore(tmp_path / "s.db")
        await store.open()
        registry = L.ListenerRegistry(store, LOCAL)
        try:
            before = store.commits
            made = await asyncio.gather(*(registry.create(spec(name=f"l{i}")) for i in range(50)))
            assert len({row.id for row, _ in made}) == 50
            assert {r.id for r in await store.all_listeners()} == {row.id for row, _ in made}
            assert store.commits - before < 50
        finally:
            await store.close()

    asyncio.run(main())


def test_registry_checks_destinations_and_scopes(tmp_path: Path) -> None:
    async def main() -> None:
        store = SQLiteStore(tmp_path / "s.db")
        await store.open()
        registry = L.ListenerRegistry(store)  # nothing allow-listed
        try:
            with pytest.raises(InvalidArgumentError) as info:
                await registry.create(
                    spec(
                        transport=L.WebhookSpec("http://127.0.0.1:8080/hook"),
                        scope="WORKFLOW",
                        scope_id="orders",
                    )
                )
            assert [v.field for v in info.value.violations] == [
                "listener.webhook.url",
                "listener.scope_id",
            ]
            assert "loopback" in info.value.violations[0].description
            assert info.value.violations[1].description == "no such workflow"

            change = Change()
            change.put_workflow(WorkflowRow("wf-9", "orders", "d", "", [], "", "", 1.0, 1.0))
            await store.commit(change)
            row, _ = await registry.create(spec(scope="WORKFLOW", scope_id="orders"))
            assert (row.scope, row.scope_id) == ("WORKFLOW", "wf-9")  # the name became the id
            with pytest.raises(InvalidArgumentError) as info:
                await registry.create(spec(scope="EXECUTION", scope_id="nope"))
            assert info.value.violations[0].description == "no such execution"
        finally:
            await store.close()

    asyncio.run(main())


# --- ping (TestListener) against real local HTTP servers -------------------------------


class Receiver:
    """A local HTTP server answering each request with `respond(handler)`."""

    def __init__(self, respond: Any) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                outer.requests.append((self.command, self.path, headers, body))
                respond(self)

            do_POST = do_PUT = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Any]:
    made: list[Receiver] = []

    def make(respond: Any) -> Receiver:
        made.append(Receiver(respond))
        return made[-1]

    yield make
    for r in made:
        r.close()


def answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Any:
    def respond(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("content-length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return respond


def ping(url: str, **config: Any) -> Attempt:
    row = L.build_row(
        spec(transport=L.WebhookSpec(url, **config)), "l-1", 0.0,
        [{"secret": L.new_secret(), "expire_time": None}],
    )  # fmt: skip

    async def main() -> Attempt:
        sink = WebhookSink(net.DestinationGuard(LOCAL))
        try:
            return await send_ping(sink, row, Renderers(), now=time.time())
        finally:
            await sink.aclose()

    return asyncio.run(main())


def test_ping_keeps_the_first_kib_of_the_answer(receiver: Any) -> None:
    r = receiver(answer(500, b"x" * 5000))
    result = ping(r.url, method="PUT", headers={"X-Token": "t"})
    assert (result.status, result.error) == (500, "HTTP 500")
    assert result.snippet == "x" * 1024
    method, path, headers, _ = r.requests[0]
    assert (method, path, headers["x-token"]) == ("PUT", "/hook", "t")
    assert headers["host"] == r.url.split("/")[2]


def test_ping_does_not_follow_redirects(receiver: Any) -> None:
    r = receiver(answer(302, headers={"location": "http://127.0.0.1:1/elsewhere"}))
    result = ping(r.url)
    assert result.status == 302
    assert result.error == "HTTP 302 (redirects are not followed)"
    assert len(r.requests) == 1


def test_ping_times_out(receiver: Any) -> None:
    r = receiver(lambda h: time.sleep(2))
    result = ping(r.url, timeout_s=0.3)
    assert (result.status, result.error) == (0, "timed out after 0.3 s")
    assert result.latency > 0.25  # not before the timeout (the answer would come at 2 s)


def test_ping_reports_connection_errors() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    result = ping(f"http://127.0.0.1:{port}/")
    assert result.status == 0 and result.error.startswith("ConnectError")


def test_ping_rechecks_the_destination() -> None:
    result = ping("http://127.0.0.2:9/")
    assert result.status == 0
    assert result.error.startswith("refused: 127.0.0.2 is a loopback address")


def test_ping_names_a_dropped_connection_after_trying_a_fresh_one(receiver: Any) -> None:
    def drop(h: BaseHTTPRequestHandler) -> None:
        h.close_connection = True  # read the request, answer nothing

    r = receiver(drop)
    result = ping(r.url)
    assert result.status == 0
    assert result.error.startswith("RemoteProtocolError"), result.error
    assert len(r.requests) == 2  # the immediate second try on a fresh connection


def test_ping_refuses_a_header_that_cannot_be_sent(receiver: Any) -> None:
    r = receiver(answer(200))
    result = ping(r.url, headers={"X-Bad": "a\r\nInjected: yes"})
    assert result.status == 0
    assert result.error.startswith("cannot send"), result.error
    assert r.requests == []
