"""``patch()`` in the OTel modes: OpenTelemetry's own instrumentations, pointed at our spans.

Every instrumentation gets :data:`PROVIDER`, which looks at the active backend when a span
starts. In ``otel`` mode it hands the span to the user's provider, with URLs and connection strings
scrubbed from its starting attributes. In ``otlp`` mode it is a minimal provider (no SDK, no
processors, no threads) whose spans are the otlp backend's own, so they nest under the current
``subsegment``, are scrubbed, and travel in the same datagram. As AWS's lite SDK shows,
instrumentations need no more than the API.

Imported only by ``patch()`` in an OTel mode; it needs ``opentelemetry-api`` and the
instrumentation packages (``pip install "lambda-observe[otel]"``).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from .. import _warn
from . import _context
from . import _otel_map as otel_map
from . import _otlp_proto as proto

__all__ = ["INSTRUMENTORS", "PROVIDER", "DispatchProvider", "instrument"]

#: patch() name -> (instrumentation module, instrumentor class).
INSTRUMENTORS: dict[str, tuple[str, str]] = {
    "botocore": ("opentelemetry.instrumentation.botocore", "BotocoreInstrumentor"),
    "requests": ("opentelemetry.instrumentation.requests", "RequestsInstrumentor"),
    "httpx": ("opentelemetry.instrumentation.httpx", "HTTPXClientInstrumentor"),
    "httplib": ("opentelemetry.instrumentation.urllib", "URLLibInstrumentor"),
    "urllib3": ("opentelemetry.instrumentation.urllib3", "URLLib3Instrumentor"),
    "sqlite3": ("opentelemetry.instrumentation.sqlite3", "SQLite3Instrumentor"),
    "psycopg": ("opentelemetry.instrumentation.psycopg", "PsycopgInstrumentor"),
    "psycopg2": ("opentelemetry.instrumentation.psycopg2", "Psycopg2Instrumentor"),
    "pymysql": ("opentelemetry.instrumentation.pymysql", "PyMySQLInstrumentor"),
    "mysql": ("opentelemetry.instrumentation.mysql", "MySQLInstrumentor"),
    "redis": ("opentelemetry.instrumentation.redis", "RedisInstrumentor"),
}
_DONE: dict[str, Any] = {}


def instrument(name: str, provider: Any = None) -> None:
    """Apply the OpenTelemetry instrumentation for ``name`` once (its spans go to the active backend)."""
    if name in _DONE:
        return
    entry = INSTRUMENTORS.get(name)
    if entry is None:
        _warn.once(
            f"otel-no-instrumentation-{name}",
            "lambda_observe: patch(%r): no OpenTelemetry instrumentation for it; with LAMBDA_OBSERVE_TRACER=otlp "
            "or otel it is not traced (supported: %s)",
            name,
            ", ".join(sorted(INSTRUMENTORS)),
        )
        return
    module_name, class_name = entry
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        package = module_name.replace(".", "-")
        raise ImportError(f"{exc}; install it with: pip install 'lambda-observe[otel]' (or {package})") from exc
    instrumentor = getattr(module, class_name)()
    instrumentor.instrument(tracer_provider=provider or PROVIDER, skip_dep_check=True)
    _DONE[name] = instrumentor


def uninstrument_all() -> None:
    """Undo every instrumentation applied (for tests)."""
    while _DONE:
        _, instrumentor = _DONE.popitem()
        try:
            instrumentor.uninstrument()
        except Exception:
            pass


def scrub_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """URLs without passwords or secret query values; connection strings without passwords."""
    if not attributes:
        return None if attributes is None else {}
    out = dict(attributes)
    for key, value in attributes.items():
        if isinstance(value, str):
            out[key] = clean_attribute(key, value)
    return out


def clean_attribute(key: str, value: str) -> str:
    from ._scrub import clean_url

    if "url" in key or key == "http.target":
        return clean_url(value) if "://" in value else value
    if key.startswith("db."):
        return otel_map.clean_text(value)
    return value


# --- otlp mode: a minimal provider whose spans are the otlp backend's ---------------------------------------


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

    def get_span_context(self) -> SpanContext:
        return self._context

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def set_attribute(self, key: str, value: Any) -> None:
        if not self._record.end_ns:
            self._record.attributes[key] = clean_attribute(key, value) if isinstance(value, str) else value

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None, timestamp: int | None = None) -> None:
        record = self._record
        if record.end_ns:
            return
        data = proto.event(timestamp or _now(), name, dict(attributes or {}))
        if record.events is None:
            record.events = [data]
        else:
            record.events.append(data)

    def add_link(self, context: SpanContext, attributes: Mapping[str, Any] | None = None) -> None:
        record = self._record
        link = proto.link(
            context.trace_id.to_bytes(16, "big"), context.span_id.to_bytes(8, "big"), dict(attributes or {})
        )
        record.links = [*(record.links or ()), link]

    def update_name(self, name: str) -> None:
        from ._span import clean_name

        self._record.name = clean_name(name)

    def is_recording(self) -> bool:
        return not self._record.end_ns

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

    def record_exception(
        self,
        exception: BaseException,
        attributes: Mapping[str, Any] | None = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        extra = otel_map.exception_attributes(exception, exception.__traceback__)
        extra.update(attributes or {})
        self.add_event("exception", extra, timestamp)


def _now() -> int:
    import time

    return time.time_ns()


_KINDS = {
    SpanKind.INTERNAL: otel_map.KIND_INTERNAL,
    SpanKind.SERVER: otel_map.KIND_SERVER,
    SpanKind.CLIENT: otel_map.KIND_CLIENT,
    SpanKind.PRODUCER: 4,
    SpanKind.CONSUMER: otel_map.KIND_CONSUMER,
}


class DispatchTracer(trace.Tracer):
    """Makes spans for one instrumentation through whichever OTel backend is active at the call.

    otlp: a :class:`LiteSpan` under the current lambda_observe span (or the current OTel span of
    ours). otel: a span from the user's provider, with its starting attributes scrubbed. Any other
    backend (tracing off, X-Ray): a non-recording span.
    """

    def __init__(self, name: str, version: str) -> None:
        self._name = name
        self._version = version
        self._scope = proto.scope(name, version)
        self._tracers: dict[int, Any] = {}

    def start_span(
        self,
        name: str,
        context: Any = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, Any] | None = None,
        links: Sequence[Any] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        from . import _state
        from .otlp import OtlpBackend, OtlpRoot, OtlpSpan

        backend = _state.backend()
        if not isinstance(backend, OtlpBackend):
            provider = getattr(backend, "provider", None)
            if provider is None:
                return trace.INVALID_SPAN
            tracer = self._tracers.get(id(provider))
            if tracer is None:
                tracer = self._tracers[id(provider)] = provider.get_tracer(self._name, self._version or None)
            return tracer.start_span(  # type: ignore[no-any-return]
                name,
                context,
                kind,
                scrub_attributes(attributes),
                links,
                start_time,
                record_exception,
                set_status_on_exception,
            )
        current = trace.get_current_span(context)
        if isinstance(current, LiteSpan) and not current._record.end_ns:
            parent: Any = current._record
        else:
            parent = _context.current()
            if not isinstance(parent, (OtlpSpan, OtlpRoot)) or (isinstance(parent, OtlpSpan) and parent.end_ns):
                return trace.INVALID_SPAN
        record = backend.start(name, parent)
        record.kind = _KINDS.get(kind, otel_map.KIND_INTERNAL)
        record.scope = self._scope
        if start_time:
            record.start_ns = start_time
        span = LiteSpan(record, backend)
        if attributes:
            span.set_attributes(attributes)
        for link in links or ():
            span.add_link(link.context, link.attributes)
        return span

    @contextmanager
    def start_as_current_span(  # type: ignore[override]  # the API returns a private context manager class
        self,
        name: str,
        context: Any = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, Any] | None = None,
        links: Sequence[Any] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[trace.Span]:
        span = self.start_span(name, context, kind, attributes, links, start_time)
        with trace.use_span(
            span,
            end_on_exit=end_on_exit,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        ) as current:
            yield current


class DispatchProvider(trace.TracerProvider):
    """The provider every instrumentation gets from ``patch()`` in an OTel mode."""

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Any = None,
    ) -> trace.Tracer:
        return DispatchTracer(instrumenting_module_name, instrumenting_library_version or "")


PROVIDER = DispatchProvider()
