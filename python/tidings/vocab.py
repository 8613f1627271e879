"""The one list of what tidings talks about: event types, categories, profiles, states.

Every other module takes these names from here, so that a new event type, category or
profile is added in one place (plus its proto enum value or its Rust renderer).
"""

from __future__ import annotations

from typing import Final

from tidings.codec import PROFILES, Profile, is_profile
from tidings.v1 import event_pb2, listener_pb2

__all__ = [
    "CATEGORIES",
    "CATEGORY_TYPES",
    "EVENT_TYPES",
    "EXECUTION_ENDED",
    "EXECUTION_END_TYPES",
    "HTTP_METHODS",
    "PROFILES",
    "TASK_ACTIVE",
    "TASK_DONE",
    "TYPE_NAMES",
    "Profile",
    "is_profile",
    "method_enum",
    "method_word",
    "profile_enum",
    "profile_word",
]

#: Event type names, as in `tidings.v1.EventType` without the prefix, in number order.
EVENT_TYPES: Final = tuple(
    v.name.removeprefix("EVENT_TYPE_")
    for v in event_pb2.DESCRIPTOR.enum_types_by_name["EventType"].values
    if v.number != 0
)
#: Event type numbers to their full enum names (``EVENT_TYPE_TASK_STARTED``).
TYPE_NAMES: Final = {
    v.number: v.name for v in event_pb2.DESCRIPTOR.enum_types_by_name["EventType"].values
}
#: Category names, as in `tidings.v1.EventCategory` without the prefix.
CATEGORIES: Final = tuple(
    v.name.removeprefix("EVENT_CATEGORY_")
    for v in listener_pb2.DESCRIPTOR.enum_types_by_name["EventCategory"].values
    if v.number != 0
)
#: The event type numbers of each category (event.proto numbers them in these blocks).
CATEGORY_TYPES: Final[dict[str, range]] = {
    "ENGINE": range(1, 10),
    "EXECUTION": range(10, 30),
    "TASK": range(30, 50),
    "LISTENER": range(50, 60),
}

_ET = event_pb2.EventType
#: Event types after which an execution has nothing more to say (unless it is re-run).
EXECUTION_END_TYPES: Final = frozenset(
    {
        _ET.EVENT_TYPE_EXECUTION_SUCCEEDED,
        _ET.EVENT_TYPE_EXECUTION_FAILED,
        _ET.EVENT_TYPE_EXECUTION_CANCELLED,
        _ET.EVENT_TYPE_EXECUTION_TIMED_OUT,
        _ET.EVENT_TYPE_EXECUTION_ROLLBACK_FINISHED,
    }
)

# Execution states (``Execution.state``).
RUNNING: Final = "RUNNING"
PAUSED: Final = "PAUSED"
SUCCESS: Final = "SUCCESS"
ERROR: Final = "ERROR"
CANCELLED: Final = "CANCELLED"
TIMED_OUT: Final = "TIMED_OUT"
ROLLING_BACK: Final = "ROLLING_BACK"
ROLLED_BACK: Final = "ROLLED_BACK"
#: An execution in one of these states has ended (it may still be re-run by a user).
EXECUTION_ENDED: Final = frozenset({SUCCESS, ERROR, CANCELLED, TIMED_OUT, ROLLED_BACK})

# Task states: RUNNING, SUCCESS, ERROR, CANCELLED and PAUSED (a sub-workflow task whose
# child execution is paused) as above, and these.
WAITING: Final = "WAITING"
RUNNING_ASYNC: Final = "RUNNING_ASYNC"
SKIPPED: Final = "SKIPPED"
#: A task in one of these states still has work to do.
TASK_ACTIVE: Final = frozenset({WAITING, RUNNING, RUNNING_ASYNC, PAUSED})
#: A task in one of these states is done and counts for its successors.
TASK_DONE: Final = frozenset({SUCCESS, ERROR, SKIPPED})


# The API's closed sets are enums (``PROFILE_TENCENT_JSON``, ``HTTP_METHOD_PUT``); the
# config file, the CLI and the store keep the words (``tencent_json``, ``PUT``). These
# four functions are the one mapping between them.
_PROFILE = listener_pb2.Profile
_METHOD = listener_pb2.HttpMethod
#: The HTTP methods a webhook may use (``HttpMethod`` without its prefix).
HTTP_METHODS: Final = tuple(
    v.name.removeprefix("HTTP_METHOD_")
    for v in listener_pb2.DESCRIPTOR.enum_types_by_name["HttpMethod"].values
    if v.number != 0
)


def profile_enum(word: str) -> listener_pb2.Profile.ValueType:
    """The enum value of a profile word (``tencent_json`` → ``PROFILE_TENCENT_JSON``)."""
    return _PROFILE.Value(f"PROFILE_{word.upper()}")


def profile_word(value: int) -> str | None:
    """The profile word of an enum value (unspecified: mistral); None if it names none."""
    if value == _PROFILE.PROFILE_UNSPECIFIED:
        return "mistral"
    try:
        word = _PROFILE.Name(value).removeprefix("PROFILE_").lower()  # type: ignore[arg-type]
    except ValueError:
        return None
    return word if is_profile(word) else None


def method_enum(word: str) -> listener_pb2.HttpMethod.ValueType:
    """The enum value of an HTTP method word (``PUT`` → ``HTTP_METHOD_PUT``)."""
    return _METHOD.Value(f"HTTP_METHOD_{word.upper()}")


def method_word(value: int) -> str | None:
    """The HTTP method word of an enum value (unspecified: POST); None if it names none."""
    if value == _METHOD.HTTP_METHOD_UNSPECIFIED:
        return "POST"
    try:
        return _METHOD.Name(value).removeprefix("HTTP_METHOD_")  # type: ignore[arg-type]
    except ValueError:
        return None
