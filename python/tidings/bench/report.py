"""Printing results: the live view while a run goes, the final table, ``compare``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from tidings.bench.e2e import Progress, Snapshot


@contextmanager
def live(console: Console) -> Iterator[Progress]:
    """A live view of a run's progress (nothing when the output is not a terminal)."""
    if not console.is_terminal:
        yield lambda snapshot: None
        return
    with Live(console=console, refresh_per_second=4, transient=True) as view:

        def show(s: Snapshot) -> None:
            table = Table(title=f"{s.phase}: {s.elapsed_s:.0f} s", show_edge=False)
            table.add_column("executions started", justify="right")
            for name in s.delivered:
                table.add_column(name, justify="right")
            table.add_column("errors", justify="right")
            row = [f"{s.started:,}"]
            row += [f"{n:,} / {s.expected_per_sink:,}" for n in s.delivered.values()]
            row.append(str(sum(s.errors.values())))
            table.add_row(*row)
            view.update(table)

        yield show


def table(result: dict[str, Any]) -> Group:
    """The final tables of an e2e-style result: the run's figures, then one row a sink."""
    w = result.get("workload", {})
    title = (
        f"{result.get('scenario', 'e2e')}: {w.get('tasks')}-task {w.get('shape')} of "
        f"{w.get('action')}, {w.get('clients')} clients, {result.get('executions', 0):,} "
        f"executions in {result.get('seconds', 0)} s, {result.get('cpus')} CPUs"
    )
    run = Table(show_header=False)
    run.add_column("figure", no_wrap=True)
    run.add_column("value", justify="right", no_wrap=True)
    run.add_row("executions/s", f"{result['executions_per_s']:,}")
    run.add_row("task transitions/s", f"{result['task_transitions_per_s']:,}")
    run.add_row("missing events", f"{result['missing_events']:,}")
    run.add_row("duplicate events", f"{result['duplicate_events']:,}")
    server = result.get("server")
    if server:
        run.add_row("server CPU %", f"{server['cpu_percent']}")
        run.add_row("server RSS MB (max)", f"{server['rss_mb_max']}")
    for kind, n in sorted(result.get("errors", {}).items()):
        run.add_row(f"error: {kind}", f"{n:,}")
    sinks = Table(title="per sink: events/s, and ms from StartExecution to arrival")
    sinks.add_column("sink", no_wrap=True)
    sinks.add_column("events/s", justify="right")
    for p in ("p50", "p90", "p99", "max"):
        sinks.add_column(p, justify="right")
    sinks.add_column("missing", justify="right")
    sinks.add_column("dup", justify="right")
    for name, sink in result.get("sinks", {}).items():
        lat = sink["latency_ms"]
        sinks.add_row(
            name, f"{sink['events_per_s']:,}",
            *(f"{lat[p]:,}" for p in ("p50", "p90", "p99", "max")),
            str(sink["missing_events"]), str(sink["duplicate_events"]),
        )  # fmt: skip
    return Group(Text(title, style="bold"), run, sinks)


def mistral_table(result: dict[str, Any]) -> Table:
    """The engine scenario's comparison with Mistral."""
    m = result["mistral"]
    out = Table(title="the same workload: tidings against OpenStack Mistral")
    out.add_column("")
    out.add_column("tidings", justify="right")
    out.add_column("Mistral", justify="right")
    out.add_row("executions", f"{result['executions']:,}", f"{m['executions']:,}")
    out.add_row("executions/s", f"{result['executions_per_s']:,}", f"{m['executions_per_s']:,}")
    out.add_row(
        "task transitions/s",
        f"{result['task_transitions_per_s']:,}",
        f"{m['task_transitions_per_s']:,}",
    )
    out.add_row("tidings is", f"{result.get('vs_mistral', 0)}x", "")
    for kind, n in sorted(m.get("errors", {}).items()):
        out.add_row(f"Mistral error: {kind}", "", f"{n:,}")
    return out


def ceilings_table(result: dict[str, Any]) -> Table:
    """The dispatch scenario's comparison with plain clients sending the same payloads."""
    out = Table(title="events/s: tidings (end to end) against plain clients (bytes in hand)")
    out.add_column("sink")
    out.add_column("tidings", justify="right")
    out.add_column("plain client", justify="right")
    out.add_column("tidings / plain", justify="right")
    clients = {"kafka:mistral": "confluent-kafka producer, acks=all",
               "webhook:mistral": "aiohttp, 64 in flight"}  # fmt: skip
    for name, ceiling in result.get("ceilings", {}).items():
        out.add_row(
            f"{name} ({clients.get(name, '')})",
            f"{result['events_per_s'].get(name, 0):,}",
            f"{ceiling['events_per_s']:,}",
            f"{ceiling['tidings_share']}",
        )
    return out


def flatten(value: Any, prefix: str = "") -> dict[str, float]:
    """The numbers of a result, by dotted path (``latency_ms.stream.p99``)."""
    if isinstance(value, bool):
        return {}
    if isinstance(value, int | float):
        return {prefix: float(value)}
    if isinstance(value, dict):
        out: dict[str, float] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {}


def compare(a: dict[str, Any], b: dict[str, Any]) -> Table:
    """Every figure the two results share, B against A (skipping the workload itself)."""
    left, right = flatten(a), flatten(b)
    out = Table(title="B against A")
    out.add_column("figure")
    out.add_column("A", justify="right")
    out.add_column("B", justify="right")
    out.add_column("change", justify="right")
    for key in [k for k in left if k in right and not k.startswith(("workload.", "sinks."))]:
        x, y = left[key], right[key]
        change = f"{(y - x) / x * 100:+.1f} %" if x else ("=" if y == x else "new")
        out.add_row(key, f"{x:,g}", f"{y:,g}", change)
    return out


def load(path: Path) -> dict[str, Any]:
    """A result written by ``--json``; ValueError names the file if it is not one."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a bench result: {exc}") from exc
    if not isinstance(document, dict):
        raise ValueError(f"{path}: not a bench result (a JSON object)")
    return document
