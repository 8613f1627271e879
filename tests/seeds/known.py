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
from seeds.mistral import EVENT_KEYS


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


_PING = b'{"type":"ping",'
_NOT_SEED_KEY = "is not a key the seed defines"

KNOWN: dict[str, Item] = {
    "11.2": Item(
        "eTypes execution_pause / execution_resume (not seed 000's) on mistral destinations",
        (
            Known("mistral", "$.eType", "'execution_pause' is not one of seed 000's eTypes"),
            Known("mistral", "$.eType", "'execution_resume' is not one of seed 000's eTypes"),
        ),
    ),
    "11.6": Item(
        "TestListener's JSON ping, whatever the profile (seen on mistral listeners)",
        tuple(Known("mistral", f"$.{k}", "is missing", _PING) for k in EVENT_KEYS)
        + tuple(
            Known("mistral", f"$.{k}", _NOT_SEED_KEY, _PING)
            for k in ("type", "id", "listener_id", "listener_name", "time")
        ),
    ),
    "11.9": Item(
        "<EventName> in tencent callbacks",
        (Known("tencent", "Response.EventName", "is not an element the seed defines"),),
    ),
    "new.1": Item(
        "topic mistral: a std action's non-object return value (std.echo's string) is the"
        ' whole `output`; seed 000 types output "object"',
        (Known("mistral", "$.output", "must be a JSON object"),),
    ),
    "new.2": Item(
        "thain modify callbacks carry flowExecutionId; seed 002 gives status and flowId",
        (Known("thain", "form.flowExecutionId", "is not a key the seed defines here"),),
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
