"""TestListener's ping: a signed ``{"type": "ping"}`` event, sent as deliveries are.

It goes through the same sink as every delivery (the destination checked again at
connect time, redirects not followed, the same timeouts), so a ping that passes says
that deliveries will reach the receiver.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson

from tidings.dispatch.webhook.sink import Attempt, WebhookSink, to_listener
from tidings.store.listeners import ListenerRow


async def ping(sink: WebhookSink, row: ListenerRow, *, now: float) -> Attempt:
    """POST (or PUT) a signed ping event to a webhook listener; what came back."""
    msg_id = f"ping_{uuid.uuid4().hex}"
    body = orjson.dumps(
        {
            "type": "ping",
            "id": msg_id,
            "listener_id": row.id,
            "listener_name": row.name,
            "time": datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z"),
        }
    )
    return await to_listener(
        sink, row, msg_id, body, {"content-type": "application/json"}, int(now)
    )
