"""``tidings listener``: who hears what, and how their deliveries went.

``listener add`` takes seed 001's shape: ``--workflow``, ``--events EXECUTION,TASK``,
``--url``, ``--method``, ``--header K=V``; plus ``--profile`` (default mistral, the seed's
engine) and ``--kafka-topic`` instead of ``--url``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import Annotated, TypeVar

import typer
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from tidings import codec, vocab
from tidings.cli.common import JsonOption, PageSize, PageToken, Session, session
from tidings.cli.failures import CliError, Violation, with_options
from tidings.cli.filters import EventsOption, WorkflowsOption, describe_filter, listener_filter
from tidings.cli.output import enum_name, message_dict, when
from tidings.v1 import event_pb2, listener_pb2

PB = listener_pb2
T = TypeVar("T")
E = TypeVar("E")

app = typer.Typer(
    help="Listeners: webhooks and Kafka topics that hear events.", no_args_is_help=True
)

ListenerArg = Annotated[str, typer.Argument(help="The listener's id.")]
NameOption = Annotated[str | None, typer.Option(help="A name for people.")]
UrlOption = Annotated[str | None, typer.Option(help="Deliver as webhooks to this URL.")]
MethodOption = Annotated[str | None, typer.Option(help="The webhooks' HTTP method: POST or PUT.")]
HeaderOption = Annotated[
    list[str] | None, typer.Option("--header", help="A webhook header K=V; repeatable.")
]
ProfileOption = Annotated[
    str | None, typer.Option(help=f"The payloads' shape: {', '.join(codec.PROFILES)}.")
]
TopicOption = Annotated[str | None, typer.Option(help="Deliver as records to this Kafka topic.")]
ModeOption = Annotated[str | None, typer.Option(help="cloudevents profile: structured or binary.")]
ExtensionsOption = Annotated[
    bool | None, typer.Option(help="Also deliver what the profile's seed does not define.")
]


#: The API fields the options of add and update set, to name them in errors.
_OPTIONS = {
    "listener.name": "--name",
    "listener.profile": "--profile",
    "listener.filter.workflows": "--workflow",
    "listener.filter.categories": "--events",
    "listener.filter.types": "--events",
    "listener.webhook.url": "--url",
    "listener.webhook.method": "--method",
    "listener.webhook.headers": "--header",
    "listener.webhook.cloudevents_mode": "--cloudevents-mode",
    "listener.kafka.topic": "--kafka-topic",
    "listener.kafka.cloudevents_mode": "--cloudevents-mode",
    "signing_secret": "--signing-secret",
}


def _call_naming_options(s: Session, method: Callable[..., T], request: object) -> T:
    """A call whose refusal names the options that set the bad fields."""
    try:
        return s.client.call(method, request)
    except CliError as exc:
        raise with_options(exc, _OPTIONS) from exc


def _headers(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--header: {item!r} is not K=V")
        out[key.strip()] = value
    return out


def _mode(value: str) -> PB.CloudEventsMode.ValueType:
    try:
        return PB.CloudEventsMode.Value(f"CLOUD_EVENTS_MODE_{value.upper()}")
    except ValueError:
        raise CliError(f"--cloudevents-mode: {value!r} is not structured or binary") from None


def _transport(
    listener: PB.Listener,
    url: str | None,
    method: str | None,
    headers: list[str] | None,
    topic: str | None,
    mode: str | None,
) -> None:
    """Set the listener's transport from the options (those given replace, others stay)."""
    if url is not None and topic is not None:
        raise CliError("--url and --kafka-topic: give one (a listener has one transport)")
    if topic is not None:
        if method is not None or headers:
            raise CliError("--method, --header: only for a webhook (--url)")
        kafka = PB.KafkaTransport(topic=topic)
        if listener.HasField("kafka"):
            kafka.cloudevents_mode = listener.kafka.cloudevents_mode
        listener.kafka.CopyFrom(kafka)
        if mode is not None:
            listener.kafka.cloudevents_mode = _mode(mode)
        return
    if url is None and not listener.HasField("webhook"):
        if method is not None or headers or mode is not None:
            raise CliError("--method, --header, --cloudevents-mode: this listener is not a webhook")
        return
    hook = listener.webhook
    if url is not None:
        hook.url = url
    if method is not None:
        hook.method = _word_enum(vocab.method_enum, method, "--method", vocab.HTTP_METHODS)
    if headers is not None:
        hook.headers.clear()
        hook.headers.update(_headers(headers))
    if mode is not None:
        hook.cloudevents_mode = _mode(mode)


