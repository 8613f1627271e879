"""tidings.v1.ListenerService: protobuf in and out of `tidings.listeners`.

The rules of listeners (validation, SSRF safety, secrets, scopes) live in the registry;
this module only translates. Enum values travel as their names without prefix
(``EXECUTION``, ``TASK_STARTED``); a value this build does not know is passed on as its
number, so that the registry reports it as invalid with its field path.
"""

from __future__ import annotations

import time
from typing import Any

import grpc
from google.protobuf import field_mask_pb2

from tidings import vocab
from tidings.api import convert
from tidings.api.convert import duration, seconds
from tidings.api.errors import abort_with, handles_errors
from tidings.dispatch.dispatcher import Dispatcher
from tidings.errors import (
    FailedPreconditionError,
    FieldViolation,
    InvalidArgumentError,
    NotFoundError,
)
from tidings.listeners import (
    KafkaSpec,
    ListenerRegistry,
    ListenerSpec,
    RetrySpec,
    WebhookSpec,
)
from tidings.store.listeners import ListenerRow
from tidings.store.rows import AttemptRow, DeliveryRow
from tidings.v1 import event_pb2, listener_pb2, listener_pb2_grpc

Context = Any  # grpc.aio.ServicerContext
PB = listener_pb2


def _name(enum: Any, value: int, prefix: str) -> str:
    # Any: each generated enum is its own wrapper type.
    try:
        return str(enum.Name(value)).removeprefix(prefix)
    except ValueError:
        return str(value)


def _spec(m: PB.Listener) -> ListenerSpec:
    transport: WebhookSpec | KafkaSpec | None = None
    kind = m.WhichOneof("transport")
    if kind == "webhook":
        w = m.webhook
        transport = WebhookSpec(
            url=w.url,
            # A number this build does not know goes on as its digits, for the registry
            # to refuse naming the field.
            method=vocab.method_word(w.method) or str(w.method),
            headers=dict(w.headers),
            timeout_s=seconds(w.timeout) if w.HasField("timeout") else None,
            cloudevents_mode=_mode(w.cloudevents_mode),
        )
    elif kind == "kafka":
        transport = KafkaSpec(topic=m.kafka.topic, cloudevents_mode=_mode(m.kafka.cloudevents_mode))
    r = m.retry_policy
    return ListenerSpec(
        name=m.name,
        profile=vocab.profile_word(m.profile) or str(m.profile),
        transport=transport,
        scope="" if m.scope == 0 else _name(PB.ListenerScope, m.scope, "LISTENER_SCOPE_"),
        scope_id=m.scope_id,
        workflows=tuple(m.filter.workflows),
        categories=tuple(
            _name(PB.EventCategory, c, "EVENT_CATEGORY_") for c in m.filter.categories
        ),
        types=tuple(_name(event_pb2.EventType, t, "EVENT_TYPE_") for t in m.filter.types),
        retry=RetrySpec(
            schedule_s=tuple(seconds(d) for d in r.schedule),
            # proto3 cannot tell 0 from unset: 0 means the default (0.2).
            jitter=r.jitter if r.HasField("jitter") else None,
            disable_after_s=seconds(r.disable_after) if r.HasField("disable_after") else None,
        ),
        enabled=m.enabled if m.HasField("enabled") else True,
        extensions=m.extensions,
        retention_s=(seconds(m.delivery_retention) if m.HasField("delivery_retention") else None),
    )


#: Listener fields an update never takes from the request (AIP-203 output only).
_OUTPUT_ONLY = frozenset({"id", "create_time", "update_time", "disabled_reason", "etag"})


def _listener_paths(request: PB.UpdateListenerRequest) -> list[str]:
    """The paths of the listener to update (AIP-134): the mask's, checked, or the given.

    No mask: the fields set in the request; ``*``: every field.
    """
    settable = [f.name for f in PB.Listener.DESCRIPTOR.fields if f.name not in _OUTPUT_ONLY]
    if not request.HasField("update_mask"):
        return [f.name for f, _ in request.listener.ListFields() if f.name not in _OUTPUT_ONLY]
    paths = list(request.update_mask.paths)
    if paths == ["*"]:
        return settable
    unknown = [
        p
        for p in paths
        if not field_mask_pb2.FieldMask(paths=[p]).IsValidForDescriptor(PB.Listener.DESCRIPTOR)
    ]
    if unknown:
        raise InvalidArgumentError(
            f"update_mask names {', '.join(repr(p) for p in unknown)}: no such field of Listener",
            [FieldViolation("update_mask", f"unknown field {p!r}") for p in unknown],
        )
    return [p for p in paths if p.split(".")[0] not in _OUTPUT_ONLY]


