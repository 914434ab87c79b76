"""The AWS X-Ray backend.

The hot path (the handler's subsegment, ``subsegment()``, ``@capture``) builds documents
itself and sends them straight to the daemon: it never enters the X-Ray SDK, whose Lambda
context re-reads and re-parses ``_X_AMZN_TRACE_ID`` on every entity lookup. The SDK is
imported only by :func:`lambda_observe.patch`, for its library patchers, and its recorder
is pointed at our context (see :mod:`lambda_observe.tracing._sdk_bridge`).

A closed subsegment travels inside its parent's document (the X-Ray format allows nested
``subsegments``), so a small trace costs one datagram per invocation rather than one per
subsegment: on Lambda each datagram is a system call and a wake-up of the daemon. A parent
holds at most :data:`MAX_BUFFERED` closed children; beyond that, and whenever the nested
document would not fit one datagram, children are sent on their own with their parent's id.
The handler's subsegment is sent when the invocation ends, and the timeout warning sends
whatever is still open (with its closed children) before Lambda kills the process.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any

from .._invocation import Invocation
from ._emitter import UDPEmitter, encode_nested
from ._span import Root, Span, new_id

__all__ = ["MAX_BUFFERED", "XRayBackend"]

#: Closed children a parent keeps for its own document before sending them on their own.
MAX_BUFFERED = 30
_ADOPT = threading.Lock()


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
        with _ADOPT:
            doc = span.to_dict()
            span.children = None
        self.adopt(span.parent, doc)

    def adopt(self, parent: Any, doc: dict[str, Any], external: bool = False) -> None:
        """Keep a closed child's document in its open parent, or send it now."""
        if isinstance(parent, Span):
            with _ADOPT:
                if parent.end_time is None:
                    kids = parent.children
                    if kids is None:
                        parent.children = [doc]
                        return
                    if len(kids) < MAX_BUFFERED:
                        kids.append(doc)
                        return
        self.send(doc, external)

    def send(self, doc: dict[str, Any], external: bool = False) -> None:
        """Send ``doc``; if its nested children make it too large, send them on their own first."""
        children = doc.get("subsegments")
        if children:
            payload = encode_nested(doc)
            if payload is None:
                del doc["subsegments"]
                for child in children:
                    self.send(child, external)
            elif not external:  # ours, and it fits: send what was just encoded, not a second encoding
                self.emitter.send_payload(payload)
                return
        self.emitter.send(doc, external)

    def annotate(self, span: Any, key: str, value: str | float | bool) -> None:
        span.annotations[key] = value

    def add_metadata(self, span: Any, namespace: str, key: str, value: Any) -> None:
        from .. import _json, redact

        engine = redact.get()  # objects are rendered first, so a dataclass's password field is seen too
        span.metadata.setdefault(namespace, {})[key] = (
            redact.REDACTED if engine.secret(key) else engine(_json.safe(value))
        )

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
