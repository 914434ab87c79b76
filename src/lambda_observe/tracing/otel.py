"""The ``otel`` backend: spans through the user's OpenTelemetry ``TracerProvider``.

Spans are made with ``opentelemetry.trace.get_tracer_provider()`` (or a provider given in code),
so whatever SDK, processors and exporters the user (or the ADOT layer) configured receive them.
The handler's span continues the X-Ray trace from ``_X_AMZN_TRACE_ID`` as a remote parent; each
span is also made current in OpenTelemetry's own context while it is open, so OTel
instrumentations (botocore, requests...) nest their spans under ours. When the handler's span
ends the provider is flushed (``force_flush``), as Lambda may freeze the process right after.

This module is imported only when ``otel`` is the chosen tracer.
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from .. import _warn
from . import _otel_map as otel_map
from ._otel_base import OtelBase
from ._span import clean_name

__all__ = ["OtelBackend", "OtelRoot", "OtelSpan"]

_KINDS = {otel_map.KIND_SERVER: SpanKind.SERVER, otel_map.KIND_CONSUMER: SpanKind.CONSUMER}


class OtelRoot:
    """The remote parent from the X-Ray header, as an OpenTelemetry context."""

    __slots__ = ("context", "flushed", "id", "inv", "open", "sampled", "trace_id")
    type = "segment"

    def __init__(self, trace_id: int, parent_id: int | None, sampled: bool, inv: Any) -> None:
        self.trace_id = trace_id
        self.id = f"{parent_id:016x}" if parent_id else ""
        self.sampled = sampled
        self.inv = inv
        self.open: dict[Any, Any] = {}
        self.flushed = False
        if parent_id is None:  # a header without Parent: the handler's span is a root, as in otlp mode
            self.context = otel_context.Context()
            return
        flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
        parent = SpanContext(trace_id=trace_id, span_id=parent_id, is_remote=True, trace_flags=flags)
        self.context = trace.set_span_in_context(NonRecordingSpan(parent))


class OtelSpan:
    """An OpenTelemetry span with what the public API needs around it."""

    __slots__ = ("annotations", "end_ns", "id", "name", "parent", "root", "span", "start_time", "token")
    type = "subsegment"

    def __init__(self, name: str, span: Any, parent: Any, root: OtelRoot, start_time: float) -> None:
        self.name = name
        self.span = span
        self.parent = parent
        self.root = root
        self.id = f"{span.get_span_context().span_id:016x}"
        self.annotations: list[str] = []
        self.end_ns = 0  # when lambda_observe ended it (0: still open)
        self.start_time = start_time
        self.token: Any = None


class OtelBackend(OtelBase):
    """Creates spans through an OpenTelemetry ``TracerProvider``."""

    name = "otel"

    def __init__(self, provider: Any = None, ignore: tuple[str, ...] = ()) -> None:
        self._provider = provider
        self._tracer: Any = None
        self.ignore = ignore  # host or URL patterns whose instrumented calls are not traced (patch(ignore=...))

    @property
    def provider(self) -> Any:
        return self._provider if self._provider is not None else trace.get_tracer_provider()

    def tracer(self) -> Any:
        if self._tracer is None:
            from .. import __version__

            self._tracer = self.provider.get_tracer("lambda_observe", __version__)
        return self._tracer

    def root(self, invocation: Any) -> OtelRoot | None:
        header = invocation.trace
        if header is None:
            return None
        if self._provider is None and isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            _warn.once(
                "otel-no-provider",
                "lambda_observe: LAMBDA_OBSERVE_TRACER=otel but no OpenTelemetry TracerProvider is set "
                "(opentelemetry.trace.set_tracer_provider, or the ADOT layer): spans go nowhere",
            )
        ids = otel_map.trace_ids(header.root, header.parent)
        if ids is None:  # an all-zero Root or Parent: untraced, as a malformed header is
            return None
        trace_id, parent = ids
        return OtelRoot(int(trace_id, 16), int(parent, 16) if parent else None, header.sampled, invocation)

    def _open(self, name: str, parent: Any, kind: Any, attributes: dict[str, Any] | None) -> OtelSpan:
        root = parent if isinstance(parent, OtelRoot) else parent.root
        ctx = root.context if isinstance(parent, OtelRoot) else trace.set_span_in_context(parent.span)
        cleaned = clean_name(name)
        span = self.tracer().start_span(cleaned, context=ctx, kind=kind, attributes=attributes)
        wrapped = OtelSpan(cleaned, span, parent, root, time.time())
        wrapped.token = otel_context.attach(trace.set_span_in_context(span, ctx))
        root.open[wrapped] = wrapped  # not by span id: a no-op provider gives every span id 0
        return wrapped

    def start(self, name: str, parent: Any, namespace: str | None = None) -> OtelSpan:
        return self._open(name, parent, SpanKind.INTERNAL, None)

    def start_handler(self, name: str, root: OtelRoot, inv: Any, event: Any) -> OtelSpan:
        """The handler's span: kind and FaaS attributes from the event; its ids on the log lines."""
        faas_trigger, kind = otel_map.trigger(event)
        span = self._open(name, root, _KINDS.get(kind, SpanKind.SERVER), otel_map.handler_attributes(inv, faas_trigger))
        made = span.span.get_span_context()  # a root span's trace id is the provider's, not the header's
        # Without a recording provider the "span" is the header's parent (or all zeros): no ids of a span
        # of ours to correlate with, so none are written; nor for ids out of OTel's range (an IdGenerator's).
        valid = made.is_valid and 0 < made.trace_id < 1 << 128 and 0 < made.span_id < 1 << 64
        inv.ids = (f"{made.trace_id:032x}", f"{made.span_id:016x}") if valid and span.span.is_recording() else None
        return span

    def finish(self, span: OtelSpan, end_ns: int = 0) -> None:
        super().finish(span, end_ns)
        token = span.token
        if token is not None:
            span.token = None
            try:
                otel_context.detach(token)
            except Exception:
                pass

    def _close(self, span: OtelSpan, end_ns: int) -> None:
        span.end_ns = end_ns or time.time_ns()
        if span.annotations:
            span.span.set_attribute(otel_map.ANNOTATIONS_KEY, list(span.annotations))
        span.span.end(end_ns or None)

    def flush(self, root: OtelRoot) -> None:
        """Flush the provider (``force_flush``): Lambda may freeze the process once the handler returns."""
        root.flushed = True
        flush = getattr(self.provider, "force_flush", None)
        if flush is not None:
            try:
                flush()
            except Exception as exc:
                _warn.once("otel-flush", "lambda_observe: the tracer provider could not flush: %r", exc)

    def annotate(self, span: Any, key: str, value: str | float | bool) -> None:
        if span.end_ns:  # after the timeout warning: the SDK would warn about an ended span
            return
        span.span.set_attribute(key, value)
        if key not in span.annotations:
            span.annotations.append(key)

    def _set_attribute(self, span: Any, key: str, value: Any) -> None:
        span.span.set_attribute(key, value)

    def _set_error(self, span: Any, message: str) -> None:
        span.span.set_status(Status(StatusCode.ERROR, message))

    def _add_event(self, span: Any, name: str, attributes: dict[str, Any]) -> None:
        span.span.add_event(name, attributes)

    def instrument(self, name: str) -> None:
        """``patch(name)`` in otel mode: the OpenTelemetry instrumentation, on the user's provider."""
        from ._otel_instrument import instrument

        instrument(name)

    def _add_link(self, span: Any, trace_id: bytes, span_id: bytes) -> None:
        context = SpanContext(
            trace_id=int.from_bytes(trace_id, "big"),
            span_id=int.from_bytes(span_id, "big"),
            is_remote=True,
            trace_flags=TraceFlags(TraceFlags.SAMPLED),
        )
        add = getattr(span.span, "add_link", None)
        if add is not None:
            add(context)
