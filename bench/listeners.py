"""Listener benchmark: a real `tidings serve` with 10,000 listeners.

In one run, against one server and one real HTTP receiver:
  1. delivery to one active webhook listener (executions of a 5-task workflow): events
     per second, and commit-to-arrival latency at half that rate over --latency-seconds
     (long enough for several of the server's full garbage collections to fall into
     it), with that listener alone;
  2. creating 10,000 more, mixed: global listeners with various filters (CreateListener),
     workflow callbacks (CreateWorkflow with callback_url and modify_callback_url) and
     execution notify targets (StartExecution with a notify target);
  3. the idle server's CPU with all of them (from /proc, over some seconds);
  4. the same delivery as in 1 with the 10,000 present;
  5. deleting the 10,000, and the same delivery as in 1 again;
  6. 2 to 5 again (--rounds): each window beside the 10,000 is compared with the mean of
     the two alone around it, so that what drifts through the run whatever the
     listeners are (the outbox and the executions grow) cancels out;
  7. as many StartExecution calls as in 2, of the same workflow, without a notify target,
     and with one that hears only EXECUTION_FAILED (so nothing here): what the notify
     targets' figure is to be read against (each of those executions runs to its end,
     and in 2 its notify target hears its 4 events, as webhooks, as they commit).
Every event of the active listener is checked delivered, in order per execution.

    python bench/listeners.py            # a table
    python bench/listeners.py --json     # one JSON object
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "python"))
sys.path.insert(0, str(ROOT.parent / "tests"))

import grpc  # noqa: E402

from engine_client import EngineClient, chain_of, workflow_yaml  # noqa: E402
from tidings.v1 import event_pb2, execution_pb2, listener_pb2, listener_pb2_grpc  # noqa: E402
from tidings_process import TidingsProcess  # noqa: E402
from webhook_receiver import ALLOW_LOCAL, WebhookReceiver, webhook_listener  # noqa: E402

PB = listener_pb2
TASKS = 5
CATEGORIES = (PB.EVENT_CATEGORY_EXECUTION, PB.EVENT_CATEGORY_TASK)
ENGINE_TYPES = (
    event_pb2.EVENT_TYPE_ENGINE_UP,
    event_pb2.EVENT_TYPE_ENGINE_DOWN,
    event_pb2.EVENT_TYPE_LISTENER_DISABLED,
)
PROFILES = ("mistral", "cloudevents", "thain", "tencent", "cloudevents_data")


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def concurrently(calls: Iterable[Callable[[], Any]], workers: int = 16) -> list[Any]:
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda call: call(), calls))


def commit_times(data_dir: Path, ids: set[str]) -> dict[str, tuple[str, int, float]]:
    """Event id → (execution id, sequence, commit time) from the outbox."""
    conn = sqlite3.connect(f"file:{data_dir / 'tidings.sqlite3'}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute("SELECT id, execution_id, sequence, commit_time FROM events").fetchall()
    finally:
        conn.close()
    return {r[0]: (r[1], r[2], r[3]) for r in rows if r[0] in ids}


def deliver(
    server: TidingsProcess,
    rx: WebhookReceiver,
    workflow: str,
    path: str,
    executions: int,
    pace: float = 0.0,
) -> dict[str, Any]:
    """Run `executions` executions (all at once, or `pace` a second); every event must
    reach `path`, in order per execution."""
    offset = time.time() - time.monotonic()
    before = len(rx.arrivals(path))
    t0 = time.monotonic()
    with EngineClient(server.address) as eng:
        if pace:
            started = set()
            for i in range(executions):
                started.add(eng.start(workflow).id)
                time.sleep(max(0.0, t0 + (i + 1) / pace - time.monotonic()))
        else:
            started = set(concurrently(lambda: eng.start(workflow).id for _ in range(executions)))
    want = executions * (2 + 2 * TASKS)
    deadline = time.monotonic() + 120
    while True:
        got = rx.arrivals(path)[before:]
        if len({a.webhook_id for a in got}) >= want or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    elapsed = max(a.at for a in got) - t0
    first: dict[str, float] = {}
    order: list[str] = []
    for a in got:
        if a.webhook_id not in first:
            first[a.webhook_id] = a.at + offset
            order.append(a.webhook_id)
    known = commit_times(server.data_dir, set(first))
    assert len(first) == want, f"{len(first)} of {want} events delivered"
    assert {known[i][0] for i in first} == started, "events of other executions arrived"
    seqs: dict[str, list[int]] = defaultdict(list)
    for event_id in order:
        seqs[known[event_id][0]].append(known[event_id][1])
    for ex_id, got_seqs in seqs.items():
        assert got_seqs == sorted(got_seqs), f"{ex_id}: out of order {got_seqs}"
    ms = sorted((first[i] - known[i][2]) * 1000 for i in first)
    return {
        "events": want,
        "events_per_s": round(want / elapsed),
        "p50_ms": round(statistics.median(ms), 1),
        "p99_ms": round(ms[int(len(ms) * 0.99) - 1], 1),
    }


def create_listeners(
    server: TidingsProcess, rx: WebhookReceiver, total: int, batch: int
) -> dict[str, Any]:
    """`total` listeners: 60 % global, 20 % workflow callbacks, 20 % notify targets.

    Their names carry `batch`: the same server gets more than one such batch.
    """
    n_global = total * 6 // 10
    n_workflows = total // 10  # two callbacks each
    n_notify = total - n_global - 2 * n_workflows
    idle = rx.url("/idle")
    with grpc.insecure_channel(server.address) as ch, EngineClient(server.address) as eng:
        stub = listener_pb2_grpc.ListenerServiceStub(ch)

        def global_listener(i: int) -> Callable[[], Any]:
            lst = webhook_listener(
                f"idle-{batch}-{i}",
                f"{idle}/{i}",
                profile=PROFILES[i % len(PROFILES)],
                workflows=[f"elsewhere-{i % 500}"] if i % 3 else [],
                categories=[CATEGORIES[i % 2]] if i % 3 and i % 4 == 1 else [],
                # Every workflow, but only engine up/down or listener-disabled events.
                types=[] if i % 3 else [ENGINE_TYPES[i % len(ENGINE_TYPES)]],
            )
            request = PB.CreateListenerRequest(listener=lst)
            return lambda: stub.CreateListener(request, timeout=60)

        t0 = time.monotonic()
        concurrently(global_listener(i) for i in range(n_global))
        t_global = time.monotonic() - t0

        t0 = time.monotonic()

        def with_callbacks(i: int) -> Callable[[], Any]:
            return lambda: eng.create_workflow(
                workflow_yaml(f"cb-{batch}-{i}", chain_of(1)),
                callback_url=f"{idle}/cb/{i}",
                modify_callback_url=f"{idle}/modify/{i}",
            )

        concurrently(with_callbacks(i) for i in range(n_workflows))
        t_callbacks = time.monotonic() - t0

        if batch == 0:
            eng.create_workflow(workflow_yaml("notified", chain_of(1)))
        target = execution_pb2.NotifyTarget(
            url=f"{idle}/notify", profile=listener_pb2.PROFILE_MISTRAL
        )
        t0 = time.monotonic()
        notified = concurrently(
            (lambda: eng.start("notified", notify=[target]).id) for _ in range(n_notify)
        )
        t_notify = time.monotonic() - t0
        for ex_id in notified:
            eng.wait_until_ended(ex_id, 60)

        t0 = time.monotonic()
        pages, token, listed = 0, "", 0
        while True:
            reply = stub.ListListeners(
                PB.ListListenersRequest(page_size=1000, page_token=token), timeout=60
            )
            pages, listed, token = pages + 1, listed + len(reply.listeners), reply.next_page_token
            if not token:
                break
        t_list = time.monotonic() - t0
    made = n_global + 2 * n_workflows + n_notify
    return {
        "listeners": made,
        "notify_targets": n_notify,
        "listed": listed,
        "create_per_s": round(made / (t_global + t_callbacks + t_notify)),
        "create_global_per_s": round(n_global / t_global),
        "create_callbacks_per_s": round(2 * n_workflows / t_callbacks),
        "create_notify_per_s": round(n_notify / t_notify),
        "list_all_s": round(t_list, 2),
    }


def delete_listeners(server: TidingsProcess, keep: str) -> float:
    """Delete every listener but `keep`; returns how many were deleted a second."""
    with grpc.insecure_channel(server.address) as ch:
        stub = listener_pb2_grpc.ListenerServiceStub(ch)
        ids, token = [], ""
        while True:
            reply = stub.ListListeners(
                PB.ListListenersRequest(page_size=1000, page_token=token), timeout=60
            )
            ids += [lst.id for lst in reply.listeners if lst.id != keep]
            token = reply.next_page_token
            if not token:
                break

        def delete(listener_id: str) -> Callable[[], Any]:
            request = PB.DeleteListenerRequest(id=listener_id)
            return lambda: stub.DeleteListener(request, timeout=60)

        t0 = time.monotonic()
        concurrently(delete(i) for i in ids)
        return len(ids) / (time.monotonic() - t0)


def starts(
    server: TidingsProcess,
    workflow: str,
    executions: int,
    notify: Iterable[execution_pb2.NotifyTarget] = (),
) -> float:
    """StartExecution calls a second, made as the notify targets are."""
    targets = list(notify)
    with EngineClient(server.address) as eng:
        t0 = time.monotonic()
        started = concurrently(
            (lambda: eng.start(workflow, notify=targets).id) for _ in range(executions)
        )
        elapsed = time.monotonic() - t0
        for ex_id in started:
            eng.wait_until_ended(ex_id, 60)
    return executions / elapsed


def idle_cpu(server: TidingsProcess, seconds: float) -> float:
    """The server's CPU use (share of one core) while nothing happens."""
    assert server.proc is not None
    pid = server.proc.pid
    time.sleep(2.0)  # let the notify deliveries and the creation settle
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - c0) / (time.monotonic() - t0)


