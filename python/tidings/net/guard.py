"""Where webhooks may go: the destination (SSRF) guard.

Webhooks to loopback, private, link-local, multicast, reserved or unspecified addresses
(IPv4 or IPv6, including IPv4-mapped, 6to4, Teredo and NAT64 forms) are refused unless
allow-listed: at creation (`DestinationGuard.check`) and again when connecting
(`DestinationGuard.resolve`, which returns the vetted addresses to connect to, and
`DestinationGuard.address_refusal` for a connector's own resolver).

This module depends on nothing else of tidings, so that every part that opens a
connection on a user's behalf can use it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Sequence
from typing import Any

__all__ = [
    "RESOLVE_TIMEOUT_S",
    "AllowList",
    "DestinationGuard",
    "DestinationRefused",
    "IPAddress",
    "check_destination",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: How long resolving a host name may take before the host is refused.
RESOLVE_TIMEOUT_S = 2.0

_LABEL = r"[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?"
_HOSTNAME = re.compile(rf"{_LABEL}(\.{_LABEL})*\.?")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


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


async def check_destination(host: str, allow_private: Sequence[str] = ()) -> str | None:
    """Why webhooks may not go to `host`, or None if they may (see `DestinationGuard`)."""
    return await DestinationGuard(allow_private).check(host)
