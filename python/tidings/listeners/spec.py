"""What a listener is: the specs a caller asks for, their validation, and the stored row.

A listener names a filter, a payload profile and a transport (seed 001). Validation
collects every violation with its field path (syntax only: no DNS, no store); the
destination of a webhook is judged by `tidings.net` (`check_webhook_urls`).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson

from tidings.errors import FieldViolation, invalid
from tidings.net import DestinationGuard
from tidings.store.listeners import ListenerRow
from tidings.vocab import CATEGORIES, EVENT_TYPES, PROFILES

SCOPES = ("GLOBAL", "WORKFLOW", "EXECUTION")
CLOUDEVENTS_MODES = ("STRUCTURED", "BINARY")
WEBHOOK_METHODS = ("POST", "PUT")

#: Total time of one webhook attempt unless the listener says otherwise.
DEFAULT_TIMEOUT_S = 15.0
MAX_TIMEOUT_S = 300.0

MAX_NAME = 200
MAX_URL = 2048
MAX_SCHEDULE = 50
MAX_LIST = 200
#: A workflow a filter names: as long as a workflow name may be.
MAX_WORKFLOW_NAME = 255

#: A listener's own HTTP headers. A receiver refuses a request whose header lines or
#: whole head are too large (400 or 431), and then every delivery would fail: Apache and
#: nginx take at most 8 KiB a header line by default, Node.js 16 KiB for the whole head.
#: So a value is at most 8 KiB, and all the lines (``name: value`` and CRLF) at most
#: 12 KiB, which leaves room within 16 KiB for the request line (a URL of up to 2 KiB)
#: and the headers tidings sets itself (under 1 KiB; more while a secret rotates).
MAX_HEADERS = 64
MAX_HEADER_NAME = 256
MAX_HEADER_VALUE = 8 * 1024
MAX_HEADERS_TOTAL = 12 * 1024


#: Headers tidings sets itself: the profile's content type, the Standard Webhooks
#: headers and CloudEvents' binary-mode attributes (any ``ce-*``), plus the ones that
#: frame the HTTP message; a listener's own headers must not override them.
RESERVED_HEADERS = frozenset(
    {"content-type", "webhook-id", "webhook-timestamp", "webhook-signature", "content-length",
     "transfer-encoding", "host", "connection"}
)  # fmt: skip
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOPIC = re.compile(r"[a-zA-Z0-9._-]{1,249}")

# --- what a caller asks for ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebhookSpec:
    """A webhook transport as requested."""

    url: str
    #: POST or PUT; empty means POST.
    method: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Total time of one attempt; None means the default (15 s).
    timeout_s: float | None = None
    #: STRUCTURED or BINARY (cloudevents profile only); empty means STRUCTURED.
    cloudevents_mode: str = ""


@dataclass(frozen=True, slots=True)
class KafkaSpec:
    """A Kafka transport as requested."""

    topic: str
    cloudevents_mode: str = ""


@dataclass(frozen=True, slots=True)
class RetrySpec:
    """A retry policy as requested; empty or None fields mean the defaults."""

    schedule_s: tuple[float, ...] = ()
    jitter: float | None = None
    disable_after_s: float | None = None


@dataclass(frozen=True, slots=True)
class ListenerSpec:
    """What a caller asks a listener to be (the settable fields of `ListenerRow`).

    Enum-valued fields carry names without their prefix (``"EXECUTION"``,
    ``"TASK_STARTED"``); anything else (``"UNSPECIFIED"``, a number) is reported as invalid.
    """

    name: str
    profile: str
    transport: WebhookSpec | KafkaSpec | None
    #: GLOBAL, WORKFLOW or EXECUTION; empty means GLOBAL.
    scope: str = ""
    scope_id: str = ""
    workflows: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    retry: RetrySpec = RetrySpec()
    enabled: bool = True
    #: Also deliver what the profile's seed does not define (mistral pause/resume
    #: eTypes, tencent ``<EventName>``); see docs/profiles.md, "Extensions".
    extensions: bool = False
    #: Seconds its settled delivery records are kept; None: the server's retention.
    retention_s: float | None = None


# --- validation ----------------------------------------------------------------


def _finite_positive(value: float) -> bool:
    return math.isfinite(value) and value > 0


def check_url(url: str, path: str, out: list[FieldViolation]) -> bool:
    """Check a webhook URL's syntax (not its destination); True if it is usable."""
    before = len(out)
    if not url:
        out.append(FieldViolation(path, "is required"))
    elif len(url) > MAX_URL:
        out.append(FieldViolation(path, f"must be at most {MAX_URL} characters"))
    elif any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        out.append(FieldViolation(path, "must not contain spaces or control characters"))
    else:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 (raises ValueError for a bad port)
        except ValueError as exc:
            out.append(FieldViolation(path, f"is not a valid URL: {exc}"))
        else:
            if parts.scheme.lower() not in ("http", "https"):
                out.append(FieldViolation(path, "must be an http:// or https:// URL"))
            elif not parts.hostname:
                out.append(FieldViolation(path, "must name a host"))
    return len(out) == before


