"""Which listeners hear an event, found without looking at the others.

Every listener is filed under the most selective key it has: its execution (notify
targets), else each workflow it names (callbacks, workflow filters), else "every
event"; and under each event type it hears (its types, or every type; only the types
its profile renders). An event is matched by looking up its execution, its workflow id,
its workflow name and "every event", each with its type: a handful of dictionary
lookups, whatever the number of listeners. The few listeners found are checked against
their whole filter (a notify target restricted to some workflows, say) and their start.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from tidings import codec
from tidings.dispatch.targets import EventFilter
from tidings.store.rows import EventRow
from tidings.vocab import TYPE_NAMES

T = TypeVar("T")

ALL_TYPES = frozenset(TYPE_NAMES)
#: Key kinds.
EXECUTION, WORKFLOW, EVERY = "x", "w", "*"


@dataclass(frozen=True, slots=True, eq=False)
class Entry(Generic[T]):
    """One listener in the index: what it hears, from where on, and who delivers."""

    id: str
    filter: EventFilter
    profile: str
    #: It hears only events after this outbox position (those committed after it was made).
    start: int
    target: T

    def filed_under(self) -> Iterator[tuple[str, str, int]]:
        """The keys it is filed under."""
        f = self.filter
        types = f.types or ALL_TYPES
        types = frozenset(t for t in types if codec.supports(self.profile, t))
        if f.execution_id:
            scopes = [(EXECUTION, f.execution_id)]
        elif f.workflows:
            scopes = [(WORKFLOW, w) for w in sorted(f.workflows)]
        else:
            scopes = [(EVERY, "")]
        for kind, key in scopes:
            for t in types:
                yield kind, key, t


class ListenerIndex(Generic[T]):
    """Listeners by execution, workflow and event type."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry[T]] = {}
        self._by_key: dict[tuple[str, str, int], dict[str, Entry[T]]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, listener_id: object) -> bool:
        return listener_id in self._entries

    def get(self, listener_id: str) -> Entry[T] | None:
        """The entry of a listener, if it is in the index."""
        return self._entries.get(listener_id)

    def entries(self) -> list[Entry[T]]:
        """Every entry."""
        return list(self._entries.values())

    def put(self, entry: Entry[T]) -> None:
        """Add a listener, or replace its entry."""
        self.remove(entry.id)
        self._entries[entry.id] = entry
        for key in entry.filed_under():
            self._by_key.setdefault(key, {})[entry.id] = entry

    def remove(self, listener_id: str) -> Entry[T] | None:
        """Take a listener out; its entry, if it was in."""
        entry = self._entries.pop(listener_id, None)
        if entry is not None:
            for key in entry.filed_under():
                bucket = self._by_key.get(key)
                if bucket is not None:
                    bucket.pop(listener_id, None)
                    if not bucket:
                        del self._by_key[key]
        return entry

    def match(self, event: EventRow) -> list[Entry[T]]:
        """The listeners that hear `event`."""
        t = event.type
        found: list[Entry[T]] = []
        hits = 0
        for key in (
            (EXECUTION, event.execution_id, t),
            (WORKFLOW, event.workflow_id, t),
            (WORKFLOW, event.workflow_name, t),
            (EVERY, "", t),
        ):
            bucket = self._by_key.get(key)
            if bucket:
                hits += 1
                position = event.position
                found.extend(
                    e for e in bucket.values() if position > e.start and e.filter.matches(event)
                )
        if hits > 1:
            # A listener naming both a workflow's id and its name is filed under both.
            found = list({id(e): e for e in found}.values())
        return found
