"""Violations today's code is known to make, each tracked by an item of issue 11.

The seed-conformance hook lets these through (and counts them: the end-of-run summary
says which item was hit by which test) so the suite stays green while the fixes land on
their branches. Each entry matches one exact violation of one profile, optionally only in
payloads that hold given bytes. When a fix lands its entries stop matching: delete them.

Keys are issue 11's item numbers; ``new.N`` are violations this suite found that issue 11
does not list (reported with it).
"""

from __future__ import annotations

from dataclasses import dataclass

from seeds.common import Violation


@dataclass(frozen=True)
class Known:
    """One allowed violation: the profile, the violation's path and why, word for word."""

    profile: str
    path: str
    why: str
    #: Only in payloads that hold these bytes (b"" for any payload).
    body_has: bytes = b""

    def matches(self, profile: str, violation: Violation, body: bytes) -> bool:
        """Whether this entry allows ``violation`` found in ``body`` of ``profile``."""
        return (profile, violation.path, violation.why) == (
            self.profile,
            self.path,
            self.why,
        ) and self.body_has in body


@dataclass(frozen=True)
class Item:
    """An issue item: what is wrong, and the violations it causes."""

    what: str
    entries: tuple[Known, ...]


KNOWN: dict[str, Item] = {
    "new.1": Item(
        "topic mistral: a std action's non-object return value (std.echo's string) is the"
        ' whole `output`; seed 000 types output "object"',
        (Known("mistral", "$.output", "must be a JSON object"),),
    ),
    "new.3": Item(
        "a configured CloudEvents source that is not a URI-reference is sent as is"
        " (test_cloudevents_binary_mode_percent_encodes_header_values configures one)",
        (
            Known("cloudevents", "$.source", "'/tidings/引擎 50%' is not a URI-reference"),
            Known("cloudevents", "ce-source", "'/tidings/引擎 50%' is not a URI-reference"),
        ),
    ),
}


def known_item(profile: str, violation: Violation, body: bytes) -> str | None:
    """The issue item that explains ``violation``, if one does."""
    for key, item in KNOWN.items():
        if any(entry.matches(profile, violation, body) for entry in item.entries):
            return key
    return None
