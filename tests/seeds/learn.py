"""Learn what each webhook URL and Kafka topic is for from the tests' own gRPC calls.

`learning_channel` is ``grpc.insecure_channel`` with a client interceptor that reads the
RPCs that make listeners — CreateListener and UpdateListener (a listener's profile,
transport and CloudEvents mode), CreateWorkflow and UpdateWorkflow (seed 002's
``callback_url`` and ``modify_callback_url``, and the job ``callback-url`` of tasks and
``task-defaults`` in the definition, which are thain listeners), StartExecution (its
``notify`` targets) — and tells `hook` what a receiver at each URL or topic will get.
Nothing else about the calls changes. The conftest puts it in place of
``grpc.insecure_channel`` for the whole test session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import grpc
import yaml
from google.protobuf.message import Message

from seeds.hook import Expect, expect_topic, expect_webhook
from tidings.v1 import execution_pb2, listener_pb2
from tidings.vocab import method_word, profile_word

_insecure_channel = grpc.insecure_channel
_MODES = {
    listener_pb2.CLOUD_EVENTS_MODE_STRUCTURED: "structured",
    listener_pb2.CLOUD_EVENTS_MODE_BINARY: "binary",
}


def _profile(value: int) -> str:
    return profile_word(value) or str(value)


def learn_listener(listener: listener_pb2.Listener, origin: str) -> None:
    """Register what a listener's webhook URL or Kafka topic receives."""
    transport = listener.WhichOneof("transport")
    # A listener that opted into extensions hears more than its seed defines, on purpose.
    opted = "opted into extensions (Listener.extensions)" if listener.extensions else ""
    if transport == "webhook":
        hook = listener.webhook
        expect = Expect(
            _profile(listener.profile),
            mode=_MODES.get(hook.cloudevents_mode, ""),
            method=method_word(hook.method) or str(hook.method),
            origin=origin,
            exempt=opted,
        )
        expect_webhook(hook.url, expect)
    elif transport == "kafka":
        mode = _MODES.get(listener.kafka.cloudevents_mode, "")
        expect_topic(
            listener.kafka.topic,
            Expect(_profile(listener.profile), mode=mode, origin=origin, exempt=opted),
        )


def learn_workflow(request: Any, origin: str) -> None:
    """Seed 002: a flow's callback_url hears its executions, modify_callback_url its pauses."""
    if request.callback_url:
        expect_webhook(
            request.callback_url, Expect("thain", "flow", origin=f"{origin}.callback_url")
        )
    if request.modify_callback_url:
        expect_webhook(
            request.modify_callback_url,
            Expect("thain", "modify", origin=f"{origin}.modify_callback_url"),
        )
    for where, url in job_callback_urls(request.definition):
        expect_webhook(url, Expect("thain", "job", origin=f"{origin}.definition.{where}"))


def job_callback_urls(definition: str) -> list[tuple[str, str]]:
    """Seed 002's job callback URLs a definition names: (where, URL) pairs.

    ``callback-url`` of each task and of ``task-defaults``; nothing for a definition that
    is not a mapping of one workflow (a test of bad input).
    """
    try:
        document = yaml.safe_load(definition)
        (body,) = [v for k, v in document.items() if k != "version"]
        places = {"task-defaults": body.get("task-defaults") or {}}
        places |= {f"tasks.{name}": task for name, task in (body.get("tasks") or {}).items()}
        found = [
            (f"{k}.callback-url", v.get("callback-url"))
            for k, v in places.items()
            if isinstance(v, dict)
        ]
    except Exception:  # whatever the text: the server judges it, not this
        return []
    return [(where, url) for where, url in found if isinstance(url, str)]


def learn_notify(request: execution_pb2.StartExecutionRequest) -> None:
    """An execution's notify targets (profile mistral when none is named)."""
    for target in request.notify:
        opted = "opted into extensions (NotifyTarget.extensions)" if target.extensions else ""
        expect_webhook(
            target.url,
            Expect(_profile(target.profile), origin="StartExecution.notify", exempt=opted),
        )


#: Learnt from the request, before it is sent: the first events may reach a receiver
#: before the answer reaches the test.
_BEFORE: dict[str, Callable[[Any], None]] = {
    "/tidings.v1.ListenerService/CreateListener": lambda q: learn_listener(
        q.listener, "CreateListener"
    ),
    "/tidings.v1.WorkflowService/CreateWorkflow": lambda q: learn_workflow(q, "CreateWorkflow"),
    "/tidings.v1.WorkflowService/UpdateWorkflow": lambda q: learn_workflow(q, "UpdateWorkflow"),
    "/tidings.v1.ExecutionService/StartExecution": learn_notify,
}
#: Learnt from the answer: an update names only what changes, the answer the whole listener.
_AFTER: dict[str, Callable[[Any], None]] = {
    "/tidings.v1.ListenerService/UpdateListener": lambda a: learn_listener(
        a.listener, "UpdateListener"
    ),
}


if TYPE_CHECKING:  # generic in grpc-stubs only
    _Interceptor = grpc.UnaryUnaryClientInterceptor[Message, Message]
else:
    _Interceptor = grpc.UnaryUnaryClientInterceptor


class _Learn(_Interceptor):
    def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.ClientCallDetails, Message], grpc.CallFuture[Message]],
        details: grpc.ClientCallDetails,
        request: Message,
    ) -> grpc.CallFuture[Message]:
        before = _BEFORE.get(details.method)
        if before is not None:
            before(request)
        outcome = continuation(details, request)
        after = _AFTER.get(details.method)
        if after is not None:

            def done(call: grpc.Future[Message]) -> None:
                if call.exception() is None:
                    after(call.result())

            outcome.add_done_callback(done)
        return outcome


def learning_channel(target: str, *args: Any, **kwargs: Any) -> grpc.Channel:
    """``grpc.insecure_channel``, learning listeners from the answers it carries."""
    return grpc.intercept_channel(_insecure_channel(target, *args, **kwargs), _Learn())
