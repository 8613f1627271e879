"""Networking rules that depend on nothing else of tidings: the destination (SSRF) guard."""

from tidings.net.guard import (
    RESOLVE_TIMEOUT_S,
    AllowList,
    DestinationGuard,
    DestinationRefused,
    IPAddress,
    check_destination,
)

__all__ = [
    "RESOLVE_TIMEOUT_S",
    "AllowList",
    "DestinationGuard",
    "DestinationRefused",
    "IPAddress",
    "check_destination",
]
