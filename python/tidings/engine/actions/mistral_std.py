"""More of Mistral's standard actions, and ``std.ssh``, which this engine refuses.

They are ``std.async_noop``, ``std.mistral_http``, ``std.js`` / ``std.javascript``.

``std.async_noop`` and ``std.mistral_http`` leave their task running until
``CompleteTask`` completes it, as Mistral's asynchronous actions wait for their
callback. ``std.js`` runs a script in an embedded V8 (``mini-racer``): a fresh isolate
per call, with no I/O, no modules and no host objects, bounded in time and memory.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from collections.abc import Mapping

from tidings.engine.actions.http import HttpAction, HttpActionConfig
from tidings.engine.actions.local import LocalAction
from tidings.engine.actions.params import ParamError, plain
from tidings.engine.actions.registry import ActionContext, ActionOutcome, JSONValue

__all__ = [
    "JS_MAX_MEMORY_BYTES",
    "AsyncNoopAction",
    "JavaScriptAction",
    "MistralHttpAction",
    "SshAction",
]

#: Heap one script may use; past it the script is stopped and its task fails.
JS_MAX_MEMORY_BYTES = 64 * 1024 * 1024


class AsyncNoopAction(LocalAction):
    """``std.async_noop``: does nothing and leaves its task running until ``CompleteTask``."""

    name = "std.async_noop"

    async def _run(self, params: Mapping[str, JSONValue], request: JSONValue) -> ActionOutcome:
        return ActionOutcome.running(None, request)


class MistralHttpAction(HttpAction):
    """``std.mistral_http``: ``std.http`` whose task then waits for ``CompleteTask``.

    Mistral's headers go with the call, so that the service knows what to complete:
    ``Mistral-Workflow-Name``, ``Mistral-Workflow-Execution-Id``, ``Mistral-Task-Id``
    and ``Mistral-Action-Execution-Id`` (the task's id too: a tidings task has no
    separate action execution, and ``CompleteTask`` takes the task's id). A successful
    answer leaves the task running; the completion's result is seed 000's object, as
    ``std.http``'s asynchronous completion.
    """

    name = "std.mistral_http"

    def __init__(self, config: HttpActionConfig | None = None) -> None:
        super().__init__(config)

    @staticmethod
    def _with_headers(params: Mapping[str, JSONValue], ctx: ActionContext) -> dict[str, JSONValue]:
        given = params.get("headers")
        headers: dict[str, JSONValue] = dict(given) if isinstance(given, dict) else {}
        headers.update(
            {
                "Mistral-Workflow-Name": ctx.workflow_name,
                "Mistral-Workflow-Execution-Id": ctx.execution_id,
                "Mistral-Task-Id": ctx.task_id,
                "Mistral-Action-Execution-Id": ctx.task_id,
            }
        )
        # A non-object 'headers' stays as given, for std.http to refuse by name.
        return {**params, "headers": headers if given is None or headers else given}

    def request_view(self, params: Mapping[str, JSONValue], ctx: ActionContext) -> JSONValue:
        """``std.http``'s view, with Mistral's headers."""
        return super().request_view(self._with_headers(params, ctx), ctx)

    async def run(self, params: Mapping[str, JSONValue], ctx: ActionContext) -> ActionOutcome:
        """Call as ``std.http`` does, always asynchronously."""
        return await super().run(
            self._with_headers(params, ctx), dataclasses.replace(ctx, is_async=True)
        )


#: One script at a time in this process: a server under load once died of a fatal V8
#: check while std.js tasks ran on several worker threads; scripts are short and
#: time-limited, so queueing them costs little.
_V8_LOCK = threading.Lock()


def _evaluate_js(name: str, script: str, context: JSONValue, time_limit_s: float) -> JSONValue:
    # Imported here: only a task running std.js needs V8 loaded.
    from py_mini_racer import JSEvalException, JSUndefined, MiniRacer

    # Mistral's form: '$' is the context, the script a function's body.
    source = f"var $ = {json.dumps(context)};\nJSON.stringify((function f() {{\n{script}\n}})())"
    with _V8_LOCK:
        racer = MiniRacer()
        try:
            try:
                text = racer.eval(source, timeout_sec=time_limit_s, max_memory=JS_MAX_MEMORY_BYTES)
            except JSEvalException as exc:
                raise ParamError(f"{name} failed: {exc}") from exc
        finally:
            racer.close()
    if text is JSUndefined or text is None:
        return None  # the script returned nothing (or a function)
    value: JSONValue = json.loads(str(text))
    return value


class JavaScriptAction(LocalAction):
    """``std.js`` (and ``std.javascript``): the result of a JavaScript function body.

    Parameters: ``script`` (required: the body of a function, whose ``return`` is the
    result, as JSON), ``context`` (optional: what the script sees as ``$``). A script
    that throws, runs past ``time_limit_s`` or uses more than :data:`JS_MAX_MEMORY_BYTES`
    fails its task, the message saying why.
    """

    required_params = frozenset({"script"})
    optional_params: frozenset[str] | None = frozenset({"context"})

    def __init__(self, name: str = "std.js", time_limit_s: float = 10.0) -> None:
        self.name = name
        self.time_limit_s = time_limit_s

    async def _run(self, params: Mapping[str, JSONValue], request: JSONValue) -> ActionOutcome:
        script = params.get("script")
        if not isinstance(script, str):
            raise ParamError(f"{self.name}: parameter 'script' must be a string, got {script!r}")
        context = plain({"c": params.get("context")})["c"]
        result = await asyncio.to_thread(
            _evaluate_js, self.name, script, context, self.time_limit_s
        )
        return ActionOutcome.success(result, request)


class SshAction(LocalAction):
    """``std.ssh``: named so that a definition using it is refused with the reason."""

    name = "std.ssh"
    optional_params: frozenset[str] | None = None
    refusal = (
        "action 'std.ssh' is not supported by this engine: it runs no commands on other"
        " hosts; call a service that does with std.http"
    )

    async def _run(self, params: Mapping[str, JSONValue], request: JSONValue) -> ActionOutcome:
        return ActionOutcome.failure(self.refusal, None, request)
