"""The workflow language: parse a Mistral v2 workflow and validate it before it runs.

A definition is YAML or JSON text::

    version: '2.0'
    create_vpn:
      type: direct
      input: [order_id, {region: cn-hz1}]
      tasks:
        reserve:
          action: std.http
          atom: Network.Reserve
          input: {url: 'http://atoms/reserve', method: post, body: {order: <% $.order_id %>}}
          publish: {reservation: <% task().result.content.id %>}
          on-success: [activate]
        activate: ...

:func:`parse_workflow` turns it into frozen dataclasses (:class:`Workflow`, :class:`Task`,
…) holding parsed values only, with every expression compiled. A bad definition raises
:class:`DefinitionError` listing *every* violation found, each naming a dotted field path
(``tasks.reserve.on-success[0]``) relative to the workflow, so an API can answer with a
``google.rpc.BadRequest`` naming each field.

The package's modules, one job each: :mod:`.model` (the dataclasses), :mod:`.parse`
(loading the text and checking every field, on the generic checks of :mod:`.fields`,
within the :mod:`.limits` of size, tasks, nesting, values and list lengths),
:mod:`.graph` (start tasks, joins, cycles), :mod:`.reverse` (reverse workflows: their
checks, and the direct workflow that runs a target task) and :mod:`.serialise` (back to
definition data).
"""

from tidings.engine.dsl.limits import STORED, DefinitionLimits, size_violation
from tidings.engine.dsl.model import (
    ActionCall,
    ActionSpec,
    AdhocAction,
    Definition,
    DefinitionError,
    InputParam,
    Number,
    Retry,
    Task,
    TaskDefaults,
    Transition,
    Workflow,
)
from tidings.engine.dsl.parse import parse_definition, parse_workflow

__all__ = [
    "STORED",
    "ActionCall",
    "ActionSpec",
    "AdhocAction",
    "Definition",
    "DefinitionError",
    "DefinitionLimits",
    "InputParam",
    "Number",
    "Retry",
    "Task",
    "TaskDefaults",
    "Transition",
    "Workflow",
    "parse_definition",
    "parse_workflow",
    "size_violation",
]