def _mode(value: int) -> str:
    return "" if value == 0 else _name(PB.CloudEventsMode, value, "CLOUD_EVENTS_MODE_")


def _mode_value(name: str) -> int:
    return PB.CloudEventsMode.Value(f"CLOUD_EVENTS_MODE_{name}") if name else 0


def listener(row: ListenerRow) -> PB.Listener:
    """A stored listener as its message (never with its secrets)."""
    cfg = row.config
    message = PB.Listener(
        id=row.id,
        name=row.name,
        scope=PB.ListenerScope.Value(f"LISTENER_SCOPE_{row.scope}"),
        scope_id=row.scope_id,
        filter=PB.ListenerFilter(
            workflows=row.filter.get("workflows", []),
            categories=[
                PB.EventCategory.Value(f"EVENT_CATEGORY_{c}")
                for c in row.filter.get("categories", [])
            ],
            types=[
                event_pb2.EventType.Value(f"EVENT_TYPE_{t}") for t in row.filter.get("types", [])
            ],
        ),
        profile=vocab.profile_enum(row.profile),
        retry_policy=PB.RetryPolicy(
            schedule=[duration(s) for s in row.retry.get("schedule_s") or ()],
            jitter=row.retry.get("jitter"),
        ),
        enabled=row.enabled,
        disabled_reason=row.disabled_reason,
        create_time=convert.ts(row.create_time),
        update_time=convert.ts(row.update_time),
        extensions=bool(cfg.get("extensions")),
        etag=row.etag(),
    )
    if row.retention_s is not None:
        message.delivery_retention.CopyFrom(duration(row.retention_s))
    if row.retry.get("disable_after_s") is not None:
        message.retry_policy.disable_after.CopyFrom(duration(row.retry["disable_after_s"]))
    mode = _mode_value(cfg.get("cloudevents_mode", ""))
    if row.transport == "webhook":
        message.webhook.CopyFrom(
            PB.WebhookTransport(
                url=cfg["url"],
                method=vocab.method_enum(cfg["method"]),
                headers=cfg.get("headers", {}),
                timeout=duration(cfg["timeout_s"]),
                cloudevents_mode=mode,  # type: ignore[arg-type]
            )
        )
    elif row.transport == "kafka":
        message.kafka.CopyFrom(PB.KafkaTransport(topic=cfg["topic"], cloudevents_mode=mode))  # type: ignore[arg-type]
    return message


