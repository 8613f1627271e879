"""The base of the standard actions that run inside the engine (not atom calls)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from tidings.engine.actions.params import ParamError, plain, unknown_params
from tidings.engine.actions.registry import ActionContext, ActionOutcome, JSONValue

__all__ = ["LocalAction"]

log = logging.getLogger(__name__)


class LocalAction:
    """Base of the ``std.*`` actions that run inside the engine: checks, never raises."""

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
