"""Actions: what a task runs. ``std.http`` calls an atom (a microservice endpoint).

The package's modules, one job each: :mod:`.registry` (the :class:`Action` interface,
its context and outcome, the registry, seed 000's 598/599 results), :mod:`.std`
(``std.noop``, ``std.echo``, ``std.fail``, ``std.sleep`` and :func:`default_registry`),
:mod:`.local` (their base), :mod:`.mistral_std` (``std.async_noop``, ``std.mistral_http``,
``std.js``, the refused ``std.ssh``), :mod:`.email` (``std.email``),
:mod:`.params` (checking parameters), :mod:`.http` (``std.http`` and its client),
:mod:`.http_request` and :mod:`.http_response` (its parameters; its answers and faults).
"""

from tidings.engine.actions.http import HttpAction, HttpActionConfig
from tidings.engine.actions.registry import (
    FAULT_ENGINE,
    FAULT_TRANSPORT,
    STATUS_ENGINE_ERROR,
    STATUS_TRANSPORT_ERROR,
    Action,
    ActionContext,
    ActionOutcome,
    ActionRegistry,
    AtomAction,
    JSONValue,
    UnknownActionError,
    action_specs,
    engine_error_result,
    timeout_outcome,
)
from tidings.engine.actions.std import (
    EchoAction,
    FailAction,
    NoopAction,
    SleepAction,
    default_registry,
)

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
    "EchoAction",
    "FailAction",
    "HttpAction",
    "HttpActionConfig",
    "JSONValue",
    "NoopAction",
    "SleepAction",
    "UnknownActionError",
    "action_specs",
    "default_registry",
    "engine_error_result",
    "timeout_outcome",
]
