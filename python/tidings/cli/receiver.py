"""``tidings listener receive``: a webhook receiver on this machine, for trying listeners.

It answers every request 200 and prints it, one a line: the method, the path, the
Standard Webhooks id and whether its signature verifies (with ``--secret``), and the body.
Like ``tail -f`` for a listener's deliveries, without writing a server first.
"""

from __future__ import annotations

import hmac
import json
import queue
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Annotated, Any

import typer

from tidings.cli.common import JsonOption, session
from tidings.cli.failures import CliError


@dataclass(frozen=True)
class Received:
    """One request the receiver answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def verified(self, key: bytes | None) -> bool | None:
        """Whether one of its ``webhook-signature`` entries is ours (None: no secret given)."""
        if key is None:
            return None
        # Here, not at the top: every command loads this module, few verify signatures.
        from tidings.dispatch.webhook.signing import signature

        try:
            timestamp = int(self.headers.get("webhook-timestamp", ""))
        except ValueError:
            return False
        expected = signature([key], self.headers.get("webhook-id", ""), timestamp, self.body)
        given = self.headers.get("webhook-signature", "").split()
        return any(hmac.compare_digest(expected, entry) for entry in given)


def _server(host: str, port: int, arrived: queue.Queue[Received]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            arrived.put(Received(self.command, self.path, headers, body))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        do_POST = do_PUT = do_GET = _answer

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the command prints what arrives."""

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:
        raise CliError(f"--port: cannot listen on {host}:{port}: {exc.strerror}") from exc
    server.daemon_threads = True
    return server


def receive(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(min=0, max=65535, help="The port (0: any free one).")] = 8787,
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    secret: Annotated[
        str | None, typer.Option(help="The listener's whsec_ secret: verify signatures.")
    ] = None,
    count: Annotated[
        int, typer.Option(min=0, help="Stop after this many requests (0: run until Ctrl-C).")
    ] = 0,
    as_json: JsonOption = False,
) -> None:
    """Receive webhooks on this machine and print each (answering 200): try a listener.

    Point a listener at http://127.0.0.1:PORT/ (the server must allow the address:
    TIDINGS_WEBHOOK_ALLOW_PRIVATE=127.0.0.1/32). With --json each line is {"method",
    "path", "webhook_id", "signature_ok", "body"}.
    """
    with session(ctx, as_json) as s:
        key = None
        if secret is not None:
            from tidings.listeners.secrets import decode_secret  # (see `verified`)

            try:
                key = decode_secret(secret)
            except ValueError as exc:
                raise CliError(f"--secret: {exc}") from exc
        arrived: queue.Queue[Received] = queue.Queue()
        server = _server(host, port, arrived)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        where = f"http://{host}:{server.server_address[1]}/"
        if s.out.json:
            s.out.line({"listening": where})
        else:
            s.out.note(f"receiving webhooks at {where} (Ctrl-C stops)")
        try:
            seen = 0
            while not count or seen < count:
                got = arrived.get()
                seen += 1
                _print(s.out, got, got.verified(key))
        finally:
            server.shutdown()
            server.server_close()


def _print(out: Any, got: Received, verified: bool | None) -> None:
    text = got.body.decode("utf-8", errors="replace")
    if out.json:
        out.line(
            {
                "method": got.method,
                "path": got.path,
                "webhook_id": got.headers.get("webhook-id", ""),
                "signature_ok": verified,
                "body": text,
            }
        )
        return
    check = {None: "", True: " signature ok", False: " SIGNATURE BAD"}[verified]
    try:
        text = json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))
    except ValueError:
        text = text.replace("\n", " ")
    out.text(f"{got.method} {got.path} {got.headers.get('webhook-id', '')}{check} {text}")
