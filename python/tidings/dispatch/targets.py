"""Delivery targets: which events a listener hears, and where they go."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError

from tidings import codec
from tidings.store.listeners import ListenerRow
from tidings.store.rows import EventRow
from tidings.v1 import event_pb2
from tidings.vocab import CATEGORY_TYPES, TYPE_NAMES

BUILTIN_KAFKA_ID = "builtin:kafka"
#: EVENT_TYPE_UNSPECIFIED: no event has it.
NO_TYPE = 0
_TYPE_NUMBERS = {name.removeprefix("EVENT_TYPE_"): number for number, name in TYPE_NAMES.items()}


@dataclass(frozen=True)
class EventFilter:
    """Which events pass: empty sets mean all."""

    types: frozenset[int] = frozenset()
    workflows: frozenset[str] = frozenset()
    #: Only this execution's events (per-execution notify targets).
    execution_id: str = ""
    #: Only these tasks' events, by task name (a workflow's job callback URLs).
    tasks: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        categories: Collection[str] = (),
        types: Collection[int] = (),
        workflows: Collection[str] = (),
        execution_id: str = "",
        tasks: Collection[str] = (),
    ) -> EventFilter:
        """A filter from categories (EXECUTION, TASK, ENGINE), types and workflows."""
        chosen = set(types)
        for category in categories:
            chosen.update(CATEGORY_TYPES[category])
        return cls(frozenset(chosen), frozenset(workflows), execution_id, frozenset(tasks))

    @classmethod
    def of_listener(cls, row: ListenerRow) -> EventFilter:
        """The filter of a stored listener, its scope included.

        Without the listener's ``extensions``, the types its profile renders only as
        extensions (mistral's pause and resume) are left out: it never hears them.
        """
        workflows = set(row.filter.get("workflows", []))
        if row.scope == "WORKFLOW":
            workflows = {row.scope_id}
        f = cls.of(
            categories=row.filter.get("categories", []),
            types=[_TYPE_NUMBERS[t] for t in row.filter.get("types", []) if t in _TYPE_NUMBERS],
            workflows=workflows,
            execution_id=row.scope_id if row.scope == "EXECUTION" else "",
            tasks=row.filter.get("tasks", []),
        )
        if row.config.get("extensions"):
            return f
        heard = f.types or frozenset(TYPE_NAMES) - {NO_TYPE}
        seed = frozenset(t for t in heard if not codec.is_extension(row.profile, t))
        if seed == heard:
            return f
        # Empty types mean "all": a listener left with none hears only NO_TYPE, never sent.
        return cls(seed or frozenset({NO_TYPE}), f.workflows, f.execution_id, f.tasks)

    def matches(self, event: EventRow) -> bool:
        """Whether the event passes."""
        if self.types and event.type not in self.types:
            return False
        if self.execution_id and event.execution_id != self.execution_id:
            return False
        if self.workflows and not (
            event.workflow_id in self.workflows or event.workflow_name in self.workflows
        ):
            return False
        return not self.tasks or task_name(event) in self.tasks


def task_name(event: EventRow) -> str:
    """The task name an event carries (none: ""), read from its canonical bytes.

    Only task filters need it, and they come last: an event is decoded only once
    everything else matched (a job callback's workflow and job event types).
    """
    try:
        return event_pb2.Event.FromString(event.body).task_name
    except DecodeError:
        return ""


@dataclass(frozen=True)
class KafkaTarget:
    """Events to Kafka topics; ENGINE events may go to their own topic (seed 000)."""

    id: str
    profile: str
    topic: str
    filter: EventFilter = field(default_factory=EventFilter)
    #: Topic of ENGINE_UP/DOWN; empty means `topic`.
    engine_topic: str = ""
    cloudevents_binary: bool = False
    #: Also render what the profile's seed does not define (`codec.Renderer` option).
    extensions: bool = False

    def topic_for(self, event_type: int) -> str:
        """The topic an event of this type goes to."""
        if self.engine_topic and event_type in CATEGORY_TYPES["ENGINE"]:
            return self.engine_topic
        return self.topic


def builtin_kafka_target(
    service_topic: str, mistral_topic: str, *, extensions: bool = False
) -> KafkaTarget:
    """Seed 000's defaults: engine up/down to `service`, every other event to `mistral`.

    With `extensions` (config ``kafka_mistral_extensions``), `mistral` also carries the
    eTypes seed 000 lacks (``execution_pause``, ``execution_resume``).
    """
    return KafkaTarget(
        id=BUILTIN_KAFKA_ID,
        profile="mistral",
        topic=mistral_topic,
        engine_topic=service_topic,
        extensions=extensions,
    )
