"""Generate the Go, Java and TypeScript clients from protos/, or check they are up to date.

Usage: python scripts/clientgen.py [--check]

Runs `buf generate` with clients/buf.gen.{go,java,typescript}.yaml into a temporary
folder, then replaces the generated folders below (or, with --check, fails naming
every file that differs). The plugins are local and pinned: `make clients` installs
them first (protoc-gen-go and protoc-gen-go-grpc into .tools/go/bin, protoc and
protoc-gen-grpc-java from Maven Central into .tools/java, protoc-gen-es into
clients/typescript/node_modules).
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
BUF = ROOT / "tools" / "node_modules" / ".bin" / "buf"
LANGUAGES = ("go", "java", "typescript")
#: The generated folders, relative to clients/ (everything else there is hand-written).
GENERATED = (
    Path("go/gen"),
    Path("java/src/main/java/dev/tidings/v1"),
    Path("typescript/src/gen"),
)


def generate(out_dir: Path) -> None:
    """Run buf generate for every language into out_dir (laid out as clients/)."""
    for language in LANGUAGES:
        template = ROOT / "clients" / f"buf.gen.{language}.yaml"
        cmd = [str(BUF), "generate", "--template", str(template), "-o", str(out_dir)]
        result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"clientgen: buf generate ({language}) failed:\n{result.stderr}")


def files_under(root: Path) -> set[Path]:
    """The files of the generated folders under root, relative to root."""
    return {
        p.relative_to(root)
        for folder in GENERATED
        if (root / folder).exists()
        for p in (root / folder).rglob("*")
        if p.is_file()
    }


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed code differs")
    args = parser.parse_args()
    target = ROOT / "clients"
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(fresh)
        if args.check:
            new, old = files_under(fresh), files_under(target)
            stale = sorted(str(p) for p in new ^ old) + sorted(
                str(p) for p in new & old if not filecmp.cmp(fresh / p, target / p, shallow=False)
            )
            if stale:
                print(
                    "clientgen: generated clients are stale; run `make clients`:", file=sys.stderr
                )
                for name in stale:
                    print(f"  clients/{name}", file=sys.stderr)
                return 1
            print(f"clientgen: {len(new)} generated files up to date")
            return 0
        for folder in GENERATED:
            shutil.rmtree(target / folder, ignore_errors=True)
            shutil.copytree(fresh / folder, target / folder)
        print(f"clientgen: wrote {len(files_under(target))} files under clients/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
