"""The stored form of a listener: who hears what, in which profile, over which transport.

The business rules (validation, secrets, scopes) live in :mod:`tidings.listeners`; this
module only knows the row and its columns, so the store stays free of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tidings.store.columns import from_json, to_json

#: Column list of the `listeners` table, in `ListenerRow.columns()` order.
LISTENER_COLS = (
    "id, name, scope, scope_id, filter, profile, transport, config, retry, enabled, "
    "disabled_reason, secrets, create_time, update_time"
)


def _upsert_sql() -> str:
    names = [c.strip() for c in LISTENER_COLS.split(",")]
    marks = ", ".join("?" for _ in names)
    # create_time stays as first written: an upsert is an update of the same listener.
    updates = ", ".join(f"{n} = excluded.{n}" for n in names[1:] if n != "create_time")
    return (
        f"INSERT INTO listeners ({LISTENER_COLS}) VALUES ({marks}) "
        f"ON CONFLICT(id) DO UPDATE SET {updates}"
    )


LISTENER_UPSERT = _upsert_sql()
LISTENER_DELETE = "DELETE FROM listeners WHERE id = ?"


@dataclass(slots=True)
class ListenerRow:
    """A stored listener.

    `filter` is ``{"workflows": [...], "categories": [...], "types": [...]}`` with
    categories and event types by name (``"EXECUTION"``, ``"EXECUTION_STARTED"``); empty
    lists mean all. `config` depends on `transport`: webhook ``{url, method, headers,
    timeout_s, cloudevents_mode}``, kafka ``{topic, cloudevents_mode}``. `retry` is
    ``{schedule_s, jitter, disable_after_s}`` where an empty schedule or a None means the
    default. `secrets` are ``{"secret": "whsec_...", "expire_time": float | None}``,
    newest first.
    """

    id: str
    name: str
    #: GLOBAL, WORKFLOW or EXECUTION.
    scope: str
    #: The workflow or execution id of a scoped listener; empty for GLOBAL.
    scope_id: str
    filter: dict[str, list[str]]
    profile: str
    #: webhook or kafka.
    transport: str
    config: dict[str, Any]
    retry: dict[str, Any]
    enabled: bool
    disabled_reason: str
    secrets: list[dict[str, Any]]
    create_time: float
    update_time: float

    def columns(self) -> tuple[object, ...]:
        """The row's column values, JSON fields encoded (a snapshot)."""
        return (self.id, self.name, self.scope, self.scope_id, to_json(self.filter), self.profile,
                self.transport, to_json(self.config), to_json(self.retry), int(self.enabled),
                self.disabled_reason, to_json(self.secrets), self.create_time,
                self.update_time)  # fmt: skip

    @classmethod
    def from_db(cls, t: Any) -> ListenerRow:
        """A row from the columns of `LISTENER_COLS` as SQLite returns them."""
        return cls(
            t[0], t[1], t[2], t[3], from_json(t[4]), t[5], t[6], from_json(t[7]),
            from_json(t[8]), bool(t[9]), t[10], from_json(t[11]), t[12], t[13],
        )  # fmt: skip
