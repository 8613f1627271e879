"""Request bodies and their headers, rendered by the codec a batch at a time.

One `Renderers` serves every webhook listener: listeners of the same profile, mode and
extensions setting share one renderer and one rendering of each event.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from tidings import codec
from tidings.dispatch.traces import trace_of
from tidings.metrics import record
from tidings.observe import tracing
from tidings.store.rows import EventRow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rendered:
    """An event's request body and the headers that go with it."""

    body: bytes
    headers: dict[str, str]
    #: The trace context the event carries (``traceparent``, ``tracestate``), read only
    #: while tracing is on: a delivery's span continues it.
    trace: tracing.TraceContext = tracing.NO_CONTEXT


#: A rendering key: the profile, whether CloudEvents go in binary mode, and whether
#: what the seeds do not define is rendered too (the listener's ``extensions``).
Style = tuple[str, bool, bool]


def style_of(profile: str, config: dict[str, object]) -> Style:
    """How a webhook listener's events are rendered."""
    binary = profile == "cloudevents" and config.get("cloudevents_mode") == "BINARY"
    return profile, binary, bool(config.get("extensions"))


def ce_header_value(value: str) -> str:
    """A CloudEvents attribute as an HTTP header value (HTTP binding 3.1.3.2).

    Space, double quote, percent and anything outside printable ASCII are
    percent-encoded (UTF-8).
    """
    if value.isascii() and value.isprintable() and not any(c in value for c in ' "%'):
        return value
    out = []
    for char in value:
        if "!" <= char <= "~" and char not in '"%':
            out.append(char)
        else:
            out.extend(f"%{b:02X}" for b in char.encode())
    return "".join(out)


def traced(rendered: Rendered | None, event: EventRow) -> Rendered | None:
    """``rendered`` with the trace context its event carries (while tracing is on)."""
    if rendered is None or not tracing.enabled():
        return rendered
    trace = trace_of(event)
    if not trace[0]:
        return rendered
    return Rendered(rendered.body, rendered.headers, trace)


class Renderers:
    """One codec renderer per profile (and extensions setting), for any number of listeners."""

    def __init__(self, timezone: str = "UTC") -> None:
        self.timezone = timezone
        self._renderers: dict[tuple[str, bool], codec.Renderer] = {}
        self._types: dict[str, dict[str, str]] = {}

    def _renderer(self, profile: str, extensions: bool) -> codec.Renderer:
        r = self._renderers.get((profile, extensions))
        if r is None:
            r = codec.Renderer(profile, timezone=self.timezone, extensions=extensions)
            self._renderers[profile, extensions] = r
            self._types[profile] = {"content-type": codec.content_type(profile)}
        return r

    def render(self, style: Style, bodies: Sequence[bytes]) -> list[Rendered | None]:
        """Each canonical event rendered in `style`; None for one the codec refuses.

        Called in a worker thread: the codec releases the GIL.
        """
        try:
            started = time.perf_counter()
            out: list[Rendered | None] = list(self._render(style, bodies))
            record.rendered(style[0], len(bodies), time.perf_counter() - started)
            return out
        except codec.CodecError:
            if len(bodies) == 1:
                log.exception("webhook: cannot render an event as %s", style[0])
                return [None]
        # One bad event must not take its batch with it.
        return [self.render(style, [b])[0] for b in bodies]

    def _render(self, style: Style, bodies: Sequence[bytes]) -> Sequence[Rendered]:
        profile, binary, extensions = style
        renderer = self._renderer(profile, extensions)
        if binary:
            out = []
            for attrs, data in renderer.render_cloudevents_binary(list(bodies)):
                headers = {}
                for name, value in attrs:
                    if name == "datacontenttype":
                        headers["content-type"] = value
                    else:
                        headers[f"ce-{name}"] = ce_header_value(value)
                out.append(Rendered(data, headers))
            return out
        ctype = self._types[profile]
        return [Rendered(body, ctype) for body in renderer.render(list(bodies))]
