"""``tidings bench`` over a real server, the session's real Kafka broker, real receivers.

Short runs: what is checked is that the harness counts right (every expected event,
nothing missing or doubled; a lost event reported), writes and compares its JSON, and
exits 2 on bad usage; never how fast anything was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli_helpers import subprocess_tidings

KEYS = {"executions_per_s", "task_transitions_per_s", "events_per_s", "latency_ms",
        "missing_events", "duplicate_events"}  # fmt: skip


def bench(*args: str, code: int = 0, server: str = "") -> str:
    ran = subprocess_tidings(server, "bench", *args, code=code, timeout=240)
    return ran.stdout + ran.stderr


def result(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text())
    assert isinstance(document, dict)
    return document


@pytest.mark.kafka
def test_e2e_counts_every_event_on_every_sink(kafka_bootstrap: str, tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    printed = bench("--local", "--kafka-bootstrap", kafka_bootstrap, "--scenario", "e2e",
                    "--tasks", "3", "--clients", "4", "--duration", "1.5",
                    "--json", str(out))  # fmt: skip
    got = result(out)
    assert got.keys() >= KEYS
    assert got["missing_events"] == 0 and got["duplicate_events"] == 0
    sinks = {"kafka:mistral", "webhook:mistral", "stream"}
    assert set(got["events_per_s"]) == sinks == set(got["latency_ms"])
    assert got["executions"] > 0
    for name in sinks:
        # 3 tasks: the execution's started and succeeded, and each task's.
        assert got["sinks"][name]["events"] == got["executions"] * 8
        lat = got["latency_ms"][name]
        assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
    assert got["server"]["rss_mb_max"] > 0
    assert "executions/s" in printed and "webhook:mistral" in printed


def test_fanout_of_http_atoms_and_a_lost_event(tmp_path: Path) -> None:
    out = tmp_path / "lost.json"
    # One webhook the harness drops on arrival, as a lossy sink would: it must say so.
    printed = bench("--local", "--shape", "fanout", "--tasks", "4", "--action", "http",
                    "--atom-latency-ms", "5", "--clients", "2", "--duration", "1",
                    "--sink", "webhook:cloudevents", "--sink", "stream",
                    "--lose-one", "webhook:cloudevents", "--json", str(out), code=1)  # fmt: skip
    got = result(out)
    assert got["sinks"]["webhook:cloudevents"]["missing_events"] == 1
    assert got["sinks"]["stream"]["missing_events"] == 0
    assert got["missing_events"] == 1 and got["duplicate_events"] == 0
    assert got["sinks"]["stream"]["events"] == got["executions"] * 10
    assert "webhook:cloudevents" in printed


def test_compare_prints_the_change(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    base = {"executions_per_s": 100.0, "events_per_s": {"stream": 2000.0},
            "latency_ms": {"stream": {"p50": 10.0, "p90": 20.0, "p99": 40.0, "max": 50.0}},
            "missing_events": 0, "duplicate_events": 0,
            "task_transitions_per_s": 2000.0}  # fmt: skip
    a.write_text(json.dumps(base))
    b.write_text(json.dumps({**base, "executions_per_s": 125.0}))
    printed = bench("compare", str(a), str(b))
    line = next(x for x in printed.splitlines() if "executions_per_s" in x)
    assert "+25.0 %" in line
    assert "latency_ms.stream.p99" in printed


@pytest.mark.parametrize(
    "args",
    [
        ("--scenario", "nope"),
        ("--sink", "smtp"),
        ("--sink", "webhook:tencent"),
        ("--tasks", "0"),
        ("--shape", "fanout", "--tasks", "2"),
        ("--lose-one", "kafka:mistral", "--sink", "stream"),
        ("compare", "missing-a.json", "missing-b.json"),
    ],
)
def test_bad_usage_exits_2(args: tuple[str, ...]) -> None:
    bench(*args, code=2)


def test_a_kafka_sink_of_a_remote_server_needs_its_broker() -> None:
    printed = bench("--sink", "kafka", code=2, server="127.0.0.1:9")
    assert "--kafka-bootstrap" in printed


def test_an_unreachable_server_exits_3() -> None:
    bench("--sink", "stream", "--duration", "1", code=3, server="127.0.0.1:9")


def test_engine_without_mistral_says_it_skipped_the_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "engine.json"
    monkeypatch.setenv("TIDINGS_MISTRAL_SCRIPT", str(tmp_path / "no-such-script"))
    printed = bench("--local", "--scenario", "engine", "--tasks", "2", "--clients", "2",
                    "--duration", "1", "--json", str(out))  # fmt: skip
    got = result(out)
    assert got["scenario"] == "engine" and got["mistral"] is None
    assert list(got["events_per_s"]) == ["stream"]
    assert got["sinks"]["stream"]["events"] == got["executions"] * 6
    assert "the Mistral baseline is skipped" in printed


@pytest.mark.kafka
def test_dispatch_measures_the_plain_clients_too(kafka_bootstrap: str, tmp_path: Path) -> None:
    out = tmp_path / "dispatch.json"
    bench("--local", "--kafka-bootstrap", kafka_bootstrap, "--scenario", "dispatch",
          "--tasks", "2", "--clients", "2", "--duration", "1", "--json", str(out))  # fmt: skip
    got = result(out)
    assert got["missing_events"] == 0 and got["duplicate_events"] == 0
    for name in ("kafka:mistral", "webhook:mistral"):
        ceiling = got["ceilings"][name]
        assert ceiling["failed"] == 0 and ceiling["events"] >= 1000
        assert ceiling["events_per_s"] > 0
