"""librdkafka properties passed through from the configuration (``kafka_properties``).

Any librdkafka property may be given, so that a broker's security (TLS, SASL/SCRAM,
OAUTHBEARER...) needs no code of ours; librdkafka itself refuses unknown names when the
producer is made. The security settings are checked here first, so that a typo or a
half-set pair is a configuration error at start naming the setting, not a producer that
silently talks plaintext or fails to authenticate over and over.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

#: Properties tidings sets itself: delivery is durable and ordered only with them (see
#: `sink.producer_config`), and the bootstrap address is the ``kafka_bootstrap`` setting.
RESERVED = frozenset(
    {
        "bootstrap.servers",
        "metadata.broker.list",
        "enable.idempotence",
        "acks",
        "request.required.acks",
        "transactional.id",
        "logger",
    }
)
PROTOCOLS = frozenset({"plaintext", "ssl", "sasl_plaintext", "sasl_ssl"})
MECHANISMS = frozenset({"GSSAPI", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"})
#: Properties naming a file librdkafka reads: it must exist when tidings starts.
FILES = ("ssl.ca.location", "ssl.certificate.location", "ssl.key.location", "ssl.crl.location")
#: Values never shown in logs or messages.
SECRET = re.compile(r"password|secret|\.pem$|^ssl_key$|^ssl\.key\.|token", re.IGNORECASE)
_NAME = re.compile(r"[a-z][a-z0-9_.]*")


def check(properties: Mapping[str, object]) -> dict[str, str]:
    """The properties as librdkafka strings; ValueError names the first bad one."""
    props: dict[str, str] = {}
    for key, value in properties.items():
        if not _NAME.fullmatch(key):
            raise ValueError(f"{key!r} is not a librdkafka property name")
        if key in RESERVED:
            raise ValueError(f"{key} is set by tidings (durable, ordered delivery); remove it")
        if isinstance(value, bool):
            props[key] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            props[key] = str(value)
        else:
            raise ValueError(f"{key}: expected a string, number or boolean")
    protocol = props.get("security.protocol", "plaintext").lower()
    if protocol not in PROTOCOLS:
        raise ValueError(
            f"security.protocol: expected one of {', '.join(sorted(PROTOCOLS))}, got {protocol!r}"
        )
    mechanism_key = "sasl.mechanism" if "sasl.mechanism" in props else "sasl.mechanisms"
    mechanism = props.get(mechanism_key, "")
    if mechanism and mechanism not in MECHANISMS:
        raise ValueError(
            f"{mechanism_key}: expected one of {', '.join(sorted(MECHANISMS))}, got {mechanism!r}"
        )
    sasl_keys = sorted(k for k in props if k.startswith("sasl."))
    if sasl_keys and not protocol.startswith("sasl_"):
        raise ValueError(
            f"{sasl_keys[0]} needs security.protocol sasl_ssl or sasl_plaintext, not {protocol}"
        )
    if mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
        for needed in ("sasl.username", "sasl.password"):
            if not props.get(needed):
                raise ValueError(f"{mechanism_key} {mechanism} needs {needed}")
    ssl_keys = sorted(k for k in props if k.startswith("ssl.") or k.startswith("ssl_"))
    if ssl_keys and protocol not in ("ssl", "sasl_ssl"):
        raise ValueError(f"{ssl_keys[0]} needs security.protocol ssl or sasl_ssl, not {protocol}")
    for key in FILES:
        location = props.get(key)
        # "probe" asks librdkafka to look in the system's usual places.
        if location and location != "probe" and not Path(location).is_file():
            raise ValueError(f"{key}: no file {location}")
    return props


def redacted(properties: Mapping[str, object]) -> dict[str, object]:
    """The properties with every secret value replaced, for logs and messages."""
    return {k: "<redacted>" if SECRET.search(k) else v for k, v in properties.items()}
