"""The listener registry: who hears what, and the rules a listener must follow.

A listener names a filter, a payload profile and a transport (seed 001). Global
listeners, the ``callback_url`` / ``modify_callback_url`` of a workflow (seed 002) and the
notify targets of an execution are all listeners that differ only in scope.

This module holds the business rules; `tidings.api.listeners` only translates protobuf:

- validation, collecting every violation with its field path;
- SSRF safety: webhooks to loopback, private, link-local, ... addresses are refused unless
  allow-listed, at creation (`DestinationGuard.check`) and again when connecting
  (`DestinationGuard.resolve`, which returns the vetted addresses to connect to);
- Standard Webhooks signing secrets (``whsec_`` + base64), rotation with a grace period,
  and signing (`signing_keys`, `signature`);
- builders of the seed-002 workflow listeners and of per-execution notify targets;
- `ping`, which sends a signed test event to a webhook.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import ipaddress
import logging
import math
import re
import secrets
import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from tidings.dispatch import retry, signing
from tidings.errors import (
    FailedPreconditionError,
    FieldViolation,
    InvalidArgumentError,
    NotFoundError,
)
from tidings.store import Change, EventRow, SQLiteStore
from tidings.store.listeners import ListenerRow
from tidings.v1 import event_pb2, listener_pb2

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# --- vocabulary and defaults ---------------------------------------------------

PROFILES = ("mistral", "thain", "tencent", "tencent_json", "cloudevents")
SCOPES = ("GLOBAL", "WORKFLOW", "EXECUTION")
#: Category names, as in `tidings.v1.EventCategory` without the prefix.
CATEGORIES = tuple(
    n.removeprefix("EVENT_CATEGORY_")
    for n in listener_pb2.EventCategory.keys()  # noqa: SIM118 (an enum wrapper, not a dict)
    if n != "EVENT_CATEGORY_UNSPECIFIED"
)
#: Event type names, as in `tidings.v1.EventType` without the prefix.
EVENT_TYPES = tuple(
    n.removeprefix("EVENT_TYPE_")
    for n in event_pb2.EventType.keys()  # noqa: SIM118 (an enum wrapper, not a dict)
    if n != "EVENT_TYPE_UNSPECIFIED"
)
CLOUDEVENTS_MODES = ("STRUCTURED", "BINARY")
WEBHOOK_METHODS = ("POST", "PUT")

DEFAULT_TIMEOUT_S = 15.0
MAX_TIMEOUT_S = 300.0
#: Connecting gets at most this much of an attempt's time.
CONNECT_TIMEOUT_S = 5.0
DEFAULT_GRACE_S = 86400.0
#: Rotation grace periods beyond this would keep a replaced secret alive indefinitely.
MAX_GRACE_S = 30 * 86400.0
#: Secrets signing at once; repeated rotations beyond it drop the oldest.
MAX_SECRETS = 5
RESOLVE_TIMEOUT_S = 2.0
#: TestListener keeps this much of the receiver's answer.
SNIPPET_BYTES = 1024

MAX_NAME = 200
MAX_URL = 2048
MAX_HEADERS = 64
MAX_SCHEDULE = 50
MAX_LIST = 200

SECRET_PREFIX = signing.SECRET_PREFIX
SECRET_MIN_BYTES, SECRET_MAX_BYTES = 24, 64

#: Headers tidings sets itself: the profile's content type, the Standard Webhooks
#: headers and CloudEvents' binary-mode attributes (any ``ce-*``), plus the ones that
#: frame the HTTP message; a listener's own headers must not override them.
RESERVED_HEADERS = frozenset(
    {"content-type", "webhook-id", "webhook-timestamp", "webhook-signature", "content-length",
     "transfer-encoding", "host", "connection"}
)  # fmt: skip
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOPIC = re.compile(r"[a-zA-Z0-9._-]{1,249}")
_LABEL = r"[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?"
_HOSTNAME = re.compile(rf"{_LABEL}(\.{_LABEL})*\.?")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

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


def retry_policy(row: ListenerRow) -> retry.RetryPolicy:
    """The retry policy in force for a listener (the defaults filled in).

    Rows keep what was asked (empty meaning "the default") so that a changed default
    reaches every listener that never chose its own.
    """
    r = row.retry
    jitter, disable_after = r.get("jitter"), r.get("disable_after_s")
    return retry.RetryPolicy(
        schedule=tuple(r.get("schedule_s") or retry.DEFAULT_SCHEDULE),
        jitter=retry.DEFAULT_JITTER if jitter is None else float(jitter),
        disable_after=retry.DEFAULT_DISABLE_AFTER if disable_after is None else disable_after,
    )


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


def _check_headers(headers: Mapping[str, str], path: str, out: list[FieldViolation]) -> None:
    if len(headers) > MAX_HEADERS:
        out.append(FieldViolation(path, f"at most {MAX_HEADERS} headers"))
    for name, value in headers.items():
        where = f"{path}[{orjson.dumps(name).decode()}]"
        lower = name.lower()
        if not _TOKEN.fullmatch(name):
            out.append(FieldViolation(where, "is not a valid HTTP header name"))
        elif lower in RESERVED_HEADERS or lower.startswith("ce-"):
            out.append(FieldViolation(where, "is set by tidings and cannot be overridden"))
        if "\r" in value or "\n" in value:
            out.append(FieldViolation(where, "value must not contain CR or LF"))
        elif any((ord(c) < 0x20 and c != "\t") or ord(c) >= 0x7F for c in value):
            # httpx sends header values as ASCII: anything else would fail every delivery.
            out.append(
                FieldViolation(where, "value must be printable ASCII (percent-encode the rest)")
            )


def _check_profile(profile: str, path: str, out: list[FieldViolation]) -> None:
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
    if not spec.name.strip():
        out.append(FieldViolation(f"{p}.name", "is required"))
    elif len(spec.name) > MAX_NAME:
        out.append(FieldViolation(f"{p}.name", f"must be at most {MAX_NAME} characters"))
    _check_profile(spec.profile, f"{p}.profile", out)

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
        _check_headers(t.headers, f"{w}.headers", out)
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
    return out


def invalid(what: str, violations: list[FieldViolation]) -> InvalidArgumentError:
    """The error for a list of violations, its message naming all of them."""
    detail = "; ".join(f"{v.field}: {v.description}" for v in violations)
    return InvalidArgumentError(f"invalid {what}: {detail}", violations)


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
        }
    assert isinstance(t, KafkaSpec)
    return "kafka", {"topic": t.topic, "cloudevents_mode": mode}


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
    )


# --- SSRF safety ---------------------------------------------------------------


class DestinationRefused(Exception):
    """A webhook destination is not allowed; the message says why."""


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _as_ipv4(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address stands for, else itself.

    IPv4-mapped, IPv4-compatible and NAT64 (64:ff9b::/96, what DNS64 synthesises on an
    IPv6-only network) addresses reach their IPv4 address: that is what is judged.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        # Deprecated IPv4-compatible ::a.b.c.d (not :: and ::1, which are their own thing).
        if int(ip) >> 32 == 0 and int(ip) > 1:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def _embedded_ipv4(ip: IPAddress) -> IPAddress | None:
    """The IPv4 address a 6to4 or Teredo tunnel address leads to, if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def _kind(ip: IPAddress) -> str | None:
    """Why an address is not public ("loopback", "private", ...), or None if it is."""
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "site-local"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "non-public"
    return None


