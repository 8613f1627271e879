"""The webhook sink: one signed HTTP request per event, over pooled connections.

aiohttp's client, used directly: httpx over aiohttp's pool (as before) cost ~300 µs of
CPU a request and aiohttp alone ~110 (64 in flight to a local receiver, 20,000
requests); httpcore's own pool spends most of its time scanning its connections once
dozens are in use. Connections go only to addresses the destination guard allows,
checked on the addresses actually connected to, so DNS answering differently after the
listener was created cannot steer a webhook into the private network.
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
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

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


def _describe(exc: aiohttp.ClientError) -> str:
    """A transport error as ``Kind: message``, the kinds named as httpx names them.

    Operators read these in ListDeliveries: a refused or unreachable connection is a
    ConnectError, one lost before the whole answer came a RemoteProtocolError.
    """
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        kind = "ConnectTimeout"
    elif isinstance(exc, aiohttp.ClientConnectorError):
        kind = "ConnectError"
    elif isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        kind = "RemoteProtocolError"
    elif isinstance(exc, aiohttp.ClientOSError):
        kind = "ReadError"
    else:
        kind = type(exc).__name__
    return f"{kind}: {exc}" if str(exc) else kind


async def _snippet(response: aiohttp.ClientResponse) -> bytes:
    """The answer's first `SNIPPET_BYTES`.

    The rest is not read: the connection is then closed rather than reused, and a huge
    answer costs nothing.
    """
    chunks: list[bytes] = []
    left = SNIPPET_BYTES
    while left > 0:
        chunk = await response.content.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class WebhookSink:
    """Sends webhook requests; never raises for a failed delivery, returns an Attempt."""

    def __init__(self, guard: DestinationGuard, *, max_connections: int = 1024) -> None:
        self.guard = guard
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        """The pooled session, made on the first request (inside the running loop)."""
        session = self._session
        if session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                resolver=_GuardedResolver(self.guard),
                keepalive_timeout=30.0,
                ssl=ssl.create_default_context(),
            )
            session = self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,
                headers={"user-agent": f"tidings/{__version__}"},
                # A body goes with the content type its profile gives, else with none.
                skip_auto_headers=("content-type",),
            )
        return session

    def _literal_refusal(self, url: str) -> str | None:
        """An IP literal is connected to without resolving: check it here."""
        try:
            ip = ipaddress.ip_address(urlsplit(url).hostname or "")
        except ValueError:
            return None
        return self.guard.address_refusal(ip)

    async def _send(
        self,
        url: str,
        method: str,
        headers: Mapping[str, str],
        body: bytes,
        limits: aiohttp.ClientTimeout,
    ) -> tuple[int, bytes, str | None]:
        """One request: its status, the answer's first KiB, and its Retry-After."""
        async with self._client().request(
            method, url, headers=headers, data=body, timeout=limits, allow_redirects=False
        ) as response:
            snippet = await _snippet(response)
            return response.status, snippet, response.headers.get("retry-after")

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
        # The whole attempt is bounded by asyncio.timeout below; aiohttp bounds connecting.
        limits = aiohttp.ClientTimeout(total=None, sock_connect=min(CONNECT_TIMEOUT_S, timeout))
        try:
            async with asyncio.timeout(timeout):
                try:
                    status, snippet, retry = await self._send(url, method, headers, body, limits)
                except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
                    # A quick failure is most often a pooled connection the receiver had
                    # just closed: one immediate try on a fresh connection (delivery is
                    # at-least-once). A connection refused is not that.
                    if isinstance(exc, aiohttp.ClientConnectorError) or (
                        time.monotonic() - started > min(1.0, timeout / 2)
                    ):
                        raise
                    status, snippet, retry = await self._send(url, method, headers, body, limits)
        except aiohttp.ClientError as exc:  # first: a connect timeout is a TimeoutError too
            return Attempt(False, 0, _describe(exc), time.monotonic() - started, "")
        except TimeoutError:
            return Attempt(
                False, 0, f"timed out after {timeout:g} s", time.monotonic() - started, ""
            )
        except (ValueError, TypeError, OSError) as exc:
            # A request that cannot even be sent (a header value aiohttp refuses, ...) is
            # a failed attempt, recorded like any other; never a crash of the pipeline.
            return Attempt(False, 0, f"cannot send: {exc}", time.monotonic() - started, "")
        latency = time.monotonic() - started
        text = snippet.decode("utf-8", errors="replace")
        if 200 <= status < 300:
            return Attempt(True, status, "", latency, text)
        retry_after = None
        if status in (429, 503):
            retry_after = parse_retry_after(retry, time.time())
        error = f"HTTP {status}"
        if 300 <= status < 400:
            error += " (redirects are not followed)"
        return Attempt(False, status, error, latency, text, retry_after)

    async def aclose(self) -> None:
        """Close the pooled connections."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def to_listener(
    sink: WebhookSink,
    row: ListenerRow,
    msg_id: str,
    body: bytes,
    headers: Mapping[str, str],
    now: int,
    trace: tuple[str, str] = ("", ""),
) -> Awaitable[Attempt]:
    """One signed attempt at a webhook listener: its URL, method, headers and timeout.

    `headers` (content type, CloudEvents attributes) go over the listener's own; the
    Standard Webhooks headers, signed with the secrets in force at `now`, over both; the
    W3C ``traceparent`` and ``tracestate`` of `trace` (the attempt's span) last.
    """
    cfg = row.config
    sent = {**cfg.get("headers", {}), **headers}
    sent.update(signing.headers(signing_keys(row, now), msg_id, now, body))
    traceparent, tracestate = trace
    if traceparent:
        sent["traceparent"] = traceparent
        if tracestate:
            sent["tracestate"] = tracestate
    timeout = float(cfg.get("timeout_s") or DEFAULT_TIMEOUT_S)
    return sink.deliver(cfg["url"], cfg.get("method", "POST"), sent, body, timeout)
