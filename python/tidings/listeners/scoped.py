"""Listeners the engine makes: a workflow's seed-002 callbacks, an execution's notify targets.

They are ordinary listener rows that differ only in scope; their ids derive from the
workflow or execution (and a job callback's URL), so that writing them again replaces them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tidings.errors import FieldViolation, invalid
from tidings.listeners.secrets import new_secret
from tidings.listeners.spec import (
    MAX_LIST,
    ListenerSpec,
    WebhookSpec,
    build_row,
    check_headers,
    check_profile,
    check_url,
)
from tidings.store.listeners import ListenerRow
from tidings.vocab import CATEGORIES, EVENT_TYPES

#: The seed-002 settings of a workflow that become listeners.
CALLBACK_KEYS = ("callback_url", "modify_callback_url")

#: What a seed-002 ``callback_url`` hears: flow codes 4 (started, and each re-run of a
#: failed execution), 2, 3, 5, 7.
CALLBACK_TYPES = (
    "EXECUTION_STARTED",
    "EXECUTION_RERUN",
    "EXECUTION_SUCCEEDED",
    "EXECUTION_FAILED",
    "EXECUTION_CANCELLED",
    "EXECUTION_TIMED_OUT",
)
#: What a seed-002 ``modify_callback_url`` hears: flow modify statuses 1 and 2.
MODIFY_CALLBACK_TYPES = ("EXECUTION_PAUSED", "EXECUTION_RESUMED")
#: What a seed-002 job ``callback_url`` hears: job codes 2 (started), 3 (succeeded) and 4
#: (failed, or cancelled with its execution).
JOB_CALLBACK_TYPES = ("TASK_STARTED", "TASK_SUCCEEDED", "TASK_FAILED", "TASK_CANCELLED")

#: Notify targets of one execution: each is a listener (Mistral workflows name one or two).
MAX_NOTIFY = 16


def _scoped_row(listener_id: str, spec: ListenerSpec, now: float) -> ListenerRow:
    # The RPC that makes it (CreateWorkflow, UpdateWorkflow, StartExecution) returns the
    # secret once, as CreateListener does.
    return build_row(spec, listener_id, now, [{"secret": new_secret(), "expire_time": None}])


def workflow_listeners(
    workflow_id: str,
    workflow_name: str,
    callback_url: str,
    modify_callback_url: str,
    *,
    now: float,
) -> list[ListenerRow]:
    """The seed-002 listeners of a workflow: `thain` webhooks for its executions.

    ``callback_url`` hears the execution state changes (flow codes 4 running, again when a
    failed execution is re-run, 2 success, 3 error, 5 killed, 7 auto_killed);
    ``modify_callback_url`` hears pause and resume
    (modify statuses 1 and 2). Their ids derive from the workflow id (``<id>.callback_url``,
    ``<id>.modify_callback_url``), so storing them again after an update replaces them.
    Raises InvalidArgumentError (field ``callback_url`` / ``modify_callback_url``) for a
    malformed URL; check the destinations with
    `check_webhook_urls`.
    """
    wanted = (
        (CALLBACK_KEYS[0], callback_url, CALLBACK_TYPES),
        (CALLBACK_KEYS[1], modify_callback_url, MODIFY_CALLBACK_TYPES),
    )
    out: list[FieldViolation] = []
    for key, url, _ in wanted:
        if url:
            check_url(url, key, out)
    if out:
        raise invalid("callback URL", out)
    return [
        _scoped_row(
            f"{workflow_id}.{key}",
            ListenerSpec(
                name=f"{workflow_name} {key}",
                profile="thain",
                transport=WebhookSpec(url),
                scope="WORKFLOW",
                scope_id=workflow_id,
                types=types,
            ),
            now,
        )
        for key, url, types in wanted
        if url
    ]


@dataclass(frozen=True)
class JobCallback:
    """One job ``callback_url`` of a workflow's tasks (seed 002), and who reports there."""

    url: str
    #: The tasks whose jobs report there, by name; empty: every task of the workflow.
    tasks: tuple[str, ...]
    #: Where the definition names it, for errors (``definition.tasks.a.callback-url``).
    field: str