class AllowList:
    """Networks and host names webhooks may reach although they are not public."""

    def __init__(self, entries: Sequence[str] = ()) -> None:
        """Parse CIDR networks, addresses or host names; ValueError names a bad entry."""
        self.networks: list[IPNetwork] = []
        self.hosts: set[str] = set()
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            if not _HOSTNAME.fullmatch(entry) or "/" in entry:
                raise ValueError(f"{raw!r} is neither a network (CIDR), an address nor a host name")
            self.hosts.add(entry.lower().rstrip("."))

    def permits_host(self, host: str) -> bool:
        """True if the host name itself is allow-listed."""
        return host.lower().rstrip(".") in self.hosts

    def permits(self, ip: IPAddress) -> bool:
        """True if the address is in an allow-listed network."""
        return any(ip in net for net in self.networks)


class DestinationGuard:
    """Decides whether webhooks may go to a host (SSRF safety).

    A host is refused if it is, or resolves to, any loopback, private, link-local,
    multicast, reserved or unspecified address (IPv4 or IPv6, including IPv4-mapped,
    6to4, Teredo and NAT64 forms) that the allow-list does not cover. Names are resolved
    with `socket.getaddrinfo` in a thread, with a short timeout; a name that does not
    resolve is refused.
    """

    def __init__(
        self, allow_private: Sequence[str] = (), *, resolve_timeout: float = RESOLVE_TIMEOUT_S
    ) -> None:
        self.allow = AllowList(allow_private)
        self.resolve_timeout = resolve_timeout

    def address_refusal(self, ip: IPAddress) -> str | None:
        """Why webhooks may not go to this address, or None if they may."""
        given, ip = ip, _as_ipv4(ip)
        for candidate in (ip, _embedded_ipv4(ip)):
            if candidate is None or self.allow.permits(candidate):
                continue
            kind = _kind(candidate)
            if kind is not None:
                shown = str(given) if candidate == given else f"{given} ({candidate})"
                article = "an" if kind[0] in "aeiou" else "a"
                return f"{shown} is {article} {kind} address"
        return None

    async def _lookup(self, host: str) -> list[IPAddress]:
        def lookup() -> list[Any]:
            return socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)

        try:
            infos = await asyncio.wait_for(asyncio.to_thread(lookup), self.resolve_timeout)
        except TimeoutError:
            raise DestinationRefused(
                f"resolving {host} took longer than {self.resolve_timeout:g} s"
            ) from None
        except (OSError, UnicodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise DestinationRefused(f"cannot resolve host {host}: {reason}") from None
        addresses: list[IPAddress] = []
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if ip not in addresses:
                addresses.append(ip)
        if not addresses:
            raise DestinationRefused(f"host {host} resolves to no address")
        return addresses

    async def resolve(self, host: str) -> list[IPAddress]:
        """The addresses to connect to for `host`, all of them allowed.

        Raises `DestinationRefused`. Connect to one of the returned addresses rather than
        resolving again, or DNS could answer differently the second time (rebinding).
        """
        literal = _ip_literal(host)
        if literal is not None:
            addresses = [literal]
        else:
            addresses = await self._lookup(host)
            if self.allow.permits_host(host):
                return addresses
        for ip in addresses:
            refusal = self.address_refusal(ip)
            if refusal is not None:
                # Every address must pass: a client may connect to any of them.
                named = "" if literal is not None else f"{host} resolves to "
                raise DestinationRefused(
                    f"{named}{refusal}; webhooks to non-public addresses are refused unless "
                    "allow-listed (webhook_allow_private)"
                )
        return addresses

    async def check(self, host: str) -> str | None:
        """Why webhooks may not go to `host`, or None if they may."""
        if self.allow.permits_host(host):
            return None
        try:
            await self.resolve(host)
        except DestinationRefused as exc:
            return str(exc)
        return None

    async def check_urls(self, urls: Mapping[str, str]) -> None:
        """Check webhook URLs by field path; InvalidArgumentError naming every bad one.

        For the engine: the URLs of `workflow_listeners` and `notify_listeners` rows.
        """
        out: list[FieldViolation] = []
        for path, url in urls.items():
            if url and check_url(url, path, out):
                refusal = await self.check(url_host(url))
                if refusal is not None:
                    out.append(FieldViolation(path, refusal))
        if out:
            raise invalid("webhook URL", out)


async def check_destination(host: str, allow_private: Sequence[str] = ()) -> str | None:
    """Why webhooks may not go to `host`, or None if they may (see `DestinationGuard`)."""
    return await DestinationGuard(allow_private).check(host)


# --- signing secrets -------------------------------------------------------------


def new_secret() -> str:
    """A fresh Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret, strictly; ValueError says what is wrong."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"must start with {SECRET_PREFIX}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"must be {SECRET_PREFIX} followed by base64") from None
    if not SECRET_MIN_BYTES <= len(key) <= SECRET_MAX_BYTES:
        raise ValueError(
            f"must encode {SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} bytes, not {len(key)}"
        )
    return key


def rotate(
    current: Sequence[Mapping[str, Any]], new: str, now: float, grace_s: float
) -> tuple[list[dict[str, Any]], float]:
    """The secrets after rotating to `new`, and when the replaced secret stops signing.

    The current secret keeps signing for `grace_s`; secrets already expired are dropped,
    and at most `MAX_SECRETS` are kept.
    """
    expire = now + grace_s
    kept: list[dict[str, Any]] = []
    for s in current:
        until = s.get("expire_time")
        until = expire if until is None else min(float(until), expire)
        if until > now:
            kept.append({"secret": s["secret"], "expire_time": until})
    return [{"secret": new, "expire_time": None}, *kept][:MAX_SECRETS], expire


def signing_keys(row: ListenerRow, now: float) -> list[bytes]:
    """The HMAC keys that sign for `row` at `now`, newest first."""
    return [
        decode_secret(s["secret"])
        for s in row.secrets
        if s.get("expire_time") is None or float(s["expire_time"]) > now
    ]


#: The ``webhook-signature`` header value (see `tidings.dispatch.signing`).
signature = signing.signature


# --- seed 002 and notify targets -------------------------------------------------

#: What a seed-002 ``callback_url`` hears: the flow execution codes 4, 2, 3, 5 and 7.
CALLBACK_TYPES = (
    "EXECUTION_STARTED",
    "EXECUTION_SUCCEEDED",
    "EXECUTION_FAILED",
    "EXECUTION_CANCELLED",
    "EXECUTION_TIMED_OUT",
)
#: What a seed-002 ``modify_callback_url`` hears: flow modify statuses 1 and 2.
MODIFY_CALLBACK_TYPES = ("EXECUTION_PAUSED", "EXECUTION_RESUMED")


def _scoped_row(listener_id: str, spec: ListenerSpec, now: float) -> ListenerRow:
    # Engine-made listeners get a secret nobody is told: seed-002 receivers do not
    # verify signatures, and a RotateSecret reveals a new one to anyone who wants to.
    return build_row(spec, listener_id, now, [{"secret": new_secret(), "expire_time": None}])


def workflow_listeners(
    workflow_id: str,
    workflow_name: str,
    callback_url: str,
    modify_callback_url: str,
    *,
    now: float,
) -> list[ListenerRow]:
    """The seed-002 listeners of a workflow: `thain` webhooks for its executions.

    ``callback_url`` hears the execution state changes (flow codes 4 running, 2 success,
    3 error, 5 killed, 7 auto_killed); ``modify_callback_url`` hears pause and resume
    (modify statuses 1 and 2). Their ids derive from the workflow id (``<id>.callback_url``,
    ``<id>.modify_callback_url``), so storing them again after an update replaces them.
    Raises InvalidArgumentError (field ``callback_url`` / ``modify_callback_url``) for a
    malformed URL; check the destinations with `DestinationGuard.check_urls`.
    """
    wanted = (
        ("callback_url", callback_url, CALLBACK_TYPES),
        ("modify_callback_url", modify_callback_url, MODIFY_CALLBACK_TYPES),
    )
    out: list[FieldViolation] = []
    for key, url, _ in wanted:
        if url:
            check_url(url, key, out)
    if out:
        raise invalid("callback URL", out)
    return [
        _scoped_row(
            f"{workflow_id}.{key}",
            ListenerSpec(
                name=f"{workflow_name} {key}",
                profile="thain",
                transport=WebhookSpec(url),
                scope="WORKFLOW",
                scope_id=workflow_id,
                types=types,
            ),
            now,
        )
        for key, url, types in wanted
        if url
    ]


def notify_listeners(
    execution_id: str, targets: Sequence[Mapping[str, Any]], *, now: float
) -> list[ListenerRow]:
    """The listeners of an execution's notify targets (as Mistral's ``notify``).

    Each target is ``{url, profile, events, headers}`` (a stored `NotifyTarget`); `events`
    names categories (``EXECUTION``, ``TASK``) or event types (``TASK_STARTED``, with or
    without ``EVENT_TYPE_``), empty meaning all; `profile` defaults to ``mistral``. Ids are
    ``<execution id>.notify.<index>``. Raises InvalidArgumentError with paths like
    ``notify[0].url``; check the destinations with `DestinationGuard.check_urls`.
    """
    out: list[FieldViolation] = []
    rows = []
    for i, target in enumerate(targets):
        p = f"notify[{i}]"
        url = str(target.get("url", ""))
        profile = str(target.get("profile") or "mistral")
        headers = {str(k): str(v) for k, v in dict(target.get("headers") or {}).items()}
        categories, types = [], []
        for j, raw in enumerate(target.get("events") or ()):
            name = str(raw).upper().removeprefix("EVENT_TYPE_")
            if name in CATEGORIES:
                categories.append(name)
            elif name in EVENT_TYPES:
                types.append(name)
            else:
                what = "is not an event category or event type"
                out.append(FieldViolation(f"{p}.events[{j}]", what))
        check_url(url, f"{p}.url", out)
        _check_profile(profile, f"{p}.profile", out)
        _check_headers(headers, f"{p}.headers", out)
        spec = ListenerSpec(
            name=f"notify[{i}] of {execution_id}",
            profile=profile,
            transport=WebhookSpec(url, headers=headers),
            scope="EXECUTION",
            scope_id=execution_id,
            categories=tuple(categories),
            types=tuple(types),
        )
        rows.append(_scoped_row(f"{execution_id}.notify.{i}", spec, now))
    if out:
        raise invalid("notify target", out)
    return rows


# --- the registry ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PingResult:
    """What a receiver answered a test event."""

    time: float
    #: 0 if no HTTP response arrived.
    http_status: int
    #: Empty on success (a 2xx); else the transport error or the unexpected status.
    error: str
    latency_s: float
    #: The first 1 KiB of the response body.
    snippet: str


class ListenerRegistry:
    """Create, read, change and delete listeners, enforcing the rules of this module.

    Changes go through one lock: they are rare, and a rotation must not interleave with
    an update of the same row (either would lose the other's change).
    """

    def __init__(
        self,
        store: SQLiteStore,
        allow_private: Sequence[str] = (),
        *,
        resolve_timeout: float = RESOLVE_TIMEOUT_S,
        clock: Callable[[], float] = time.time,
        announce: Callable[[str, str, str, float], EventRow] | None = None,
    ) -> None:
        self.store = store
        self.guard = DestinationGuard(allow_private, resolve_timeout=resolve_timeout)
        self._clock = clock
        #: Makes the LISTENER_DISABLED event (listener id, name, reason, time).
        self._announce = announce
        self._lock = asyncio.Lock()
        self._on_change: list[Callable[[], None]] = []

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call `callback` after every committed change of a listener (e.g. to reload)."""
        self._on_change.append(callback)

    async def _commit(self, change: Change) -> None:
        await self.store.commit(change)
        self.changed()

    def changed(self) -> None:
        """Tell the followers (the dispatcher) that listeners changed in the store."""
        for callback in self._on_change:
            callback()

    # --- listeners the engine makes with workflows and executions ---------------

    def add(self, change: Change, rows: Sequence[ListenerRow]) -> None:
        """Write new scoped listeners into `change` (call `changed` once it commits)."""
        for row in rows:
            change.put_listener(row)

    async def put_workflow_callbacks(
        self,
        change: Change,
        workflow_id: str,
        workflow_name: str,
        callback_url: str,
        modify_callback_url: str,
    ) -> None:
        """(Re)write a workflow's seed-002 callback listeners into `change`.

        Raises InvalidArgumentError (fields ``callback_url``, ``modify_callback_url``) for
        a malformed or refused URL; a URL left empty removes its listener.
        """
        urls = {"callback_url": callback_url, "modify_callback_url": modify_callback_url}
        await self.check_urls(urls)
        rows = workflow_listeners(
            workflow_id, workflow_name, callback_url, modify_callback_url, now=self._clock()
        )
        self.add(change, rows)
        kept = {r.id for r in rows}
        for key in urls:
            if f"{workflow_id}.{key}" not in kept:
                change.delete_listener(f"{workflow_id}.{key}")

    def drop_workflow_callbacks(self, change: Change, workflow_id: str) -> None:
        """Delete a workflow's seed-002 callback listeners in `change`."""
        for key in ("callback_url", "modify_callback_url"):
            change.delete_listener(f"{workflow_id}.{key}")

    async def notify_targets(
        self, execution_id: str, targets: Sequence[Mapping[str, Any]]
    ) -> list[ListenerRow]:
        """The checked listeners of an execution's notify targets (see `notify_listeners`).

        Raises InvalidArgumentError with paths like ``notify[0].url``.
        """
        rows = notify_listeners(execution_id, targets, now=self._clock())
        await self.check_urls(
            {f"notify[{i}].url": str(t.get("url", "")) for i, t in enumerate(targets)}
        )
        return rows

    async def check_urls(self, urls: Mapping[str, str]) -> None:
        """Check webhook URLs by field path; InvalidArgumentError naming every bad one."""
        await self.guard.check_urls(urls)

    async def _checked(
        self, spec: ListenerSpec, extra: Sequence[FieldViolation] = ()
    ) -> ListenerSpec:
        """`spec` with its scope resolved, or InvalidArgumentError naming every problem."""
        out = [*validate(spec), *extra]
        t = spec.transport
        if isinstance(t, WebhookSpec) and not any(v.field == "listener.webhook.url" for v in out):
            refusal = await self.guard.check(url_host(t.url))
            if refusal is not None:
                out.append(FieldViolation("listener.webhook.url", refusal))
        scope_id = spec.scope_id
        scope_ok = not any(v.field.startswith("listener.scope") for v in out)
        if scope_ok and spec.scope == "WORKFLOW":
            wf = await self.store.get_workflow(spec.scope_id)
            if wf is None:
                out.append(FieldViolation("listener.scope_id", "no such workflow"))
            else:
                scope_id = wf.id  # a name is accepted; the id is what events carry
        elif scope_ok and spec.scope == "EXECUTION":
            execution = await self.store.get_execution(spec.scope_id)
            if execution is None:
                out.append(FieldViolation("listener.scope_id", "no such execution"))
        if out:
            raise invalid("listener", out)
        return dataclasses.replace(spec, scope=spec.scope or "GLOBAL", scope_id=scope_id)

    async def create(self, spec: ListenerSpec, signing_secret: str = "") -> tuple[ListenerRow, str]:
        """Store a new listener; returns it and its signing secret (generated if not given)."""
        extra = []
        if signing_secret:
            try:
                decode_secret(signing_secret)
            except ValueError as exc:
                extra.append(FieldViolation("signing_secret", str(exc)))
        spec = await self._checked(spec, extra)
        secret = signing_secret or new_secret()
        async with self._lock:
            now = self._clock()
            row = build_row(spec, str(uuid.uuid4()), now, [{"secret": secret, "expire_time": None}])
            change = Change()
            change.put_listener(row)
            await self._commit(change)
        log.info("listener %s (%s) created: %s %s", row.id, row.name, row.profile, row.transport)
        return row, secret

    async def get(self, listener_id: str) -> ListenerRow:
        """A listener by id; NotFoundError if there is none."""
        if not listener_id:
            raise invalid("request", [FieldViolation("id", "is required")])
        row = await self.store.get_listener(listener_id)
        if row is None:
            raise NotFoundError(f"no listener {listener_id!r}")
        return row

    async def list_page(self, page_token: str, limit: int) -> tuple[list[ListenerRow], str]:
        """A page of listeners in creation order, and the next page's token."""
        return await self.store.list_listeners(page_token, limit)

    async def update(self, listener_id: str, spec: ListenerSpec) -> ListenerRow:
        """Replace a listener's settings; its id, secrets and creation time stay."""
        if not listener_id:
            raise invalid("request", [FieldViolation("listener.id", "is required")])
        spec = await self._checked(spec)
        async with self._lock:
            old = await self.get(listener_id)
            row = build_row(spec, old.id, self._clock(), old.secrets)
            row.create_time = old.create_time
            # The reason of an automatic disabling stays until someone enables it again.
            row.disabled_reason = "" if row.enabled else old.disabled_reason
            change = Change()
            change.put_listener(row)
            await self._commit(change)
        return row

    async def delete(self, listener_id: str) -> None:
        """Delete a listener; NotFoundError if there is none."""
        async with self._lock:
            await self.get(listener_id)
            change = Change()
            change.delete_listener(listener_id)
            await self._commit(change)
        log.info("listener %s deleted", listener_id)

    async def rotate_secret(
        self, listener_id: str, grace_s: float | None = None
    ) -> tuple[str, float]:
        """A new signing secret; the current one keeps signing for `grace_s` (default 24 h).

        Returns the new secret and when the old one stops signing.
        """
        grace = DEFAULT_GRACE_S if grace_s is None else grace_s
        if not (math.isfinite(grace) and 0 <= grace <= MAX_GRACE_S):
            raise invalid(
                "request",
                [FieldViolation("grace_period", f"must be 0 to {MAX_GRACE_S / 86400:g} days")],
            )
        async with self._lock:
            row = await self.get(listener_id)
            now = self._clock()
            secret = new_secret()
            row.secrets, expire = rotate(row.secrets, secret, now, grace)
            row.update_time = now
            change = Change()
            change.put_listener(row)
            await self._commit(change)
        log.info("listener %s: signing secret rotated", listener_id)
        return secret, expire

    async def disable(self, listener_id: str, reason: str) -> ListenerRow:
        """Disable a listener automatically (410 Gone, failing too long), saying why."""
        async with self._lock:
            row = await self.get(listener_id)
            if not row.enabled:
                return row
            row.enabled, row.disabled_reason, row.update_time = False, reason, self._clock()
            change = Change()
            change.put_listener(row)
            if self._announce is not None:  # in the same transaction: it happened
                change.add_event(self._announce(row.id, row.name, reason, row.update_time))
            await self._commit(change)
        log.warning("listener %s disabled: %s", listener_id, reason)
        return row

    async def test(self, listener_id: str) -> PingResult:
        """Send a signed ping to the listener and report what came back.

        Raises NotImplementedError for Kafka listeners (delivery to Kafka comes with the
        dispatcher).
        """
        row = await self.get(listener_id)
        if row.transport != "webhook":
            raise NotImplementedError(
                f"TestListener supports webhook listeners only so far, not {row.transport}"
            )
        if not signing_keys(row, self._clock()):
            raise FailedPreconditionError(f"listener {listener_id} has no valid signing secret")
        return await ping(row, self.guard, now=self._clock())


async def ping(row: ListenerRow, guard: DestinationGuard, *, now: float) -> PingResult:
    """POST (or PUT) a signed ``{"type": "ping"}`` event to a webhook listener.

    The destination is checked again and the request goes to the vetted address (the
    Host header and TLS name stay the URL's); redirects are not followed.
    """
    cfg = row.config
    url = httpx.URL(cfg["url"])
    started = time.monotonic()
    total = float(cfg.get("timeout_s") or DEFAULT_TIMEOUT_S)

    def result(status: int, error: str, snippet: str = "") -> PingResult:
        return PingResult(now, status, error, time.monotonic() - started, snippet)

    try:
        addresses = await guard.resolve(url.host)
    except DestinationRefused as exc:
        return result(0, f"refused: {exc}")
    msg_id = f"ping_{uuid.uuid4().hex}"
    timestamp = int(now)
    body = orjson.dumps(
        {
            "type": "ping",
            "id": msg_id,
            "listener_id": row.id,
            "listener_name": row.name,
            "time": datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z"),
        }
    )
    headers = {
        **row.config.get("headers", {}),
        "host": url.netloc.decode("ascii"),
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(signing_keys(row, now), msg_id, timestamp, body),
    }
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    target = url.copy_with(host=str(addresses[0]))
    timeout = httpx.Timeout(total, connect=min(CONNECT_TIMEOUT_S, total))
    try:
        # trust_env=False: a proxy from the environment would bypass the address check.
        async with (
            asyncio.timeout(total),
            httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client,
            client.stream(
                cfg.get("method", "POST"), target, content=body, headers=headers,
                extensions=extensions,
            ) as response,
        ):  # fmt: skip
            snippet = bytearray()
            async for chunk in response.aiter_bytes():
                snippet += chunk
                if len(snippet) >= SNIPPET_BYTES:
                    break
            text = bytes(snippet[:SNIPPET_BYTES]).decode("utf-8", "replace")
            status = response.status_code
            error = "" if 200 <= status < 300 else f"HTTP {status}"
            if 300 <= status < 400:
                error += " (redirects are not followed)"
            return result(status, error, text)
    except (TimeoutError, httpx.TimeoutException):
        return result(0, f"timed out after {total:g} s")
    except httpx.HTTPError as exc:
        return result(0, f"{type(exc).__name__}: {exc}".rstrip(": "))