class ListenerService(listener_pb2_grpc.ListenerServiceServicer):
    """Register, inspect and change listeners; test them."""

    def __init__(self, registry: ListenerRegistry, dispatcher: Dispatcher | None = None) -> None:
        self.registry = registry
        self.dispatcher = dispatcher

    @handles_errors
    async def CreateListener(
        self, request: PB.CreateListenerRequest, context: Context
    ) -> PB.CreateListenerResponse:
        """Store a listener; the response carries its signing secret, this once."""
        row, secret = await self.registry.create(
            _spec(request.listener),
            request.signing_secret,
            request.request_id,
            convert.request_digest(request),
        )
        return PB.CreateListenerResponse(listener=listener(row), signing_secret=secret)

    @handles_errors
    async def GetListener(
        self, request: PB.GetListenerRequest, context: Context
    ) -> PB.GetListenerResponse:
        """A listener by id."""
        row = await self.registry.get(request.id)
        return PB.GetListenerResponse(listener=listener(row))

    @handles_errors
    async def ListListeners(
        self, request: PB.ListListenersRequest, context: Context
    ) -> PB.ListListenersResponse:
        """A page of listeners, in creation order."""
        rows, token = await self.registry.list_page(
            convert.page_token(request), convert.page_size(request.page_size)
        )
        return PB.ListListenersResponse(
            listeners=[listener(r) for r in rows],
            next_page_token=convert.next_page_token(request, token),
        )

    @handles_errors
    async def UpdateListener(
        self, request: PB.UpdateListenerRequest, context: Context
    ) -> PB.UpdateListenerResponse:
        """Change the listener's settings the mask names (its secrets stay)."""
        paths = _listener_paths(request)
        given = request.listener

        def merged(old: ListenerRow) -> ListenerSpec:
            # The stored listener with the masked fields taken from the request: a
            # message field named whole is replaced whole (AIP-134).
            target = listener(old)
            field_mask_pb2.FieldMask(paths=paths).MergeMessage(
                given, target, replace_message_field=True, replace_repeated_field=True
            )
            return _spec(target)

        row = await self.registry.update(given.id, merged, given.etag)
        return PB.UpdateListenerResponse(listener=listener(row))

    @handles_errors
    async def DeleteListener(
        self, request: PB.DeleteListenerRequest, context: Context
    ) -> PB.DeleteListenerResponse:
        """Delete a listener."""
        await self.registry.delete(convert.required(request.id, "id"), request.etag)
        return PB.DeleteListenerResponse()

    @handles_errors
    async def RotateSecret(
        self, request: PB.RotateSecretRequest, context: Context
    ) -> PB.RotateSecretResponse:
        """A new signing secret; the old one signs alongside it for the grace period."""
        grace = seconds(request.grace_period) if request.HasField("grace_period") else None
        secret, expire = await self.registry.rotate_secret(
            convert.required(request.id, "id"), grace
        )
        return PB.RotateSecretResponse(
            signing_secret=secret, old_secret_expire_time=convert.ts(expire)
        )

    @handles_errors
    async def TestListener(
        self, request: PB.TestListenerRequest, context: Context
    ) -> PB.TestListenerResponse:
        """Send a signed ping event and return what the receiver answered."""
        row = await self.registry.get(convert.required(request.id, "id"))
        if self.dispatcher is None:
            raise FailedPreconditionError(
                "this server delivers nothing: no dispatcher", reason="NO_DISPATCHER"
            )
        sent = time.time()
        try:
            attempt = await self.dispatcher.test_listener(row)
        except NotImplementedError as exc:
            await abort_with(context, grpc.StatusCode.UNIMPLEMENTED, str(exc), "UNIMPLEMENTED")
            raise  # unreachable: abort raises
        return PB.TestListenerResponse(
            attempt=PB.DeliveryAttempt(
                time=convert.ts(sent),
                http_status=attempt.status,
                error=attempt.error,
                latency=duration(attempt.latency),
                response_snippet=attempt.snippet,
            )
        )

    @handles_errors
    async def ListDeliveries(
        self, request: PB.ListDeliveriesRequest, context: Context
    ) -> PB.ListDeliveriesResponse:
        """A page of webhook deliveries (newest first), each with its attempts."""
        if request.listener_id:
            await self.registry.get(request.listener_id)  # NOT_FOUND for an unknown one
        state = ""
        if request.state:
            state = PB.DeliveryState.Name(request.state).removeprefix("DELIVERY_STATE_")
        page, token = await self.registry.store.list_deliveries(
            request.listener_id,
            request.event_id,
            state,
            convert.page_token(request),
            convert.page_size(request.page_size),
        )
        return PB.ListDeliveriesResponse(
            deliveries=[delivery(d, attempts) for d, attempts in page],
            next_page_token=convert.next_page_token(request, token),
        )

    @handles_errors
    async def RedeliverEvents(
        self, request: PB.RedeliverEventsRequest, context: Context
    ) -> PB.RedeliverEventsResponse:
        """Queue events again for delivery, with the same event ids."""
        listener_id = convert.required(request.listener_id, "listener_id")
        row = await self.registry.get(listener_id)
        if self.dispatcher is None or not row.enabled:
            raise FailedPreconditionError(
                f"listener {listener_id!r} is not enabled",
                reason="LISTENER_DISABLED",
                metadata={"listener": listener_id},
            )
        start = convert_time(request.start_time) if request.HasField("start_time") else 0.0
        end = convert_time(request.end_time) if request.HasField("end_time") else 0.0
        try:
            queued = await self.dispatcher.redeliver(listener_id, request.event_id, start, end)
        except KeyError as exc:
            raise NotFoundError(
                str(exc.args[0]),
                reason="EVENT_NOT_FOUND",
                metadata={"event": request.event_id},
            ) from exc
        except LookupError as exc:
            raise FailedPreconditionError(
                str(exc), reason="LISTENER_NOT_RUNNING", metadata={"listener": listener_id}
            ) from exc
        return PB.RedeliverEventsResponse(queued=queued)


def convert_time(ts: Any) -> float:
    """A Timestamp in seconds."""
    return float(ts.seconds + ts.nanos / 1e9)


def delivery(d: DeliveryRow, attempts: list[AttemptRow]) -> PB.Delivery:
    """A delivery and its attempts as a message."""
    return PB.Delivery(
        listener_id=d.listener_id,
        event_id=d.event_id,
        execution_id=d.execution_id,
        sequence=d.sequence,
        event_type=d.type,  # type: ignore[arg-type]
        state=PB.DeliveryState.Value(f"DELIVERY_STATE_{d.state}"),
        attempts=[
            PB.DeliveryAttempt(
                time=convert.ts(a.time),
                http_status=a.http_status,
                error=a.error,
                latency=duration(a.latency),
                response_snippet=a.snippet,
            )
            for a in attempts
        ],
        next_attempt_time=convert.ts(d.next_attempt_time),
    )
