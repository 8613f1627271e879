"""The webhook sink: one signed HTTP request per event, over pooled connections.

Connections go only to addresses the destination guard allows, checked on the address
actually connected to (so DNS answering differently after the listener was created
cannot steer a webhook into the private network).
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import httpcore
import httpx

from tidings import __version__
from tidings.dispatch.retry import parse_retry_after
from tidings.listeners import DestinationGuard

SNIPPET_BYTES = 1024
CONNECT_TIMEOUT = 5.0
DEFAULT_TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one delivery attempt gave."""

    #: A 2xx answer.
    ok: bool
    #: The HTTP status; 0 when there was no answer.
    status: int
    #: The transport error, or a short reason for a non-2xx answer.
    error: str
    latency: float
    #: The first 1 KiB of the answer's body.
    snippet: str
    #: Seconds the receiver asked us to wait (429/503 Retry-After).
    retry_after: float | None = None


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects like the default backend, then refuses a peer the guard does not allow."""

    def __init__(self, guard: DestinationGuard) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._guard = guard

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        peer = stream.get_extra_info("server_addr")
        refusal = None
        if not self._guard.allow.permits_host(host):
            try:
                refusal = self._guard.address_refusal(ipaddress.ip_address(peer[0]))
            except (TypeError, ValueError, IndexError):
                refusal = f"cannot tell which address {host} connected to"
        if refusal is not None:
            await stream.aclose()
            raise httpcore.ConnectError(f"refused: {refusal}")
        return stream

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks never go to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, guard: DestinationGuard, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        # httpx builds its connection pool without a way to pass a network backend:
        # replace it with the same pool over the guarded backend. (Pinned httpx; the
        # tests check that a private peer is refused, so an upgrade that breaks this
        # fails loudly.)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(guard),
        )


class WebhookSink:
    """Sends webhook requests; never raises for a failed delivery, returns an Attempt."""

    def __init__(self, guard: DestinationGuard, *, max_connections: int = 256) -> None:
        limits = httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=30.0,
        )
        self.client = httpx.AsyncClient(
            transport=_GuardedTransport(guard, limits),
            follow_redirects=False,
            trust_env=False,
            headers={"user-agent": f"tidings/{__version__}"},
        )

    async def deliver(
        self,
        url: str,
        method: str,
        headers: Mapping[str, str],
        body: bytes,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Attempt:
        """One attempt: connect (≤5 s), send, read the answer, all within `timeout`."""
        started = time.monotonic()
        http_timeout = httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout))
        try:
            async with asyncio.timeout(timeout):
                response = await self.client.request(
                    method, url, headers=headers, content=body, timeout=http_timeout
                )
                snippet = (await response.aread())[:SNIPPET_BYTES]
        except TimeoutError:
            return Attempt(
                False, 0, f"timed out after {timeout:g}s", time.monotonic() - started, ""
            )
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return Attempt(False, 0, error, time.monotonic() - started, "")
        latency = time.monotonic() - started
        text = snippet.decode("utf-8", errors="replace")
        status = response.status_code
        if 200 <= status < 300:
            return Attempt(True, status, "", latency, text)
        retry_after = None
        if status in (429, 503):
            retry_after = parse_retry_after(response.headers.get("retry-after"), time.time())
        return Attempt(False, status, f"HTTP {status}", latency, text, retry_after)

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self.client.aclose()
