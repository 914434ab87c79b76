"""One span per record, ``## record``, under whatever is current (the handler's span under ``@traced``).

It carries the record's identifier and event source as annotations, and the record's upstream
trace (SQS ``attributes.AWSTraceHeader``): as a span link when the backend can make one
(``add_link(span, root, parent)``, the OpenTelemetry backends), else as the ``upstream_trace_id``
annotation (X-Ray). Tracing never changes what the record handler returns or raises: its own
failures are logged once at WARNING and swallowed.
"""

from __future__ import annotations

from typing import Any

from .. import _trace_header, _warn
from ..tracing import _context, _state

__all__ = ["NAME", "close", "open_span"]

NAME = "## record"


def _fail(exc: BaseException) -> None:
    _warn.once("batch-trace", "lambda_observe: tracing a batch record failed and was skipped: %r", exc)


def _upstream(record: dict[str, Any]) -> _trace_header.TraceHeader | None:
    attributes = record.get("attributes")
    if not isinstance(attributes, dict):
        return None
    return _trace_header.parse(attributes.get("AWSTraceHeader"))


def open_span(id_key: str, ident: str, source: str, record: dict[str, Any]) -> tuple[Any, Any, Any] | None:
    """Open the record's span and make it current; ``None`` when nothing is traced."""
    parent = _context.current()
    if parent is None:
        return None
    try:
        backend = _state.backend()
        span = backend.start(NAME, parent)
        if span is None:
            return None
    except Exception as exc:
        _fail(exc)
        return None
    try:
        backend.annotate(span, id_key, ident[:1000])
        backend.annotate(span, "event_source", source)
        upstream = _upstream(record)
        if upstream is not None:
            link = getattr(backend, "add_link", None)
            if link is not None:
                link(span, upstream.root, upstream.parent)
            else:
                backend.annotate(span, "upstream_trace_id", upstream.root)
    except Exception as exc:
        _fail(exc)
    return backend, span, _context.push(span)


def close(opened: tuple[Any, Any, Any], exc: BaseException | None) -> None:
    """Close the record's span, marked as faulted by ``exc`` when the record failed."""
    backend, span, token = opened
    try:
        _context.reset(token)
        if exc is not None:
            backend.record_exception(span, exc, exc.__traceback__)
        backend.finish(span)
    except Exception as failure:
        _fail(failure)
