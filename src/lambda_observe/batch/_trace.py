"""One span per record, ``## record``, under whatever is current (the handler's span under ``@traced``).

It carries the record's identifier and event source as annotations, and the record's upstream
trace (SQS ``attributes.AWSTraceHeader``): as a span link when the backend can make one
(``add_link(span, root, parent)``, the OpenTelemetry backends), else as the ``upstream_trace_id``
annotation (X-Ray). Tracing never changes what the record handler returns or raises: its own
failures are logged once at WARNING and swallowed.

What is the same for every record (the backend, the parent span, whether the backend links) is
looked up once per batch, by :func:`spans_for`: a record's span is then a ``start``, two
annotations and a push. The parent cannot change between records: each record's context is reset
when it ends, whatever its handler pushed.
"""

from __future__ import annotations

import re
from typing import Any

from .. import _trace_header, _warn
from ..tracing import _context, _state

__all__ = ["NAME", "Opened", "RecordSpans", "spans_for", "upstream"]

NAME = "## record"
#: What :meth:`RecordSpans.open` returns and :meth:`RecordSpans.close` takes: the span and its context token.
Opened = tuple[Any, Any]

#: The header as AWS writes it on an SQS message: Root, Parent, then optionally Sampled and Lineage, with
#: no other field (a later Root or Parent would win in :func:`lambda_observe._trace_header.parse`).
_CANONICAL = re.compile(
    r"Root=(1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24});Parent=([0-9a-fA-F]{16})(?:;Sampled=[^;]*)?(?:;Lineage=[^;]*)?"
)


def _fail(exc: BaseException) -> None:
    _warn.once("batch-trace", "lambda_observe: tracing a batch record failed and was skipped: %r", exc)


def upstream(raw: Any) -> tuple[str, str | None] | None:
    """``(root, parent)`` of an ``AWSTraceHeader``, or ``None`` when absent or malformed.

    The header as AWS writes it is read with one regular expression; any other shape goes to
    :func:`lambda_observe._trace_header.parse`, the one reading of the header (a test holds the two
    to the same answers).
    """
    if type(raw) is str:
        found = _CANONICAL.fullmatch(raw)
        if found is not None:
            return found.group(1), found.group(2)
    parsed = _trace_header.parse(raw)
    return None if parsed is None else (parsed.root, parsed.parent)


class RecordSpans:
    """The ``## record`` spans of one batch: the backend, the parent and the annotations' keys, fixed once."""

    __slots__ = ("_annotate", "_backend", "_id_key", "_link", "_parent", "_source")

    def __init__(self, backend: Any, parent: Any, id_key: str, source: str) -> None:
        self._backend = backend
        self._annotate = backend.annotate
        self._link = getattr(backend, "add_link", None)
        self._parent = parent
        self._id_key = id_key
        self._source = source

    def open(self, ident: str, record: dict[str, Any]) -> Opened | None:
        """Open the record's span and make it current; ``None`` when the backend made none."""
        try:
            span = self._backend.start(NAME, self._parent)
            if span is None:
                return None
        except Exception as exc:
            _fail(exc)
            return None
        try:
            annotate = self._annotate
            annotate(span, self._id_key, ident if len(ident) <= 1000 else ident[:1000])
            annotate(span, "event_source", self._source)
            attributes = record.get("attributes")
            if isinstance(attributes, dict):
                raw = attributes.get("AWSTraceHeader")
                if raw is not None:
                    found = upstream(raw)
                    if found is not None:
                        if self._link is not None:
                            self._link(span, found[0], found[1])
                        else:
                            annotate(span, "upstream_trace_id", found[0])
        except Exception as exc:
            _fail(exc)
        return span, _context.push(span)

    def close(self, opened: Opened, exc: BaseException | None) -> None:
        """Close the record's span, marked as faulted by ``exc`` when the record failed."""
        span, token = opened
        try:
            _context.reset(token)
            if exc is not None:
                self._backend.record_exception(span, exc, exc.__traceback__)
            self._backend.finish(span)
        except Exception as failure:
            _fail(failure)


def spans_for(id_key: str, source: str) -> RecordSpans | None:
    """The record spans of a batch starting now; ``None`` when nothing is traced (no current span)."""
    parent = _context.current()
    if parent is None:
        return None
    try:
        backend = _state.backend()
        return RecordSpans(backend, parent, id_key, source)
    except Exception as exc:
        _fail(exc)
        return None
