"""The action interface and the registry: what a task runs, and how the engine finds it.

The runner looks an action up in an :class:`ActionRegistry`, shows
:meth:`Action.request_view` as the ``input`` of the ``task_start`` event, then awaits
:meth:`Action.run`, which always returns an :class:`ActionOutcome` and never raises
(except :class:`asyncio.CancelledError`, which propagates so that pausing, cancelling
and timing out a task work).

Failures the engine reports itself carry seed 000's result object
``{"result": {"status", "content": {"fault", "faultString"}}}``: status 598 when an atom
could not be reached, 599 when the engine failed (:func:`engine_error_result`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias, runtime_checkable

from tidings.engine.dsl import ActionSpec
from tidings.observe.tracing import Sending

__all__ = [
    "FAULT_ENGINE",
    "FAULT_TRANSPORT",
    "STATUS_ENGINE_ERROR",
    "STATUS_TRANSPORT_ERROR",
    "Action",
    "ActionContext",
    "ActionOutcome",
    "ActionRegistry",
    "AtomAction",
    "JSONValue",
    "UnknownActionError",
    "action_specs",
    "engine_error_result",
    "fault_result",
    "timeout_outcome",
]

JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"

#: Seed 000: the atom could not be reached (after the transport retries).
STATUS_TRANSPORT_ERROR = 598
FAULT_TRANSPORT = "http request error!"
#: Seed 000: the engine itself failed (to call an action, to read its answer, to evaluate
#: a task's settings).
STATUS_ENGINE_ERROR = 599
FAULT_ENGINE = "workflow engine internal error!"


def fault_result(
    status: int, fault: str, fault_string: str, org_request: JSONValue | None = None
) -> dict[str, JSONValue]:
    """Seed 000's result object of a 598 or 599 (``orgRequest`` only when given)."""
    content: dict[str, JSONValue] = {"fault": fault, "faultString": fault_string}
    if org_request is not None:
        content["orgRequest"] = org_request
    return {"result": {"status": status, "content": content}}


def engine_error_result(message: str) -> dict[str, JSONValue]:
    """Seed 000's result object for an engine-side failure (status 599)."""
    return fault_result(STATUS_ENGINE_ERROR, FAULT_ENGINE, message)


@dataclass(frozen=True)
class ActionContext:
    """Who is running an action: the task instance it belongs to."""

    execution_id: str
    #: Sent to atoms as ``X-Tidings-Task-Id``; unchanged when a call is re-issued (after a
    #: crash or a transport retry) so that atoms can de-duplicate.
    task_id: str
    task_name: str
    atom_id: str
    #: 1-based attempt number of this task (engine-level ``retry``); ``X-Tidings-Attempt``.
    attempt: int = 1
    #: The task declared ``async: true``: a successful call leaves it ``running``.
    is_async: bool = False
    #: The name of the execution's workflow (``std.mistral_http`` sends it).
    workflow_name: str = ""
    #: A with-items task's item (0-based) this call is for; ``X-Tidings-Item``. None:
    #: the task is not a with-items task.
    item: int | None = None
    #: The task attempt's span when tracing is on (`tracing.sending`): an action's own
    #: spans (an atom's HTTP call) are its children.
    span: Sending | None = None


@dataclass(frozen=True)
class ActionOutcome:
    """What running an action gave.

    ``state`` is ``"success"``, ``"error"``, ``"running"`` (an async atom accepted the
    call; completion comes later through ``CompleteTask``) or ``"cancelled"`` (the call
    was cancelled: a sub-workflow's execution cancelled by a client). ``result`` becomes the task's
    output (for ``std.http`` the seed's ``{"result": {...}}`` object, also on error).
    ``error`` is a short human message when ``state == "error"``. ``request`` is the
    request as ``request_view`` shows it, for the ``task_start`` event.
    """

    state: Literal["success", "error", "running", "cancelled"]
    result: JSONValue
    error: str | None = None
    request: JSONValue | None = None

    @classmethod
    def success(cls, result: JSONValue, request: JSONValue | None = None) -> ActionOutcome:
        """A successful outcome."""
        return cls("success", result, None, request)

    @classmethod
    def failure(
        cls, error: str, result: JSONValue = None, request: JSONValue | None = None
    ) -> ActionOutcome:
        """A failed outcome with a human message."""
        return cls("error", result, error, request)

    @classmethod
    def cancelled(cls, error: str, result: JSONValue = None) -> ActionOutcome:
        """The call was cancelled (its task ends CANCELLED, as in Mistral)."""
        return cls("cancelled", result, error)

    @classmethod
    def running(cls, result: JSONValue, request: JSONValue | None = None) -> ActionOutcome:
        """An async atom accepted the call; the task waits for ``CompleteTask``."""
        return cls("running", result, None, request)


