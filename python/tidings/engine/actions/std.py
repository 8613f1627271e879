"""The standard actions that run inside the engine: std.noop, std.echo, std.fail, std.sleep.

:func:`default_registry` is the engine's catalogue: these, and ``std.http``
(:mod:`.http`), which calls atoms.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from tidings.engine.actions.email import EmailAction
from tidings.engine.actions.http import HttpAction, HttpActionConfig
from tidings.engine.actions.local import LocalAction
from tidings.engine.actions.mistral_std import (
    AsyncNoopAction,
    JavaScriptAction,
    MistralHttpAction,
    SshAction,
)
from tidings.engine.actions.params import number_param
from tidings.engine.actions.registry import ActionOutcome, ActionRegistry, JSONValue

__all__ = ["EchoAction", "FailAction", "NoopAction", "SleepAction", "default_registry"]


class NoopAction(LocalAction):
    """``std.noop``: succeeds with result ``None``."""

    name = "std.noop"

    async def _run(self, params: Mapping[str, JSONValue], request: JSONValue) -> ActionOutcome:
        return ActionOutcome.success(None, request)


class EchoAction(LocalAction):
    """``std.echo``: succeeds with result ``output`` (default ``None``)."""

    name = "std.echo"
    optional_params = frozenset({"output"})

    async def _run(self, params: Mapping[str, JSONValue], request: JSONValue) -> ActionOutcome:
        return ActionOutcome.success(params.get("output"), request)


class FailAction(LocalAction):
    """``std.fail``: fails with ``message`` (default "std.fail") and result ``error_data``."""

    name = "std.fail"
    optional_params = frozenset({"message", "error_data"})

    async def _run(self, params: Mapping[str, JSONValue], request: JSONValue) -> ActionOutcome:
        message = params.get("message")
        text = "std.fail" if message is None else str(message)
        return ActionOutcome.failure(text, params.get("error_data"), request)


class SleepAction(LocalAction):
    """``std.sleep``: waits ``seconds`` (default 1, as in Mistral), cancellable, succeeds."""

    name = "std.sleep"
    optional_params = frozenset({"seconds"})

    async def _run(self, params: Mapping[str, JSONValue], request: JSONValue) -> ActionOutcome:
        seconds = number_param(self.name, "seconds", params.get("seconds", 1), positive=False)
        await asyncio.sleep(seconds)
        return ActionOutcome.success(None, request)


def default_registry(
    http: HttpActionConfig | None = None, javascript_time_limit_s: float = 10.0
) -> ActionRegistry:
    """Every standard action.

    ``std.http``, ``std.noop``, ``std.echo``, ``std.fail``, ``std.sleep``, and Mistral's
    others (:mod:`.mistral_std`, :mod:`.email`).

    ``javascript_time_limit_s`` bounds each ``std.js`` script.
    """
    return ActionRegistry(
        [
            HttpAction(http), NoopAction(), EchoAction(), FailAction(), SleepAction(),
            AsyncNoopAction(), MistralHttpAction(http), EmailAction(), SshAction(),
            JavaScriptAction("std.js", javascript_time_limit_s),
            JavaScriptAction("std.javascript", javascript_time_limit_s),
        ]
    )  # fmt: skip
