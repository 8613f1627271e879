"""Page tokens: an opaque string for a position in a listing or in the outbox.

Every store encodes its positions with these, so a token means the same to the API
whichever store made it (WatchEvents hands out outbox positions as tokens too).
"""

from __future__ import annotations

import base64


def encode_token(position: int) -> str:
    """An opaque page token for a position in a listing."""
    return base64.urlsafe_b64encode(f"r{position}".encode()).decode()


def decode_token(token: str) -> int:
    """The position in a page token (0 for ""); ValueError if it is not one of ours."""
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("page_token is not valid") from exc
    if not raw.startswith("r") or not raw[1:].isdigit():
        raise ValueError("page_token is not valid")
    return int(raw[1:])
