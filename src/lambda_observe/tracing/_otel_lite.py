"""The span of the minimal provider ``patch()`` uses in ``otlp`` mode (no SDK).

:class:`LiteSpan` implements the whole ``opentelemetry.trace.Span`` interface that
instrumentations use, including the read-side properties some of them consult (``name``,
``attributes``, ``kind``, ``status``...), on top of an :class:`~.otlp.OtlpSpan` record. Every
method is guarded: a failure inside it is logged once at WARNING and swallowed, so it can never
reach the user's handler through an instrumented library call.

Imported only by :mod:`._otel_instrument` (it needs ``opentelemetry-api``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, TypeVar, cast

from opentelemetry import trace
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from .. import _warn
from . import _otel_map as otel_map
from . import _otlp_proto as proto

__all__ = ["KINDS", "LiteSpan", "guarded", "scrub_attributes", "scrub_value"]

F = TypeVar("F", bound=Callable[..., Any])

#: OpenTelemetry API SpanKind -> OTLP kind number.
KINDS = {
    SpanKind.INTERNAL: otel_map.KIND_INTERNAL,
    SpanKind.SERVER: otel_map.KIND_SERVER,
    SpanKind.CLIENT: otel_map.KIND_CLIENT,
    SpanKind.PRODUCER: 4,
    SpanKind.CONSUMER: otel_map.KIND_CONSUMER,
}
_API_KINDS = {v: k for k, v in KINDS.items()}


def guarded(default: Any = None) -> Callable[[F], F]:
    """Run the method; on any failure warn once and return ``default`` (instrumentation never hurts)."""

    def wrap(method: F) -> F:
        @functools.wraps(method)
        def safe(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except Exception as exc:
                _warn.once(
                    f"otel-span-{method.__name__}",
                    "lambda_observe: an OpenTelemetry span operation (%s) failed and was skipped: %r",
                    method.__name__,
                    exc,
                )
                return default

        return cast(F, safe)

    return wrap


def scrub_value(key: str, value: Any) -> Any:
    """An attribute value as it may leave the process: URLs cleaned, every text through the redaction engine."""
    if isinstance(value, str):
        if ("url" in key or key == "http.target") and "://" in value:
            from ._scrub import clean_url

            value = clean_url(value)
        return otel_map.clean_text(value)
    if isinstance(value, (list, tuple)):
        return [scrub_value(key, v) for v in value]
    return value


def scrub_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Every attribute through :func:`scrub_value` (keys the redaction engine calls secret are masked)."""
    if attributes is None:
        return None
    from .. import redact

    engine = redact.get()
    return {
        k: (redact.REDACTED if isinstance(v, str) and engine.secret(k) else scrub_value(k, v))
        for k, v in attributes.items()
    }


def _now() -> int:
    return time.time_ns()


class LiteSpan(trace.Span):
    """An OpenTelemetry API span backed by an :class:`~lambda_observe.tracing.otlp.OtlpSpan`."""

    def __init__(self, record: Any, backend: Any) -> None:
        self._record = record
        self._backend = backend
        root = record.root
        flags = TraceFlags(TraceFlags.SAMPLED if root.sampled else TraceFlags.DEFAULT)
        self._context = SpanContext(
            trace_id=int.from_bytes(root.trace_id, "big"),
            span_id=int.from_bytes(record.span_id, "big"),
            is_remote=False,
            trace_flags=flags,
        )

    # --- what instrumentations read (the SDK's ReadableSpan surface they rely on) ---
    @property
    def name(self) -> str:
        return str(self._record.name)

    @property
    def attributes(self) -> Mapping[str, Any]:
        return MappingProxyType(self._record.attributes)

    @property
    def kind(self) -> SpanKind:
        return _API_KINDS.get(self._record.kind, SpanKind.INTERNAL)

    @property
    def status(self) -> Status:
        record = self._record
        return Status(StatusCode(record.status), record.status_message or None)

    @property
    def start_time(self) -> int:
        return int(self._record.start_ns)

    @property
    def end_time(self) -> int | None:
        return int(self._record.end_ns) or None

    @property
    def context(self) -> SpanContext:
        return self._context

    @property
    def events(self) -> Sequence[Any]:
        return ()

    @property
    def links(self) -> Sequence[Any]:
        return ()

    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return not self._record.end_ns

    # --- what instrumentations write ---
    @guarded()
    def end(self, end_time: int | None = None) -> None:
        record = self._record
        if record.end_ns:
            return
        ignore = getattr(self._backend.emitter, "ignore", ())
        if ignore:
            from ._scrub import ignored

            url = record.attributes.get("url.full") or record.attributes.get("http.url")
            if isinstance(url, str) and ignored({"http": {"request": {"url": url}}}, ignore):
                self._backend.drop(record)
                return
        self._backend.finish(record, end_time or 0)

    @guarded()
    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        if not self._record.end_ns:
            self._record.attributes.update(scrub_attributes(attributes) or {})

    @guarded()
    def set_attribute(self, key: str, value: Any) -> None:
        if not self._record.end_ns:
            self._record.attributes.update(scrub_attributes({key: value}) or {})

    @guarded()
    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None, timestamp: int | None = None) -> None:
        record = self._record
        if record.end_ns:
            return
        data = proto.event(timestamp or _now(), name, scrub_attributes(attributes) or {})
        if record.events is None:
            record.events = [data]
        else:
            record.events.append(data)

    @guarded()
    def add_link(self, context: SpanContext, attributes: Mapping[str, Any] | None = None) -> None:
        if not context.is_valid:
            return
        record = self._record
        link = proto.link(
            context.trace_id.to_bytes(16, "big"), context.span_id.to_bytes(8, "big"), scrub_attributes(attributes)
        )
        record.links = [*(record.links or ()), link]

    @guarded()
    def update_name(self, name: str) -> None:
        from ._span import clean_name

        self._record.name = clean_name(name)

    @guarded()
    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        if isinstance(status, Status):
            code, description = status.status_code, status.description
        else:
            code = status
        record = self._record
        if record.status == 1:  # OK is final
            return
        record.status = code.value
        record.status_message = otel_map.clean_text(description or "") if code == StatusCode.ERROR else ""

    @guarded()
    def record_exception(
        self,
        exception: BaseException,
        attributes: Mapping[str, Any] | None = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        extra = otel_map.exception_attributes(exception, exception.__traceback__, escaped)
        extra.update(attributes or {})
        self.add_event("exception", extra, timestamp)
