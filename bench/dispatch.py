"""Dispatch benchmark: a thin wrapper of ``tidings bench --local --scenario dispatch``.

python bench/dispatch.py                       # a table
python bench/dispatch.py --json out.json       # also the result as JSON
python bench/dispatch.py --duration 30         # any other option of `tidings bench`
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python"))

from tidings.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "--local", "--scenario", "dispatch", *sys.argv[1:]]))
