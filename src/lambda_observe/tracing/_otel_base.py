"""What the two OpenTelemetry backends share: how the public API maps onto a span, and how a span ends.

:class:`OtelBase` is the template both :class:`~.otlp.OtlpBackend` (spans encoded by us) and
:class:`~.otel.OtelBackend` (spans of the user's ``TracerProvider``) follow:

- **ending** a span happens once (:meth:`OtelBase.finish`, or the timeout warning): the backend
  records the end (``_close``), the span leaves its invocation's open spans, and when it is the
  handler's span (its parent is the invocation's root), or ends after the handler's span did, the
  invocation's spans are flushed (``flush``): Lambda may freeze the process right after;
- an **exception** gives status ERROR (``type: message``) and an ``exception`` event;
- the **timeout warning** gives an event that says so, status ERROR, and the end of the span;
- **metadata** becomes an attribute under its namespace (:func:`._otel_map.metadata_key`);
- an **upstream trace** in X-Ray form becomes a link, or without a span id an annotation.

Subclasses provide the span operations: ``_close``, ``_set_attribute``, ``_set_error``,
``_add_event``, ``_add_link``, ``annotate`` and ``flush``. Both span types carry ``end_ns`` (0
while open), ``root`` and ``parent``; both roots carry ``open`` and ``flushed``.

Nothing here imports ``opentelemetry``.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from . import _otel_map as otel_map

__all__ = ["OtelBase"]


class OtelBase:
    """The shared part of the ``otlp`` and ``otel`` backends (see the module's docstring)."""

    def finish(self, span: Any, end_ns: int = 0) -> None:
        """End ``span`` (at ``end_ns``, or now) unless it already ended (at the timeout warning)."""
        if span.end_ns:
            return
        self._close(span, end_ns)
        root = span.root
        root.open.pop(span, None)
        if span.parent is root or root.flushed:
            self.flush(root)

    def record_exception(self, span: Any, exc: BaseException, tb: TracebackType | None) -> None:
        attributes = otel_map.exception_attributes(exc, tb)
        self._set_error(span, f"{attributes['exception.type']}: {attributes['exception.message']}"[:1024])
        self._add_event(span, "exception", attributes)

    def mark_timeout(self, span: Any, message: str) -> None:
        """The timeout warning: an event that says so, status ERROR, and the span ends now."""
        if span.end_ns:
            return
        self._add_event(span, otel_map.TIMEOUT_EVENT, {"message": message})
        self._set_error(span, message)
        OtelBase.finish(self, span)  # only the span's end: a subclass's own steps (otel: OTel's context) come later

    def add_metadata(self, span: Any, namespace: str, key: str, value: Any) -> None:
        name = otel_map.metadata_key(namespace, key)
        if name is not None and not span.end_ns:  # an ended span (the timeout warning) takes nothing more
            self._set_attribute(span, name, otel_map.metadata_value(key, value))

    def add_link(self, span: Any, root: str, parent: str | None) -> None:
        """Link ``span`` to an upstream trace (an SQS record's, say), given in X-Ray form.

        A link needs a span id: without ``Parent`` the upstream trace id is an annotation instead,
        as in X-Ray mode (``upstream_trace_id``).
        """
        if len(root) != 35:
            return
        ids = otel_map.trace_ids(root, parent) if not parent or len(parent) == 16 else None
        if ids is None:
            return
        if ids[1] is None:
            self.annotate(span, "upstream_trace_id", root)
            return
        try:
            trace_id, span_id = bytes.fromhex(ids[0]), bytes.fromhex(ids[1])
        except ValueError:
            return
        self._add_link(span, trace_id, span_id)

    # --- what each backend does to its own spans ---
    def annotate(self, span: Any, key: str, value: str | float | bool) -> None:
        raise NotImplementedError

    def flush(self, root: Any) -> None:
        raise NotImplementedError

    def _close(self, span: Any, end_ns: int) -> None:
        """Record the end of ``span`` (its ``end_ns`` set, never 0) and hand it to its exporter."""
        raise NotImplementedError

    def _set_attribute(self, span: Any, key: str, value: Any) -> None:
        raise NotImplementedError

    def _set_error(self, span: Any, message: str) -> None:
        raise NotImplementedError

    def _add_event(self, span: Any, name: str, attributes: dict[str, Any]) -> None:
        raise NotImplementedError

    def _add_link(self, span: Any, trace_id: bytes, span_id: bytes) -> None:
        raise NotImplementedError
