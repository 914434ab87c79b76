"""Zero-code instrumentation: set the function's handler to ``lambda_observe.wrapper.handler``
and ``LAMBDA_OBSERVE_HANDLER`` to the original (``app.handler``, ``pkg/sub/app.handler``).

The original runs under ``@traced`` (JSON logs, tracing, ``LAMBDA_OBSERVE_PATCH``). The
original is found when the runtime asks for ``handler`` (Lambda's init phase), so a missing
or wrong ``LAMBDA_OBSERVE_HANDLER`` fails the init with a message naming the variable and
what could not be found. The layer also ships an ``AWS_LAMBDA_EXEC_WRAPPER`` script
(``/opt/lambda-observe-wrapper``) that sets both variables for you.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ._loader import HandlerNotFoundError

__all__ = ["HandlerNotFoundError", "load"]  # and `handler`, made on first access

VARIABLE = "LAMBDA_OBSERVE_HANDLER"


def load() -> Callable[[Any, Any], Any]:
    """The original handler named by ``LAMBDA_OBSERVE_HANDLER``, under ``@traced`` (once).

    A handler already decorated with ``@traced`` is returned as it is: wrapping it again would
    run the lifecycle twice (two ``## handler`` subsegments, the inner one never a cold start).
    """
    from ._handler import TRACED_ATTR, traced
    from ._loader import load_handler

    spec = os.environ.get(VARIABLE, "")
    if not spec.strip():
        raise HandlerNotFoundError(
            f"{VARIABLE} is not set: set it to the original handler (e.g. 'app.handler') when the function's "
            "handler is lambda_observe.wrapper.handler"
        )
    if spec.strip() in ("lambda_observe.wrapper.handler", "lambda_observe/wrapper.handler"):
        raise HandlerNotFoundError(f"{VARIABLE}={spec!r} names the wrapper itself; set it to the original handler")
    from . import _init_trace

    if _init_trace.enabled(default=True):  # the handler module's import is the init to trace
        _init_trace.start()
    try:
        original = load_handler(spec, source=VARIABLE)
    finally:
        _init_trace.stop()
    if getattr(original, TRACED_ATTR, False):
        return original
    return traced(original)


def __getattr__(name: str) -> Any:
    if name == "handler":
        wrapped = load()
        globals()["handler"] = wrapped
        return wrapped
    raise AttributeError(f"module 'lambda_observe.wrapper' has no attribute {name!r}")
