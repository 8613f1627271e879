"""One run of a workload against a server, from its listeners to its result.

It makes the workflow and a listener per sink, starts executions for the duration, waits
until every sink has every event (or nothing new arrives for a while), and sums it up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import grpc
import psutil

from tidings.bench.sinks import Errors, KafkaReader, Receiver, watch
from tidings.bench.tally import Tally
from tidings.bench.workload import Workload
from tidings.v1 import (
    execution_pb2,
    execution_pb2_grpc,
    listener_pb2,
    listener_pb2_grpc,
    workflow_pb2,
    workflow_pb2_grpc,
)
from tidings.vocab import profile_enum

#: How long the run waits, after the last start, for events that have not arrived yet,
#: once nothing new arrives: a sink that stalls this long is reported with what it missed.
STALL_S = 20.0


@dataclass(frozen=True)
class Target:
    """How to reach the server, and what the harness may measure of it."""

    address: str
    token: str = ""
    ca_pem: bytes | None = None
    #: The server's process on this machine (its CPU and RSS are reported), if known.
    pid: int | None = None
    #: The broker the server feeds, for the Kafka sinks' consumer.
    kafka_bootstrap: str = ""

    def channel(self) -> grpc.aio.Channel:
        """An asyncio channel to it (TLS with a CA; a token over TLS as call credentials)."""
        if self.ca_pem is None:
            return grpc.aio.insecure_channel(self.address)
        credentials = grpc.ssl_channel_credentials(root_certificates=self.ca_pem)
        if self.token:
            credentials = grpc.composite_channel_credentials(
                credentials, grpc.access_token_call_credentials(self.token)
            )
        return grpc.aio.secure_channel(self.address, credentials)

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Per-call metadata: the token on a plaintext channel (loopback only)."""
        if self.token and self.ca_pem is None:
            return (("authorization", f"Bearer {self.token}"),)
        return ()


@dataclass
class Snapshot:
    """Progress while it runs, for the live view."""

    elapsed_s: float
    phase: str
    started: int
    expected_per_sink: int
    delivered: dict[str, int]
    errors: dict[str, int]


Progress = Callable[[Snapshot], None]


