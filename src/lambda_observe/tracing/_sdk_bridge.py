"""Pointing the X-Ray SDK's recorder at lambda_observe's context.

The SDK's library patchers call ``xray_recorder.begin_subsegment`` / ``end_subsegment``.
:class:`BridgeContext` answers them from our ContextVar stack, so their subsegments nest
under ours (across threads and asyncio tasks too) and are sent through our emitter, which
scrubs secrets. Outside an invocation, or untraced, the SDK gets a dummy entity: no
"cannot find the current segment", no warning.
"""

from __future__ import annotations

from typing import Any

from . import _context, _state
from ._scrub import ignored, scrub

__all__ = ["install"]

_INSTALLED: list[Any] = []


class BridgeContext:
    """An SDK ``Context`` whose truth is :mod:`lambda_observe.tracing._context`."""

    context_missing = "IGNORE_ERROR"

    def __init__(self) -> None:
        from aws_xray_sdk.core.models.dummy_entities import DummySegment
        from aws_xray_sdk.core.models.subsegment import Subsegment

        self._dummy = DummySegment()
        self._subsegment = Subsegment

    def get_trace_entity(self) -> Any:
        entity = _context.current()
        return self._dummy if entity is None else entity

    def put_subsegment(self, subsegment: Any) -> None:
        parent = _context.current()
        if parent is None or not getattr(subsegment, "sampled", False):
            return
        if type(subsegment) is not self._subsegment:  # a DummySubsegment: nothing to track
            return
        subsegment.parent_id = parent.id
        root = parent if parent.type == "segment" else parent.parent_segment
        root.open[subsegment.id] = subsegment
        _context.push(subsegment)

    def end_subsegment(self, end_time: float | None = None) -> bool:
        entity = _context.current()
        if type(entity) is not self._subsegment:
            return False
        entity.close(end_time)
        parent = _context.parent()
        _context.pop()
        entity.parent_segment.open.pop(entity.id, None)
        backend = _state.backend()
        adopt = getattr(backend, "adopt", None)
        if adopt is not None:
            doc = scrub(entity.to_dict())
            if not ignored(doc, getattr(getattr(backend, "emitter", None), "ignore", ())):
                adopt(parent, doc, True)
        return False  # sent or kept by its parent; the recorder has nothing left to stream

    # The rest of the SDK Context interface: segments are Lambda's, not ours.
    def put_segment(self, segment: Any) -> None:
        return None

    def end_segment(self, end_time: float | None = None) -> None:
        return None

    def set_trace_entity(self, trace_entity: Any) -> None:
        return None

    def clear_trace_entities(self) -> None:
        return None

    def handle_context_missing(self) -> None:
        return None


def install() -> None:
    """Configure the SDK's global recorder once: our context, our emitter, no sampling."""
    if _INSTALLED:
        return
    from aws_xray_sdk.core import xray_recorder

    backend = _state.backend()
    emitter = getattr(backend, "emitter", None)
    xray_recorder.configure(
        context=BridgeContext(),
        emitter=emitter,
        sampling=False,
        streaming_threshold=0,
        context_missing="IGNORE_ERROR",
    )
    _INSTALLED.append(xray_recorder)
