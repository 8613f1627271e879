"""``tidings bench``: the throughput harness (:mod:`tidings.bench`) from the command line.

``tidings bench [--local] [--scenario S] [workload options] [--json FILE]`` runs one
scenario and prints its table; ``tidings bench compare A.json B.json`` prints the change
between two results.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import grpc
import typer
from rich.console import Console

from tidings.bench import scenarios
from tidings.bench.report import compare as compare_results
from tidings.bench.report import load
from tidings.bench.scenarios import UsageError
from tidings.bench.services import ServiceError
from tidings.bench.workload import Sink, Workload
from tidings.cli.common import Settings
from tidings.cli.failures import CliError, Exit, from_rpc_error

app = typer.Typer(
    help="Measure a server: executions/s, events/s per sink, end-to-end latency, and "
    "every expected event counted (missing, duplicate).",
    no_args_is_help=False,
    invoke_without_command=True,
)

DEFAULT_SINKS = ["kafka:mistral", "webhook:mistral", "stream"]


@contextlib.contextmanager
def _failures(console: Console, server: str) -> Iterator[None]:
    """Bad usage → 2, server unreachable → 3, a local service that cannot start → 1."""
    try:
        yield
    except UsageError as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(Exit.USAGE) from None
    except CliError as exc:
        console.print(f"[red]error:[/] {exc.message}", highlight=False)
        raise typer.Exit(exc.code) from None
    except grpc.RpcError as exc:
        error = from_rpc_error(exc, server)
        console.print(f"[red]error:[/] {error.message}", highlight=False)
        raise typer.Exit(error.code) from None
    except ServiceError as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(Exit.FAILED) from None


@app.callback()
def bench(
    ctx: typer.Context,
    local: Annotated[
        bool,
        typer.Option(
            "--local",
            help="Start its own server, Kafka broker (scripts/kafka) and webhook receiver "
            "on free ports of 127.0.0.1, and stop them after.",
        ),
    ] = False,
    scenario: Annotated[
        str,
        typer.Option(
            help="e2e (the workload below); engine (the workload with the stream only, "
            "then the same through OpenStack Mistral when scripts/mistral is here); "
            "dispatch (Kafka and webhook delivery, then the same payloads sent by a plain "
            "confluent-kafka producer and aiohttp client); codec (the renderers against "
            "json, orjson, urlencode, lxml, ElementTree).",
        ),
    ] = "e2e",
    tasks: Annotated[int, typer.Option(min=1, help="Tasks per execution.")] = 10,
    shape: Annotated[str, typer.Option(help="chain, or fanout (fork, branches, join).")] = "chain",
    action: Annotated[
        str, typer.Option(help="noop (std.noop), or http (std.http to the harness's atom).")
    ] = "noop",
    atom_latency_ms: Annotated[
        float, typer.Option(min=0, help="How long the harness's HTTP atom takes to answer.")
    ] = 0.0,
    clients: Annotated[int, typer.Option(min=1, help="Concurrent StartExecution callers.")] = 16,
    rate: Annotated[
        float, typer.Option(min=0, help="Executions started per second (0: as fast as possible).")
    ] = 0.0,
    duration: Annotated[
        float, typer.Option(min=0.1, help="Seconds executions are started for.")
    ] = 10.0,
    sink: Annotated[
        list[str] | None,
        typer.Option(
            help="A sink to feed and count, repeatable: kafka[:PROFILE], webhook[:PROFILE], "
            "stream (profiles: mistral, cloudevents, cloudevents_data). Default: "
            + ", ".join(DEFAULT_SINKS)
            + ".",
        ),
    ] = None,
    kafka_bootstrap: Annotated[
        str,
        typer.Option(help="The broker the server feeds (without --local, for Kafka sinks)."),
    ] = "",
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Also write the result to this file (JSON).")
    ] = None,
    lose_one: Annotated[
        str, typer.Option(hidden=True, help="Drop the first event of this sink (self-test).")
    ] = "",
    server_launcher: Annotated[
        Path | None,
        typer.Option(
            help="With --local: a Python script that starts the server in place of "
            "`python -m tidings`, given the same arguments (an instrumented server, e.g. "
            "bench/traced_serve.py: tracing on, spans kept in memory). The server's "
            "settings come from the environment (TIDINGS_*), as always.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Run a benchmark scenario and print its table (`tidings bench compare` for two)."""
    if ctx.invoked_subcommand is not None:
        return
    settings = ctx.find_object(Settings) or Settings()
    console = Console()
    with _failures(console, settings.server.server):
        if scenario not in scenarios.SCENARIOS:
            raise CliError(f"--scenario: one of {', '.join(scenarios.SCENARIOS)}")
        try:
            sinks = tuple(Sink.parse(s) for s in (sink or DEFAULT_SINKS))
            workload = Workload(tasks, shape, action, atom_latency_ms, clients, rate, duration,
                                sinks)  # fmt: skip
        except ValueError as exc:
            raise CliError(f"--sink: {exc}" if "kind" in str(exc) or "profile" in str(exc)
                           else str(exc)) from None  # fmt: skip
        if lose_one and lose_one not in {s.name for s in sinks}:
            raise CliError(f"--lose-one: not a sink of this run: {lose_one}")
        ca_pem = None
        if settings.server.ca_file is not None:
            try:
                ca_pem = settings.server.ca_file.read_bytes()
            except OSError as exc:
                raise CliError(f"--ca-file: cannot read: {exc.strerror}") from exc
        options = scenarios.Options(
            local=local, server=settings.server.server, token=settings.server.token,
            ca_pem=ca_pem, kafka_bootstrap=kafka_bootstrap, lose_one=lose_one,
            server_launcher=server_launcher,
        )  # fmt: skip
        result = asyncio.run(scenarios.run(scenario, workload, options, console))
    _write(json_file, result)
    if result.get("missing_events") or result.get("duplicate_events"):
        raise typer.Exit(Exit.FAILED)


def _write(path: Path | None, result: dict[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


@app.command()
def compare(
    a: Annotated[Path, typer.Argument(help="The result to compare against (--json of a run).")],
    b: Annotated[Path, typer.Argument(help="The result to compare.")],
) -> None:
    """Print every figure of B against A, with its change in per cent."""
    console = Console()
    try:
        first, second = load(a), load(b)
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(Exit.USAGE) from None
    console.print(compare_results(first, second))
