"""Wiring: build the gRPC server from the configuration and run it until told to stop."""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

# The asyncio servicer is exported as health.aio, which the stubs do not declare.
from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]
from grpc_reflection.v1alpha import reflection

from tidings.config import Config

log = logging.getLogger(__name__)


def prepare_data_dir(config: Config) -> None:
    """Create the data folder and open the embedded SQLite store once (WAL mode)."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(config.database_path) as db:
        db.execute("PRAGMA journal_mode=WAL")
    db.close()


class Server:
    """The tidings gRPC server: health and reflection for now."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.health = health_aio.HealthServicer()
        self._grpc = grpc.aio.server()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self._grpc)
        services = (
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        )
        reflection.enable_server_reflection(services, self._grpc)
        self.port = 0

    async def start(self) -> None:
        """Bind and start serving; raises if the address cannot be bound."""
        prepare_data_dir(self.config)
        self.port = self._grpc.add_insecure_port(self.config.listen)
        if self.port == 0:
            raise OSError(f"cannot listen on {self.config.listen}")
        await self._grpc.start()
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        log.info("serving gRPC on %s (data in %s)", self.config.listen, self.config.data_dir)

    async def stop(self) -> None:
        """Report NOT_SERVING, then let in-flight RPCs finish within the grace period."""
        await self.health.enter_graceful_shutdown()
        await self._grpc.stop(self.config.shutdown_grace_s)
        log.info("stopped")


async def serve(config: Config) -> None:
    """Run the server until SIGINT or SIGTERM."""
    server = Server(config)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
