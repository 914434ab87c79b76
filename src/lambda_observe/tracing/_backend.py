"""The interface between the public tracing API and a tracing system.

The public functions (``traced``, ``subsegment``, ``capture``, ``annotate``...) only call
these methods, so a different tracing system (OpenTelemetry is next) plugs in behind the
same API. :class:`NoopBackend` is what runs when tracing is off: it makes nothing.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Protocol

from .._invocation import Invocation

__all__ = ["Backend", "NoopBackend"]


class Backend(Protocol):
    """What a tracing system must do for lambda_observe.

    Two methods are optional, looked up with ``getattr`` by their callers:
    ``start_handler(name, root, invocation, event)`` (used instead of ``start`` for the handler's
    span: the OTel backends give it its kind and FaaS attributes from the event) and
    ``add_link(span, root, parent)`` (link a span to an upstream trace given in X-Ray form,
    ``root`` ``1-xxxxxxxx-yyyy...`` and ``parent`` a 16-hex id or None).
    """

    def root(self, invocation: Invocation) -> Any | None:
        """The parent for the handler's span, or ``None`` if this invocation is not traced."""

    def start(self, name: str, parent: Any, namespace: str | None = None) -> Any:
        """Open a span under ``parent`` (a root or a span)."""

    def finish(self, span: Any) -> None:
        """Close ``span`` and send it."""

    def annotate(self, span: Any, key: str, value: str | float | bool) -> None:
        """Set an indexed key/value on ``span`` (already validated by the caller)."""

    def add_metadata(self, span: Any, namespace: str, key: str, value: Any) -> None:
        """Attach an unindexed value to ``span``."""

    def record_exception(self, span: Any, exc: BaseException, tb: TracebackType | None) -> None:
        """Mark ``span`` as failed by ``exc``."""

    def mark_timeout(self, span: Any, message: str) -> None:
        """Close ``span`` now with a timeout cause and send it (the process is about to be killed)."""


class NoopBackend:
    """Tracing switched off: every method is free and makes nothing."""

    def root(self, invocation: Invocation) -> None:
        return None

    def start(self, name: str, parent: Any, namespace: str | None = None) -> None:
        return None

    def finish(self, span: Any) -> None:
        return None

    def annotate(self, span: Any, key: str, value: str | float | bool) -> None:
        return None

    def add_metadata(self, span: Any, namespace: str, key: str, value: Any) -> None:
        return None

    def record_exception(self, span: Any, exc: BaseException, tb: TracebackType | None) -> None:
        return None

    def mark_timeout(self, span: Any, message: str) -> None:
        return None
