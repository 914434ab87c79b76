"""The AWS X-Ray backend.

The hot path (the handler's subsegment, ``subsegment()``, ``@capture``) builds documents
itself and sends them straight to the daemon: it never enters the X-Ray SDK, whose Lambda
context re-reads and re-parses ``_X_AMZN_TRACE_ID`` on every entity lookup. The SDK is
imported only by :func:`lambda_observe.patch`, for its library patchers, and its recorder
is pointed at our context (see :mod:`lambda_observe.tracing._sdk_bridge`).

As in Lambda's own SDK mode, every subsegment is sent as its own datagram when it closes,
with the parent's id, so a process killed mid-invocation has still sent what finished.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from .._invocation import Invocation
from ._emitter import UDPEmitter
from ._span import Root, Span, new_id

__all__ = ["XRayBackend"]


class XRayBackend:
    """Builds X-Ray subsegments and sends them over UDP."""

    def __init__(self, emitter: UDPEmitter) -> None:
        self.emitter = emitter

    def root(self, invocation: Invocation) -> Root | None:
        trace = invocation.trace
        if trace is None or not trace.sampled:
            return None
        return Root(trace.root, trace.parent or new_id(), True)

    def start(self, name: str, parent: Any, namespace: str | None = None) -> Span:
        root = parent if isinstance(parent, Root) else parent.parent_segment
        span = Span(name, parent, root, namespace)
        root.open[span.id] = span
        return span

    def finish(self, span: Span) -> None:
        span.end_time = time.time()
        span.parent_segment.open.pop(span.id, None)
        self.emitter.send(span.to_dict())

    def annotate(self, span: Any, key: str, value: str | float | bool) -> None:
        span.annotations[key] = value

    def add_metadata(self, span: Any, namespace: str, key: str, value: Any) -> None:
        span.metadata.setdefault(namespace, {})[key] = value

    def record_exception(self, span: Any, exc: BaseException, tb: TracebackType | None) -> None:
        if isinstance(span, Span):
            span.record_exception(exc, tb)
        else:  # an SDK subsegment
            import traceback

            span.add_exception(exc, traceback.extract_tb(tb))

    def mark_timeout(self, span: Any, message: str) -> None:
        span.fault = True
        if isinstance(span, Span):
            span.timed_out = True
            span.cause = {
                "working_directory": "",
                "exceptions": [{"id": new_id(), "type": "TimeoutWarning", "message": message, "remote": False}],
            }
            doc = span.to_dict()
            doc["end_time"] = time.time()
            doc.pop("in_progress", None)
            self.emitter.send(doc)
        else:
            doc = span.to_dict()
            doc.update(end_time=time.time(), fault=True, parent_id=getattr(span, "parent_id", None))
            doc.pop("in_progress", None)
            doc["cause"] = {
                "working_directory": "",
                "exceptions": [{"id": new_id(), "type": "TimeoutWarning", "message": message, "remote": False}],
            }
            self.emitter.send(doc, external=True)
