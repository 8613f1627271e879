"""A real HTTP "atom" server on 127.0.0.1 for tests, with scripted behaviours per path.

Runs a stdlib ``ThreadingHTTPServer`` (HTTP/1.1, keep-alive) on a free port in a
background thread. Every request is recorded (method, path, query, headers, body)
before it is answered. Every handler finishes within a few seconds: sleeps are capped
at ``MAX_DELAY`` and are cut short when the server stops; idle keep-alive
connections time out after ``IDLE_TIMEOUT``.

Built-in paths (any other path answers 404 unless scripted):

- ``/json``         200, JSON ``{"code": 200}`` (headers like seed 000's atom)
- ``/error501``     501, JSON ``{"code": 200137, "message": "链路带宽无法设置，…"}``
- ``/text``         200, ``text/plain`` body ``TEXT_BODY``
- ``/echo``         200, JSON of the request: method, path, query, headers, body
- ``/status/<n>``   status ``n``, JSON ``{"status": n}``
- ``/slow?seconds=s``   sleeps ``s`` (capped) then answers like ``/json``
- ``/drop``         closes the connection without answering
- ``/redirect``     302 to ``/json``
- ``/flaky/<key>?fail=n&how=drop|slow|503``  the first ``n`` requests on ``key`` fail
  (dropped connection by default, or a slow answer, or a 503), then answer like ``/json``

``script(path, *replies)`` overrides a path with a list of ``Reply``; each request takes
the next one, and the last one repeats.

A request to a URL that a listener was created for (``tests/seeds/learn.py`` learns them
from the tests' gRPC calls) is a payload: it is held to its seed (``tests/seeds/hook.py``).

Usage::

    with AtomServer() as atoms:
        url = atoms.url("/json")
        ...
        assert atoms.requests_to("/json")[0].headers["X-Tidings-Task-Id"] == "t1"
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from seeds import hook as seed_hook

MAX_DELAY = 5.0
IDLE_TIMEOUT = 5.0
TEXT_BODY = "plain text, 纯文本"
JSON_HEADERS = {
    "Content-Type": "application/json;charset=UTF-8",
    "X-Application-Context": "ite-oss-apigateway:3101",
}
ERROR_501 = {"code": 200137, "message": "链路带宽无法设置，设置的带宽10G超过限定"}


def unused_port() -> int:
    """A TCP port on 127.0.0.1 on which nothing listens (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    body: Any = None  # dict/list → JSON; str → text; bytes → as is; None → empty
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (capped at MAX_DELAY)
    drop: bool = False  # close the connection without answering (after ``delay``)


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    raw_headers: list[tuple[str, str]]
    body: bytes
    client_port: int = 0  # the same port for requests on one kept-alive connection

    @property
    def headers(self) -> _CaseInsensitive:
        """Headers, looked up case-insensitively (first value wins)."""
        return _CaseInsensitive(self.raw_headers)

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body.decode("utf-8"))

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8")


class _CaseInsensitive:
    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items

    def get(self, name: str, default: str | None = None) -> str | None:
        for k, v in self._items:
            if k.lower() == name.lower():
                return v
        return default

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    atoms: AtomServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out and go away make writes fail; that is expected here.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.atoms._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.atoms._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        split = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query),
            raw_headers=list(self.headers.items()),
            body=self._read_body(),
            client_port=int(self.client_address[1]),
        )
        atoms = self.server.atoms
        atoms._record(request)
        reply = atoms._reply_for(request)
        if reply.delay > 0 and atoms._stopping.wait(min(reply.delay, MAX_DELAY)):
            reply = Reply(drop=True)
        if reply.drop:
            self.close_connection = True
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        headers = dict(reply.headers)
        if isinstance(reply.body, bytes):
            payload = reply.body
        elif isinstance(reply.body, str):
            payload = reply.body.encode("utf-8")
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        elif reply.body is None:
            payload = b""
        else:
            payload = json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
            headers.setdefault("Content-Type", "application/json;charset=UTF-8")
        self.send_response(reply.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class AtomServer:
    """The server; a context manager that starts it and, on exit, stops and joins it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._scripts: dict[str, list[Reply]] = {}
        self._counters: dict[str, int] = {}
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.atoms = self
        self.port: int = int(self._httpd.server_address[1])
        seed_hook.forget_port(self.port)  # what an earlier server on this port expected
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"atom-server-{self.port}",
            daemon=True,
        )

    # --- lifecycle ---------------------------------------------------------
    def start(self) -> Self:
        """Start serving in the background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections, join the thread (bounded)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=10)
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- use -----------------------------------------------------------------
    def url(self, path: str = "/") -> str:
        """Absolute URL of ``path`` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        """Answer requests to ``path`` with ``replies`` in order; the last one repeats."""
        if not replies:
            raise ValueError("script needs at least one Reply")
        with self._lock:
            self._scripts[path] = list(replies)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """The requests received on ``path`` (without the query)."""
        return [r for r in self.requests if r.path == path]

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.requests)

    # --- internals -----------------------------------------------------------
    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)
        # A request to a URL a listener was created for is a payload: hold it to its seed.
        headers: dict[str, str] = {}
        for name, value in request.raw_headers:
            headers.setdefault(name.lower(), value)
        seed_hook.check_request(self.port, request.method, request.path, headers, request.body)

    def _reply_for(self, request: RecordedRequest) -> Reply:
        path = request.path
        with self._lock:
            script = self._scripts.get(path)
            if script is not None:
                return script.pop(0) if len(script) > 1 else script[0]
        q = {k: v[-1] for k, v in request.query.items()}
        ok = Reply(200, {"code": 200}, JSON_HEADERS)
        if path == "/json":
            return ok
        if path == "/error501":
            return Reply(501, ERROR_501, JSON_HEADERS)
        if path == "/text":
            return Reply(200, TEXT_BODY, {"Content-Type": "text/plain; charset=utf-8"})
        if path == "/echo":
            return Reply(
                200,
                {
                    "method": request.method,
                    "path": request.path,
                    "query": request.query,
                    "headers": dict(request.raw_headers),
                    "body": request.body.decode("utf-8", "replace"),
                },
            )
        if path.startswith("/status/"):
            status = int(path.removeprefix("/status/"))
            return Reply(status, {"status": status}, JSON_HEADERS)
        if path == "/slow":
            return Reply(200, {"code": 200}, JSON_HEADERS, delay=float(q.get("seconds", "2")))
        if path == "/drop":
            return Reply(drop=True)
        if path == "/redirect":
            return Reply(302, None, {"Location": "/json"})
        if path.startswith("/flaky/"):
            with self._lock:
                seen = self._counters.get(path, 0)
                self._counters[path] = seen + 1
            if seen < int(q.get("fail", "1")):
                how = q.get("how", "drop")
                if how == "slow":
                    return Reply(
                        200, {"code": 200}, JSON_HEADERS, delay=float(q.get("seconds", "2"))
                    )
                if how == "503":
                    return Reply(503, {"code": 503}, JSON_HEADERS)
                return Reply(drop=True)
            return ok
        return Reply(404, {"error": f"no such path {path}"})