@runtime_checkable
class Action(Protocol):
    """An action a task can run.

    ``required_params`` / ``optional_params`` let the definition validator refuse missing
    or unknown inputs before anything runs (``optional_params`` None: anything goes). An
    action that may leave its task running (``async: true``) sets ``supports_async = True``.
    """

    @property
    def name(self) -> str:
        """The name tasks use in ``action:``."""
        ...

    @property
    def required_params(self) -> frozenset[str]:
        """Inputs that must be given."""
        ...

    @property
    def optional_params(self) -> frozenset[str] | None:
        """Inputs that may be given; None: any."""
        ...

    def request_view(self, params: Mapping[str, JSONValue], ctx: ActionContext) -> JSONValue:
        """The ``input`` shown in the ``task_start`` event; never raises."""
        ...

    async def run(self, params: Mapping[str, JSONValue], ctx: ActionContext) -> ActionOutcome:
        """Run the action; never raises except ``asyncio.CancelledError``."""
        ...


@runtime_checkable
class AtomAction(Action, Protocol):
    """An action that calls an atom (``std.http``), with seed 000's results for its call.

    What happens to the call outside :meth:`Action.run`: a task whose ``timeout`` passes
    before the atom answers, synchronous or asynchronous, gets :meth:`timed_out` (598); an
    asynchronous atom's completion (``CompleteTask``) becomes the same ``{"result": …}``
    object a synchronous answer gives (:meth:`completed`).
    """

    def timed_out(
        self, params: Mapping[str, JSONValue], ctx: ActionContext, why: str
    ) -> ActionOutcome:
        """The failed outcome (598, ``orgRequest``) of a call whose time ran out.

        ``why`` says which time.
        """
        ...

    def completed(
        self,
        params: Mapping[str, JSONValue],
        ctx: ActionContext,
        success: bool,
        content: JSONValue,
        error: str,
        elapsed: float,
    ) -> ActionOutcome:
        """The outcome of an asynchronous atom's completion.

        ``content`` is what it gave, ``elapsed`` the seconds since it accepted the call.
        """
        ...


def timeout_outcome(
    action: Action, params: Mapping[str, JSONValue], ctx: ActionContext, why: str
) -> ActionOutcome:
    """The outcome of a call the task's ``timeout`` cut short; ``why`` says which time.

    An atom's call fails with seed 000's 598 (the atom did not answer in time,
    ``orgRequest`` as sent), any other action with the engine's 599.
    """
    if isinstance(action, AtomAction):
        return action.timed_out(params, ctx, why)
    return ActionOutcome.failure(why, engine_error_result(why))


class UnknownActionError(KeyError):
    """No action of that name is registered."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        super().__init__(name)
        self.name = name
        self.message = f"unknown action {name!r}; known actions: {', '.join(sorted(known))}"

    def __str__(self) -> str:
        return self.message


class ActionRegistry:
    """Actions by name. An async context manager: leaving it closes the actions."""

    def __init__(self, actions: Iterable[Action] = ()) -> None:
        self._actions: dict[str, Action] = {}
        for action in actions:
            self.register(action)

    def register(self, action: Action, *, replace: bool = False) -> None:
        """Add ``action``; a second action of the same name needs ``replace=True``."""
        if not replace and action.name in self._actions:
            raise ValueError(f"action {action.name!r} is already registered")
        self._actions[action.name] = action

    def get(self, name: str) -> Action:
        """The action called ``name``; :class:`UnknownActionError` (a KeyError) if none."""
        try:
            return self._actions[name]
        except KeyError:
            raise UnknownActionError(name, self._actions) from None

    def __contains__(self, name: object) -> bool:
        return name in self._actions

    def names(self) -> list[str]:
        """Registered action names, sorted."""
        return sorted(self._actions)

    def check_params(self, name: str, given: Iterable[str]) -> list[str]:
        """Problems with the input names ``given`` to action ``name`` (empty: fine)."""
        action = self.get(name)
        given_set = set(given)
        problems = [
            f"missing required input {p!r} of action {name!r}"
            for p in sorted(action.required_params - given_set)
        ]
        if action.optional_params is not None:
            allowed = action.required_params | action.optional_params
            problems += [
                f"unknown input {p!r} of action {name!r} (allowed: {', '.join(sorted(allowed))})"
                for p in sorted(given_set - allowed)
            ]
        return problems

    async def aclose(self) -> None:
        """Release what actions hold (the HTTP connection pool)."""
        for action in self._actions.values():
            closer = getattr(action, "aclose", None)
            if closer is not None:
                await closer()

    async def __aenter__(self) -> ActionRegistry:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def action_specs(registry: ActionRegistry) -> dict[str, ActionSpec]:
    """What the definition validator knows of the registered actions.

    Their inputs, and whether a task may run them with ``async: true`` (only an atom
    call can answer 202).
    """
    return {
        name: ActionSpec(
            required=action.required_params,
            optional=action.optional_params,
            supports_async=getattr(action, "supports_async", False) is True,
            refusal=getattr(action, "refusal", None),
        )
        for name in registry.names()
        for action in [registry.get(name)]
    }
