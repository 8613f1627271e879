"""The stored form of a listener: who hears what, in which profile, over which transport.

The business rules (validation, secrets, scopes) live in :mod:`tidings.listeners`; this
module only knows the row, so the store stays free of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tidings.store.columns import etag_of, to_json


@dataclass(slots=True)
class ListenerRow:
    """A stored listener.

    `filter` is ``{"workflows": [...], "categories": [...], "types": [...]}`` with
    categories and event types by name (``"EXECUTION"``, ``"EXECUTION_STARTED"``); empty
    lists mean all; a job callback listener also has ``"tasks"`` (task names). `config`
    depends on `transport`: webhook ``{url, method, headers, timeout_s,
    cloudevents_mode}``, kafka ``{topic, cloudevents_mode}``. `retry` is
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
    #: How long this listener's settled delivery records (and their attempts) are kept,
    #: in seconds; None: the server's ``retention_s``.
    retention_s: float | None = None

    def columns(self) -> tuple[object, ...]:
        """The row's column values, JSON fields encoded (a snapshot)."""
        return (self.id, self.name, self.scope, self.scope_id, to_json(self.filter), self.profile,
                self.transport, to_json(self.config), to_json(self.retry), int(self.enabled),
                self.disabled_reason, to_json(self.secrets), self.create_time,
                self.update_time, self.retention_s)  # fmt: skip

    def etag(self) -> str:
        """The listener's etag: changes with every change of its settings or state.

        Its signing secrets are left out: they are not part of what the API shows.
        """
        values = self.columns()
        return etag_of(values[:11] + values[12:])
