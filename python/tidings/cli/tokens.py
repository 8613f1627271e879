"""``tidings token new|hash``: make an API token and the configuration entry of its hash.

An argparse parser of its own, like ``serve``: it runs on the server's machine, needs no
server, and prints the token only once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tidings token", description="API tokens.")
    actions = parser.add_subparsers(dest="action", required=True)
    for action, text in (
        ("new", "make a token: prints it once, and the configuration entry of its hash"),
        ("hash", "the configuration entry of a token read from standard input"),
    ):
        cmd = actions.add_parser(action, help=text, description=text)
        cmd.add_argument("--name", required=True, help="who uses it (shown in logs)")
        cmd.add_argument("--scope", required=True, choices=["read", "write", "admin"])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``tidings token`` with these arguments (those after ``token``); the exit code."""
    from tidings.api import api_tokens
    from tidings.api.access import Scope

    args = _parser().parse_args(argv)
    secret = api_tokens.new_token() if args.action == "new" else sys.stdin.readline().strip()
    try:
        entry = api_tokens.make(args.name, Scope.parse(args.scope), secret).entry()
    except ValueError as exc:
        print(f"tidings: {exc}", file=sys.stderr)
        return 2
    if args.action == "new":
        print(f"token (shown only now; clients send 'authorization: Bearer <token>'):\n{secret}\n")
    print(f'configuration (TOML):  tokens = ["{entry}"]')
    print(f"or in the environment: TIDINGS_TOKENS={entry}  (several: comma-separated)")
    return 0