def url_host(url: str) -> str:
    """The host of a URL that passed `check_url` (IPv6 literals without brackets)."""
    return urlsplit(url).hostname or ""


def check_headers(headers: Mapping[str, str], path: str, out: list[FieldViolation]) -> None:
    """Add to `out` what is wrong with a listener's own HTTP headers."""
    if len(headers) > MAX_HEADERS:
        out.append(
            FieldViolation(path, f"has {len(headers):,} headers; the limit is {MAX_HEADERS}")
        )
    total = 0
    oversized = False  # a header over its own limit: the total is not news then
    seen: dict[str, str] = {}
    for name, value in headers.items():
        where = f"{path}[{orjson.dumps(name[:MAX_HEADER_NAME]).decode()}]"
        total += len(name) + len(value) + 4  # as sent: "name: value\r\n"
        lower = name.lower()
        if len(name) > MAX_HEADER_NAME:
            oversized = True
            out.append(
                FieldViolation(
                    where, f"name is {len(name):,} characters; the limit is {MAX_HEADER_NAME}"
                )
            )
        elif not _TOKEN.fullmatch(name):
            out.append(FieldViolation(where, "is not a valid HTTP header name"))
        elif lower in RESERVED_HEADERS or lower.startswith("ce-"):
            out.append(FieldViolation(where, "is set by tidings and cannot be overridden"))
        elif lower in seen:
            out.append(FieldViolation(where, f"repeats header {seen[lower]!r} (names ignore case)"))
        seen.setdefault(lower, name)
        if len(value) > MAX_HEADER_VALUE:
            oversized = True
            # Measured in characters; the checks below make them ASCII, one byte each.
            out.append(
                FieldViolation(
                    where, f"value is {len(value):,} bytes; the limit is {MAX_HEADER_VALUE:,}"
                )
            )
        elif "\r" in value or "\n" in value:
            out.append(FieldViolation(where, "value must not contain CR or LF"))
        elif any((ord(c) < 0x20 and c != "\t") or ord(c) >= 0x7F for c in value):
            # httpx sends header values as ASCII: anything else would fail every delivery.
            out.append(
                FieldViolation(where, "value must be printable ASCII (percent-encode the rest)")
            )
    if total > MAX_HEADERS_TOTAL and not oversized:
        out.append(
            FieldViolation(
                path,
                f"are {total:,} bytes in all (name: value lines); the limit is"
                f" {MAX_HEADERS_TOTAL:,}",
            )
        )


#: What a name must not hold: control and format characters (bidirectional overrides,
#: zero-width spaces), surrogates, line and paragraph separators. The zero-width joiners
#: are allowed, for emoji sequences.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_JOINERS = frozenset({"\u200c", "\u200d"})


