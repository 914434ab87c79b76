"""The one truth about the current invocation.

A :class:`contextvars.ContextVar` holds the :class:`Invocation` that ``@traced`` (or the
wrapper) began; tracing, logs and idempotency read it from here. :func:`begin` returns a
token that :func:`end` uses to restore what was there before, so nothing from one
invocation leaks into the next, and threads or tasks that copied the context see the
invocation they were started in.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any

from . import config
from ._trace_header import TraceHeader, parse

__all__ = ["INIT_TYPES", "Invocation", "begin", "current", "end", "init_type", "is_cold_start"]

#: The values of ``AWS_LAMBDA_INITIALIZATION_TYPE``. An unset or unknown value counts as on-demand.
INIT_TYPES = ("on-demand", "provisioned-concurrency", "snap-start", "lambda-managed-instances")
#: Init types whose environments are initialised before any request is routed to them: no
#: invocation waits for an init, so none is a cold start.
_AHEAD_OF_TIME = frozenset({"provisioned-concurrency", "lambda-managed-instances"})


def init_type() -> str:
    """How this execution environment was initialised (``AWS_LAMBDA_INITIALIZATION_TYPE``)."""
    raw = os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE", "").strip().lower()
    return raw if raw in INIT_TYPES else "on-demand"


class Invocation:
    """What is known about the invocation being handled."""

    __slots__ = (
        "cold_start",
        "correlation_id",
        "deadline",
        "debug",
        "function_arn",
        "function_name",
        "function_version",
        "ids",
        "init_type",
        "keys",
        "memory_mb",
        "request_id",
        "restore",
        "service",
        "trace",
        "trace_header",
    )

    def __init__(
        self,
        request_id: str,
        function_name: str,
        function_arn: str,
        function_version: str,
        memory_mb: int | None,
        trace_header: str | None,
        trace: TraceHeader | None,
        cold_start: bool,
        deadline: float | None,
        service: str,
    ) -> None:
        self.request_id = request_id
        self.function_name = function_name
        self.function_arn = function_arn
        self.function_version = function_version
        self.memory_mb = memory_mb
        self.trace_header = trace_header
        self.trace = trace
        self.cold_start = cold_start
        self.deadline = deadline
        self.service = service
        self.correlation_id: str | None = None
        self.debug = False
        self.keys: dict[str, Any] = {}
        #: In the OTel modes, the handler span's ``(trace_id, span_id)`` in OTel hex form: generated
        #: by lambda_observe, so the log formatter writes them as they are, without a redaction pass.
        self.ids: tuple[str, str] | None = None
        self.init_type = "on-demand"
        #: The first invocation after a SnapStart restore.
        self.restore = False

    def remaining_ms(self) -> float | None:
        """Milliseconds left before the deadline, or ``None`` when there is none."""
        if self.deadline is None:
            return None
        return (self.deadline - time.time()) * 1000.0


_CURRENT: ContextVar[Invocation | None] = ContextVar("lambda_observe_invocation", default=None)


class _Process:
    """Per-process state: whether an invocation has begun in this execution environment."""

    invoked = False
    init_type: str | None = None


def _remaining_ms(context: object) -> float | None:
    try:
        getter = getattr(context, "get_remaining_time_in_millis", None)
        return None if getter is None else float(getter())
    except Exception:
        return None


def _memory(context: object) -> int | None:
    raw = getattr(context, "memory_limit_in_mb", None) or os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    if type(raw) is int:
        return raw
    try:
        return int(raw) if raw is not None else None
    except Exception:  # TypeError, ValueError, OverflowError, or whatever a test double's __int__ raises
        return None


def _text(value: object) -> str:
    if type(value) is str:
        return value
    return "" if value is None else str(value)


def begin(context: object, service: str | None = None) -> tuple[Invocation, Token[Invocation | None]]:
    """Start an invocation from the Lambda ``context`` object (any object, or ``None``).

    Reads ``_X_AMZN_TRACE_ID`` and parses it once; everything after reads the result.
    """
    cfg = config.get()
    first = not _Process.invoked
    if first:
        _Process.invoked = True
        _Process.init_type = init_type()
    kind = _Process.init_type or "on-demand"
    cold = first and kind not in _AHEAD_OF_TIME and not cfg.provisioned
    raw = os.environ.get("_X_AMZN_TRACE_ID")
    remaining = _remaining_ms(context)
    try:
        inv = _from_context(context, raw, remaining, cold, service or cfg.service)
    except Exception:  # a context object whose attributes raise (a test double): read it field by field
        inv = _from_context(_Careful(context), raw, remaining, cold, service or cfg.service)
    inv.init_type = kind
    if first and kind == "snap-start":
        inv.restore = True
        inv.keys["restore"] = True
    return inv, _CURRENT.set(inv)


class _Careful:
    """The context's attributes, each read on its own: one that raises, or whose text raises, is absent."""

    def __init__(self, context: object) -> None:
        self._context = context

    def __getattr__(self, name: str) -> Any:
        try:
            value = getattr(self._context, name, None)
            if name == "memory_limit_in_mb":
                return _memory(self._context)
            return value if value is None or type(value) is str else str(value)
        except Exception:
            return None


def _from_context(context: Any, raw: str | None, remaining: float | None, cold: bool, service: str) -> Invocation:
    env = os.environ
    request_id = getattr(context, "aws_request_id", None)
    name = getattr(context, "function_name", None) or env.get("AWS_LAMBDA_FUNCTION_NAME")
    arn = getattr(context, "invoked_function_arn", None)
    version = getattr(context, "function_version", None) or env.get("AWS_LAMBDA_FUNCTION_VERSION")
    memory = getattr(context, "memory_limit_in_mb", None)
    inv = Invocation(
        request_id=request_id if type(request_id) is str else _text(request_id),
        function_name=name if type(name) is str else _text(name),
        function_arn=arn if type(arn) is str else _text(arn),
        function_version=version if type(version) is str else _text(version),
        memory_mb=memory if type(memory) is int and memory else _memory(context),
        trace_header=raw,
        trace=parse(raw),
        cold_start=cold,
        deadline=None if remaining is None else time.time() + remaining / 1000.0,
        service=service,
    )
    return inv


def end(token: Token[Invocation | None]) -> None:
    """Finish the invocation that :func:`begin` returned ``token`` for."""
    try:
        _CURRENT.reset(token)
    except ValueError:  # token from another context (a thread that copied it): just clear
        _CURRENT.set(None)


#: The invocation being handled, or ``None`` outside one (the context variable's own ``get``: read on
#: every log line and span, so without a Python frame of its own).
current: Callable[[], Invocation | None] = _CURRENT.get


def is_cold_start() -> bool:
    """True only during the invocation that waited for this environment's init: the first one of
    an on-demand environment, or the first after a SnapStart restore; never under provisioned
    concurrency or on managed instances, whose environments are initialised ahead of requests."""
    inv = _CURRENT.get()
    return inv.cold_start if inv is not None else False


def reset_process() -> None:
    """Make the next invocation a cold start again (for tests)."""
    _Process.invoked = False
    _Process.init_type = None
