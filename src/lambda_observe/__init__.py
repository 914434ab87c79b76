"""lambda_observe: make an AWS Lambda function observable with one decorator.

``import lambda_observe`` only defines names: nothing is patched, no handler is attached,
no SDK is imported. Each name is loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "add_dimension",
    "add_metadata",
    "add_metric",
    "annotate",
    "append_keys",
    "capture",
    "flush_metrics",
    "get_logger",
    "idempotent",
    "idempotent_function",
    "is_cold_start",
    "patch",
    "propagate",
    "setup_logging",
    "subsegment",
    "traced",
]

_WHERE = {
    "add_dimension": "lambda_observe.metrics",
    "add_metadata": "lambda_observe.tracing.api",
    "add_metric": "lambda_observe.metrics",
    "annotate": "lambda_observe.tracing.api",
    "append_keys": "lambda_observe.logs",
    "capture": "lambda_observe.tracing.api",
    "flush_metrics": "lambda_observe.metrics",
    "get_logger": "lambda_observe.logs",
    "idempotent": "lambda_observe.idempotency",
    "idempotent_function": "lambda_observe.idempotency",
    "is_cold_start": "lambda_observe._invocation",
    "patch": "lambda_observe.tracing.patching",
    "propagate": "lambda_observe.tracing._context",
    "setup_logging": "lambda_observe.logs",
    "subsegment": "lambda_observe.tracing.api",
    "traced": "lambda_observe._handler",
}

if TYPE_CHECKING:
    from ._handler import traced
    from ._invocation import is_cold_start
    from .idempotency import idempotent, idempotent_function
    from .logs import append_keys, get_logger, setup_logging
    from .metrics import add_dimension, add_metric, flush_metrics
    from .tracing._context import propagate
    from .tracing.api import add_metadata, annotate, capture, subsegment
    from .tracing.patching import patch


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'lambda_observe' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


# Init tracing (LAMBDA_OBSERVE_TRACE_INIT=true) must start before the handler's other imports.
if __import__("os").environ.get("LAMBDA_OBSERVE_TRACE_INIT", "").strip().lower() in ("1", "true", "yes", "on"):
    importlib.import_module("lambda_observe._init_trace").start(from_process_start=True)
