"""Every payload the end-to-end tests receive, held to its seed.

A receiver knows what it receives from the listener it was created for: `learn` records,
from the gRPC calls the tests make, which profile each webhook URL and Kafka topic was
registered with (`expect_webhook`, `expect_topic`; tests may call them too). The test
receivers hand every request and record to `check_request` / `check_record`; violations
are collected here and the conftest fails the test they arrived in (`take_unexpected`),
except those `known` lets through (counted in `known_hits`).

A payload to a URL no listener names (an atom call, a sink test's raw bytes) is not a
seed payload and is not checked; a record on a topic nobody registered is a violation.
Non-seed profiles are listed in `NOT_SEED`; a test that opts a listener into a
deliberate extension calls `exempt(url_or_topic, reason)`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from seeds.cloudevents import mode_of, validate_cloudevent
from seeds.common import Violation
from seeds.known import known_item
from seeds.mistral import validate_mistral_any, validate_mistral_event, validate_mistral_service
from seeds.tencent import validate_tencent, validate_tencent_http
from seeds.thain import (
    validate_thain_any,
    validate_thain_flow,
    validate_thain_http,
    validate_thain_job,
    validate_thain_modify,
)

#: Profiles no seed defines: their payloads are not checked here.
NOT_SEED = {
    "tencent_json": "a JSON rendering of seed 003's fields; no seed defines it",
    "cloudevents_data": "only the data of a CloudEvent, without its attributes",
}


@dataclass(frozen=True)
class Expect:
    """What a receiver expects at one URL or topic, and how the tests learnt it."""

    #: A listener profile.
    profile: str
    #: Which of the profile's shapes: mistral "event" (topic `mistral`), "service"
    #: (topic `service`); thain "flow" (a flow's callback_url), "job", "modify"
    #: (modify_callback_url); "" a destination that hears them all.
    kind: str = ""
    #: cloudevents: "structured", "binary" or "" (not fixed).
    mode: str = ""
    #: The HTTP method the listener was configured with.
    method: str = "POST"
    #: Where the tests learnt it (the RPC and field).
    origin: str = ""
    #: Why its payloads are not checked (non-empty: exempt).
    exempt: str = ""

    def label(self) -> str:
        parts = [self.profile, self.kind, self.mode]
        return "/".join(p for p in parts if p) + (f" from {self.origin}" if self.origin else "")


@dataclass(frozen=True)
class Finding:
    """A violation in one received payload."""

    where: str
    expect: Expect
    violation: Violation
    body: bytes
    test: str
    known: str | None = None

    def __str__(self) -> str:
        return (
            f"{self.where} [{self.expect.label()}]: {self.violation}\n"
            f"    payload: {self.body[:600]!r}"
        )


_lock = threading.Lock()
_webhooks: dict[tuple[int, str], list[Expect]] = {}
_topics: dict[str, list[Expect]] = {}
_unexpected: list[Finding] = []
_known: list[Finding] = []
_test = ""


# --- what each destination is for ------------------------------------------------------


def expect_webhook(url: str, expect: Expect) -> None:
    """Payloads to ``url`` (a receiver on this machine) are ``expect``'s."""
    key = _key(url)
    if key is None:
        return  # not one of the tests' receivers (or not a URL: a test of bad input)
    with _lock:
        found = _webhooks.setdefault(key, [])
        if expect not in found:
            found.append(expect)


def expect_topic(topic: str, expect: Expect) -> None:
    """Records on ``topic`` are ``expect``'s."""
    with _lock:
        found = _topics.setdefault(topic, [])
        if expect not in found:
            found.append(expect)


def exempt(url_or_topic: str, reason: str) -> None:
    """Do not check what reaches this URL or topic (a listener opted into extensions)."""
    expect = Expect("", exempt=reason)
    key = _key(url_or_topic)
    with _lock:
        if key is not None:
            _webhooks[key] = [expect]
        else:
            _topics[url_or_topic] = [expect]


