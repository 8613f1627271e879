"""Delivery targets: which events a listener hears, and where they go."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from tidings.store.rows import EventRow
from tidings.v1 import event_pb2

ET = event_pb2.EventType
BUILTIN_KAFKA_ID = "builtin:kafka"

#: Event categories by their type numbers (see event.proto).
CATEGORIES: dict[str, range] = {
    "ENGINE": range(1, 10),
    "EXECUTION": range(10, 30),
    "TASK": range(30, 50),
    "LISTENER": range(50, 60),
}
TYPE_NAMES: dict[int, str] = {
    v.number: v.name for v in event_pb2.DESCRIPTOR.enum_types_by_name["EventType"].values
}


@dataclass(frozen=True)
class EventFilter:
    """Which events pass: empty sets mean all."""

    types: frozenset[int] = frozenset()
    workflows: frozenset[str] = frozenset()
    #: Only this execution's events (per-execution notify targets).
    execution_id: str = ""

    @classmethod
    def of(
        cls,
        categories: Collection[str] = (),
        types: Collection[int] = (),
        workflows: Collection[str] = (),
        execution_id: str = "",
    ) -> EventFilter:
        """A filter from categories (EXECUTION, TASK, ENGINE), types and workflows."""
        chosen = set(types)
        for category in categories:
            chosen.update(CATEGORIES[category])
        return cls(frozenset(chosen), frozenset(workflows), execution_id)

    def matches(self, event: EventRow) -> bool:
        """Whether the event passes."""
        if self.types and event.type not in self.types:
            return False
        if self.execution_id and event.execution_id != self.execution_id:
            return False
        return not self.workflows or (
            event.workflow_id in self.workflows or event.workflow_name in self.workflows
        )


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

    def topic_for(self, event_type: int) -> str:
        """The topic an event of this type goes to."""
        if self.engine_topic and event_type in CATEGORIES["ENGINE"]:
            return self.engine_topic
        return self.topic


def builtin_kafka_target(service_topic: str, mistral_topic: str) -> KafkaTarget:
    """Seed 000's defaults: engine up/down to `service`, every other event to `mistral`."""
    return KafkaTarget(
        id=BUILTIN_KAFKA_ID,
        profile="mistral",
        topic=mistral_topic,
        engine_topic=service_topic,
    )
