"""Hearing the events: an HTTP receiver, a Kafka consumer, a WatchEvents stream.

The HTTP receiver also serves the HTTP atoms the workflow calls. Each hands what
arrives to its sink's tally with the arrival time.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import Counter

import grpc
import orjson
from aiohttp import web
from confluent_kafka import Consumer, KafkaError
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from tidings.bench.tally import Tally
from tidings.v1 import event_service_pb2, event_service_pb2_grpc, listener_pb2

Errors = Counter[str]


def execution_of(profile: str, body: bytes) -> str:
    """The execution a JSON payload of `profile` is about ('' if it names none)."""
    document = orjson.loads(body)
    if profile == "mistral":
        return str(document.get("exId", ""))
    if profile == "cloudevents":
        return str(document.get("subject", ""))
    return str(document.get("executionId", ""))


class Receiver:
    """An aiohttp server on 127.0.0.1 for atoms and webhooks.

    ``/atom`` answers after the atoms' latency; ``/hook/N`` records a webhook for the
    Nth webhook sink and answers 200.
    """

    def __init__(self, atom_latency_s: float, errors: Errors) -> None:
        self._latency = atom_latency_s
        self._errors = errors
        self._hooks: list[tuple[str, Tally]] = []
        #: The last payload each sink received (by sink name): the dispatch ceilings send it.
        self.samples: dict[str, bytes] = {}
        #: Requests to ``/count``, which answers 200 and records nothing else.
        self.counted = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    def hook(self, profile: str, tally: Tally) -> str:
        """Receive a webhook sink's deliveries; returns its path."""
        self._hooks.append((profile, tally))
        return f"/hook/{len(self._hooks) - 1}"

    def url(self, path: str) -> str:
        """The absolute URL of one of its paths."""
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self) -> None:
        """Listen on a free port."""
        app = web.Application()
        app.router.add_route("*", "/atom", self._atom)
        app.router.add_post("/hook/{n}", self._webhook)
        app.router.add_post("/count", self._count)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def _atom(self, request: web.Request) -> web.Response:
        if self._latency:
            await asyncio.sleep(self._latency)
        return web.json_response({"ok": True})

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.read()
        at = time.monotonic()
        try:
            profile, tally = self._hooks[int(request.match_info["n"])]
            execution = execution_of(profile, body)
        except (ValueError, IndexError, AttributeError):
            self._errors["webhook payload unreadable"] += 1
            return web.Response(text="ok")
        tally.add(execution, request.headers.get("webhook-id", ""), at)
        self.samples[tally.name] = body
        return web.Response(text="ok")

    async def _count(self, request: web.Request) -> web.Response:
        await request.read()
        self.counted += 1
        return web.Response(text="ok")


class KafkaReader:
    """Reads one topic from its start on a thread of its own (librdkafka polls there)."""

    def __init__(self, bootstrap: str, topic: str, tally: Tally, errors: Errors) -> None:
        self._bootstrap = bootstrap
        self.topic = topic
        self._tally = tally
        self._errors = errors
        #: The last payload read: the dispatch ceilings send it.
        self.sample = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-kafka", daemon=True)

    @property
    def sink(self) -> str:
        """The name of the sink it reads for."""
        return self._tally.name

    def create_topic(self) -> None:
        """Create the topic before anything reads or writes it.

        A consumer of a topic that does not exist yet would only see it at its next
        metadata refresh.
        """
        admin = AdminClient({"bootstrap.servers": self._bootstrap})
        for future in admin.create_topics([NewTopic(self.topic, 1, 1)]).values():
            future.result(30)

    def start(self) -> None:
        """Create the topic and start reading it."""
        self.create_topic()
        self._thread.start()

    def stop(self) -> None:
        """Stop reading."""
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        consumer = Consumer(
            {"bootstrap.servers": self._bootstrap, "group.id": f"tidings-bench-{uuid.uuid4()}",
             "auto.offset.reset": "earliest", "enable.auto.commit": False}
        )  # fmt: skip
        consumer.subscribe([self.topic])
        try:
            while not self._stop.is_set():
                for msg in consumer.consume(500, 0.2):
                    at = time.monotonic()
                    error = msg.error()
                    if error is not None:
                        if error.code() != KafkaError._PARTITION_EOF:
                            self._errors[f"kafka: {error.name()}"] += 1
                        continue
                    headers = dict(msg.headers() or ())
                    self.sample = msg.value() or b""
                    self._tally.add(_text(msg.key()), _text(headers.get("tidings-event-id")), at)
        finally:
            consumer.close()


async def watch(
    channel: grpc.aio.Channel,
    workflow: str,
    tally: Tally,
    errors: Errors,
    ready: asyncio.Event,
    metadata: tuple[tuple[str, str], ...] = (),
) -> None:
    """Read the WatchEvents stream of `workflow`'s events until cancelled."""
    stub = event_service_pb2_grpc.EventServiceStub(channel)
    request = event_service_pb2.WatchEventsRequest(
        filter=listener_pb2.ListenerFilter(workflows=[workflow]),
        from_beginning=True,
        max_batch_size=1000,
    )
    call = stub.WatchEvents(request, metadata=metadata)
    ready.set()
    try:
        async for reply in call:
            at = time.monotonic()
            for event in reply.events:
                tally.add(event.execution_id, event.id, at)
    except grpc.aio.AioRpcError as exc:
        if exc.code() != grpc.StatusCode.CANCELLED:
            errors[f"stream: {exc.code().name}"] += 1


def _text(value: str | bytes | None) -> str:
    """A Kafka key or header as text ('' if absent)."""
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value
