"""Which listeners hear an event, found without looking at the others.

Every listener is filed under the most selective key it has: its execution (notify
targets), else each workflow it names (callbacks, workflow filters), else "every
event"; and under each event type it hears (its types, or every type; only the types
its profile renders). An event is matched by looking up its execution, its workflow id,
its workflow name and "every event", each with its type: a handful of dictionary
lookups, whatever the number of listeners. The few listeners found are checked against
their whole filter (a notify target restricted to some workflows, say) and their start.

What the index keeps of a listener is made of strings, numbers and tuples of them (a
listener's types are one integer, a bit each), and each key's listeners are a dict of
their ids: CPython's garbage collector does not track such objects, so ten thousand
idle listeners add nothing to the work of each of its full collections. The target,
the one thing the index holds for its user, decides whether a listener is tracked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from tidings import codec
from tidings.dispatch.targets import EventFilter, task_name
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


def _mask(types: frozenset[int]) -> int:
    """Event types as one integer, a bit each (0: every type)."""
    mask = 0
    for t in types:
        mask |= 1 << t
    return mask


def _types(mask: int) -> frozenset[int]:
    return frozenset(t for t in ALL_TYPES if mask >> t & 1)


def _filed_under(
    mask: int, workflows: tuple[str, ...], execution_id: str, profile: str
) -> Iterator[tuple[str, str, int]]:
    types = _types(mask) if mask else ALL_TYPES
    types = frozenset(t for t in types if codec.supports(profile, t))
    if execution_id:
        scopes = [(EXECUTION, execution_id)]
    elif workflows:
        scopes = [(WORKFLOW, w) for w in workflows]
    else:
        scopes = [(EVERY, "")]
    for kind, key in scopes:
        for t in types:
            yield kind, key, t


class ListenerIndex(Generic[T]):
    """Listeners by execution, workflow and event type."""

    def __init__(self) -> None:
        #: id → (id, start, types mask, workflows, execution id, profile, target, tasks).
        self._records: dict[
            str, tuple[str, int, int, tuple[str, ...], str, str, T, tuple[str, ...]]
        ] = {}
        #: (kind, key, type) → the ids filed under it (a dict as an ordered set).
        self._by_key: dict[tuple[str, str, int], dict[str, None]] = {}

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, listener_id: object) -> bool:
        return listener_id in self._records

    def get(self, listener_id: str) -> Entry[T] | None:
        """The entry of a listener, if it is in the index."""
        r = self._records.get(listener_id)
        if r is None:
            return None
        f = EventFilter(_types(r[2]), frozenset(r[3]), r[4], frozenset(r[7]))
        return Entry(r[0], f, r[5], r[1], r[6])

    def target(self, listener_id: str) -> T | None:
        """A listener's target, if it is in the index."""
        r = self._records.get(listener_id)
        return None if r is None else r[6]

    def set_target(self, listener_id: str, target: T) -> None:
        """Replace a listener's target (filed as it was)."""
        r = self._records[listener_id]
        self._records[listener_id] = (r[0], r[1], r[2], r[3], r[4], r[5], target, r[7])

    def targets(self) -> list[T]:
        """Every listener's target."""
        return [r[6] for r in self._records.values()]

    def put(self, entry: Entry[T]) -> None:
        """Add a listener, or replace its entry."""
        self.remove(entry.id)
        f = entry.filter
        workflows = tuple(sorted(f.workflows))
        record = (entry.id, entry.start, _mask(f.types), workflows, f.execution_id,
                  entry.profile, entry.target, tuple(sorted(f.tasks)))  # fmt: skip
        self._records[entry.id] = record
        for key in _filed_under(record[2], workflows, f.execution_id, entry.profile):
            self._by_key.setdefault(key, {})[entry.id] = None

    def remove(self, listener_id: str) -> Entry[T] | None:
        """Take a listener out; its entry, if it was in."""
        entry = self.get(listener_id)
        r = self._records.pop(listener_id, None)
        if r is not None:
            for key in _filed_under(r[2], r[3], r[4], r[5]):
                bucket = self._by_key.get(key)
                if bucket is not None:
                    bucket.pop(listener_id, None)
                    if not bucket:
                        del self._by_key[key]
        return entry

    def match(self, event: EventRow) -> list[tuple[str, T]]:
        """The listeners that hear `event`: (id, target) each."""
        t = event.type
        position = event.position
        records = self._records
        found: list[tuple[str, T]] = []
        hits = 0
        for key in (
            (EXECUTION, event.execution_id, t),
            (WORKFLOW, event.workflow_id, t),
            (WORKFLOW, event.workflow_name, t),
            (EVERY, "", t),
        ):
            bucket = self._by_key.get(key)
            if not bucket:
                continue
            hits += 1
            for listener_id in bucket:
                r = records[listener_id]
                if position <= r[1] or (r[2] and not r[2] >> t & 1):
                    continue
                if r[4] and event.execution_id != r[4]:
                    continue
                workflows = r[3]
                if workflows and not (
                    event.workflow_id in workflows or event.workflow_name in workflows
                ):
                    continue
                # A task filter (a job callback URL) comes last: it decodes the event.
                if r[7] and task_name(event) not in r[7]:
                    continue
                found.append((listener_id, r[6]))
        if hits > 1:
            # A listener naming both a workflow's id and its name is filed under both.
            found = list(dict(found).items())
        return found
