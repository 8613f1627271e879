"""The engine scenario's baseline: the same workload through OpenStack Mistral's REST API.

What a team would otherwise run: Mistral (``scripts/mistral``: its engine, executor and
API in one process, RabbitMQ, SQLite) given the same workflow, started by as many
concurrent clients for as long; an execution is done when Mistral lists it SUCCESS or
ERROR. Mistral tells nobody what happened (no listeners), so only executions/s and task
transitions/s compare, not delivery.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from typing import Any

import httpx

from tidings.bench.sinks import Receiver
from tidings.bench.workload import Workload

#: How long to wait, after the last start, for executions that have not ended.
DRAIN_S = 300.0
_ENDED = ("SUCCESS", "ERROR", "CANCELLED")


async def run(url: str, workload: Workload) -> dict[str, Any]:
    """Run `workload` on the Mistral at `url`; executions/s and task transitions/s."""
    errors: Counter[str] = Counter()
    receiver = Receiver(workload.atom_latency_ms / 1000, errors)
    await receiver.start()
    name = f"bench_{uuid.uuid4().hex[:12]}"
    limits = httpx.Limits(max_connections=workload.clients + 4)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        try:
            reply = await http.post(
                "/workflows",
                content=workload.definition(name, receiver.url("/atom")).encode(),
                headers={"Content-Type": "text/plain"},
            )
            reply.raise_for_status()
            started, t0 = await _start(http, name, workload, errors)
            done_at, ended = await _wait(http, name, started, errors)
        finally:
            await receiver.stop()
    span = done_at - t0
    return {
        "executions": started,
        "ended": sum(ended.values()),
        "states": dict(ended),
        "seconds": round(span, 3),
        "executions_per_s": round(started / span, 1) if span > 0 else 0.0,
        "task_transitions_per_s": round(started * 2 * workload.tasks / span, 1)
        if span > 0
        else 0.0,
        "errors": dict(errors),
    }


async def _start(
    http: httpx.AsyncClient, name: str, workload: Workload, errors: Counter[str]
) -> tuple[int, float]:
    started = 0
    t0 = time.monotonic()
    deadline = t0 + workload.duration_s
    slots = iter(range(1 << 62))

    async def client() -> None:
        nonlocal started
        while True:
            if workload.rate:
                due = t0 + next(slots) / workload.rate
                if due >= deadline:
                    return
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            elif time.monotonic() >= deadline:
                return
            try:
                reply = await http.post("/executions", json={"workflow_name": name})
            except httpx.HTTPError as exc:
                errors[f"POST /executions: {type(exc).__name__}"] += 1
                continue
            if reply.status_code >= 300:
                errors[f"POST /executions: HTTP {reply.status_code}"] += 1
            else:
                started += 1

    await asyncio.gather(*(client() for _ in range(workload.clients)))
    return started, t0


async def _wait(
    http: httpx.AsyncClient, name: str, started: int, errors: Counter[str]
) -> tuple[float, Counter[str]]:
    """Poll Mistral's list of the workflow's executions until all have ended."""
    deadline = time.monotonic() + DRAIN_S
    ended: Counter[str] = Counter()
    while time.monotonic() < deadline:
        ended = Counter()
        marker = ""
        while True:
            params = {"workflow_name": name, "fields": "id,state", "limit": "1000"}
            if marker:
                params["marker"] = marker
            reply = await http.get("/executions", params=params)
            reply.raise_for_status()
            page = reply.json().get("executions", [])
            ended.update(e["state"] for e in page if e["state"] in _ENDED)
            if len(page) < 1000:
                break
            marker = page[-1]["id"]
        if sum(ended.values()) >= started:
            return time.monotonic(), ended
        await asyncio.sleep(0.5)
    errors["executions still running when the drain time was up"] += started - sum(ended.values())
    return time.monotonic(), ended
