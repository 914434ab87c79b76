"""``patch()`` in the OTel modes: OpenTelemetry's own instrumentations, pointed at our spans.

Every instrumentation gets :data:`PROVIDER`, which looks at the active backend when a span
starts. In ``otel`` mode it hands the span to the user's provider, wrapped so that every attribute,
event and status set on it is scrubbed (:mod:`._otel_guard`). In ``otlp`` mode it is a minimal provider (no SDK, no
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
from opentelemetry.trace import SpanContext, SpanKind

from .. import _warn
from . import _context
from . import _otel_map as otel_map
from . import _otlp_proto as proto
from ._otel_guard import ScrubSpan, ignored_call, install_propagator
from ._otel_lite import KINDS, LiteSpan, scrub_attributes

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
    if name in _HTTP_CLIENTS:
        install_propagator()  # X-Amzn-Trace-Id beside traceparent, as the X-Ray mode sends it


def uninstrument_all() -> None:
    """Undo every instrumentation applied (for tests)."""
    while _DONE:
        _, instrumentor = _DONE.popitem()
        try:
            instrumentor.uninstrument()
        except Exception:
            pass


#: Instrumentations of HTTP clients whose calls should carry X-Amzn-Trace-Id. Not botocore: the AWS
#: SDK writes that header itself, and its instrumentation would put it into SQS / SNS message attributes.
_HTTP_CLIENTS = frozenset({"requests", "httpx", "httplib", "urllib3"})


def _parent_span_context(context: Any) -> SpanContext:
    return trace.get_current_span(context).get_span_context()


class DispatchTracer(trace.Tracer):
    """Makes spans for one instrumentation through whichever OTel backend is active at the call.

    otlp: a :class:`LiteSpan` under the current lambda_observe span (or the current OTel span of
    ours). otel: a span from the user's provider seen through :class:`ScrubSpan` (everything set on
    it is scrubbed), or a non-recording one for a call ``patch(ignore=...)`` names. Any other
    backend (tracing off, X-Ray): a non-recording span. Nothing raised here reaches the caller.
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
        try:
            return self._start(
                name, context, kind, attributes, links, start_time, record_exception, set_status_on_exception
            )
        except Exception as exc:  # our failure must not reach the instrumented call
            _warn.once("otel-start-span", "lambda_observe: could not start an OpenTelemetry span: %r", exc)
            return trace.INVALID_SPAN

    def _start(
        self,
        name: str,
        context: Any,
        kind: SpanKind,
        attributes: Mapping[str, Any] | None,
        links: Sequence[Any] | None,
        start_time: int | None,
        record_exception: bool,
        set_status_on_exception: bool,
    ) -> trace.Span:
        from . import _state
        from .otlp import OtlpBackend, OtlpRoot, OtlpSpan

        backend = _state.backend()
        if not isinstance(backend, OtlpBackend):
            provider = getattr(backend, "provider", None)
            if provider is None:
                return trace.INVALID_SPAN
            if ignored_call(attributes, getattr(backend, "ignore", ())):
                return trace.NonRecordingSpan(_parent_span_context(context))
            tracer = self._tracers.get(id(provider))
            if tracer is None:
                tracer = self._tracers[id(provider)] = provider.get_tracer(self._name, self._version or None)
            return ScrubSpan(
                tracer.start_span(
                    name,
                    context,
                    kind,
                    scrub_attributes(attributes),
                    links,
                    start_time,
                    record_exception,
                    set_status_on_exception,
                )
            )
        current = trace.get_current_span(context)
        if isinstance(current, LiteSpan) and not current._record.end_ns:
            parent: Any = current._record
        else:
            parent = _context.current()
            if not isinstance(parent, (OtlpSpan, OtlpRoot)) or (isinstance(parent, OtlpSpan) and parent.end_ns):
                return trace.INVALID_SPAN
        record = backend.start(name, parent)
        record.kind = KINDS.get(kind, otel_map.KIND_INTERNAL)
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
