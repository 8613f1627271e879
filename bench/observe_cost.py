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
execution is shown beside it.

    python bench/observe_cost.py                       # 6 pairs of each scenario
    python bench/observe_cost.py --pairs 12 --scenario engine --duration 10
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


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now (for the metrics endpoint)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one(scenario: str, observed: bool, duration: float, out: Path) -> dict[str, Any]:
    """One `tidings bench --local` run; its result, with the server's CPU per execution."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_METRICS")}
    env["TIDINGS_MISTRAL_SCRIPT"] = os.devnull  # names no script: no Mistral baseline
    cmd = [sys.executable, str(ROOT / f"{scenario}.py"), "--duration", str(duration),
           "--json", str(out)]  # fmt: skip
    if observed:
        env["TIDINGS_METRICS_LISTEN"] = f"127.0.0.1:{free_port()}"
        cmd += ["--server-launcher", str(ROOT / "traced_serve.py")]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{scenario} ({'on' if observed else 'off'}) failed:\n"
                           f"{done.stdout[-2000:]}{done.stderr[-2000:]}")  # fmt: skip
    result: dict[str, Any] = json.loads(out.read_text())
    if result["missing_events"] or result["duplicate_events"]:
        raise RuntimeError(f"{scenario}: events missing or duplicated: {result}")
    rate = result["executions_per_s"]
    result["cpu_ms_per_execution"] = result["server"]["cpu_percent"] * 10 / rate
    return result


def pairs(scenario: str, count: int, duration: float, tmp: Path) -> dict[str, Any]:
    """`count` off/on pairs of `scenario`, alternating which goes first."""
    runs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for i in range(count):
        order = (False, True) if i % 2 == 0 else (True, False)
        got = {on: one(scenario, on, duration, tmp / f"{scenario}-{i}-{on}.json") for on in order}
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of load a run")
    parser.add_argument("--scenario", choices=SCENARIOS, action="append",
                        help="a scenario to run (repeatable; default both)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.pairs < 1:
        parser.error("--pairs: at least 1")
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tidings-observe-cost-") as tmp:
        for scenario in args.scenario or SCENARIOS:
            out[scenario] = pairs(scenario, args.pairs, args.duration, Path(tmp))
    if args.json:
        print(json.dumps(out))
        return 0
    print("metrics and tracing on / off, interleaved pairs (executions/s, per pair):")
    for scenario, r in out.items():
        print(f"  {scenario:<9} {r['pairs']} pairs: median {r['median_ratio']:.3f}× "
              f"(mean {r['mean_ratio']:.3f}×; off {r['off_median_per_s']:.1f}/s, on "
              f"{r['on_median_per_s']:.1f}/s in the medians); server CPU per execution "
              f"{r['cpu_ratio_median']:.3f}× (median)")  # fmt: skip
        print(f"            pairs: {', '.join(f'{x:.2f}' for x in r['ratios'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
