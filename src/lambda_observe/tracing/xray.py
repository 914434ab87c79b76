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
document would not fit one datagram, children are sent on their own with their parent's id
(:func:`lambda_observe.tracing._emitter.pack`). The handler's subsegment is sent when the
invocation ends.

The timeout warning (:meth:`XRayBackend.mark_timeout`) sends each subsegment still open as an
``in_progress`` document, X-Ray's way of saying "still running", after sending the closed
children it was holding on their own. If Lambda then kills the process, that is what X-Ray
keeps. If the handler ends in time, the final document of the same id replaces the in-progress
one (X-Ray keeps the last document of an id), complete and without any timeout fault: the
warning never changes the span itself.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any

from .. import redact
from .._invocation import Invocation
from ._emitter import UDPEmitter
from ._span import Root, Span

__all__ = ["MAX_BUFFERED", "XRayBackend"]

#: Closed children a parent keeps for its own document before sending them on their own. A batch
#: of up to 200 records thus goes out in as few datagrams as fit its bytes (the emitter splits by
#: size), instead of one datagram a record; the timeout warning sends what a parent holds.
MAX_BUFFERED = 200
_ADOPT = threading.Lock()


class XRayBackend:
    """Builds X-Ray subsegments and sends them over UDP."""

    def __init__(self, emitter: UDPEmitter) -> None:
        self.emitter = emitter

    def root(self, invocation: Invocation) -> Root | None:
        trace = invocation.trace
        if trace is None or not trace.sampled or trace.parent is None:  # no parent: nothing to attach to
            return None
        return Root(trace.root, trace.parent, True)

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
        parent = span.parent
        self.adopt(parent, doc)
        if isinstance(parent, Root):  # the handler's subsegment: the invocation's last document
            parent.causes.clear()
            self.emitter.report()  # one WARNING for this invocation's drops, if it had any

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
        """Send ``doc``; the emitter splits it when its nested children make it too large."""
        self.emitter.send(doc, external)

    def annotate(self, span: Any, key: str, value: str | float | bool) -> None:
        span.annotations[key] = value

    def add_metadata(self, span: Any, namespace: str, key: str, value: Any) -> None:
        engine = redact.get()  # objects are rendered first, so a dataclass's password field is seen too
        span.metadata.setdefault(namespace, {})[key] = redact.REDACTED if engine.secret(key) else engine.clean(value)

    def record_exception(self, span: Any, exc: BaseException, tb: TracebackType | None) -> None:
        if isinstance(span, Span):
            span.record_exception(exc, tb)
        else:  # an SDK subsegment
            import traceback

            span.add_exception(exc, traceback.extract_tb(tb))

    def mark_timeout(self, span: Any, message: str) -> None:
        """The timeout warning: send ``span`` as still running (``in_progress``), leaving it unchanged.

        Closed children it holds are sent first on their own (so they are sent once, and survive
        the kill); the in-progress document carries the warning in its metadata. The span's own
        state (fault, cause, end) is not touched: its final document tells what really happened.
        """
        note = {_WARNING_KEY: message}
        if isinstance(span, Span):
            held = None
            if _ADOPT.acquire(timeout=0.05):  # the alarm may interrupt a thread holding it: never wait long
                try:
                    held, span.children = span.children, None
                finally:
                    _ADOPT.release()
            for child in held or ():
                self.send(child)
            doc = span.to_dict()
            doc["in_progress"] = True
            doc.pop("end_time", None)
            doc.pop("subsegments", None)
            metadata = dict(doc.get("metadata") or {})
            metadata["lambda_observe"] = {**metadata.get("lambda_observe", {}), **note}
            doc["metadata"] = metadata
            self.emitter.send(doc)
        else:  # an SDK subsegment, sent by the SDK when it closes
            doc = span.to_dict()
            doc.update(in_progress=True, parent_id=getattr(span, "parent_id", None))
            doc.pop("end_time", None)
            doc.pop("subsegments", None)
            doc.setdefault("metadata", {})["lambda_observe"] = note
            self.emitter.send(doc, external=True)


_WARNING_KEY = "timeout_warning"
