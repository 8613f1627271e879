"""Standard Webhooks signing secrets of a listener: made, checked, rotated, in force.

A secret is ``whsec_`` + base64 of 24 to 64 random bytes. Rotation keeps the replaced
secret signing for a grace period, so receivers can switch without losing a message.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from tidings.store.listeners import ListenerRow

SECRET_PREFIX = "whsec_"
SECRET_MIN_BYTES, SECRET_MAX_BYTES = 24, 64
DEFAULT_GRACE_S = 86400.0
#: Rotation grace periods beyond this would keep a replaced secret alive indefinitely.
MAX_GRACE_S = 30 * 86400.0
#: Secrets signing at once; repeated rotations beyond it drop the oldest.
MAX_SECRETS = 5


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