def check_name(name: str, path: str, out: list[FieldViolation]) -> None:
    """Add to `out` what is wrong with a listener's name (stored stripped)."""
    stripped = name.strip()
    if not stripped:
        out.append(FieldViolation(path, "is required"))
    elif len(stripped) > MAX_NAME:
        out.append(FieldViolation(path, f"must be at most {MAX_NAME} characters"))
    else:
        bad = next(
            (c for c in stripped if c not in _JOINERS and unicodedata.category(c) in _UNPRINTABLE),
            None,
        )
        if bad is not None:
            out.append(
                FieldViolation(
                    path,
                    f"must be printable: U+{ord(bad):04X} is a control or format character",
                )
            )


def check_profile(profile: str, path: str, out: list[FieldViolation]) -> None:
    """Add to `out` what is wrong with a profile name."""
    if not profile:
        out.append(FieldViolation(path, f"is required: one of {', '.join(PROFILES)}"))
    elif profile not in PROFILES:
        out.append(FieldViolation(path, f"must be one of {', '.join(PROFILES)}"))


def _check_cloudevents_mode(mode: str, profile: str, path: str, out: list[FieldViolation]) -> None:
    if not mode:
        return
    if mode not in CLOUDEVENTS_MODES:
        out.append(FieldViolation(path, "must be STRUCTURED or BINARY"))
    elif profile != "cloudevents":
        out.append(FieldViolation(path, "applies only to the cloudevents profile"))


def _check_retry(r: RetrySpec, path: str, out: list[FieldViolation]) -> None:
    if len(r.schedule_s) > MAX_SCHEDULE:
        out.append(FieldViolation(f"{path}.schedule", f"at most {MAX_SCHEDULE} entries"))
    for i, wait in enumerate(r.schedule_s):
        if not _finite_positive(wait):
            out.append(FieldViolation(f"{path}.schedule[{i}]", "must be longer than zero"))
    if r.jitter is not None and not (math.isfinite(r.jitter) and 0 <= r.jitter <= 1):
        out.append(FieldViolation(f"{path}.jitter", "must be between 0 and 1"))
    if r.disable_after_s is not None and not _finite_positive(r.disable_after_s):
        out.append(FieldViolation(f"{path}.disable_after", "must be longer than zero"))


def _check_names(
    values: Sequence[str], allowed: Sequence[str], path: str, what: str, out: list[FieldViolation]
) -> None:
    if len(values) > MAX_LIST:
        out.append(FieldViolation(path, f"at most {MAX_LIST} entries"))
    for i, value in enumerate(values):
        if value == "UNSPECIFIED":
            out.append(FieldViolation(f"{path}[{i}]", f"must be a {what}, not UNSPECIFIED"))
        elif value not in allowed:
            out.append(FieldViolation(f"{path}[{i}]", f"is not a known {what}"))


