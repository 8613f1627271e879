"""Wiring: build the store, the engine and the gRPC server from the configuration."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc

# The asyncio servicer is exported as health.aio, which the stubs do not declare.
from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]

from tidings.api import reflection
from tidings.api.auth import TokenAuth
from tidings.api.environments import EnvironmentService
from tidings.api.events import EventService
from tidings.api.executions import ExecutionService
from tidings.api.health import Health
from tidings.api.listeners import ListenerService
from tidings.api.rpc_metrics import RpcMetrics
from tidings.api.workflows import WorkflowService
from tidings.config import Config
from tidings.dispatch.backlog import Backlog
from tidings.dispatch.dispatcher import Dispatcher
from tidings.dispatch.retention import Retention, RetentionPolicy
from tidings.dispatch.stream import CommitSignal
from tidings.engine.actions import HttpActionConfig, default_registry
from tidings.engine.events import EventFactory
from tidings.engine.host import EngineThread
from tidings.engine.runner import Engine
from tidings.listeners import ListenerRegistry
from tidings.metrics import record
from tidings.metrics.endpoint import MetricsEndpoint
from tidings.observe import tracing
from tidings.observe.rpc import RpcSpans
from tidings.store.bridge import StoreOnLoop
from tidings.store.folder_lock import FolderLock
from tidings.store.sqlite import SQLiteStore
from tidings.tuning import freeze_heap
from tidings.v1 import (
    environment_pb2,
    environment_pb2_grpc,
    event_service_pb2,
    event_service_pb2_grpc,
    execution_pb2,
    execution_pb2_grpc,
    listener_pb2,
    listener_pb2_grpc,
    workflow_pb2,
    workflow_pb2_grpc,
)

log = logging.getLogger(__name__)

#: Every service the server registers (`api.access` must map each of their RPCs).
SERVED: tuple[ServiceDescriptor, ...] = (
    health_pb2.DESCRIPTOR.services_by_name["Health"],
    workflow_pb2.DESCRIPTOR.services_by_name["WorkflowService"],
    execution_pb2.DESCRIPTOR.services_by_name["ExecutionService"],
    listener_pb2.DESCRIPTOR.services_by_name["ListenerService"],
    event_service_pb2.DESCRIPTOR.services_by_name["EventService"],
    environment_pb2.DESCRIPTOR.services_by_name["EnvironmentService"],
    *reflection.SERVICES,
)


class Server:
    """One tidings process: store, engine and gRPC API.

    The engine runs on a thread and event loop of its own (`EngineThread`), so that an
    expression running up to its time limit never holds up RPCs, commits or delivery;
    the store, the dispatcher and the gRPC server share the loop this is made on.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.failed: BaseException | None = None
        self.stopped = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self.store = SQLiteStore(config.database_path)
        self.engine_thread = EngineThread()
        self.actions = default_registry(
            HttpActionConfig(
                transport_retries=config.http_transport_retries,
                retry_delay=config.http_retry_delay_s,
            ),
            javascript_time_limit_s=config.javascript_time_limit_s,
        )
        events = EventFactory(config.engine_name, config.engine_version)
        self.listeners = ListenerRegistry(
            self.store, config.webhook_allow_private, announce=events.listener_disabled
        )
        self.engine = Engine(
            # SQLiteStore's writer thread takes changes from any loop: the engine's go
            # straight to it, not by way of the serving loop.
            StoreOnLoop(self.store, self._loop, enqueue_anywhere=True),
            self.actions,
            events,
            on_fatal=self._fatal_in_engine,
            listeners=self.listeners,
            definition_limits=config.definition_limits(),
            expression_time_limit_s=config.expression_time_limit_s,
        )
        self.dispatcher = Dispatcher(
            self.store,
            listeners=self.listeners,
            guard=self.listeners.guard,
            kafka_bootstrap=config.kafka_bootstrap,
            kafka_properties=config.kafka_properties,
            service_topic=config.kafka_service_topic,
            mistral_topic=config.kafka_mistral_topic,
            mistral_extensions=config.kafka_mistral_extensions,
            timezone=config.timezone,
            engine_name=config.engine_name,
            engine_version=config.engine_version,
        )
        self.retention = Retention(
            self.store,
            RetentionPolicy(
                config.retention_s,
                interval_s=config.retention_interval_s,
                batch=config.retention_batch,
                execution_retention_s=config.execution_retention_s,
            ),
            self.dispatcher.retention_holders(),
        )
        self.health = health_aio.HealthServicer()
        self.checks = Health(
            self.health,
            [s.full_name for s in SERVED],
            self.store,
            Backlog(self.dispatcher),
            kafka=self.dispatcher.kafka,
            kafka_unreachable_after_s=config.health_kafka_unreachable_after_s,
            interval_s=config.health_interval_s,
        )
        #: The Prometheus endpoint (``metrics_listen``); None when metrics are off.
        self.metrics = MetricsEndpoint(config.metrics_listen) if config.metrics_listen else None
        # Recording is process-wide: on when this server serves metrics.
        record.enable(self.metrics is not None)
        tokens = config.api_tokens()
        interceptors: list[grpc.aio.ServerInterceptor[Any, Any]] = []
        if self.metrics is not None:
            interceptors.append(RpcMetrics())  # first: refused calls are counted too
        if tracing.enabled():  # before the token check: a refused RPC has its span too
            interceptors.append(RpcSpans())
        if tokens:
            interceptors.append(TokenAuth(tokens))
        self._grpc = grpc.aio.server(
            interceptors=interceptors or None,
            options=[("grpc.max_receive_message_length", config.max_message_bytes)],
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self._grpc)
        workflow_pb2_grpc.add_WorkflowServiceServicer_to_server(
            WorkflowService(self.engine, self.store, self.engine_thread), self._grpc
        )
        execution_pb2_grpc.add_ExecutionServiceServicer_to_server(
            ExecutionService(self.engine, self.store, self.engine_thread), self._grpc
        )
        self.commits = CommitSignal()
        event_service_pb2_grpc.add_EventServiceServicer_to_server(
            EventService(self.store, self.commits), self._grpc
        )
        environment_pb2_grpc.add_EnvironmentServiceServicer_to_server(
            EnvironmentService(self.store), self._grpc
        )
        listener_pb2_grpc.add_ListenerServiceServicer_to_server(
            ListenerService(self.listeners, self.dispatcher), self._grpc
        )
        reflection.enable([s.full_name for s in SERVED], self._grpc)
        self.port = 0

    def _fatal(self, exc: BaseException) -> None:
        self.failed = exc
        self.stopped.set()

    def _fatal_in_engine(self, exc: BaseException) -> None:
        self._loop.call_soon_threadsafe(self._fatal, exc)

    async def start(self) -> None:
        """Open the store, resume executions, then serve; raises if it cannot bind."""
        await self.store.open()
        self.store.on_commit(self.commits.notify)
        await self.dispatcher.start()
        self.retention.start()
        self.engine_thread.start()
        await self.engine_thread.call(self.engine.start())
        credentials = server_credentials(self.config)
        try:
            if credentials is None:
                self.port = self._grpc.add_insecure_port(self.config.listen)
            else:
                self.port = self._grpc.add_secure_port(self.config.listen, credentials)
        except RuntimeError:  # grpc's "failed to bind" (address in use, say)
            self.port = 0
        if self.port == 0:
            raise OSError(f"cannot listen on {self.config.listen}")
        if self.metrics is not None:
            try:
                self.metrics.start()
            except OSError as exc:
                raise OSError(f"cannot listen on {self.config.metrics_listen}: {exc}") from exc
            log.info("serving metrics on http://%s:%d/metrics", self.metrics.host,
                     self.metrics.port)  # fmt: skip
        await self._grpc.start()
        freeze_heap()
        await self.checks.start()
        host = self.config.listen.rpartition(":")[0]
        log.info(
            "serving gRPC%s on %s:%d (data in %s)",
            " with mutual TLS" if self.config.tls_client_ca_file else
            " with TLS" if credentials else "",
            host, self.port, self.config.data_dir,
        )  # fmt: skip
        say_how_open(self.config)

    async def stop(self) -> None:
        """Report NOT_SERVING, let in-flight RPCs finish, then stop the engine and store."""
        await self.checks.stop()
        await self.health.enter_graceful_shutdown()
        await self._grpc.stop(self.config.shutdown_grace_s)
        await self.engine_thread.call(self.engine.stop())
        await self.engine_thread.call(self.actions.aclose())
        self.engine_thread.stop()
        # ENGINE_DOWN is in the outbox now: give delivery a moment to carry it out.
        await self.dispatcher.drain(timeout=self.config.shutdown_grace_s)
        await self.retention.stop()
        await self.dispatcher.stop()
        await self.store.close()
        if self.metrics is not None:
            self.metrics.stop()
        log.info("stopped")