def _key(url: str) -> tuple[int, str] | None:
    """(port, path) of an http(s) URL with a port, else None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or port is None:
        return None
    return port, parts.path or "/"


def forget_port(port: int) -> None:
    """A new receiver took ``port``: what earlier receivers on it expected is gone."""
    with _lock:
        for key in [k for k in _webhooks if k[0] == port]:
            del _webhooks[key]


# --- checking --------------------------------------------------------------------------


def validate(
    expect: Expect,
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str = "POST",
    binding: Literal["http", "kafka"] = "http",
) -> list[Violation]:
    """The payload's violations of the seed ``expect`` names (HTTP level included)."""
    if expect.exempt or expect.profile in NOT_SEED:
        return []
    http = binding == "http"
    out: list[Violation] = []
    if http and method != expect.method:
        out.append(Violation("method", f"{method!r}, but the listener asked for {expect.method!r}"))
    # The seeds' own method is POST; a listener configured otherwise chose that.
    seed_method = method if expect.method == "POST" else "POST"
    if expect.profile == "mistral":
        out += _MISTRAL[expect.kind](body)
    elif expect.profile == "thain":
        out += validate_thain_http(seed_method, headers) if http else []
        out += _THAIN[expect.kind](body)
    elif expect.profile == "tencent":
        out += validate_tencent_http(seed_method, headers) if http else []
        out += validate_tencent(body)
    elif expect.profile == "cloudevents":
        if expect.mode and mode_of(headers) != expect.mode:
            out.append(Violation("content-type", f"is {mode_of(headers)} mode, not {expect.mode}"))
        out += validate_cloudevent(headers, body, binding=binding)
    else:
        out.append(Violation("profile", f"{expect.profile!r} has no seed validator (see NOT_SEED)"))
    return out


def check_request(
    port: int, method: str, path: str, headers: Mapping[str, str], body: bytes
) -> None:
    """Check one HTTP request a test receiver got (``headers`` with lower-case names)."""
    with _lock:
        expects = list(_webhooks.get((port, path), ()))
    if expects:
        where = f"{method} http://127.0.0.1:{port}{path}"
        _record(where, expects, headers, body, method=method, binding="http")


def check_record(topic: str, headers: Sequence[tuple[str, bytes]], value: bytes | None) -> None:
    """Check one Kafka record a test consumed."""
    with _lock:
        expects = list(_topics.get(topic, ()))
    where = f"kafka topic {topic}"
    if not expects:
        unknown = Expect("?", origin="nowhere: call seeds.hook.expect_topic")
        _add(
            Finding(
                where,
                unknown,
                Violation("topic", "no profile is known for it"),
                value or b"",
                _test,
            )
        )
        return
    text: dict[str, str] = {}
    bad: list[Violation] = []
    for name, raw in headers:
        try:
            text.setdefault(name, raw.decode("utf-8"))
        except UnicodeDecodeError:
            bad.append(Violation(name, "header value is not UTF-8"))
    _record(where, expects, text, value or b"", binding="kafka", extra=bad)


def _record(
    where: str,
    expects: list[Expect],
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str = "POST",
    binding: Literal["http", "kafka"],
    extra: Sequence[Violation] = (),
) -> None:
    # Several listeners at one URL: the payload has to fit one of them.
    best: tuple[Expect, list[Violation]] | None = None
    for expect in expects:
        try:
            found = list(extra) + validate(expect, headers, body, method=method, binding=binding)
        except Exception as exc:  # a validator bug must show, not kill the receiver
            found = [Violation("validator", f"raised {exc!r}")]
        if best is None or len(found) < len(best[1]):
            best = (expect, found)
    assert best is not None
    expect, found = best
    for violation in found:
        _add(
            Finding(
                where, expect, violation, body, _test, known_item(expect.profile, violation, body)
            )
        )


def _add(finding: Finding) -> None:
    with _lock:
        (_known if finding.known else _unexpected).append(finding)


# --- results ---------------------------------------------------------------------------


def begin(test: str) -> None:
    """Name the test now running (findings are attributed to it)."""
    global _test
    _test = test


def take_unexpected() -> list[Finding]:
    """The violations no known item explains, found since the last call."""
    with _lock:
        found = list(_unexpected)
        _unexpected.clear()
    return found


def known_hits() -> list[Finding]:
    """Every violation a known item let through, this run."""
    with _lock:
        return list(_known)


def report(findings: Sequence[Finding]) -> str:
    """A failure message naming each payload and its violations."""
    lines = [f"{len(findings)} seed-conformance violation(s) in received payloads:"]
    lines += [str(f) for f in findings[:20]]
    if len(findings) > 20:
        lines.append(f"... and {len(findings) - 20} more")
    return "\n".join(lines)


_MISTRAL = {
    "event": validate_mistral_event,
    "service": validate_mistral_service,
    "": validate_mistral_any,
}
_THAIN = {
    "flow": validate_thain_flow,
    "job": validate_thain_job,
    "modify": validate_thain_modify,
    "": validate_thain_any,
}
