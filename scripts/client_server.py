"""Start a token-protected, TLS `tidings serve` and a webhook receiver for the client tests.

Usage: python scripts/client_server.py [--max-seconds N]

The generated clients' tests (clients/go, clients/java, clients/typescript) each start
this script and read the one JSON line it prints on stdout:

    {"address": "127.0.0.1:PORT", "token": "...", "ca_file": "/tmp/.../ca.pem",
     "receiver": "http://127.0.0.1:PORT"}

``address`` serves gRPC with TLS (a certificate for 127.0.0.1 from a throwaway `trustme`
authority, whose certificate is ``ca_file``); every RPC but health needs
``authorization: Bearer <token>`` (an admin token). ``receiver`` takes webhook
deliveries on any path (POST or PUT, answered 200) and lists, on
``GET /received/<path>``, the ``webhook-id`` of each delivery to ``/<path>``, one a line,
in arrival order.

Everything stops, and the temporary folder goes, when stdin reaches end of file (the
test closed it, or died) or after ``--max-seconds``, whichever comes first: nothing
outlives its test.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

import grpc  # noqa: E402
import trustme  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402

from tidings.api import api_tokens  # noqa: E402
from tidings.api.access import Scope  # noqa: E402

START_TIMEOUT = 60.0


class Receiver(ThreadingHTTPServer):
    """Records the webhook-id of every delivery, by path."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.ids: dict[str, list[str]] = {}

    @property
    def url(self) -> str:
        """The receiver's base URL."""
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def _record(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        with self.server.lock:
            self.server.ids.setdefault(self.path, []).append(self.headers.get("webhook-id") or "")
        self._answer(200, b"ok")

    do_POST = _record
    do_PUT = _record

    def do_GET(self) -> None:
        prefix = "/received"
        if not self.path.startswith(prefix + "/"):
            self._answer(404, b"not found")
            return
        with self.server.lock:
            ids = list(self.server.ids.get(self.path[len(prefix) :], []))
        self._answer(200, "".join(f"{i}\n" for i in ids).encode())

    def _answer(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # Quiet: stdout carries only the JSON line, and stderr is the server's log.
        pass


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_pki(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1: (ca, cert, key) files."""
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca.cert_pem.write_to_path(str(ca_file))
    for blob in leaf.cert_chain_pems:
        blob.write_to_path(str(cert_file), append=True)
    leaf.private_key_pem.write_to_path(str(key_file))
    return ca_file, cert_file, key_file


def wait_serving(proc: subprocess.Popen[bytes], address: str, ca_file: Path) -> None:
    """Wait until the health check answers SERVING over TLS."""
    creds = grpc.ssl_channel_credentials(root_certificates=ca_file.read_bytes())
    deadline = time.monotonic() + START_TIMEOUT
    with grpc.secure_channel(address, creds) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                sys.exit(f"client_server: tidings exited with {proc.returncode}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    sys.exit(f"client_server: tidings did not serve within {START_TIMEOUT}s")


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-seconds", type=float, default=900.0, help="stop after this long")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tidings-clients-") as tmp:
        folder = Path(tmp)
        ca_file, cert_file, key_file = write_pki(folder)
        token = api_tokens.new_token()
        address = f"127.0.0.1:{free_port()}"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "python"),
                                                        os.environ.get("PYTHONPATH")])),
            "TIDINGS_TOKENS": api_tokens.make("client-test", Scope.ADMIN, token).entry(),
            "TIDINGS_TLS_CERT_FILE": str(cert_file),
            "TIDINGS_TLS_KEY_FILE": str(key_file),
            # The receiver is on loopback, which webhooks may not reach by default.
            "TIDINGS_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1/32",
        }  # fmt: skip
        receiver = Receiver()
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        # The server's log goes to stderr, which the client tests pass through.
        proc = subprocess.Popen(
            [sys.executable, "-m", "tidings", "serve", "--listen", address,
             "--data-dir", str(folder / "data")],
            stdout=sys.stderr, stderr=sys.stderr, env=env, cwd=ROOT,
        )  # fmt: skip
        try:
            wait_serving(proc, address, ca_file)
            info = {"address": address, "token": token, "ca_file": str(ca_file),
                    "receiver": receiver.url}  # fmt: skip
            print(json.dumps(info), flush=True)
            # Stop at stdin's end of file or after max_seconds.
            done = threading.Event()
            threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
            done.wait(args.max_seconds)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            receiver.shutdown()
            receiver.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
