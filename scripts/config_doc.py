"""The configuration reference of docs/operations.md, generated from tidings.config.Config.

Each setting of the `Config` dataclass, with the `#:` comment above it, its environment
variable and its default, as a table between the reference's two markers. Writes the
document in place; `--check` fails (exit 1) if the committed table is not what the
schema gives (`make lint` and tests/test_operations.py run it).

    python scripts/config_doc.py           # rewrite the table
    python scripts/config_doc.py --check   # is it current?
"""

from __future__ import annotations

import ast
import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

from tidings import config  # noqa: E402

SOURCE = ROOT / "python" / "tidings" / "config.py"
DOC = ROOT / "docs" / "operations.md"
BEGIN = "<!-- config-reference:begin (scripts/config_doc.py writes this table) -->"
END = "<!-- config-reference:end -->"
#: Settings whose default is computed, shown by what it means.
SHOWN = {"engine_version": "the package's version"}


def comments() -> dict[str, str]:
    """Each field's `#:` comment lines (joined), from the source of Config."""
    lines = SOURCE.read_text(encoding="utf-8").splitlines()
    tree = ast.parse(SOURCE.read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Config")
    out: dict[str, str] = {}
    previous = ""
    for node in cls.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            text: list[str] = []
            at = node.lineno - 2
            while at >= 0 and lines[at].strip().startswith("#:"):
                text.insert(0, lines[at].strip()[2:].strip())
                at -= 1
            # A field right under another without a comment of its own shares its comment.
            previous = " ".join(text).replace("``", "`") or previous
            out[node.target.id] = previous
    return out


def default(field: dataclasses.Field[object]) -> str:
    if field.name in SHOWN:
        return SHOWN[field.name]
    value = field.default
    if value is dataclasses.MISSING and field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
    if isinstance(value, (dict, list)) and not value:
        return "(none)"
    if isinstance(value, tuple):
        return "(none)" if not value else ", ".join(f"`{v}`" for v in value)
    if isinstance(value, str) and not value:
        return "(empty)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value):_}`".replace("_", ",")
    if isinstance(value, int):
        return f"`{value:_}`".replace("_", ",")
    return f"`{value}`"


def table() -> str:
    """The reference table, markers included."""
    notes = comments()
    rows = [
        BEGIN,
        "",
        "| setting | environment | default | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for field in dataclasses.fields(config.Config):
        note = notes.get(field.name, "").replace("|", "\\|")
        env = config.ENV_PREFIX + field.name.upper()
        rows.append(f"| `{field.name}` | `{env}` | {default(field)} | {note} |")
    rows += ["", END]
    return "\n".join(rows)


def render(document: str) -> str:
    """The document with its table replaced by the current one."""
    start, end = document.index(BEGIN), document.index(END) + len(END)
    return document[:start] + table() + document[end:]


def main() -> int:
    document = DOC.read_text(encoding="utf-8")
    current = render(document)
    if "--check" in sys.argv[1:]:
        if current != document:
            print(
                f"{DOC.relative_to(ROOT)}: the configuration reference is stale; "
                "run python scripts/config_doc.py",
                file=sys.stderr,
            )
            return 1
        return 0
    DOC.write_text(current, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
