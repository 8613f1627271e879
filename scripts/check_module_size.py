"""Fail if a hand-written module of python/tidings grows past the limit (ARCHITECTURE.md).

A module that long is doing more than one job: split it by job, not by line count.
"""

from __future__ import annotations

import sys
from pathlib import Path

LIMIT = 600
ROOT = Path(__file__).resolve().parent.parent / "python" / "tidings"
GENERATED = ROOT / "v1"


def main() -> int:
    too_long = []
    for path in sorted(ROOT.rglob("*.py")):
        if GENERATED in path.parents:
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > LIMIT:
            too_long.append(f"{path.relative_to(ROOT.parent)}: {lines} lines")
    for line in too_long:
        print(f"over {LIMIT} lines: {line}", file=sys.stderr)
    return 1 if too_long else 0


if __name__ == "__main__":
    sys.exit(main())