def _word_enum(to_enum: Callable[[str], E], word: str, option: str, words: Sequence[str]) -> E:
    """The API's enum value of an option's word; an error naming the option if none."""
    try:
        return to_enum(word)
    except ValueError:
        why = f"must be one of {', '.join(words)}"
        raise CliError(f"{option}: {why}", violations=[Violation(option, why)]) from None


def _profile_text(value: int) -> str:
    return vocab.profile_word(value) or str(value)


def _transport_text(listener: PB.Listener) -> str:
    if listener.HasField("kafka"):
        return f"kafka {listener.kafka.topic}"
    if listener.HasField("webhook"):
        method = vocab.method_word(listener.webhook.method) or str(listener.webhook.method)
        return f"{method} {listener.webhook.url}"
    return ""


def _enabled(listener: PB.Listener) -> bool:
    return not listener.HasField("enabled") or listener.enabled


def _show(s: Session, listener: PB.Listener) -> None:
    hook = listener.webhook
    s.out.fields(
        f"listener {listener.id}",
        [
            ("id", listener.id),
            ("name", listener.name),
            ("scope", enum_name(PB.ListenerScope.Name(listener.scope), "LISTENER_SCOPE_")),
            ("scope id", listener.scope_id),
            ("profile", _profile_text(listener.profile)),
            ("transport", _transport_text(listener)),
            ("headers", ", ".join(f"{k}={v}" for k, v in sorted(hook.headers.items()))),
            ("filter", describe_filter(listener.filter)),
            ("enabled", "yes" if _enabled(listener) else "no"),
            ("disabled because", listener.disabled_reason),
            ("extensions", "yes" if listener.extensions else ""),
            ("created", when(listener.create_time)),
        ],
    )


def _get(s: Session, listener_id: str) -> PB.Listener:
    request = PB.GetListenerRequest(id=listener_id)
    return s.client.call(s.client.listeners.GetListener, request).listener


@app.command()
def add(
    ctx: typer.Context,
    url: UrlOption = None,
    kafka_topic: TopicOption = None,
    workflow: WorkflowsOption = None,
    events: EventsOption = None,
    method: MethodOption = None,
    header: HeaderOption = None,
    profile: Annotated[
        str, typer.Option(help=f"The payloads' shape: {', '.join(codec.PROFILES)}.")
    ] = "mistral",
    name: NameOption = None,
    cloudevents_mode: ModeOption = None,
    extensions: Annotated[
        bool, typer.Option(help="Also deliver what the profile's seed does not define.")
    ] = False,
    signing_secret: Annotated[
        str, typer.Option(help="A whsec_ secret to sign with (default: a new one).")
    ] = "",
    as_json: JsonOption = False,
) -> None:
    """Add a listener: events of --workflow (--events EXECUTION,TASK) to --url or --kafka-topic.

    Prints its id and signing secret (shown only now).
    """
    with session(ctx, as_json) as s:
        if url is None and kafka_topic is None:
            raise CliError("--url or --kafka-topic: one is required")
        listener = PB.Listener(
            name=name if name is not None else f"{profile} → {url or kafka_topic}"[:200],
            profile=_word_enum(vocab.profile_enum, profile, "--profile", codec.PROFILES),
            filter=listener_filter(workflow, events),
            extensions=extensions,
        )
        _transport(listener, url, method, header, kafka_topic, cloudevents_mode)
        request = PB.CreateListenerRequest(listener=listener, signing_secret=signing_secret)
        answer = _call_naming_options(s, s.client.listeners.CreateListener, request)
        if s.out.json:
            s.out.document(message_dict(answer))
            return
        s.out.text(f"added listener {answer.listener.id}: {_transport_text(answer.listener)}")
        s.out.text(f"signing secret {answer.signing_secret}")
        s.out.note("keep the secret: it is shown only now (rotate-secret makes a new one)")


