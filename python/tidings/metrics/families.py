"""Every metric tidings exports, in one registry of its own.

Names follow Prometheus conventions: ``tidings_`` first, ``_total`` for counters, base
units (``_seconds``). Labels are bounded on purpose: no listener id, execution id or
event id is ever a label (10,000 listeners would be 10,000 series per family); a
listener's own deliveries are in ``ListDeliveries``.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)

#: The registry the endpoint serves (not prometheus_client's global one, so that an
#: embedding program's metrics and ours stay apart).
# No `_created` series: they double every counter and histogram for a value no
# dashboard reads.
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY: Final = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

#: Latency buckets from a fast local call (0.5 ms) up to a slow remote one (30 s).
LATENCY: Final = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
#: Sizes of batches (changes per transaction, events per render).
SIZES: Final = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)

# --- RPCs -------------------------------------------------------------------------------

RPCS: Final = Counter(
    "tidings_rpc_handled_total",
    "RPCs handled, by method and gRPC status code.",
    ("method", "code"),
    registry=REGISTRY,
)
RPC_SECONDS: Final = Histogram(
    "tidings_rpc_duration_seconds",
    "Time from an RPC's arrival to its answer (a stream: to its end), by method.",
    ("method",),
    buckets=LATENCY,
    registry=REGISTRY,
)

# --- the engine (counted from the events each transaction commits) ------------------------

EXECUTIONS_STARTED: Final = Counter(
    "tidings_executions_started_total",
    "Executions started (EXECUTION_STARTED events committed).",
    registry=REGISTRY,
)
EXECUTIONS_FINISHED: Final = Counter(
    "tidings_executions_finished_total",
    "Executions that ended, by their final state.",
    ("state",),
    registry=REGISTRY,
)
TASK_TRANSITIONS: Final = Counter(
    "tidings_task_transitions_total",
    "Task state changes (TASK_* events committed), by event type.",
    ("type",),
    registry=REGISTRY,
)
EVENTS_COMMITTED: Final = Counter(
    "tidings_events_committed_total",
    "Events written to the outbox, by event type.",
    ("type",),
    registry=REGISTRY,
)

# --- the store ----------------------------------------------------------------------------

COMMIT_SECONDS: Final = Histogram(
    "tidings_store_commit_duration_seconds",
    "Time of one write transaction (group commit: many changes each).",
    buckets=LATENCY,
    registry=REGISTRY,
)
COMMIT_BATCH: Final = Histogram(
    "tidings_store_commit_batch_changes",
    "Changes committed together in one transaction (group commit).",
    buckets=SIZES,
    registry=REGISTRY,
)
COMMIT_FAILURES: Final = Counter(
    "tidings_store_commit_failures_total",
    "Write transactions that failed (the database is locked, full, unwritable...).",
    registry=REGISTRY,
)
OUTBOX_POSITION: Final = Gauge(
    "tidings_outbox_position",
    "Position of the last event committed to the outbox.",
    registry=REGISTRY,
)

# --- delivery ---------------------------------------------------------------------------

OUTBOX_DEPTH: Final = Gauge(
    "tidings_outbox_depth_events",
    "Events committed after a sink's cursor: not yet delivered (or filtered out) there. "
    "Sink: webhooks (every webhook listener's shared reader), or kafka:TARGET.",
    ("sink",),
    registry=REGISTRY,
)
OUTBOX_AGE: Final = Gauge(
    "tidings_outbox_oldest_undelivered_age_seconds",
    "Age of the oldest event after a sink's cursor (0 when it has caught up).",
    ("sink",),
    registry=REGISTRY,
)
DELIVERIES: Final = Counter(
    "tidings_deliveries_total",
    "Delivery attempts by transport, profile and outcome (delivered; retry: failed, "
    "tried again later; dead: given up; failed: a Kafka record the broker refused).",
    ("transport", "profile", "outcome"),
    registry=REGISTRY,
)
DELIVERY_SECONDS: Final = Histogram(
    "tidings_delivery_duration_seconds",
    "Time of a delivery: one webhook request, or one Kafka batch from produce to the "
    "broker's acknowledgement.",
    ("transport", "profile"),
    buckets=LATENCY,
    registry=REGISTRY,
)
RETRIES_PENDING: Final = Gauge(
    "tidings_webhook_retries_pending",
    "Webhook deliveries that failed and wait for their next attempt (held lanes).",
    registry=REGISTRY,
)
LISTENERS_DISABLED: Final = Counter(
    "tidings_listeners_disabled_total",
    "Listeners the dispatcher disabled (failing past their limit, or HTTP 410 Gone).",
    registry=REGISTRY,
)
WEBHOOK_LISTENERS: Final = Gauge(
    "tidings_webhook_listeners_enabled",
    "Enabled webhook listeners the dispatcher delivers to.",
    registry=REGISTRY,
)

# --- Kafka --------------------------------------------------------------------------------

KAFKA_QUEUE: Final = Gauge(
    "tidings_kafka_producer_queue_messages",
    "Records in the producer's queue: produced, not yet acknowledged by the broker.",
    registry=REGISTRY,
)
KAFKA_ERRORS: Final = Counter(
    "tidings_kafka_errors_total",
    "Kafka errors: delivery (a record the broker did not take), client (the producer "
    "reported an error, e.g. every broker unreachable).",
    ("kind",),
    registry=REGISTRY,
)
KAFKA_BROKERS_UP: Final = Gauge(
    "tidings_kafka_brokers_up",
    "Brokers the producer is connected to (librdkafka's statistics, every second).",
    registry=REGISTRY,
)

# --- the codec ----------------------------------------------------------------------------

CODEC_BATCH: Final = Histogram(
    "tidings_codec_batch_events",
    "Events rendered in one call of the Rust codec, by profile.",
    ("profile",),
    buckets=SIZES,
    registry=REGISTRY,
)
CODEC_SECONDS: Final = Histogram(
    "tidings_codec_render_duration_seconds",
    "Time of one batch render in the Rust codec, by profile.",
    ("profile",),
    buckets=LATENCY,
    registry=REGISTRY,
)

# --- health -------------------------------------------------------------------------------

HEALTH: Final = Gauge(
    "tidings_health_serving",
    "1 while a health check passes, else 0: store (commits), kafka (reachable), "
    "ready (caught up after start).",
    ("check",),
    registry=REGISTRY,
)
