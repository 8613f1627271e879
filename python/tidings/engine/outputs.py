"""What an ended execution outputs, computed as Mistral computes it.

* The **final context**: what the branches that ended published, the tasks no transition
  led on from (``has_next`` false). Each task sees what the tasks before it on its branch
  published (its inbound context) and adds its own ``publish`` (``branch`` scope) over
  it; where branches meet (a join, the end) their contexts merge key by key, the value
  published more times along its branch winning (Mistral's context versioning). The
  input, ``vars`` and ``global`` publishes are not in it.
  A reverse workflow's final context is its target's outbound context (nothing if the
  target never ran), as in Mistral.
* On success, ``output`` evaluated over the final context (the execution's context
  beneath it); without an ``output``, or when it evaluates to nothing, the final context.
* On failure, ``{"result": <the error>}`` with ``output-on-error`` (evaluated the same
  way; without it, the final context) merged over it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from tidings.engine.execution import Run, expression_context
from tidings.engine.expressions import CompiledValue, ExpressionError, evaluate
from tidings.store import TaskRow
from tidings.vocab import CANCELLED, ERROR, SKIPPED, SUCCESS

__all__ = ["error_output", "final_context", "success_output"]

log = logging.getLogger(__name__)

#: A context and the versions of its keys (a dotted path per published leaf value).
_Context = tuple[dict[str, Any], dict[str, int]]
_EMPTY: _Context = ({}, {})
_COMPLETED = frozenset({SUCCESS, ERROR, CANCELLED, SKIPPED})
#: Mistral merges the end tasks' contexts in batches of this many (the first batch's last
#: task is the base), which decides ties.
_BATCH = 20


def success_output(run: Run) -> Any:
    """The output of an execution that succeeded; ExpressionError if ``output`` fails."""
    final = final_context(run)
    return _evaluated(run, run.workflow.output, final) or final


def error_output(run: Run, result: Any) -> dict[str, Any]:
    """The output of an execution that failed with ``result`` (its error; never raises).

    If ``output-on-error`` itself fails, the output is only ``result``, with why.
    """
    try:
        final = final_context(run)
        extra = _evaluated(run, run.workflow.output_on_error, final) or final
    except ExpressionError as exc:
        return {"result": f"{result}; output-on-error failed: {exc}"}
    except Exception:  # a bug: the execution must still end (this is its last resort)
        log.exception("execution %s: its error output could not be made", run.row.id)
        return {"result": result}
    out = {"result": result}
    if isinstance(extra, Mapping):
        out = _merge_dicts(out, extra)
    return out


def _evaluated(run: Run, spec: Mapping[str, CompiledValue], final: dict[str, Any]) -> Any:
    if not spec:
        return None
    return evaluate(spec, expression_context(run, None, over=final))


def final_context(run: Run) -> dict[str, Any]:
    """The variables of the branches that ended (see the module's description)."""
    if not any(t.published for t in run.tasks.values()):
        return {}  # the common case, cheaply: nothing was published
    if run.row.task_name:
        # A reverse workflow's: its target's outbound context, nothing if it never ran.
        ends = [t for t in run.tasks.values() if t.name == run.row.task_name][-1:]
    else:
        ends = [t for t in run.tasks.values() if t.state in _COMPLETED and not t.has_next]
    if not ends:
        return {}
    outbound = _Outbound(run)
    merged: _Context | None = None
    for start in range(0, len(ends), _BATCH):
        batch = [outbound.of(t) for t in ends[start : start + _BATCH]]
        if merged is None:
            merged, batch = batch[-1], batch[:-1]
        for ctx in batch:
            merged = _merge(merged, ctx)
    assert merged is not None
    return dict(merged[0])


class _Outbound:
    """Each task's outbound context, worked out once (upstream tasks first)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.order = {task_id: i for i, task_id in enumerate(run.tasks)}
        self.done: dict[str, _Context] = {}

    def of(self, task: TaskRow) -> _Context:
        # Depth first without recursion: a long loop makes a long chain of instances.
        stack = [task]
        expanded: dict[str, list[TaskRow]] = {}  # task id -> its upstream tasks
        while stack:
            current = stack[-1]
            if current.id in self.done:
                stack.pop()
            elif current.id not in expanded:
                ups = expanded[current.id] = self._upstream(current)
                # (one expanded but not done is on the path: a cycle, whose edge is dropped)
                stack += [u for u in ups if u.id not in self.done and u.id not in expanded]
            else:
                stack.pop()
                ups = [u for u in expanded[current.id] if u.id in self.done]
                inbound = _inbound([self.done[u.id] for u in ups])
                self.done[current.id] = _publish(inbound, current.published)
        return self.done[task.id]

    def _upstream(self, task: TaskRow) -> list[TaskRow]:
        """The tasks whose transitions reached this one, in the order they were created."""
        ids = {a["taskId"] for a in (task.arrivals or task.triggered_by) if "taskId" in a}
        found = sorted((i for i in ids if i in self.order), key=self.order.__getitem__)
        return [self.run.tasks[i] for i in found]


def _inbound(upstream: list[_Context]) -> _Context:
    if not upstream:
        return _EMPTY
    ctx = upstream[-1]
    for other in upstream[:-1]:
        ctx = _merge(ctx, other)
    return ctx


def _publish(inbound: _Context, published: Mapping[str, Any]) -> _Context:
    """The outbound context: the task's published values over its inbound ones."""
    if not published:
        return inbound
    values, versions = inbound
    versions = dict(versions)
    for path in _leaf_paths(published, ""):
        versions[path] = versions.get(path, 0) + 1
    return {**values, **published}, versions


def _leaf_paths(value: Mapping[str, Any], prefix: str) -> Iterator[str]:
    for key, item in value.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, Mapping):
            yield from _leaf_paths(item, path)
        else:
            yield path


def _merge(left: _Context, right: _Context) -> _Context:
    """``right`` merged into ``left``, Mistral's merge of contexts by version.

    A key both have keeps ``left``'s value unless ``right``'s was published more times
    along its branch; mappings merge key by key.
    """
    (lvalues, lversions), (rvalues, rversions) = left, right
    values = _merge_values(lvalues, lversions, rvalues, rversions, "")
    versions = dict(lversions)
    for key, n in rversions.items():
        versions[key] = max(n, versions.get(key, 0))
    return values, versions


def _merge_values(
    left: Mapping[str, Any],
    lversions: Mapping[str, int],
    right: Mapping[str, Any],
    rversions: Mapping[str, int],
    prefix: str,
) -> dict[str, Any]:
    out = dict(left)
    for key, value in right.items():
        if key not in out:
            out[key] = value
            continue
        path = f"{prefix}.{key}" if prefix else key
        mine = out[key]
        if isinstance(mine, dict) and isinstance(value, dict):
            out[key] = _merge_values(mine, lversions, value, rversions, path)
        elif rversions.get(path, 0) > lversions.get(path, 0):
            out[key] = value
    return out


def _merge_dicts(left: Mapping[str, Any], right: Mapping[str, Any]) -> dict[str, Any]:
    """``right`` over ``left``, mappings merged key by key (Mistral's merge of outputs)."""
    out = dict(left)
    for key, value in right.items():
        mine = out.get(key)
        if isinstance(mine, dict) and isinstance(value, dict):
            out[key] = _merge_dicts(mine, value)
        else:
            out[key] = value
    return out