class _ServerUsage:
    """The server's CPU time and peak RSS, when it runs on this machine."""

    def __init__(self, pid: int | None) -> None:
        self._proc = psutil.Process(pid) if pid else None
        self._cpu0 = self._cpu()
        self._t0 = time.monotonic()
        self.rss_max = 0

    def _cpu(self) -> float:
        if self._proc is None:
            return 0.0
        times = self._proc.cpu_times()
        return float(times.user + times.system)

    def sample(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(psutil.Error):
                self.rss_max = max(self.rss_max, self._proc.memory_info().rss)

    def result(self) -> dict[str, float] | None:
        if self._proc is None:
            return None
        self.sample()
        wall = time.monotonic() - self._t0
        return {
            "cpu_percent": round(100 * (self._cpu() - self._cpu0) / wall, 1),
            "rss_mb_max": round(self.rss_max / 2**20, 1),
        }


async def run(
    target: Target,
    workload: Workload,
    progress: Progress | None = None,
    lose_one: str = "",
    samples: dict[str, bytes] | None = None,
) -> dict[str, Any]:
    """Run `workload` against `target`; the result object (see README, Performance).

    `samples`, if given, gets the last payload each Kafka and webhook sink received.
    """
    errors: Errors = Counter()
    name = f"bench_{uuid.uuid4().hex[:12]}"
    receiver = Receiver(workload.atom_latency_ms / 1000, errors)
    await receiver.start()
    channel = target.channel()
    md = target.metadata
    tallies = {s.name: Tally(s.name, lose_one=lose_one == s.name) for s in workload.sinks}
    readers: list[KafkaReader] = []
    streams: list[asyncio.Task[None]] = []
    listeners: list[str] = []
    listener_stub = listener_pb2_grpc.ListenerServiceStub(channel)
    try:
        await workflow_pb2_grpc.WorkflowServiceStub(channel).CreateWorkflow(
            workflow_pb2.CreateWorkflowRequest(
                definition=workload.definition(name, receiver.url("/atom"))
            ),
            metadata=md,
        )
        for sink in workload.sinks:
            tally = tallies[sink.name]
            listener = listener_pb2.Listener(
                name=f"{name}-{sink.name}",
                # A stream has no profile of its own (its events come typed).
                profile=(
                    profile_enum(sink.profile) if sink.profile else listener_pb2.PROFILE_UNSPECIFIED
                ),
            )
            listener.filter.workflows.append(name)
            if sink.kind == "stream":
                ready = asyncio.Event()
                streams.append(asyncio.create_task(watch(channel, name, tally, errors, ready, md)))
                await ready.wait()
                continue
            if sink.kind == "kafka":
                reader = KafkaReader(
                    target.kafka_bootstrap, f"{name}-{sink.profile}", tally, errors
                )
                await asyncio.to_thread(reader.start)
                readers.append(reader)
                listener.kafka.topic = reader.topic
            else:
                listener.webhook.url = receiver.url(receiver.hook(sink.profile, tally))
            made = await listener_stub.CreateListener(
                listener_pb2.CreateListenerRequest(listener=listener), metadata=md
            )
            listeners.append(made.listener.id)
        return await _drive(channel, md, name, workload, tallies, errors, target, progress)
    finally:
        if samples is not None:
            samples.update(receiver.samples)
            samples.update((r.sink, r.sample) for r in readers)
        for task in streams:
            task.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
        for reader in readers:
            await asyncio.to_thread(reader.stop)
        for listener_id in listeners:
            with contextlib.suppress(grpc.aio.AioRpcError):
                await listener_stub.DeleteListener(
                    listener_pb2.DeleteListenerRequest(id=listener_id), metadata=md
                )
        await channel.close(None)
        await receiver.stop()


async def _drive(
    channel: grpc.aio.Channel,
    md: tuple[tuple[str, str], ...],
    name: str,
    workload: Workload,
    tallies: dict[str, Tally],
    errors: Errors,
    target: Target,
    progress: Progress | None,
) -> dict[str, Any]:
    stub = execution_pb2_grpc.ExecutionServiceStub(channel)
    starts: dict[str, float] = {}
    usage = _ServerUsage(target.pid)
    t0 = time.monotonic()
    deadline = t0 + workload.duration_s
    slots = iter(range(1 << 62))  # the rate's schedule: start n is due at t0 + n / rate

    async def client() -> None:
        while True:
            if workload.rate:
                due = t0 + next(slots) / workload.rate
                if due >= deadline:
                    return
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            elif time.monotonic() >= deadline:
                return
            began = time.monotonic()
            try:
                reply = await stub.StartExecution(
                    execution_pb2.StartExecutionRequest(workflow=name), metadata=md
                )
            except grpc.aio.AioRpcError as exc:
                errors[f"StartExecution: {exc.code().name}"] += 1
                continue
            starts[reply.execution.id] = began

    def snapshot(phase: str) -> Snapshot:
        usage.sample()
        return Snapshot(
            time.monotonic() - t0, phase, len(starts),
            len(starts) * workload.events_per_execution,
            {n: t.distinct() for n, t in tallies.items()}, dict(errors),
        )  # fmt: skip

    clients = [asyncio.create_task(client()) for _ in range(workload.clients)]
    while not all(c.done() for c in clients):
        await asyncio.wait(clients, timeout=0.5)
        if progress:
            progress(snapshot("starting executions"))
    await asyncio.gather(*clients)
    # Drain: until every sink has every event, or nothing new came for STALL_S.
    last_change, last_counts = time.monotonic(), snapshot("draining").delivered
    while True:
        now = snapshot("draining")
        if progress:
            progress(now)
        if all(n >= now.expected_per_sink for n in now.delivered.values()):
            break
        if now.delivered != last_counts:
            last_change, last_counts = time.monotonic(), now.delivered
        elif time.monotonic() - last_change > STALL_S:
            errors["sink stalled before every event arrived"] += 1
            break
        await asyncio.sleep(0.2)
    return _result(workload, starts, tallies, errors, t0, usage)


def _result(
    workload: Workload,
    starts: dict[str, float],
    tallies: dict[str, Tally],
    errors: Errors,
    t0: float,
    usage: _ServerUsage,
) -> dict[str, Any]:
    per = workload.events_per_execution
    sinks = {n: t.summary(starts, per, t0) for n, t in tallies.items()}
    # Executions are done when their events have reached every sink: the span ends at the
    # last arrival anywhere (without sinks, at the last start).
    ends = [t.last_at for t in tallies.values() if t.last_at]
    span = (max(ends) if ends else time.monotonic()) - t0
    executions = len(starts)
    return {
        "scenario": "e2e",
        "workload": {**asdict(workload), "sinks": [s.name for s in workload.sinks]},
        "executions": executions,
        "seconds": round(span, 3),
        "executions_per_s": round(executions / span, 1) if span > 0 else 0.0,
        "task_transitions_per_s": round(executions * 2 * workload.tasks / span, 1)
        if span > 0
        else 0.0,
        "events_per_s": {n: s["events_per_s"] for n, s in sinks.items()},
        "latency_ms": {n: s["latency_ms"] for n, s in sinks.items()},
        "missing_events": sum(s["missing_events"] for s in sinks.values()),
        "duplicate_events": sum(s["duplicate_events"] for s in sinks.values()),
        "sinks": sinks,
        "errors": dict(errors),
        "server": usage.result(),
        "cpus": os.cpu_count(),
    }
