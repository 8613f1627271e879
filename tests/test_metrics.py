"""The metrics endpoint during a real workload: its counters agree with what happened.

A real server with Kafka (the session's broker, topics of this test's own) and a real
webhook receiver; executions run, then the scrape must account for every one of them,
every event each sink delivered, and an outbox drained to depth 0 on every sink.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from engine_client import EngineClient, EventLog, chain, unique, wait_for, workflow_yaml
from kafka_broker import consume, free_port
from metrics_scrape import Key, families, samples, total, value
from tidings import codec
from tidings.v1 import execution_pb2, execution_pb2_grpc
from tidings_process import REPO, TidingsProcess
from webhook_receiver import ALLOW_LOCAL, Listeners, WebhookReceiver, webhook_listener

RUNS = 12
DASHBOARD = REPO / "deploy" / "grafana-dashboard.json"


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as rx:
        yield rx


@pytest.fixture(scope="module")
def topics() -> tuple[str, str]:
    return unique("metrics-mistral"), unique("metrics-service")


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str, topics: tuple[str, str]
) -> Iterator[TidingsProcess]:
    port = free_port()
    env = {
        **ALLOW_LOCAL,
        "TIDINGS_METRICS_LISTEN": f"127.0.0.1:{port}",
        "TIDINGS_HEALTH_INTERVAL_S": "0.2",
        "TIDINGS_KAFKA_MISTRAL_TOPIC": topics[0],
        "TIDINGS_KAFKA_SERVICE_TOPIC": topics[1],
    }
    data = tmp_path_factory.mktemp("metrics") / "data"
    with TidingsProcess(data, "--kafka-bootstrap", kafka_bootstrap, env=env) as process:
        process.metrics_port = port  # type: ignore[attr-defined]
        yield process


def outbox(data_dir: Path) -> list[tuple[int, str]]:
    """(type, workflow name) of every event in the outbox."""
    db = sqlite3.connect(data_dir / "tidings.sqlite3")
    try:
        return [(int(t), str(w)) for t, w in db.execute("SELECT type, workflow_name FROM events")]
    finally:
        db.close()


@pytest.mark.kafka
def test_counters_agree_with_a_real_workload(
    server: TidingsProcess,
    receiver: WebhookReceiver,
    kafka_bootstrap: str,
    topics: tuple[str, str],
) -> None:
    port: int = server.metrics_port  # type: ignore[attr-defined]
    with EngineClient(server.address) as client:
        wf = client.create_workflow(workflow_yaml(unique("metrics"), chain("a", "b", "c")))
        with server.channel() as channel:
            Listeners(channel).create(
                webhook_listener("metrics", receiver.url("/metrics"), workflows=[wf.name])
            )
        ids = [client.start(wf.name).id for _ in range(RUNS)]
        for execution_id in ids:
            client.wait_until_ended(execution_id)
        log = EventLog(server.data_dir)
        for execution_id in ids:
            log.wait_settled(client, execution_id, 20.0)

    events = outbox(server.data_dir)
    to_webhook = sum(1 for _, name in events if name == wf.name)
    mistral = codec.Renderer("mistral")
    to_kafka = sum(1 for kind, _ in events if mistral.supports(kind))

    def done(found: dict[Key, float]) -> bool:
        depths = [v for (n, _), v in found.items() if n == "tidings_outbox_depth_events"]
        return (
            len(depths) == 2  # the webhook reader and the seed-000 Kafka target
            and all(d == 0 for d in depths)
            and value(found, "tidings_deliveries_total", transport="webhook",
                      profile="mistral", outcome="delivered") >= to_webhook
            and value(found, "tidings_deliveries_total", transport="kafka",
                      profile="mistral", outcome="delivered") >= to_kafka
        )  # fmt: skip

    found = wait_for(lambda: samples(port), done, 60.0, "every sink caught up in the metrics")

    # Executions started and finished, as the engine committed them.
    assert value(found, "tidings_executions_started_total") == RUNS
    assert value(found, "tidings_executions_finished_total", state="SUCCESS") == RUNS
    assert total(found, "tidings_executions_finished_total") == RUNS
    assert value(found, "tidings_task_transitions_total", type="TASK_SUCCEEDED") == 3 * RUNS
    assert total(found, "tidings_events_committed_total") == len(events)
    start = "tidings.v1.ExecutionService/StartExecution"
    assert value(found, "tidings_rpc_handled_total", method=start, code="OK") == RUNS

    # Every sink delivered exactly what it was owed, once.
    assert len(receiver.arrivals("/metrics")) == to_webhook
    assert value(found, "tidings_deliveries_total", transport="webhook", profile="mistral",
                 outcome="delivered") == to_webhook  # fmt: skip
    assert total(found, "tidings_deliveries_total", transport="webhook") == to_webhook
    assert value(found, "tidings_deliveries_total", transport="kafka", profile="mistral",
                 outcome="delivered") == to_kafka  # fmt: skip
    assert len(consume(kafka_bootstrap, list(topics), to_kafka, timeout=60)) == to_kafka
    assert value(found, "tidings_outbox_oldest_undelivered_age_seconds", sink="webhooks") == 0
    assert value(found, "tidings_webhook_retries_pending") == 0

    # The store committed in transactions, the codec rendered in batches, all timed.
    assert value(found, "tidings_store_commit_duration_seconds_count") > 0
    assert value(found, "tidings_store_commit_batch_changes_sum") >= value(
        found, "tidings_store_commit_batch_changes_count"
    )
    assert total(found, "tidings_codec_batch_events_sum") >= to_webhook + to_kafka
    assert value(found, "tidings_outbox_position") == len(events)
    assert value(found, "tidings_health_serving", check="ready") == 1


def test_the_dashboard_queries_only_metrics_the_server_exports(server: TidingsProcess) -> None:
    port: int = server.metrics_port  # type: ignore[attr-defined]
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel.get("targets", ())
        for name in re.findall(r"\btidings_[a-z_]+", target["expr"])
    }
    exported: set[str] = set()
    for family in families(port):
        exported.add(family.name)
        exported.update(s.name for s in family.samples)
        if family.type == "counter":
            exported.add(f"{family.name}_total")
        if family.type == "histogram":
            exported.update(f"{family.name}_{end}" for end in ("bucket", "sum", "count"))
    assert len(queried) >= 15
    assert queried <= exported, sorted(queried - exported)


def test_a_refused_rpc_is_counted_with_its_status_code(server: TidingsProcess) -> None:
    port: int = server.metrics_port  # type: ignore[attr-defined]
    method = "tidings.v1.ExecutionService/GetExecution"
    before = value(samples(port), "tidings_rpc_handled_total", method=method, code="NOT_FOUND")
    with server.channel() as channel:
        stub = execution_pb2_grpc.ExecutionServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetExecution(execution_pb2.GetExecutionRequest(id="missing"), timeout=10)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    after = value(samples(port), "tidings_rpc_handled_total", method=method, code="NOT_FOUND")
    assert after == before + 1