def validate(spec: ListenerSpec, prefix: str = "listener") -> list[FieldViolation]:
    """Every violation of the listener rules in `spec` (syntax only: no DNS, no store).

    Field paths follow `tidings.v1.Listener`, under `prefix`.
    """
    out: list[FieldViolation] = []
    p = prefix
    check_name(spec.name, f"{p}.name", out)
    check_profile(spec.profile, f"{p}.profile", out)

    scope = spec.scope or "GLOBAL"
    if scope not in SCOPES:
        out.append(FieldViolation(f"{p}.scope", "must be GLOBAL, WORKFLOW or EXECUTION"))
    elif scope == "GLOBAL" and spec.scope_id:
        out.append(FieldViolation(f"{p}.scope_id", "must be empty for a global listener"))
    elif scope != "GLOBAL" and not spec.scope_id:
        out.append(FieldViolation(f"{p}.scope_id", f"is required for a {scope.lower()} listener"))

    if len(spec.workflows) > MAX_LIST:
        out.append(FieldViolation(f"{p}.filter.workflows", f"at most {MAX_LIST} entries"))
    for i, wf in enumerate(spec.workflows):
        if not wf.strip():
            out.append(FieldViolation(f"{p}.filter.workflows[{i}]", "must not be empty"))
        elif len(wf) > MAX_WORKFLOW_NAME:
            limit = f"must be at most {MAX_WORKFLOW_NAME} characters (a workflow name)"
            out.append(FieldViolation(f"{p}.filter.workflows[{i}]", limit))
    _check_names(spec.categories, CATEGORIES, f"{p}.filter.categories", "event category", out)
    _check_names(spec.types, EVENT_TYPES, f"{p}.filter.types", "event type", out)

    t = spec.transport
    if t is None:
        out.append(FieldViolation(f"{p}.transport", "one of webhook or kafka is required"))
    elif isinstance(t, WebhookSpec):
        w = f"{p}.webhook"
        check_url(t.url, f"{w}.url", out)
        if t.method.upper() not in ("", *WEBHOOK_METHODS):
            out.append(FieldViolation(f"{w}.method", "must be POST or PUT"))
        check_headers(t.headers, f"{w}.headers", out)
        if t.timeout_s is not None and not (
            _finite_positive(t.timeout_s) and t.timeout_s <= MAX_TIMEOUT_S
        ):
            limit = f"must be longer than 0 and at most {MAX_TIMEOUT_S:g} s"
            out.append(FieldViolation(f"{w}.timeout", limit))
        _check_cloudevents_mode(t.cloudevents_mode, spec.profile, f"{w}.cloudevents_mode", out)
    else:
        k = f"{p}.kafka"
        if not t.topic:
            out.append(FieldViolation(f"{k}.topic", "is required"))
        elif not _TOPIC.fullmatch(t.topic) or t.topic in (".", ".."):
            out.append(
                FieldViolation(
                    f"{k}.topic",
                    "is not a legal Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -, not . or ..)",
                )
            )
        _check_cloudevents_mode(t.cloudevents_mode, spec.profile, f"{k}.cloudevents_mode", out)
    _check_retry(spec.retry, f"{p}.retry_policy", out)
    if spec.retention_s is not None and not _finite_positive(spec.retention_s):
        out.append(FieldViolation(f"{p}.delivery_retention", "must be longer than zero"))
    return out


def _transport_config(spec: ListenerSpec) -> tuple[str, dict[str, Any]]:
    t = spec.transport
    mode = ""
    if spec.profile == "cloudevents":
        mode = (t.cloudevents_mode if t is not None else "") or "STRUCTURED"
    if isinstance(t, WebhookSpec):
        return "webhook", {
            "url": t.url,
            "method": t.method.upper() or "POST",
            "headers": dict(t.headers),
            "timeout_s": DEFAULT_TIMEOUT_S if t.timeout_s is None else t.timeout_s,
            "cloudevents_mode": mode,
            "extensions": spec.extensions,
        }
    assert isinstance(t, KafkaSpec)
    return "kafka", {"topic": t.topic, "cloudevents_mode": mode, "extensions": spec.extensions}


def build_row(
    spec: ListenerSpec, listener_id: str, now: float, secrets_: list[dict[str, Any]]
) -> ListenerRow:
    """The row of a valid spec (call `validate` first)."""
    transport, config = _transport_config(spec)
    return ListenerRow(
        id=listener_id,
        name=spec.name.strip(),
        scope=spec.scope or "GLOBAL",
        scope_id=spec.scope_id,
        filter={
            "workflows": list(spec.workflows),
            "categories": list(spec.categories),
            "types": list(spec.types),
        },
        profile=spec.profile,
        transport=transport,
        config=config,
        retry={
            "schedule_s": list(spec.retry.schedule_s),
            "jitter": spec.retry.jitter,
            "disable_after_s": spec.retry.disable_after_s,
        },
        enabled=spec.enabled,
        disabled_reason="",
        secrets=secrets_,
        create_time=now,
        update_time=now,
        retention_s=spec.retention_s,
    )


async def check_webhook_urls(guard: DestinationGuard, urls: Mapping[str, str]) -> None:
    """Check webhook URLs by field path; InvalidArgumentError naming every bad one.

    Empty URLs are skipped. Syntax first (`check_url`), then the destination.
    """
    out: list[FieldViolation] = []
    for path, url in urls.items():
        if url and check_url(url, path, out):
            refusal = await guard.check(url_host(url))
            if refusal is not None:
                out.append(FieldViolation(path, refusal))
    if out:
        raise invalid("webhook URL", out)
