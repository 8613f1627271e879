"""Import the generated code, and what tidings uses of the packages it needs, at the floor.

Usage: python -W error scripts/floor_check.py FLOORS.txt

Runs in the scratch venv of ``make floor-check``: the tidings wheel (without its
dependencies) and the ``name==floor`` lines of FLOORS.txt (from scripts/floors.py).
It checks that those versions are the ones installed, imports every module of
``tidings.v1`` (the ``_pb2`` files check the protobuf runtime, the ``_pb2_grpc`` files
grpcio's version), then every module of those packages that tidings' own code imports
(found in its source, so a new import is covered without editing this list), and
round-trips a message through each of protobuf, google.rpc and grpc_status. Any
exception, or warning under ``-W error``, fails the check.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import sys
from importlib.metadata import version
from pathlib import Path

# Top-level import names of the floor packages (protobuf and googleapis-common-protos
# share ``google``).
ROOTS = {"google", "grpc", "grpc_status", "grpc_health", "grpc_reflection"}


def release(v: str) -> tuple[int, ...] | str:
    """A plain release version without trailing zeros (``1.85.0`` is ``1.85``)."""
    try:
        parts = [int(p) for p in v.split(".")]
    except ValueError:
        return v
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def check_installed(floors_file: Path) -> None:
    """Fail unless every ``name==floor`` line is the installed version."""
    for line in floors_file.read_text().split():
        name, _, want = line.partition("==")
        have = version(name)
        if release(have) != release(want):
            sys.exit(f"floor-check: {name} {have} is installed, the floor is {want}")
        print(f"  {name}=={have}")


def used_modules(package: Path) -> list[str]:
    """Modules under ROOTS that tidings' hand-written code imports (not tidings.v1)."""
    found: set[str] = set()
    for path in package.rglob("*.py"):
        if "v1" in path.relative_to(package).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.split(".")[0] in ROOTS)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module.split(".")[0] not in ROOTS:
                    continue
                found.add(node.module)
                # ``from grpc_health.v1 import health_pb2``: a submodule or an attribute.
                found.update(f"{node.module}.{a.name}" for a in node.names)
    return sorted(found)


def import_used(name: str) -> None:
    """Import name, or, when it names an attribute of a module, that module."""
    module, _, attr = name.rpartition(".")
    try:
        importlib.import_module(name)
    except ModuleNotFoundError:
        if not module or not hasattr(importlib.import_module(module), attr):
            raise


def round_trip() -> None:
    """Use the runtime, not only load it: an event, a BadRequest status, its trailer."""
    from google.rpc import code_pb2, error_details_pb2, status_pb2
    from grpc_status import rpc_status

    from tidings.v1 import event_pb2

    event = event_pb2.Event(id="e1", sequence=7)
    event.time.GetCurrentTime()
    assert event_pb2.Event.FromString(event.SerializeToString()) == event
    detail = error_details_pb2.BadRequest(
        field_violations=[error_details_pb2.BadRequest.FieldViolation(field="f", description="d")]
    )
    status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message="m")
    status.details.add().Pack(detail)
    grpc_status = rpc_status.to_status(status)
    assert grpc_status.trailing_metadata[0][1] == status.SerializeToString()


def main() -> int:
    """Entry point."""
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print("floor-check: installed")
    check_installed(Path(sys.argv[1]))

    import tidings
    import tidings.v1

    print(f"  tidings=={tidings.__version__} (the wheel maturin built)")
    generated = sorted(f"tidings.v1.{m.name}" for m in pkgutil.iter_modules(tidings.v1.__path__))
    if not any(m.endswith("_pb2_grpc") for m in generated):
        sys.exit("floor-check: no generated modules found in tidings.v1")
    used = used_modules(Path(tidings.__file__).parent)
    for name in generated:
        importlib.import_module(name)
    for name in used:
        import_used(name)
    round_trip()
    print(f"floor-check: imported {len(generated)} tidings.v1 modules, and of those packages:")
    print("  " + " ".join(used))
    return 0


if __name__ == "__main__":
    sys.exit(main())