def window(
    server: TidingsProcess, rx: WebhookReceiver, executions: int, pace: float, paced: int
) -> dict[str, Any]:
    """Delivery to the active listener: throughput, then latency at ``pace`` executions/s."""
    fast = deliver(server, rx, "active", "/active", executions)
    slow = deliver(server, rx, "active", "/active", paced, pace)
    return {**fast, "p50_ms": slow["p50_ms"], "p99_ms": slow["p99_ms"]}


def bracketed(alone: list[dict[str, Any]], beside: list[dict[str, Any]], key: str) -> list[float]:
    """Each window beside the listeners against the mean of the two alone around it."""
    return [
        round(b[key] / ((alone[i][key] + alone[i + 1][key]) / 2), 3) for i, b in enumerate(beside)
    ]


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tidings-listeners-") as tmp, WebhookReceiver() as rx:
        server = TidingsProcess(Path(tmp) / "data", env=ALLOW_LOCAL)
        server.start()
        try:
            with grpc.insecure_channel(server.address) as ch, EngineClient(server.address) as eng:
                eng.create_workflow(workflow_yaml("active", chain_of(TASKS)))
                stub = listener_pb2_grpc.ListenerServiceStub(ch)
                active = stub.CreateListener(
                    PB.CreateListenerRequest(
                        listener=webhook_listener("active", rx.url("/active"), workflows=["active"])
                    ),
                    timeout=60,
                ).listener.id
            note("warm-up")
            deliver(server, rx, "active", "/active", args.executions // 4)
            note("delivery with 1 listener")
            first = deliver(server, rx, "active", "/active", args.executions)
            # Latency at half the rate measured (queueing in a saturated engine aside),
            # over a window long enough to hold several of the server's full garbage
            # collections: whether one falls into a short window is luck.
            pace = first["events_per_s"] / (2 + 2 * TASKS) / 2
            paced = max(args.executions // 2, round(pace * args.latency_seconds))
            alone = [window(server, rx, args.executions, pace, paced)]
            idle_one = idle_cpu(server, args.idle_seconds)
            beside: list[dict[str, Any]] = []
            made: list[dict[str, Any]] = []
            deleted: list[float] = []
            for batch in range(args.rounds):
                note(f"creating {args.listeners} listeners")
                made.append(create_listeners(server, rx, args.listeners, batch))
                if batch == 0:
                    idle_many = idle_cpu(server, args.idle_seconds)
                note(f"delivery with {args.listeners} more")
                beside.append(window(server, rx, args.executions, pace, paced))
                note(f"deleting the {args.listeners}; delivery with 1 listener again")
                deleted.append(delete_listeners(server, keep=active))
                alone.append(window(server, rx, args.executions, pace, paced))
            note("StartExecution without a notify target, and with one hearing nothing")
            notify_targets = made[0]["notify_targets"]
            solo = starts(server, "notified", notify_targets)
            failures = execution_pb2.NotifyTarget(
                url=rx.url("/idle/notify"),
                profile=listener_pb2.PROFILE_MISTRAL,
                events=["EXECUTION_FAILED"],
            )
            unheard = starts(server, "notified", notify_targets, [failures])
        except BaseException:
            note(server.log()[-3000:])
            raise
        finally:
            server.stop()
    throughput = bracketed(alone, beside, "events_per_s")
    p99 = bracketed(alone, beside, "p99_ms")
    return {
        **made[0],
        "created": made,
        "start_alone_per_s": round(solo),
        "start_failures_only_per_s": round(unheard),
        "idle_cpu_1": round(idle_one, 4),
        "idle_cpu": round(idle_many, 4),
        "alone": alone,
        "beside": beside,
        "delete_per_s": round(statistics.median(deleted)),
        "latency_rate": round(pace * (2 + 2 * TASKS)),
        "latency_events": paced * (2 + 2 * TASKS),
        "latency_seconds": round(paced / pace, 1),
        "throughput_ratios": throughput,
        "p99_ratios": p99,
        "throughput_ratio": round(statistics.mean(throughput), 3),
        "p99_ratio": round(statistics.mean(p99), 3),
        "cpus": os.cpu_count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--listeners", type=int, default=10_000)
    parser.add_argument("--executions", type=int, default=300)
    parser.add_argument(
        "--rounds", type=int, default=2, help="times the listeners are created and deleted"
    )
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument(
        "--latency-seconds", type=float, default=20.0, help="length of each latency window"
    )
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds: at least 1")
    r = run(args)
    if args.json:
        print(json.dumps(r))
        return 0
    print(f"listener benchmark: a real tidings serve, {r['listeners']:,} listeners (60 % "
          f"global, 20 % workflow callbacks, 20 % notify targets), {r['cpus']} CPUs")  # fmt: skip
    print(f"  creation                {r['create_per_s']:>8,} listeners/s "
          f"(global {r['create_global_per_s']:,}/s, callbacks {r['create_callbacks_per_s']:,}/s, "
          f"notify {r['create_notify_per_s']:,}/s)")  # fmt: skip
    print(f"  (notify: StartExecution with a notify target; without one "
          f"{r['start_alone_per_s']:,}/s, with one hearing only failures "
          f"{r['start_failures_only_per_s']:,}/s)")  # fmt: skip
    print(f"  ListListeners, all      {r['list_all_s']:>8} s for {r['listed']:,}")
    print(f"  deletion                {r['delete_per_s']:>8,} listeners/s")
    print(f"  idle CPU                {r['idle_cpu'] * 100:>8.2f} % of a core "
          f"(with 1 listener: {r['idle_cpu_1'] * 100:.2f} %)")  # fmt: skip
    print(f"  delivery to the active listener, in turn alone and beside {r['listeners']:,} more "
          f"(latency at {r['latency_rate']:,} events/s, half the first throughput, "
          f"{r['latency_events']:,} events over {r['latency_seconds']} s each):")  # fmt: skip
    turns = [("alone", w) for w in r["alone"]]
    for i, w in enumerate(r["beside"]):
        turns.insert(2 * i + 1, (f"+{r['listeners']:,}", w))
    for name, w in turns:
        print(f"    {name:<10} {w['events_per_s']:>8,} events/s, p50 {w['p50_ms']} ms, "
              f"p99 {w['p99_ms']} ms")  # fmt: skip
    print(f"  ratio (beside / the two alone around it)  throughput "
          f"{', '.join(f'{x:.2f}' for x in r['throughput_ratios'])} (mean "
          f"{r['throughput_ratio']:.2f}); p99 {', '.join(f'{x:.2f}' for x in r['p99_ratios'])} "
          f"(mean {r['p99_ratio']:.2f}); every event delivered, in order")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
