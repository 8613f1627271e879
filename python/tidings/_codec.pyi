"""Type stubs of ``tidings._codec``, the Rust codec (crate ``tidings-pyext``).

Every rendering function takes a sequence of canonical ``tidings.v1.Event`` bytes and
renders it whole, or raises the error of the lowest failing event. The GIL is released
while rendering.
"""

from collections.abc import Sequence
from typing import Any, Final, final

# PyO3 adds every class, function and constant it registers to __all__.
__all__ = [
    "CodecError",
    "DecodeError",
    "InvalidJsonError",
    "InvalidOptionError",
    "Renderer",
    "TooLargeError",
    "UnknownProfileError",
    "UnsupportedEventError",
    "__version__",
    "content_type",
    "encode_spans",
    "is_extension",
    "profiles",
    "render",
    "supports",
    "threads",
    "version",
]

__version__: Final[str]

class CodecError(ValueError):
    """A payload could not be rendered.

    ``index`` is the position of the offending event in the batch, ``None`` for errors
    in the profile name or the options.
    """

    index: int | None

class UnknownProfileError(CodecError):
    """The profile name is not known."""

class InvalidOptionError(CodecError):
    """A render option is invalid (unknown name, wrong type, unknown time zone, ...)."""

class DecodeError(CodecError):
    """The bytes are not a canonical ``tidings.v1.Event``."""

class InvalidJsonError(CodecError):
    """An ``input``/``output`` the profile embeds or reads is not valid JSON."""

class UnsupportedEventError(CodecError):
    """The profile does not render this event type (or the type is unknown)."""

class TooLargeError(CodecError):
    """The event is larger than ``max_event_bytes``."""

@final
class Renderer:
    """Renders batches of canonical events in one profile with fixed options.

    Options (``InvalidOptionError`` for an unknown name or a bad value):

    - ``timezone``: zone of local-time fields, an IANA name, ``UTC``, ``local`` (the
      host's zone: ``TZ``, else ``/etc/localtime``; read once, here) or
      ``+08:00``/``-0530``;
    - ``ce_source``: CloudEvents ``source`` (empty: ``/tidings/<engine_name>``);
    - ``tencent_event_name``, ``tencent_bucket_field``, ``tencent_object_field``;
    - ``max_event_bytes``: a larger event is a ``TooLargeError``;
    - ``extensions``: also render what the seeds do not define (mistral
      ``execution_pause``/``execution_resume``, the tencent ``<EventName>``); without
      it such an event is an ``UnsupportedEventError``;
    - ``threads``: for batches of 512 events or more, ``0`` uses the shared pool (one
      thread per core), ``1`` renders on the calling thread, ``N`` starts a pool of
      ``N`` threads owned by this renderer. The calling thread works alongside the
      pool rather than waiting for it.
    """

    def __new__(
        cls,
        profile: str,
        *,
        timezone: str = "UTC",
        ce_source: str = "",
        tencent_event_name: str = "WorkflowFinish",
        tencent_bucket_field: str = "BucketId",
        tencent_object_field: str = "Object",
        max_event_bytes: int = 67108864,
        extensions: bool = False,
        threads: int = 0,
    ) -> Renderer: ...
    def render(self, events: Sequence[bytes]) -> list[bytes]:
        """One payload per event, in order.

        A large batch renders in chunks on the pool while the calling thread turns
        finished chunks into ``bytes``, so beyond the result it holds only a few
        chunks of payloads.
        """

    def render_cloudevents_binary(
        self, events: Sequence[bytes]
    ) -> list[tuple[list[tuple[str, str]], bytes]]:
        """CloudEvents binary mode: per event the attribute pairs and the data bytes."""

    def supports(self, event_type: int) -> bool:
        """Whether this renderer renders ``event_type``.

        The profile's types; its extensions only with ``extensions=True``.
        """

    @property
    def profile(self) -> str:
        """The profile name."""

    @property
    def content_type(self) -> str:
        """The content type of the payloads."""

    @property
    def threads(self) -> int:
        """The number of threads a large batch is rendered on."""

def render(
    events: Sequence[bytes],
    profile: str,
    *,
    timezone: str = "UTC",
    ce_source: str = "",
    tencent_event_name: str = "WorkflowFinish",
    tencent_bucket_field: str = "BucketId",
    tencent_object_field: str = "Object",
    max_event_bytes: int = 67108864,
    extensions: bool = False,
    threads: int = 0,
) -> list[bytes]:
    """Render ``events`` in ``profile`` (a one-off ``Renderer``)."""

def supports(profile: str, event_type: int, *, extensions: bool = True) -> bool:
    """Whether ``profile`` renders events of ``event_type`` (a ``tidings.v1.EventType``).

    With ``extensions=False``, only the types its seed defines.
    """

def is_extension(profile: str, event_type: int) -> bool:
    """Whether ``profile`` renders ``event_type`` only with ``extensions=True``."""

def content_type(profile: str) -> str:
    """The content type of ``profile``'s payloads."""

def profiles() -> list[str]:
    """The profile names."""

def threads() -> int:
    """The number of threads of the shared pool that large batches use."""

def version() -> str:
    """The codec's version."""

def encode_spans(resource: tuple[Any, ...], scope: str, spans: Sequence[tuple[Any, ...]]) -> bytes:
    """The OTLP ``ExportTraceServiceRequest`` bytes of ended spans.

    ``spans`` are ``tidings.observe.spans.Ended`` tuples, all of one resource (its
    attributes' keys and values in turn) and one instrumentation scope named ``scope``.
    Attribute values are str, bool, int (64-bit), float, bytes or sequences of them
    (``TypeError`` else); ``ValueError`` names a span whose ``traceparent`` is not W3C.
    """
