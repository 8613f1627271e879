"""The sizes an expression may reach, in either language, and the checks that keep them.

A user's expression must not be able to exhaust the engine's memory, nor hold the
interpreter in one long C-level call that the time limit (:mod:`.deadline`) cannot
interrupt. These are the numbers both languages share.
"""

from __future__ import annotations

__all__ = [
    "MAX_BUILT_SIZE",
    "MAX_RESULT_ITEMS",
    "YAQL_LIMIT_ITERATORS",
    "YAQL_MEMORY_QUOTA",
    "check_int_size",
]

#: Largest collection a YAQL expression may build or walk (yaql.limitIterators).
YAQL_LIMIT_ITERATORS = 10_000
#: Approximate bytes a YAQL expression may hold in memory (yaql.memoryQuota).
YAQL_MEMORY_QUOTA = 10_000_000
#: Largest string or list a Jinja ``*`` may build, and largest integer (in bits) a power
#: or shift may build, in either language.
MAX_BUILT_SIZE = 1_000_000
#: Most items one result may hold when converted to JSON-able values (guards generators).
MAX_RESULT_ITEMS = 1_000_000


def check_int_size(bits: int, what: str) -> None:
    """Refuse an integer result of more than :data:`MAX_BUILT_SIZE` bits before making it."""
    if bits > MAX_BUILT_SIZE:
        raise ValueError(f"{what} result larger than {MAX_BUILT_SIZE} bits")
