"""The `cloudevents` profile: CloudEvents 1.0 over HTTP and Kafka, structured or binary.

Seed 001 (`001_b4dad3998860fc9f.txt`) is Mistral's "HTTP listeners" blueprint: it defines
how a listener is registered (workbook name, event types "EXECUTION" / "TASK", URL,
``method: POST``, headers; a transport that can be extended), not the bytes a listener
receives. So this validator holds the `cloudevents` profile to the CloudEvents 1.0 core
specification, its JSON event format and its HTTP and Kafka protocol bindings, and checks
only what those make normative (MUST); the data inside is producer-defined.

- Mode: a ``content-type`` starting ``application/cloudevents`` means structured mode, of
  which only ``application/cloudevents+json`` is read here (batches are never
  solicited); anything else is binary mode: attributes in ``ce-`` headers (HTTP, values
  percent-encoded) or ``ce_`` headers (Kafka, UTF-8), ``content-type`` as datacontenttype.
- Required: ``id``, ``source``, ``specversion`` (``"1.0"``), ``type``, non-empty strings.
- Optional: ``datacontenttype`` (RFC 2046), ``dataschema`` (non-empty absolute URI),
  ``subject`` (non-empty), ``time`` (RFC 3339). Names: lower-case a-z and 0-9, never
  ``data``. Values: Boolean, Integer (32-bit), or String without control characters.
- JSON format: ``data`` and ``data_base64`` not both; ``null`` means unset. JSON data
  (datacontenttype absent, ``application/json`` or ``*+json``) must parse as JSON.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import unquote_to_bytes

from seeds.common import Violation, media_type, parse_json

Binding = Literal["http", "kafka"]
STRUCTURED = "application/cloudevents+json"
REQUIRED = ("id", "source", "specversion", "type")
STRING_ATTRIBUTES = (*REQUIRED, "datacontenttype", "dataschema", "subject", "time")
NAME = re.compile(r"[a-z0-9]+")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
RFC3339 = re.compile(
    r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)"
    r"(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)"
)
MEDIA_TYPE = re.compile(r"[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(\s*;.*)?")
#: RFC 3986 characters (unreserved, reserved, percent-encoded); URI-reference ⊂ these.
URI_CHARS = r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*"
URI_REFERENCE = re.compile(URI_CHARS)
ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:" + URI_CHARS)
INT32 = range(-(2**31), 2**31)
#: Characters an HTTP header value may carry unencoded (HTTP binding 3.1.3.2).
HEADER_SAFE = re.compile(r"(?:[\x21\x23\x24\x26-\x7e]|%[0-9A-Fa-f]{2})*")


def mode_of(headers: Mapping[str, str]) -> Literal["structured", "binary"]:
    """The content mode a receiver reads from ``content-type`` (both bindings)."""
    content_type = headers.get("content-type", "").strip().lower()
    return "structured" if content_type.startswith("application/cloudevents") else "binary"


def validate_cloudevent(
    headers: Mapping[str, str], body: bytes, *, binding: Binding = "http"
) -> list[Violation]:
    """One CloudEvent as an HTTP request or a Kafka record; ``headers`` lower-cased."""
    if mode_of(headers) == "structured":
        return _structured(headers, body)
    return _binary(headers, body, binding)


def _structured(headers: Mapping[str, str], body: bytes) -> list[Violation]:
    got = media_type(headers.get("content-type"))
    if got != STRUCTURED:
        return [Violation("content-type", f"{got!r} is not a structured format read here")]
    doc, out = parse_json(body)
    if out:
        return out
    if not isinstance(doc, dict):
        return [Violation("$", "a structured CloudEvent must be a JSON object")]
    attributes = {
        k: v for k, v in doc.items() if k not in ("data", "data_base64") and v is not None
    }
    out += _attributes(attributes, structured=True)
    if doc.get("data") is not None and doc.get("data_base64") is not None:
        out.append(Violation("$", "has both data and data_base64"))
    encoded = doc.get("data_base64")
    if encoded is not None:
        try:
            base64.b64decode(encoded, validate=True)
        except (binascii.Error, TypeError, ValueError):
            out.append(Violation("$.data_base64", "is not Base64"))
    return out


def _binary(headers: Mapping[str, str], body: bytes, binding: Binding) -> list[Violation]:
    prefix = "ce-" if binding == "http" else "ce_"
    out: list[Violation] = []
    attributes: dict[str, Any] = {}
    for name, raw in headers.items():
        if not name.startswith(prefix):
            continue
        attribute = name.removeprefix(prefix)
        value, why = _header_value(raw, binding)
        if why:
            out.append(Violation(name, why))
        attributes[attribute] = value
    if "datacontenttype" in attributes:
        out.append(
            Violation(f"{prefix}datacontenttype", "must not be sent: content-type carries it")
        )
    if "data" in attributes:
        out.append(Violation(f"{prefix}data", "'data' is not an attribute name"))
    if "content-type" in headers:
        attributes["datacontenttype"] = headers["content-type"]
    out += _attributes(attributes, structured=False, prefix=prefix)
    if _is_json(attributes.get("datacontenttype")) and body:
        out += parse_json(body, "data")[1]
    return out


def _header_value(raw: str, binding: Binding) -> tuple[str, str | None]:
    """The attribute value of a header, and why it is badly encoded (if it is)."""
    if binding == "kafka":
        return raw, None  # UTF-8 strings, as the record carries them
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        raw = re.sub(r"\\(.)", r"\1", raw[1:-1])  # a quoted-string (older senders)
    elif not HEADER_SAFE.fullmatch(raw):
        return raw, "is not percent-encoded (space, '\"', '%' and non-ASCII must be)"
    try:
        return unquote_to_bytes(raw).decode("utf-8"), None
    except UnicodeDecodeError:
        return raw, "percent-decodes to bytes that are not UTF-8"


def _attributes(
    attributes: Mapping[str, Any], *, structured: bool, prefix: str = "$."
) -> list[Violation]:
    out = [
        Violation(f"{prefix}{k}", "is missing (REQUIRED)") for k in REQUIRED if k not in attributes
    ]
    for name, value in attributes.items():
        path = f"{prefix}{name}"
        if not NAME.fullmatch(name):
            out.append(Violation(path, "attribute names are lower-case a-z and 0-9 only"))
        if name in STRING_ATTRIBUTES and not isinstance(value, str):
            out.append(
                Violation(path, "must be a JSON string" if structured else "must be a string")
            )
            continue
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            if value not in INT32:
                out.append(Violation(path, "is an Integer outside the 32-bit range"))
            continue
        if not isinstance(value, str):
            out.append(Violation(path, "is not a Boolean, Integer or String"))
            continue
        if CONTROL.search(value):
            out.append(Violation(path, "holds control characters"))
        why = _attribute_value(name, value)
        if why:
            out.append(Violation(path, why))
    return out


def _attribute_value(name: str, value: str) -> str | None:
    if name in ("id", "source", "type", "subject", "specversion", "dataschema") and not value:
        return "must be a non-empty string"
    if name == "specversion" and value != "1.0":
        return f"{value!r} is not '1.0'"
    if name == "time" and not RFC3339.fullmatch(value):
        return f"{value!r} is not an RFC 3339 timestamp"
    if name == "datacontenttype" and not MEDIA_TYPE.fullmatch(value):
        return f"{value!r} is not an RFC 2046 media type"
    if name == "dataschema" and not ABSOLUTE_URI.fullmatch(value):
        return f"{value!r} is not an absolute URI"
    if name == "source" and not URI_REFERENCE.fullmatch(value):
        return f"{value!r} is not a URI-reference"
    return None


def _is_json(content_type: Any) -> bool:
    if not isinstance(content_type, str):
        return False
    kind = media_type(content_type)
    return kind == "application/json" or kind.endswith("+json")
