"""The scenarios of ``tidings bench``: what each runs, and against which baseline."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console

from tidings.bench import e2e, report
from tidings.bench.services import (
    LocalKafka,
    LocalMistral,
    LocalServer,
    ServiceError,
    kafka_script,
    project_script,
)
from tidings.bench.workload import Sink, Workload

SCENARIOS = ("e2e", "engine", "dispatch", "codec")


class UsageError(ValueError):
    """The options do not make a run (the CLI exits 2)."""


@dataclass(frozen=True)
class Options:
    """Where to run: a server of its own (``local``) or the one named, and how to reach it."""

    local: bool = False
    server: str = "127.0.0.1:50051"
    token: str = ""
    ca_pem: bytes | None = None
    kafka_bootstrap: str = ""
    lose_one: str = ""
    #: With ``local``: a Python script that starts the server instead of ``-m tidings``.
    server_launcher: Path | None = None


@contextlib.asynccontextmanager
async def target(
    options: Options, workload: Workload, console: Console
) -> AsyncIterator[e2e.Target]:
    """The server to drive: the one named, or one of its own (``local``).

    With ``local``, a broker too if a Kafka sink needs one; both are stopped after.
    """
    wants_kafka = any(s.kind == "kafka" for s in workload.sinks)
    if not options.local:
        if wants_kafka and not options.kafka_bootstrap:
            raise UsageError("--kafka-bootstrap: a Kafka sink needs the broker the server feeds")
        yield e2e.Target(options.server, options.token, options.ca_pem,
                         kafka_bootstrap=options.kafka_bootstrap)  # fmt: skip
        return
    with contextlib.ExitStack() as stack:
        bootstrap = options.kafka_bootstrap
        if wants_kafka and not bootstrap:
            script = kafka_script()
            if script is None:
                raise UsageError("--local: no scripts/kafka here (TIDINGS_KAFKA_SCRIPT): give "
                                 "--kafka-bootstrap, or no Kafka sink")  # fmt: skip
            console.print("starting Kafka (scripts/kafka) …")
            bootstrap = stack.enter_context(LocalKafka(script)).bootstrap
        console.print("starting tidings serve …")
        server = stack.enter_context(LocalServer(bootstrap, options.server_launcher))
        yield e2e.Target(server.address, pid=server.pid, kafka_bootstrap=bootstrap)


async def run(
    scenario: str, workload: Workload, options: Options, console: Console
) -> dict[str, Any]:
    """Run one scenario, print its table, and return its result."""
    if scenario == "e2e":
        return await _e2e(workload, options, console)
    if scenario == "engine":
        return await _engine(workload, options, console)
    if scenario == "dispatch":
        return await _dispatch(workload, options, console)
    if scenario == "codec":
        from tidings.bench import codec

        console.print("codec: two malloc settings, each in a fresh process …")
        result = await asyncio.to_thread(codec.run)
        codec.print_table(result)
        return result
    raise ServiceError(f"--scenario {scenario}: not in this build")


async def _e2e(workload: Workload, options: Options, console: Console) -> dict[str, Any]:
    async with target(options, workload, console) as where:
        with report.live(console) as progress:
            result = await e2e.run(where, workload, progress, options.lose_one)
    console.print(report.table(result))
    return result


async def _dispatch(workload: Workload, options: Options, console: Console) -> dict[str, Any]:
    # Delivery to Kafka and webhooks, then the same payloads through plain clients.
    workload = replace(workload, sinks=(Sink("kafka"), Sink("webhook")))
    samples: dict[str, bytes] = {}
    async with target(options, workload, console) as where:
        with report.live(console) as progress:
            result = await e2e.run(where, workload, progress, options.lose_one, samples)
        result["scenario"] = "dispatch"
        console.print(report.table(result))
        console.print("dispatch: the same payloads through plain clients (the ceilings) …")
        result["ceilings"] = await _ceilings(where, result, samples)
    console.print(report.ceilings_table(result))
    return result


async def _ceilings(
    where: e2e.Target, result: dict[str, Any], samples: dict[str, bytes]
) -> dict[str, Any]:
    from collections import Counter

    from tidings.bench import ceilings
    from tidings.bench.sinks import Receiver

    out: dict[str, Any] = {}
    kafka_payload, webhook_payload = samples.get("kafka:mistral"), samples.get("webhook:mistral")
    count = max(1000, min(50_000, result["sinks"]["kafka:mistral"]["events"]))
    if kafka_payload:
        out["kafka:mistral"] = await asyncio.to_thread(
            ceilings.kafka, where.kafka_bootstrap, kafka_payload, count
        )
    if webhook_payload:
        receiver = Receiver(0.0, Counter())
        await receiver.start()
        try:
            out["webhook:mistral"] = await ceilings.webhook(receiver, webhook_payload, count)
        finally:
            await receiver.stop()
    for name, ceiling in out.items():
        mine = result["events_per_s"].get(name, 0.0)
        ceiling["tidings_share"] = round(mine / ceiling["events_per_s"], 3)
    return out


async def _engine(workload: Workload, options: Options, console: Console) -> dict[str, Any]:
    # The engine alone: no listeners, only the stream, which tells when executions ended.
    workload = replace(workload, sinks=(Sink("stream", ""),))
    result = await _e2e(workload, options, console)
    result["scenario"] = "engine"
    script = project_script("mistral")
    if script is None:
        console.print("engine: the Mistral baseline is skipped: no scripts/mistral here "
                      "(TIDINGS_MISTRAL_SCRIPT names one)")  # fmt: skip
        result["mistral"] = None
        return result
    from tidings.bench import mistral

    console.print("engine: the same workload through OpenStack Mistral (scripts/mistral) …")
    with LocalMistral(script) as oracle:
        baseline = await mistral.run(oracle.url, workload)
    result["mistral"] = baseline
    if baseline["executions_per_s"]:
        result["vs_mistral"] = round(result["executions_per_s"] / baseline["executions_per_s"], 2)
    console.print(report.mistral_table(result))
    return result
