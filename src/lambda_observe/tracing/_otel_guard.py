"""``patch()`` in ``otel`` mode: what stands between OpenTelemetry's instrumentations and the user's provider.

- :class:`ScrubSpan` wraps each instrumentation span the user's provider makes, so that every
  attribute, event attribute, status description and recorded exception set *after* the span
  started also passes through the redaction engine (a span processor cannot do this: by
  ``on_end`` the span is read-only, and exporters may already hold its attributes).
- :func:`ignored_call` applies ``patch(ignore=...)`` to a span about to start: a call to an ignored
  host or URL gets a non-recording span, which is never exported.
- :class:`XRayPropagator` writes the ``X-Amzn-Trace-Id`` header next to W3C ``traceparent`` on
  outgoing HTTP calls, as the X-Ray mode does (see :func:`install_propagator`).

Imported only by :mod:`._otel_instrument` (it needs ``opentelemetry-api``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import CarrierT, Getter, Setter, TextMapPropagator, default_setter
from opentelemetry.trace import SpanContext, Status, StatusCode

from . import _otel_map as otel_map
from ._otel_lite import guarded, scrub_attributes

__all__ = ["XRAY_HEADER", "ScrubSpan", "XRayPropagator", "ignored_call", "install_propagator"]

XRAY_HEADER = "X-Amzn-Trace-Id"
_URL_KEYS = ("url.full", "http.url")


class ScrubSpan(trace.Span):
    """A user's-provider span seen through the redaction engine; reads go to the span itself."""

    def __init__(self, span: trace.Span) -> None:
        self._span = span

    def __getattr__(self, name: str) -> Any:  # name, attributes, kind... as the wrapped span has them
        return getattr(self._span, name)

    def get_span_context(self) -> SpanContext:
        return self._span.get_span_context()

    def is_recording(self) -> bool:
        return self._span.is_recording()

    @guarded()
    def end(self, end_time: int | None = None) -> None:
        self._span.end(end_time)

    @guarded()
    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        self._span.set_attributes(scrub_attributes(attributes) or {})

    @guarded()
    def set_attribute(self, key: str, value: Any) -> None:
        self._span.set_attributes(scrub_attributes({key: value}) or {})

    @guarded()
    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None, timestamp: int | None = None) -> None:
        self._span.add_event(name, scrub_attributes(attributes), timestamp)

    @guarded()
    def add_link(self, context: SpanContext, attributes: Mapping[str, Any] | None = None) -> None:
        self._span.add_link(context, scrub_attributes(attributes))

    @guarded()
    def update_name(self, name: str) -> None:
        self._span.update_name(otel_map.clean_text(name))

    @guarded()
    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        if isinstance(status, Status):
            if status.description:
                status = Status(status.status_code, otel_map.clean_text(status.description))
            self._span.set_status(status)
        else:
            self._span.set_status(status, otel_map.clean_text(description) if description else None)

    @guarded()
    def record_exception(
        self,
        exception: BaseException,
        attributes: Mapping[str, Any] | None = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        # Built here, not by the SDK: its message would be str(exception), unscrubbed.
        extra = otel_map.exception_attributes(exception, exception.__traceback__, escaped)
        extra.update(scrub_attributes(attributes) or {})
        self._span.add_event("exception", extra, timestamp)


def ignored_call(attributes: Mapping[str, Any] | None, patterns: tuple[str, ...]) -> bool:
    """Whether a span starting with ``attributes`` is a call to a host or URL ``patch(ignore=...)`` names."""
    if not patterns or not attributes:
        return False
    from ._scrub import ignored

    for key in _URL_KEYS:
        url = attributes.get(key)
        if isinstance(url, str):
            return ignored({"http": {"request": {"url": url}}}, patterns)
    return False


class XRayPropagator(TextMapPropagator):
    """Writes the current span as an ``X-Amzn-Trace-Id`` header (inject only; extraction is W3C's)."""

    def extract(
        self, carrier: CarrierT, context: Context | None = None, getter: Getter[CarrierT] | None = None
    ) -> Context:
        return context if context is not None else Context()

    def inject(
        self, carrier: CarrierT, context: Context | None = None, setter: Setter[CarrierT] = default_setter
    ) -> None:
        span_context = trace.get_current_span(context).get_span_context()
        if not span_context.is_valid:
            return
        trace_id = f"{span_context.trace_id:032x}"
        sampled = "1" if span_context.trace_flags.sampled else "0"
        value = f"Root=1-{trace_id[:8]}-{trace_id[8:]};Parent={span_context.span_id:016x};Sampled={sampled}"
        setter.set(carrier, XRAY_HEADER, value)

    @property
    def fields(self) -> set[str]:
        return {XRAY_HEADER}


def install_propagator() -> None:
    """Add :class:`XRayPropagator` to the global propagator, once, unless one already writes the header."""
    current = propagate.get_global_textmap()
    if any(f.lower() == XRAY_HEADER.lower() for f in current.fields):
        return
    propagate.set_global_textmap(CompositePropagator([current, XRayPropagator()]))