@app.command("list")
def list_(
    ctx: typer.Context, limit: PageSize = 0, page_token: PageToken = "", as_json: JsonOption = False
) -> None:
    """List listeners."""
    with session(ctx, as_json) as s:
        request = PB.ListListenersRequest(page_size=limit, page_token=page_token)
        answer = s.client.call(s.client.listeners.ListListeners, request)
        if s.out.json:
            s.out.document(message_dict(answer))
            return
        rows = [
            (
                item.id,
                item.name,
                _profile_text(item.profile),
                _transport_text(item),
                describe_filter(item.filter),
                "yes" if _enabled(item) else "no",
            )
            for item in answer.listeners
        ]
        columns = ["id", "name", "profile", "transport", "filter", "enabled"]
        s.out.table("listeners", columns, rows, answer.next_page_token)


@app.command()
def get(ctx: typer.Context, listener: ListenerArg, as_json: JsonOption = False) -> None:
    """Show a listener."""
    with session(ctx, as_json) as s:
        found = _get(s, listener)
        if s.out.json:
            s.out.document(message_dict(found))
        else:
            _show(s, found)


@app.command()
def update(
    ctx: typer.Context,
    listener: ListenerArg,
    name: NameOption = None,
    url: UrlOption = None,
    kafka_topic: TopicOption = None,
    workflow: WorkflowsOption = None,
    events: EventsOption = None,
    method: MethodOption = None,
    header: HeaderOption = None,
    profile: ProfileOption = None,
    cloudevents_mode: ModeOption = None,
    extensions: ExtensionsOption = None,
    enabled: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Deliver events, or stop.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Change a listener: the options given replace those settings; the rest stay."""
    with session(ctx, as_json) as s:
        current = _get(s, listener)
        if name is not None:
            current.name = name
        if profile is not None:
            current.profile = _word_enum(vocab.profile_enum, profile, "--profile", codec.PROFILES)
        if workflow is not None or events is not None:
            given = listener_filter(workflow, events)
            if workflow is not None:
                current.filter.ClearField("workflows")
                current.filter.workflows.extend(given.workflows)
            if events is not None:
                current.filter.ClearField("categories")
                current.filter.ClearField("types")
                current.filter.categories.extend(given.categories)
                current.filter.types.extend(given.types)
        if extensions is not None:
            current.extensions = extensions
        if enabled is not None:
            current.enabled = enabled
        _transport(current, url, method, header, kafka_topic, cloudevents_mode)
        # The whole listener as read and changed (`*`), with its etag: a change made
        # meanwhile is not overwritten (ABORTED).
        request = PB.UpdateListenerRequest(listener=current)
        request.update_mask.paths.append("*")
        answer = _call_naming_options(s, s.client.listeners.UpdateListener, request)
        if s.out.json:
            s.out.document(message_dict(answer.listener))
        else:
            s.out.text(f"updated listener {answer.listener.id}")


@app.command()
def rm(ctx: typer.Context, listener: ListenerArg, as_json: JsonOption = False) -> None:
    """Delete a listener."""
    with session(ctx, as_json) as s:
        s.client.call(s.client.listeners.DeleteListener, PB.DeleteListenerRequest(id=listener))
        if s.out.json:
            s.out.document({"deleted": listener})
        else:
            s.out.text(f"deleted listener {listener}")


def _attempt_text(a: PB.DeliveryAttempt) -> str:
    outcome = f"HTTP {a.http_status}" if a.http_status else ""
    if a.error:
        outcome = f"{outcome} {a.error}".strip()
    latency = a.latency.ToTimedelta().total_seconds() * 1000
    return f"{outcome or 'delivered'} in {latency:.0f} ms"


@app.command()
def test(ctx: typer.Context, listener: ListenerArg, as_json: JsonOption = False) -> None:
    """Send the listener a test delivery now; print how it went."""
    with session(ctx, as_json) as s:
        request = PB.TestListenerRequest(id=listener)
        answer = s.client.call(s.client.listeners.TestListener, request)
        if s.out.json:
            s.out.document(message_dict(answer))
        else:
            s.out.text(f"test delivery: {_attempt_text(answer.attempt)}")


def _delivery_state(value: str | None) -> PB.DeliveryState.ValueType:
    if value is None:
        return PB.DELIVERY_STATE_UNSPECIFIED
    try:
        return PB.DeliveryState.Value(f"DELIVERY_STATE_{value.upper()}")
    except ValueError:
        raise CliError(f"--state: {value!r} is not pending, delivered, failed or dead") from None


@app.command()
def deliveries(
    ctx: typer.Context,
    listener: ListenerArg,
    state: Annotated[
        str | None, typer.Option(help="Only these: pending, delivered, failed or dead.")
    ] = None,
    event: Annotated[str, typer.Option(help="Only this event's.")] = "",
    limit: PageSize = 0,
    page_token: PageToken = "",
    as_json: JsonOption = False,
) -> None:
    """List a webhook listener's deliveries and their attempts."""
    with session(ctx, as_json) as s:
        request = PB.ListDeliveriesRequest(
            listener_id=listener,
            event_id=event,
            state=_delivery_state(state),
            page_size=limit,
            page_token=page_token,
        )
        answer = s.client.call(s.client.listeners.ListDeliveries, request)
        if s.out.json:
            s.out.document(message_dict(answer))
            return
        rows = [
            (
                d.event_id,
                event_pb2.EventType.Name(d.event_type).removeprefix("EVENT_TYPE_"),
                d.execution_id,
                enum_name(PB.DeliveryState.Name(d.state), "DELIVERY_STATE_"),
                str(len(d.attempts)),
                _attempt_text(d.attempts[-1]) if d.attempts else "",
            )
            for d in answer.deliveries
        ]
        columns = ["event", "type", "execution", "state", "attempts", "last attempt"]
        s.out.table(f"deliveries of {listener}", columns, rows, answer.next_page_token)


def _timestamp(value: str | None, option: str) -> Timestamp | None:
    if value is None:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise CliError(f"{option}: {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


@app.command()
def redeliver(
    ctx: typer.Context,
    listener: ListenerArg,
    event: Annotated[
        str, typer.Option(help="This one event (else: every failed or dead one).")
    ] = "",
    since: Annotated[
        str | None, typer.Option(help="Only events from this time on (ISO 8601; UTC if no zone).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Only events before this time.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Deliver events again: one, or every failed or dead delivery in a time range."""
    with session(ctx, as_json) as s:
        request = PB.RedeliverEventsRequest(listener_id=listener, event_id=event)
        start, end = _timestamp(since, "--since"), _timestamp(until, "--until")
        if start is not None:
            request.start_time.CopyFrom(start)
        if end is not None:
            request.end_time.CopyFrom(end)
        answer = s.client.call(s.client.listeners.RedeliverEvents, request)
        if s.out.json:
            s.out.document(message_dict(answer))
        else:
            s.out.text(f"queued {answer.queued} deliveries again")


@app.command("rotate-secret")
def rotate_secret(
    ctx: typer.Context,
    listener: ListenerArg,
    grace: Annotated[
        float | None,
        typer.Option(min=0, help="Seconds the old secret keeps signing (default 24 h)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Make a new signing secret; the old one also signs during the grace period."""
    with session(ctx, as_json) as s:
        request = PB.RotateSecretRequest(id=listener)
        if grace is not None:
            request.grace_period.CopyFrom(Duration(seconds=int(grace), nanos=int(grace % 1 * 1e9)))
        answer = s.client.call(s.client.listeners.RotateSecret, request)
        if s.out.json:
            s.out.document(message_dict(answer))
        else:
            s.out.text(f"signing secret {answer.signing_secret}")
            s.out.note(f"the old one signs until {when(answer.old_secret_expire_time)} UTC")
