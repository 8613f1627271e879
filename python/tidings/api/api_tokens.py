"""API tokens: making one, its hash, and the configuration entries that name them.

A token is ``tdg_`` and 32 random bytes (base64url): the prefix lets secret scanners
spot a leaked one. The server keeps only its SHA-256, in a configuration entry
``NAME:SCOPE:sha256:HEX``. A fast, unkeyed hash is enough here, and a password hash
(bcrypt, argon2) would only slow every RPC: those exist to make guessing a *low*-entropy
password from its hash expensive, whereas guessing 256 random bits is out of reach
whatever the hash costs, and a second-preimage of SHA-256 is too. A key (pepper) would
protect nothing more for the same reason, and would be one more secret to keep.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tidings.api.access import Scope

PREFIX = "tdg_"
#: Tokens given to ``tidings token hash`` must be at least this long: a short one could
#: be guessed, which the fast hash above does nothing to stop.
MIN_TOKEN_CHARS = 32
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ApiToken:
    """One configured token: its name (for logs and messages), scope and SHA-256."""

    name: str
    scope: Scope
    sha256: bytes

    def entry(self) -> str:
        """The configuration entry for this token."""
        return f"{self.name}:{self.scope.label}:sha256:{self.sha256.hex()}"


def new_token() -> str:
    """A fresh random token (shown once; only its hash is kept)."""
    raw = secrets.token_bytes(32)
    return PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def digest(token: str) -> bytes:
    """The SHA-256 of a token as presented."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def make(name: str, scope: Scope, token: str) -> ApiToken:
    """The configured form of ``token``; ValueError for a bad name or a short token."""
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"token name {name!r}: 1-64 letters, digits, '_', '.' or '-', starting with a "
            "letter or digit"
        )
    if len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"a token must have at least {MIN_TOKEN_CHARS} characters")
    return ApiToken(name, scope, digest(token))


def parse(entry: str) -> ApiToken:
    """A configuration entry ``NAME:SCOPE:sha256:HEX``; ValueError says what is wrong."""
    parts = entry.strip().split(":")
    if len(parts) != 4 or parts[2] != "sha256":
        raise ValueError(f"expected NAME:SCOPE:sha256:HEX, got {_shown(entry)!r}")
    name, scope, _, hex_digest = parts
    if not _NAME.fullmatch(name):
        raise ValueError(f"token name {name!r}: 1-64 letters, digits, '_', '.' or '-'")
    if not _HEX.fullmatch(hex_digest.lower()):
        raise ValueError(f"token {name!r}: the sha256 must be 64 hexadecimal digits")
    return ApiToken(name, Scope.parse(scope), bytes.fromhex(hex_digest))


def parse_all(entries: Iterable[str]) -> tuple[ApiToken, ...]:
    """Every entry, names unique; ValueError names the first bad one."""
    tokens = tuple(parse(e) for e in entries)
    seen: set[str] = set()
    for t in tokens:
        if t.name in seen:
            raise ValueError(f"token name {t.name!r} is used twice")
        seen.add(t.name)
    return tokens


def find(tokens: Sequence[ApiToken], presented: str) -> ApiToken | None:
    """The configured token ``presented`` is, or None.

    Every entry is compared in constant time, so how long a wrong token takes to refuse
    says nothing about the configured hashes.
    """
    given = digest(presented)
    found: ApiToken | None = None
    for t in tokens:
        if hmac.compare_digest(t.sha256, given):
            found = t
    return found


def _shown(entry: str) -> str:
    # An entry pasted wrongly may be the token itself: never echo more than its start.
    return entry if len(entry) <= 12 else entry[:12] + "…"