def server_credentials(config: Config) -> grpc.ServerCredentials | None:
    """TLS (and mutual TLS) from the configured PEM files; None for plaintext."""
    if not config.tls_cert_file:
        return None
    with open(config.tls_cert_file, "rb") as cert, open(config.tls_key_file, "rb") as key:
        pair = (key.read(), cert.read())
    client_ca = None
    if config.tls_client_ca_file:
        with open(config.tls_client_ca_file, "rb") as ca:
            client_ca = ca.read()
    return grpc.ssl_server_credentials(
        [pair], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


def say_how_open(config: Config) -> None:
    """Log who may call: everyone (said loudly off loopback), or holders of which tokens."""
    tokens = config.api_tokens()
    if tokens:
        names = ", ".join(f"{t.name} ({t.scope.label})" for t in tokens)
        log.info("every RPC but health needs an API token; configured: %s", names)
        if not config.tls_cert_file and not config.loopback:
            log.warning(
                "tokens travel in plaintext to %s: set tls_cert_file and tls_key_file, "
                "unless TLS ends in front of this server",
                config.listen,
            )
    elif config.loopback:
        log.warning(
            "no API tokens configured: the API is open to every process on this machine "
            "(fine for local use; see `tidings token new`)"
        )
    else:
        log.warning(
            "--insecure: no API tokens and listening on %s: anyone who reaches it can read "
            "and change every workflow, execution and listener",
            config.listen,
        )


async def serve(config: Config) -> int:
    """Run until SIGINT or SIGTERM (or a fatal store error); returns the exit code.

    Raises FolderInUseError if another process serves from the same data folder.
    """
    lock = FolderLock(config.data_dir)
    lock.acquire()
    if config.tracing_otlp_endpoint:  # else as it is: off, or set up by an embedder
        tracing.configure(
            otlp_endpoint=config.tracing_otlp_endpoint,
            sample_ratio=config.tracing_sample_ratio,
            service_name=config.engine_name,
        )
    try:
        server = Server(config)
        # Before start: health answers SERVING as soon as gRPC is up, and a SIGTERM sent on
        # that answer must stop the server cleanly, not kill it by the default action.
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, server.stopped.set)
        try:
            await server.start()
        except BaseException:
            server.engine_thread.stop()
            raise
        try:
            await server.stopped.wait()
        finally:
            await server.stop()
        return 1 if server.failed is not None else 0
    finally:
        tracing.shutdown()  # sends the spans still batched
        lock.release()
