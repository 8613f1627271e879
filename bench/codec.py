"""Codec benchmark: a thin wrapper of ``tidings bench --scenario codec``.

    python bench/codec.py            # a table
    python bench/codec.py --json     # one JSON object with the ratios

The dispatch benchmark takes its realistic event from here (`canonical`, `engine_data`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python"))

from tidings.bench.codec import BATCH, canonical, engine_data, print_table, run

__all__ = ["canonical", "engine_data"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--runs", type=int, default=9, help="runs per contender (median)")
    parser.add_argument("--batch", type=int, default=BATCH)
    args = parser.parse_args()
    result = run(args.runs, args.batch)
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
