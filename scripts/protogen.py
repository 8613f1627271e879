"""Generate Python code from protos/ into python/, or check it is up to date.

Usage: python scripts/protogen.py [--check]

Uses grpcio-tools' bundled protoc (no network service) with the mypy-protobuf
plugins, so the committed code and its .pyi stubs can be regenerated anywhere.
The generator is pinned (grpcio-tools in pyproject.toml's dev extra) to the oldest
grpcio the project allows: the generated code requires at import the grpcio version
that generated it and the protobuf version of its protoc, which are the floors in
pyproject.toml (`make floor-check` installs them and imports the result).
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
OUT_PACKAGE = Path("tidings") / "v1"
TARGET = ROOT / "python"


def generate(out_dir: Path) -> None:
    """Run protoc over every .proto under protos/ into out_dir."""
    import grpc_tools

    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    if not protos:
        sys.exit("protogen: no .proto files under protos/")
    bin_dir = Path(sys.executable).parent
    include = Path(grpc_tools.__file__).parent / "_proto"
    cmd = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
        f"--mypy_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        *protos,
    ]
    # The mypy plugins chat on stderr; show it only when protoc fails.
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"protogen: protoc failed:\n{result.stderr}")
    pkg = out_dir / OUT_PACKAGE
    # grpc_python_out writes absolute imports ("from tidings.v1 import x_pb2"),
    # which resolve because python/ is the package root; keep the package marker.
    (pkg / "__init__.py").write_text('"""Generated protobuf and gRPC code for tidings.v1."""\n')
    (pkg / "py.typed").touch()


def generated_files(root: Path) -> set[str]:
    """Relative paths of the generated files under root/tidings/v1."""
    pkg = root / OUT_PACKAGE
    if not pkg.exists():
        return set()
    return {
        str(p.relative_to(root))
        for p in pkg.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed code differs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        generate(out)
        fresh, committed = generated_files(out), generated_files(TARGET)
        if args.check:
            changed = {
                f for f in fresh & committed if not filecmp.cmp(out / f, TARGET / f, shallow=False)
            }
            differ = sorted((fresh ^ committed) | changed)
            if differ:
                print("protogen: generated code is out of date; run `make proto`:", file=sys.stderr)
                for f in differ:
                    print(f"  {f}", file=sys.stderr)
                return 1
            print(f"protogen: {len(fresh)} generated files up to date")
            return 0
        for stale in committed - fresh:
            (TARGET / stale).unlink()
        for f in sorted(fresh):
            (TARGET / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out / f, TARGET / f)
        print(f"protogen: wrote {len(fresh)} files to python/{OUT_PACKAGE}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
