"""What metrics and tracing cost: `tidings bench` off and on, in interleaved pairs, one run.

Each pair runs a scenario (``engine``, ``dispatch``) twice, each time against a fresh
local server: once as it starts by default (no metrics, no traces) and once as an
operator would observe it (``TIDINGS_METRICS_LISTEN`` set, and every span sent over
OTLP/gRPC by ``bench/traced_serve.py`` to ``bench/otlp_sink.py``, a collector in a
process of its own). The order within a pair alternates, so that what drifts through a
run (the machine's other load) falls on both sides alike.

Runs of one configuration differ by far more than the few percent looked for (the
server is bound by hand-offs between its threads, not by a core), so the figure is the
median over pairs of on/off throughput, with the pairs' spread; the server's CPU per
execution is shown beside it. ``--observe metrics`` or ``--observe tracing`` turns on
only one of the two in the "on" runs, to tell their costs apart.

``--toggle SECONDS`` measures in one run instead: one server per scenario
(``bench/toggled_serve.py``) turns what ``--observe`` names off and on again every
SECONDS under the load, and adjacent windows pair up. The windows share the process,
its database and the machine's sitting, which separate runs do not (those differ by a
fifth from one start to the next), so its medians move far less; it also reports the
server's and the machine's CPU, and the server's garbage collection, per 1,000 events
committed in either kind of window.

    python bench/observe_cost.py                       # 6 pairs of each scenario
    python bench/observe_cost.py --toggle 1 --duration 300  # on and off in one run
    python bench/observe_cost.py --pairs 12 --scenario engine --duration 10
    python bench/observe_cost.py --scenario engine --observe tracing
    python bench/observe_cost.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
SCENARIOS = ("engine", "dispatch")
#: Options every `tidings bench` run gets besides its own (``--rate``).
BENCH_OPTIONS: list[str] = []


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now (for the metrics endpoint)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench(
    scenario: str, duration: float, out: Path, label: str,
    env: dict[str, str], launcher: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """One `tidings bench --local` run with ``env`` added; its result, checked whole.

    No metrics unless ``env`` asks, and never the Mistral baseline.
    """
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_METRICS")}
    run_env["TIDINGS_MISTRAL_SCRIPT"] = os.devnull  # names no script: no Mistral baseline
    run_env.update(env)
    cmd = [sys.executable, str(ROOT / f"{scenario}.py"), "--duration", str(duration),
           "--json", str(out), *BENCH_OPTIONS]  # fmt: skip
    if launcher is not None:
        cmd += ["--server-launcher", str(ROOT / launcher)]
    done = subprocess.run(cmd, env=run_env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{scenario} ({label}) failed:\n"
                           f"{done.stdout[-2000:]}{done.stderr[-2000:]}")  # fmt: skip
    result: dict[str, Any] = json.loads(out.read_text())
    if result["missing_events"] or result["duplicate_events"]:
        raise RuntimeError(f"{scenario}: events missing or duplicated: {result}")
    return result


def one(
    scenario: str, observed: bool, duration: float, out: Path, what: str = "both"
) -> dict[str, Any]:
    """One `tidings bench --local` run; its result, with the server's CPU per execution.

    Observed, ``what`` says what is on: ``metrics``, ``tracing`` or ``both``.
    """
    env = {}
    if observed and what != "tracing":
        env["TIDINGS_METRICS_LISTEN"] = f"127.0.0.1:{free_port()}"
    launcher = "traced_serve.py" if observed and what != "metrics" else None
    result = bench(scenario, duration, out, "on" if observed else "off", env, launcher)
    rate = result["executions_per_s"]
    result["cpu_ms_per_execution"] = result["server"]["cpu_percent"] * 10 / rate
    return result


def pairs(
    scenario: str, count: int, duration: float, tmp: Path, what: str = "both"
) -> dict[str, Any]:
    """`count` off/on pairs of `scenario`, alternating which goes first."""
    runs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for i in range(count):
        order = (False, True) if i % 2 == 0 else (True, False)
        got = {on: one(scenario, on, duration, tmp / f"{scenario}-{i}-{on}.json", what)
               for on in order}  # fmt: skip
        runs.append((got[False], got[True]))
        print(f"  {scenario} pair {i + 1}: off {got[False]['executions_per_s']:.1f}, "
              f"on {got[True]['executions_per_s']:.1f} executions/s", file=sys.stderr)  # fmt: skip
    ratios = [on["executions_per_s"] / off["executions_per_s"] for off, on in runs]
    cpu = [on["cpu_ms_per_execution"] / off["cpu_ms_per_execution"] for off, on in runs]
    return {
        "pairs": count,
        "off_per_s": [off["executions_per_s"] for off, _ in runs],
        "on_per_s": [on["executions_per_s"] for _, on in runs],
        "ratios": [round(r, 3) for r in ratios],
        "median_ratio": round(statistics.median(ratios), 3),
        "mean_ratio": round(statistics.mean(ratios), 3),
        "cpu_ratio_median": round(statistics.median(cpu), 3),
        "off_median_per_s": statistics.median(off["executions_per_s"] for off, _ in runs),
        "on_median_per_s": statistics.median(on["executions_per_s"] for _, on in runs),
    }


def toggled(
    scenario: str, duration: float, window: float, tmp: Path, what: str = "both"
) -> dict[str, Any]:
    """One run of `scenario` against `toggled_serve.py`: its windows, on against off.

    Windows before the load is steady (the first two) and after it ends (fewer than
    half the median's events) are left out; the rest pair up in turn, (on, off) or
    (off, on), and each pair gives a ratio of events committed per second.
    """
    windows_at = tmp / f"{scenario}-windows.jsonl"
    env = {
        "TIDINGS_METRICS_LISTEN": f"127.0.0.1:{free_port()}",
        "TIDINGS_TOGGLE_OUT": str(windows_at),
        "TIDINGS_TOGGLE_WINDOW_S": str(window),
        "TIDINGS_TOGGLE_WHAT": what,
    }
    out = tmp / f"{scenario}-toggled.json"
    result = bench(scenario, duration, out, "toggled", env, "toggled_serve.py")
    windows = [json.loads(line) for line in windows_at.read_text().splitlines()][2:]
    rates = [w["events"] / w["seconds"] for w in windows]
    if not rates:
        raise RuntimeError(f"{scenario}: no window after the first two: give a longer --duration")
    least = statistics.median(rates) / 2
    steady = [(w, r) for w, r in zip(windows, rates, strict=True) if r >= least]
    pairs_of = list(zip(steady[0::2], steady[1::2], strict=False))
    ratios = [(a[1] / b[1]) if a[0]["on"] else (b[1] / a[1]) for a, b in pairs_of]
    if not ratios:
        raise RuntimeError(f"{scenario}: fewer than two steady windows")
    on = [r for w, r in steady if w["on"]]
    off = [r for w, r in steady if not w["on"]]
    # Per 1,000 events committed, over the steady windows of each kind: CPU (the server's,
    # each kind of its threads', the machine's), and garbage collections by generation
    # (how many, and their seconds).
    cpu: dict[str, float] = {}
    threads: dict[str, dict[str, float]] = {}
    generations: dict[str, list[list[float]]] = {}
    for state in (True, False):
        label = "on" if state else "off"
        kind = [w for w, _ in steady if w["on"] is state]
        per = 1000 / (sum(w["events"] for w in kind) or 1)
        for key in ("server_cpu_s", "machine_busy_s", "gc_s"):
            cpu[f"{key}_{label}"] = round(per * sum(w[key] for w in kind), 4)
        for w in kind:
            for name, used in w["threads_cpu_s"].items():
                threads.setdefault(name, {"on": 0.0, "off": 0.0})[label] += per * used
        generations[label] = [
            [round(per * sum(w["gc_by_generation"][g][i] for w in kind), 4) for i in (0, 1)]
            for g in range(3)
        ]
    return {
        "pairs": len(ratios),
        "window_s": window,
        "executions_per_s": result["executions_per_s"],
        "ratios": [round(r, 3) for r in ratios],
        "median_ratio": round(statistics.median(ratios), 3),
        "mean_ratio": round(statistics.mean(ratios), 3),
        "on_events_per_s": round(statistics.mean(on), 1) if on else 0.0,
        "off_events_per_s": round(statistics.mean(off), 1) if off else 0.0,
        "cpu_s_per_1000_events": cpu,
        "gc_per_1000_events": generations,
        "thread_cpu_s_per_1000_events": {
            name: {k: round(v, 4) for k, v in share.items()}
            for name, share in sorted(threads.items(), key=lambda kv: -kv[1]["on"])
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of load a run")
    parser.add_argument("--scenario", choices=SCENARIOS, action="append",
                        help="a scenario to run (repeatable; default both)")  # fmt: skip
    parser.add_argument("--observe", choices=("both", "metrics", "tracing"), default="both",
                        help="what is on in the 'on' runs (default both)")  # fmt: skip
    parser.add_argument("--toggle", type=float, metavar="SECONDS", default=0.0,
                        help="instead of pairs of runs, one run a scenario that turns what "
                        "--observe says on and off in windows of SECONDS "
                        "(bench/toggled_serve.py)")  # fmt: skip
    parser.add_argument("--rate", type=float, default=0.0,
                        help="executions started per second (default: as fast as the "
                        "harness's clients go); below saturation, the CPU per 1,000 events "
                        "on and off compares equal batching")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.pairs < 1:
        parser.error("--pairs: at least 1")
    if args.toggle and args.toggle * 6 > args.duration:
        parser.error("--toggle: give a --duration of at least 6 windows")
    if args.rate:
        BENCH_OPTIONS[:] = ["--rate", str(args.rate)]
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tidings-observe-cost-") as tmp:
        for scenario in args.scenario or SCENARIOS:
            if args.toggle:
                out[scenario] = toggled(scenario, args.duration, args.toggle, Path(tmp),
                                        args.observe)  # fmt: skip
            else:
                out[scenario] = pairs(scenario, args.pairs, args.duration, Path(tmp),
                                      args.observe)  # fmt: skip
    if args.json:
        print(json.dumps(out))
        return 0
    on = {"both": "metrics and tracing", "metrics": "metrics", "tracing": "tracing"}
    if args.toggle:
        print(f"{on[args.observe]} on / off, alternate windows of one run (events committed/s):")
        for scenario, r in out.items():
            print(f"  {scenario:<9} {r['pairs']} pairs of {r['window_s']:g} s windows: median "
                  f"{r['median_ratio']:.3f}× (mean {r['mean_ratio']:.3f}×; on "
                  f"{r['on_events_per_s']:.0f}/s, off {r['off_events_per_s']:.0f}/s on "
                  f"average; {r['executions_per_s']:.1f} executions/s overall)")  # fmt: skip
            c = r["cpu_s_per_1000_events"]
            print(f"            CPU s per 1,000 events, on / off: server "
                  f"{c['server_cpu_s_on']:.3f} / {c['server_cpu_s_off']:.3f}, machine "
                  f"{c['machine_busy_s_on']:.3f} / {c['machine_busy_s_off']:.3f}, garbage "
                  f"collection {c['gc_s_on']:.4f} / {c['gc_s_off']:.4f}")  # fmt: skip
            for state, gens in r["gc_per_1000_events"].items():
                print(
                    f"            {state}: collections (and seconds) per 1,000 events by "
                    "generation: " + ", ".join(f"{n:.2f} ({t:.4f})" for n, t in gens)
                )
            for name, share in r["thread_cpu_s_per_1000_events"].items():
                if share["on"] + share["off"] >= 0.002:
                    print(f"              thread {name:<22} {share['on']:.3f} / {share['off']:.3f}")
            print(f"            pairs: {', '.join(f'{x:.2f}' for x in r['ratios'])}")
        return 0
    print(f"{on[args.observe]} on / off, interleaved pairs (executions/s, per pair):")
    for scenario, r in out.items():
        print(f"  {scenario:<9} {r['pairs']} pairs: median {r['median_ratio']:.3f}× "
              f"(mean {r['mean_ratio']:.3f}×; off {r['off_median_per_s']:.1f}/s, on "
              f"{r['on_median_per_s']:.1f}/s in the medians); server CPU per execution "
              f"{r['cpu_ratio_median']:.3f}× (median)")  # fmt: skip
        print(f"            pairs: {', '.join(f'{x:.2f}' for x in r['ratios'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
