"""The webhook sink: one signed HTTP request per event, over pooled connections.

httpx is the API; its transport is aiohttp's connection pool (httpx-aiohttp), because
httpcore's pool spends most of its time scanning its connections once dozens are in
use (measured by bench/outbox.py). Connections go only to addresses the destination
guard allows, checked on the addresses actually connected to, so DNS answering
differently after the listener was created cannot steer a webhook into the private
network.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import ssl
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from httpx_aiohttp import AiohttpTransport

from tidings import __version__
from tidings.dispatch.webhook import signing
from tidings.dispatch.webhook.retry import parse_retry_after
from tidings.listeners import DEFAULT_TIMEOUT_S, signing_keys
from tidings.net import DestinationGuard
from tidings.store.listeners import ListenerRow

#: An attempt records this much of the receiver's answer.
SNIPPET_BYTES = 1024
#: Connecting gets at most this much of an attempt's time.
CONNECT_TIMEOUT_S = 5.0


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


class _GuardedResolver(AbstractResolver):
    """Resolves like the default resolver, then refuses addresses the guard forbids.

    aiohttp connects to the addresses this returns, so the check holds at connect time.
    """

    def __init__(self, guard: DestinationGuard) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if self._guard.allow.permits_host(host):
            return results
        for result in results:
            refusal = self._guard.address_refusal(ipaddress.ip_address(result["host"]))
            if refusal is not None:
                # With an errno, aiohttp keeps the text in the error it reports.
                raise OSError(errno.EACCES, f"refused: {refusal}")
        return results

    async def close(self) -> None:
        await self._inner.close()


def _describe(exc: httpx.HTTPError) -> str:
    """A transport error as ``Kind: message``.

    httpx-aiohttp reports every aiohttp connection error as ConnectTimeout (its mapping
    prefers the less specific class); a refused or unreachable connection is named
    ConnectError here, as httpx itself would.
    """
    kind = type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout) and isinstance(
        exc.__cause__, aiohttp.ClientConnectorError
    ):
        kind = "ConnectError"
    return f"{kind}: {exc}" if str(exc) else kind


class WebhookSink:
    """Sends webhook requests; never raises for a failed delivery, returns an Attempt."""

    def __init__(self, guard: DestinationGuard, *, max_connections: int = 1024) -> None:
        self.guard = guard

        def session() -> aiohttp.ClientSession:
            # Made inside the running event loop, on the first request.
            connector = aiohttp.TCPConnector(
                limit=max_connections,
                resolver=_GuardedResolver(guard),
                keepalive_timeout=30.0,
                ssl=ssl.create_default_context(),
            )
            return aiohttp.ClientSession(connector=connector, trust_env=False)

        self.client = httpx.AsyncClient(
            transport=AiohttpTransport(client=session),
            follow_redirects=False,
            trust_env=False,
            headers={"user-agent": f"tidings/{__version__}"},
        )

    def _literal_refusal(self, url: str) -> str | None:
        """An IP literal is connected to without resolving: check it here."""
        try:
            ip = ipaddress.ip_address(httpx.URL(url).host)
        except ValueError:
            return None
        return self.guard.address_refusal(ip)

    async def deliver(
        self,
        url: str,
        method: str,
        headers: Mapping[str, str],
        body: bytes,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> Attempt:
        """One attempt: connect (≤5 s), send, read the answer, all within `timeout`."""
        started = time.monotonic()
        refusal = self._literal_refusal(url)
        if refusal is not None:
            return Attempt(False, 0, f"refused: {refusal}", 0.0, "")
        http_timeout = httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT_S, timeout))
        try:
            async with asyncio.timeout(timeout):
                try:
                    response = await self.client.request(
                        method, url, headers=headers, content=body, timeout=http_timeout
                    )
                except httpx.TransportError:
                    # A quick failure is most often a pooled connection the receiver had
                    # just closed: one immediate try on a fresh connection (delivery is
                    # at-least-once). (The aiohttp transport reports such errors as
                    # ConnectTimeout, so the time taken tells them from real timeouts.)
                    if time.monotonic() - started > min(1.0, timeout / 2):
                        raise
                    response = await self.client.request(
                        method, url, headers=headers, content=body, timeout=http_timeout
                    )
                snippet = (await response.aread())[:SNIPPET_BYTES]
        except TimeoutError:
            return Attempt(
                False, 0, f"timed out after {timeout:g} s", time.monotonic() - started, ""
            )
        except httpx.HTTPError as exc:
            return Attempt(False, 0, _describe(exc), time.monotonic() - started, "")
        except (ValueError, TypeError, OSError) as exc:
            # A request that cannot even be sent (a header value httpx refuses, ...) is
            # a failed attempt, recorded like any other; never a crash of the pipeline.
            return Attempt(False, 0, f"cannot send: {exc}", time.monotonic() - started, "")
        latency = time.monotonic() - started
        text = snippet.decode("utf-8", errors="replace")
        status = response.status_code
        if 200 <= status < 300:
            return Attempt(True, status, "", latency, text)
        retry_after = None
        if status in (429, 503):
            retry_after = parse_retry_after(response.headers.get("retry-after"), time.time())
        error = f"HTTP {status}"
        if 300 <= status < 400:
            error += " (redirects are not followed)"
        return Attempt(False, status, error, latency, text, retry_after)

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self.client.aclose()


def to_listener(
    sink: WebhookSink,
    row: ListenerRow,
    msg_id: str,
    body: bytes,
    headers: Mapping[str, str],
    now: int,
) -> Awaitable[Attempt]:
    """One signed attempt at a webhook listener: its URL, method, headers and timeout.

    `headers` (content type, CloudEvents attributes) go over the listener's own; the
    Standard Webhooks headers, signed with the secrets in force at `now`, over both.
    """
    cfg = row.config
    sent = {**cfg.get("headers", {}), **headers}
    sent.update(signing.headers(signing_keys(row, now), msg_id, now, body))
    timeout = float(cfg.get("timeout_s") or DEFAULT_TIMEOUT_S)
    return sink.deliver(cfg["url"], cfg.get("method", "POST"), sent, body, timeout)
