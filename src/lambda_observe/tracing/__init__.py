"""Tracing: ``subsegment``, ``capture``, ``annotate``, ``add_metadata``, ``patch``, ``propagate``, ``use_tracer``.

``traced`` lives in :mod:`lambda_observe._handler` (the invocation lifecycle, above tracing).
Each name is loaded on first use (PEP 562), so ``from lambda_observe import patch`` loads
:mod:`.patching` alone, not the span API and the backend machinery (issue #17).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["add_metadata", "annotate", "capture", "patch", "propagate", "subsegment", "use_tracer"]

_WHERE = {
    "add_metadata": ".api",
    "annotate": ".api",
    "capture": ".api",
    "patch": ".patching",
    "propagate": "._context",
    "subsegment": ".api",
    "use_tracer": "._state",
}

if TYPE_CHECKING:
    from ._context import propagate
    from ._state import use_tracer
    from .api import add_metadata, annotate, capture, subsegment
    from .patching import patch


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'lambda_observe.tracing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
