"""`tidings ARGS` observed in alternate windows: metrics and tracing on, off, on, off, ….

What ``bench/observe_cost.py --toggle`` runs instead of ``python -m tidings``. The server
starts as an operator would observe it (``TIDINGS_METRICS_LISTEN`` must be set; every
span goes over OTLP/gRPC to ``bench/otlp_sink.py``, as in ``bench/traced_serve.py``);
then, once events are being committed, a thread turns both off and on again every
``TIDINGS_TOGGLE_WINDOW_S`` seconds (default 3) and appends one JSON line per window to
``TIDINGS_TOGGLE_OUT``: whether they were on, its length, the events committed in it, and
the CPU seconds the server (and each kind of its threads) and the whole machine used in it,
and the seconds the server spent collecting garbage.
``TIDINGS_TOGGLE_WHAT`` (``both``, ``metrics``, ``tracing``) says what the windows turn
on and off; the other stays off throughout.

Both configurations so share one process, one database and one sitting of the machine,
which runs of their own do not: those differ by a fifth from one start to the next.
Off means what the hooks see when nothing is configured: metrics' hooks return at once
(`record.enable`), and no span is made (the tracing module's one global is None; its
export thread stays, asleep). What stays on in an off window: the metrics endpoint's
idle thread and the RPC metrics interceptor's wrapper (a few microseconds an RPC).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "python"))
sys.path.insert(0, str(ROOT))

from tidings.cli import main  # noqa: E402
from tidings.metrics import record  # noqa: E402
from tidings.observe import tracing  # noqa: E402
from traced_serve import start_sink  # noqa: E402

#: The outbox position the store's writer last committed (it tells `record.position`).
_committed = [0]
_tell_position = record.position


def _position(value: int) -> None:
    _committed[0] = value
    _tell_position(value)


#: What the windows turn on and off (``TIDINGS_TOGGLE_WHAT``); the other stays off.
WHAT = os.environ.get("TIDINGS_TOGGLE_WHAT", "both")


def _observed(on: bool, exporting: object) -> None:
    """Turn metrics and tracing on or off, as their hooks see it."""
    record.enable(on and WHAT != "tracing")
    tracing._exporting = exporting if on and WHAT != "metrics" else None  # type: ignore[assignment]


#: Seconds spent in garbage collection so far, and when the running one began.
_gc = [0.0, 0.0]


#: Collections of each generation so far, and the seconds they took.
_by_generation = [[0, 0.0], [0, 0.0], [0, 0.0]]


def _collecting(phase: str, info: dict[str, int]) -> None:
    now = time.perf_counter()
    if phase == "start":
        _gc[1] = now
    else:
        _gc[0] += now - _gc[1]
        generation = _by_generation[info["generation"]]
        generation[0] += 1
        generation[1] += now - _gc[1]


def _machine_busy_s() -> float:
    """Seconds the machine's CPUs have been busy since boot (0 where /proc is not Linux's)."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()[1:]
    except OSError:
        return 0.0
    ticks = [int(f) for f in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle and iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _threads_cpu_s() -> dict[str, float]:
    """CPU seconds each kind of thread of this process has used (by name, digits dropped).

    Python names its threads only for itself (3.11 gives the system none), so a thread
    Python started goes by its Python name; the others (gRPC's, librdkafka's) by theirs.
    """
    names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return used
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/stat") as stat:
                line = stat.read()
        except OSError:
            continue  # ended meanwhile
        comm = line[line.index("(") + 1 : line.rindex(")")]
        fields = line[line.rindex(")") + 2 :].split()
        name = names.get(int(tid), comm).rstrip("0123456789_-") or comm
        used[name] = used.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return used


def toggle(out: Path, window_s: float, stop: threading.Event) -> None:
    """Alternate windows until `stop`, one line each to `out`, from the first commit on."""
    while _committed[0] == 0 and not stop.wait(0.05):
        pass
    exporting = tracing._exporting  # the one `configure` made at start
    if exporting is None:
        raise RuntimeError("tracing is not on: TIDINGS_TRACING_OTLP_ENDPOINT not taken")
    on = True
    _observed(on, exporting)
    with out.open("a") as lines:
        while not stop.is_set():
            began, first = time.monotonic(), _committed[0]
            cpu, busy, collecting = time.process_time(), _machine_busy_s(), _gc[0]
            threads = _threads_cpu_s()
            generations = [list(g) for g in _by_generation]
            stop.wait(window_s)
            took, events = time.monotonic() - began, _committed[0] - first
            window = {"on": on, "seconds": took, "events": events,
                      "server_cpu_s": time.process_time() - cpu,
                      "machine_busy_s": _machine_busy_s() - busy,
                      "gc_s": _gc[0] - collecting,
                      "gc_by_generation": [[n - was[0], round(t - was[1], 4)] for (n, t), was
                                           in zip(_by_generation, generations, strict=True)],
                      "threads_cpu_s": {name: round(t - threads.get(name, 0.0), 3)
                                        for name, t in _threads_cpu_s().items()}}  # fmt: skip
            lines.write(json.dumps(window) + "\n")
            lines.flush()
            on = not on
            _observed(on, exporting)


if __name__ == "__main__":
    if WHAT not in ("both", "metrics", "tracing"):
        sys.exit("toggled_serve: TIDINGS_TOGGLE_WHAT is one of both, metrics, tracing")
    if not os.environ.get("TIDINGS_METRICS_LISTEN"):
        sys.exit("toggled_serve: set TIDINGS_METRICS_LISTEN (metrics are part of what is toggled)")
    target = Path(os.environ["TIDINGS_TOGGLE_OUT"])
    window = float(os.environ.get("TIDINGS_TOGGLE_WINDOW_S", "3"))
    record.position = _position  # the writer looks it up at each commit
    gc.callbacks.append(_collecting)
    sink, endpoint = start_sink()
    os.environ["TIDINGS_TRACING_OTLP_ENDPOINT"] = endpoint
    done = threading.Event()
    toggler = threading.Thread(target=toggle, args=(target, window, done), daemon=True)
    toggler.start()
    try:
        code = main()
    finally:
        done.set()
        toggler.join(window + 1)
        assert sink.stdin is not None
        sink.stdin.close()
        sink.wait(10)
    sys.exit(code)
