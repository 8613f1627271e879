"""Print the lowest versions pyproject.toml allows for the named runtime dependencies.

Usage: python scripts/floors.py NAME...

One ``name==floor`` line per name, the floor being its ``>=`` bound in
``[project].dependencies``: the requirements of the floor check (``make floor-check``),
so that it installs what pyproject.toml says rather than a hand-copied list. A name
that is not a dependency, or has no ``>=`` bound, is an error: the check would prove
nothing about it.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def floors(names: list[str]) -> list[str]:
    """``name==floor`` for each name, in the order given."""
    deps = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    by_name = {canonicalize_name(r.name): r for r in map(Requirement, deps)}
    lines = []
    for name in names:
        req = by_name.get(canonicalize_name(name))
        if req is None:
            sys.exit(f"floors: {name} is not in [project].dependencies of pyproject.toml")
        lows = [s.version for s in req.specifier if s.operator == ">="]
        if len(lows) != 1:
            sys.exit(f"floors: {req} has no single >= bound in pyproject.toml")
        lines.append(f"{req.name}=={lows[0]}")
    return lines


def main() -> int:
    """Entry point."""
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print("\n".join(floors(sys.argv[1:])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
