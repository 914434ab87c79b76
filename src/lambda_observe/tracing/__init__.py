"""Tracing: ``traced``, ``subsegment``, ``capture``, ``annotate``, ``add_metadata``, ``patch``."""

from __future__ import annotations

from ._context import propagate
from ._traced import traced
from .api import add_metadata, annotate, capture, subsegment
from .patching import patch

__all__ = ["add_metadata", "annotate", "capture", "patch", "propagate", "subsegment", "traced"]
