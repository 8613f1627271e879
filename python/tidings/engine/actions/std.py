"""The standard actions that run inside the engine: std.noop, std.echo, std.fail, std.sleep.

:func:`default_registry` is the engine's catalogue: these, and ``std.http``
(:mod:`.http`), which calls atoms.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from tidings.engine.actions.http import HttpAction, HttpActionConfig
from tidings.engine.actions.params import ParamError, number_param, plain, unknown_params
from tidings.engine.actions.registry import (
    ActionContext,
    ActionOutcome,
    ActionRegistry,
    JSONValue,
)

__all__ = ["EchoAction", "FailAction", "NoopAction", "SleepAction", "default_registry"]

log = logging.getLogger(__name__)


class _LocalAction:
    """Base of the ``std.*`` actions that run inside the engine."""

    name: str = ""
    required_params: frozenset[str] = frozenset()
    optional_params: frozenset[str] | None = frozenset()

    def request_view(self, params: Mapping[str, JSONValue], ctx: ActionContext) -> JSONValue:
        """The parameters, as given."""
        return plain(params)

    async def run(self, params: Mapping[str, JSONValue], ctx: ActionContext) -> ActionOutcome:
        """Check parameter names, then :meth:`_run`; parameter errors become ``error``."""
        request = plain(params)
        try:
            if self.optional_params is not None:
                unknown_params(self.name, params, self.required_params | self.optional_params)
            return await self._run(params, request)
        except ParamError as exc:
            return ActionOutcome.failure(str(exc), None, request)
        except Exception as exc:  # a bug: report it, never raise into the runner
            log.exception("%s failed", self.name)
            return ActionOutcome.failure(f"{self.name}: {type(exc).__name__}: {exc}", None, request)

    async def _run(self, params: Mapping[str, JSONValue], request: JSONValue) -> ActionOutcome:
        raise NotImplementedError


class NoopAction(_LocalAction):
    """``std.noop``: succeeds with result ``None``."""

    name = "std.noop"

    async def _run(self, params: Mapping[str, JSONValue], request: JSONValue) -> ActionOutcome:
        return ActionOutcome.success(None, request)


class EchoAction(_LocalAction):
    """``std.echo``: succeeds with result ``output`` (default ``None``)."""

    name = "std.echo"
    optional_params = frozenset({"output"})

    async def _run(self, params: Mapping[str, JSONValue], request: JSONValue) -> ActionOutcome:
        return ActionOutcome.success(params.get("output"), request)


class FailAction(_LocalAction):
    """``std.fail``: fails with ``message`` (default "std.fail") and result ``error_data``."""

    name = "std.fail"
    optional_params = frozenset({"message", "error_data"})

    async def _run(self, params: Mapping[str, JSONValue], request: JSONValue) -> ActionOutcome:
        message = params.get("message")
        text = "std.fail" if message is None else str(message)
        return ActionOutcome.failure(text, params.get("error_data"), request)


class SleepAction(_LocalAction):
    """``std.sleep``: waits ``seconds`` (default 1, as in Mistral), cancellable, succeeds."""

    name = "std.sleep"
    optional_params = frozenset({"seconds"})

    async def _run(self, params: Mapping[str, JSONValue], request: JSONValue) -> ActionOutcome:
        seconds = number_param(self.name, "seconds", params.get("seconds", 1), positive=False)
        await asyncio.sleep(seconds)
        return ActionOutcome.success(None, request)


def default_registry(http: HttpActionConfig | None = None) -> ActionRegistry:
    """``std.http``, ``std.noop``, ``std.echo``, ``std.fail`` and ``std.sleep``."""
    return ActionRegistry(
        [HttpAction(http), NoopAction(), EchoAction(), FailAction(), SleepAction()]
    )
