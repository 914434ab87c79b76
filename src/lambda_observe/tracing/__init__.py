"""Tracing: ``subsegment``, ``capture``, ``annotate``, ``add_metadata``, ``patch``, ``propagate``, ``use_tracer``.

``traced`` lives in :mod:`lambda_observe._handler` (the invocation lifecycle, above tracing).
"""

from __future__ import annotations

from ._context import propagate
from ._state import use_tracer
from .api import add_metadata, annotate, capture, subsegment
from .patching import patch

__all__ = ["add_metadata", "annotate", "capture", "patch", "propagate", "subsegment", "use_tracer"]
