"""The typed face of the Rust codec that renders canonical events into payload bytes.

A profile (``docs/profiles.md``) turns serialized ``tidings.v1.Event`` bytes into the
exact bytes a receiver consumes. Rendering is done in Rust, a batch at a time, with the
GIL released; large batches are split across a thread pool::

    from tidings import codec

    renderer = codec.Renderer("mistral", timezone="Asia/Shanghai")
    payloads = renderer.render([event.SerializeToString() for event in events])

A batch renders whole or raises a :class:`CodecError` (a ``ValueError``) whose
``index`` is the position of the lowest failing event (``None`` for errors in the
profile name or the options).
"""

from __future__ import annotations

from typing import Literal, TypeGuard, get_args

from tidings._codec import (
    CodecError,
    DecodeError,
    InvalidJsonError,
    InvalidOptionError,
    Renderer,
    TooLargeError,
    UnknownProfileError,
    UnsupportedEventError,
    content_type,
    is_extension,
    profiles,
    render,
    supports,
    threads,
    version,
)

Profile = Literal["mistral", "thain", "tencent", "tencent_json", "cloudevents", "cloudevents_data"]
"""The name of a payload shape."""

PROFILES: tuple[Profile, ...] = get_args(Profile)
"""Every profile name, in the order of ``docs/profiles.md``."""


def is_profile(name: str) -> TypeGuard[Profile]:
    """Whether ``name`` is a profile name (narrows ``str`` to :data:`Profile`)."""
    return name in PROFILES


__all__ = [
    "PROFILES",
    "CodecError",
    "DecodeError",
    "InvalidJsonError",
    "InvalidOptionError",
    "Profile",
    "Renderer",
    "TooLargeError",
    "UnknownProfileError",
    "UnsupportedEventError",
    "content_type",
    "is_extension",
    "is_profile",
    "profiles",
    "render",
    "supports",
    "threads",
    "version",
]
