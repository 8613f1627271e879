"""The HTTP endpoint Prometheus scrapes (``metrics_listen``), on a thread of its own.

A thread, not the serving loop: a scrape never waits for (or holds up) RPCs and
delivery, and the loop never waits for a slow scraper.
"""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server

from tidings.metrics.families import REGISTRY


class MetricsEndpoint:
    """Serves ``/metrics`` (any path, in fact) on host:port until stopped."""

    def __init__(self, listen: str) -> None:
        host, _, port = listen.rpartition(":")
        self.host = host.strip("[]")
        self.requested_port = int(port)
        self.port = 0
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind and serve (OSError if it cannot bind)."""
        self._server, self._thread = start_http_server(
            self.requested_port, addr=self.host, registry=REGISTRY
        )
        self.port = int(self._server.server_address[1])

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
