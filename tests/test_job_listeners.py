"""Seed 002's job callback listeners: their rows, their task filter, the registry's writes.

The end-to-end behaviour (real server, real receivers) is in test_job_callbacks.py; these
pin the pieces: a listener per distinct URL hearing its tasks' job events only, secrets
kept while a listener stays, stale ones removed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tidings import listeners as L
from tidings.dispatch.targets import EventFilter
from tidings.errors import InvalidArgumentError
from tidings.listeners.scoped import JobCallback, job_listener_id, job_listeners
from tidings.store import Change, EventRow, WorkflowRow
from tidings.store.sqlite import SQLiteStore
from tidings.v1 import event_pb2

ET = event_pb2.EventType
LOCAL = ["127.0.0.1/32"]
JOB_TYPES = ["TASK_STARTED", "TASK_SUCCEEDED", "TASK_FAILED", "TASK_CANCELLED"]


def event(type_: ET.ValueType, task_name: str = "", *, workflow_id: str = "wf-1") -> EventRow:
    body = event_pb2.Event(
        id="e", type=type_, workflow_id=workflow_id, execution_id="x", task_name=task_name
    ).SerializeToString()
    return EventRow("e", "x", 1, type_, workflow_id, "orders", 0.0, body, position=1)


def test_one_thain_listener_per_job_callback_url() -> None:
    jobs = [
        JobCallback("http://127.0.0.1:9/a", ("a", "c"), "definition.task-defaults.callback-url"),
        JobCallback("http://127.0.0.1:9/b", ("b",), "definition.tasks.b.callback-url"),
    ]
    rows = job_listeners("wf-1", "orders", jobs, now=5.0)
    assert [r.id for r in rows] == [job_listener_id("wf-1", j.url) for j in jobs]
    assert rows[0].id.startswith("wf-1.job_callback_url.") and rows[0].id != rows[1].id
    for row, job in zip(rows, jobs, strict=True):
        assert (row.scope, row.scope_id, row.profile, row.config["url"]) == (
            "WORKFLOW", "wf-1", "thain", job.url,
        )  # fmt: skip
        assert row.filter == {
            "workflows": [], "categories": [], "types": JOB_TYPES, "tasks": list(job.tasks),
        }  # fmt: skip
        assert len(L.signing_keys(row, 5.0)) == 1
    # Every task reporting there: no task filter at all.
    (every,) = job_listeners("wf-1", "orders", [JobCallback(jobs[0].url, (), "f")], now=0)
    assert "tasks" not in every.filter


def test_bad_job_callback_urls_name_where_the_definition_gives_them() -> None:
    jobs = [JobCallback("ftp://x/", ("a",), "definition.tasks.a.callback-url")]
    with pytest.raises(InvalidArgumentError) as info:
        job_listeners("wf-1", "orders", jobs, now=0)
    assert [v.field for v in info.value.violations] == ["definition.tasks.a.callback-url"]


def test_a_job_listener_hears_its_tasks_job_events_only() -> None:
    (row,) = job_listeners(
        "wf-1", "orders", [JobCallback("http://127.0.0.1:9/a", ("a",), "f")], now=0
    )
    heard = EventFilter.of_listener(row)
    assert heard.matches(event(ET.EVENT_TYPE_TASK_STARTED, "a"))
    assert heard.matches(event(ET.EVENT_TYPE_TASK_CANCELLED, "a"))
    assert not heard.matches(event(ET.EVENT_TYPE_TASK_STARTED, "b"))
    assert not heard.matches(event(ET.EVENT_TYPE_TASK_SKIPPED, "a"))
    assert not heard.matches(event(ET.EVENT_TYPE_EXECUTION_SUCCEEDED))
    assert not heard.matches(event(ET.EVENT_TYPE_TASK_STARTED, "a", workflow_id="wf-2"))
    broken = event(ET.EVENT_TYPE_TASK_STARTED, "a")
    broken.body = b"\xff\xff"  # not an Event: no task name, so not heard
    assert not heard.matches(broken)


def test_the_registry_writes_job_listeners_keeping_secrets_and_removing_stale_ones(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        store = SQLiteStore(tmp_path / "s.db")
        await store.open()
        registry = L.ListenerRegistry(store, LOCAL)
        a = JobCallback("http://127.0.0.1:9/a", ("a",), "definition.tasks.a.callback-url")
        b = JobCallback("http://127.0.0.1:9/b", (), "definition.task-defaults.callback-url")

        async def put(jobs: list[JobCallback], stale: list[str]) -> list[str]:
            change = Change()
            made = await registry.put_job_callbacks(change, "wf-1", "orders", jobs, stale)
            await store.commit(change)
            return [r.id for r in made]

        try:
            change = Change()
            change.put_workflow(WorkflowRow("wf-1", "orders", "d", "", [], "", "", 1.0, 1.0))
            await store.commit(change)
            assert await put([a], []) == [job_listener_id("wf-1", a.url)]
            first = await registry.get(job_listener_id("wf-1", a.url))
            # Written again (another task joins it): it stays, and keeps its secret.
            assert await put([b, JobCallback(a.url, ("a", "c"), a.field)], [first.id]) == [
                job_listener_id("wf-1", b.url)
            ]
            again = await registry.get(first.id)
            assert again.secrets == first.secrets and again.filter["tasks"] == ["a", "c"]
            # A URL no task names any more: its listener goes.
            assert await put([b], [first.id, job_listener_id("wf-1", b.url)]) == []
            assert {r.id for r in await store.all_listeners()} == {job_listener_id("wf-1", b.url)}
            # UpdateListener cannot show a task filter, so it keeps the one it has.
            await put([a], [job_listener_id("wf-1", b.url)])
            spec = L.ListenerSpec(
                "renamed",
                "thain",
                L.WebhookSpec(a.url),
                "WORKFLOW",
                "wf-1",
                types=("TASK_STARTED",),
            )
            updated = await registry.update(first.id, lambda _: spec)
            assert (updated.name, updated.filter["tasks"]) == ("renamed", ["a"])

            # The flow callbacks too keep their secret when a workflow is saved again.
            change = Change()
            made = await registry.put_workflow_callbacks(
                change, "wf-1", "orders", "http://127.0.0.1:9/cb", ""
            )
            await store.commit(change)
            assert [r.id for r in made] == ["wf-1.callback_url"]
            change = Change()
            kept = await registry.put_workflow_callbacks(
                change, "wf-1", "orders", "http://127.0.0.1:9/cb2", "http://127.0.0.1:9/mod"
            )
            await store.commit(change)
            assert [r.id for r in kept] == ["wf-1.modify_callback_url"]
            cb = await registry.get("wf-1.callback_url")
            assert cb.secrets == made[0].secrets and cb.config["url"] == "http://127.0.0.1:9/cb2"
        finally:
            await store.close()

    asyncio.run(main())