def job_listener_id(workflow_id: str, url: str) -> str:
    """The id of the listener of a workflow's job callback URL: one per distinct URL."""
    digest = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{workflow_id}.job_callback_url.{digest}"


def job_listeners(
    workflow_id: str, workflow_name: str, jobs: Sequence[JobCallback], *, now: float
) -> list[ListenerRow]:
    """The seed-002 job callback listeners of a workflow: `thain` webhooks of its tasks.

    Each distinct URL is one listener (id `job_listener_id`) hearing the job events of
    its tasks only (the ``tasks`` of its filter; none: every task): job codes 2, 3, 4.
    Raises InvalidArgumentError naming each ``field`` with a malformed URL; check the
    destinations with `check_webhook_urls`.
    """
    out: list[FieldViolation] = []
    for job in jobs:
        check_url(job.url, job.field, out)
    if out:
        raise invalid("callback URL", out)
    rows = []
    for job in jobs:
        spec = ListenerSpec(
            name=f"{workflow_name} job callback_url",
            profile="thain",
            transport=WebhookSpec(job.url),
            scope="WORKFLOW",
            scope_id=workflow_id,
            types=JOB_CALLBACK_TYPES,
        )
        row = _scoped_row(job_listener_id(workflow_id, job.url), spec, now)
        if job.tasks:
            row.filter["tasks"] = list(job.tasks)
        rows.append(row)
    return rows


def notify_listener_id(execution_id: str, index: int) -> str:
    """The id of the listener of an execution's ``index``-th notify target."""
    return f"{execution_id}.notify.{index}"


def notify_listeners(
    execution_id: str, targets: Sequence[Mapping[str, Any]], *, now: float
) -> list[ListenerRow]:
    """The listeners of an execution's notify targets (as Mistral's ``notify``).

    Each target is ``{url, profile, events, headers, extensions}`` (a stored
    `NotifyTarget`); `events`
    names categories (``EXECUTION``, ``TASK``) or event types (``TASK_STARTED``, with or
    without ``EVENT_TYPE_``), empty meaning all; `profile` defaults to ``mistral``; the
    headers are held to a listener's limits. Ids are ``<execution id>.notify.<index>``; at
    most `MAX_NOTIFY` targets. Raises InvalidArgumentError with paths like
    ``notify[0].url``; check the destinations with
    `check_webhook_urls`.
    """
    if len(targets) > MAX_NOTIFY:
        limit = f"has {len(targets):,} targets; the limit is {MAX_NOTIFY}"
        raise invalid("notify target", [FieldViolation("notify", limit)])
    out: list[FieldViolation] = []
    rows = []
    for i, target in enumerate(targets):
        p = f"notify[{i}]"
        url = str(target.get("url", ""))
        profile = str(target.get("profile") or "mistral")
        headers = {str(k): str(v) for k, v in dict(target.get("headers") or {}).items()}
        categories, types = [], []
        events = list(target.get("events") or ())
        if len(events) > MAX_LIST:
            out.append(FieldViolation(f"{p}.events", f"at most {MAX_LIST} entries"))
            events = []
        for j, raw in enumerate(events):
            name = str(raw).upper().removeprefix("EVENT_TYPE_")
            if name in CATEGORIES:
                categories.append(name)
            elif name in EVENT_TYPES:
                types.append(name)
            else:
                what = "is not an event category or event type"
                out.append(FieldViolation(f"{p}.events[{j}]", what))
        check_url(url, f"{p}.url", out)
        check_profile(profile, f"{p}.profile", out)
        check_headers(headers, f"{p}.headers", out)
        spec = ListenerSpec(
            name=f"notify[{i}] of {execution_id}",
            profile=profile,
            transport=WebhookSpec(url, headers=headers),
            scope="EXECUTION",
            scope_id=execution_id,
            categories=tuple(categories),
            types=tuple(types),
            extensions=bool(target.get("extensions")),
        )
        rows.append(_scoped_row(notify_listener_id(execution_id, i), spec, now))
    if out:
        raise invalid("notify target", out)
    return rows
