"""JSON logs that carry the invocation: ``get_logger``, ``setup_logging``, ``append_keys``.

After :func:`setup_logging` (which ``@traced`` calls for you), every record that reaches the
root logger, from ``get_logger`` or from the user's existing ``logging.getLogger(...)``
calls, is written as one JSON object per line. When the Lambda runtime has already put its
handler on the root logger, that handler gets the JSON formatter instead of a second
handler being added: one line per call, and no JSON inside JSON under
``AWS_LAMBDA_LOG_FORMAT=JSON``.
"""

from __future__ import annotations

import contextlib
import logging
import random
import sys
import types
from collections.abc import Iterable
from typing import Any, TextIO

from .. import _invocation, config
from .. import redact as _redact
from . import _buffer, _errors, _fast
from ._correlation import correlation_id
from ._formatter import KEYS, MAX_LINE_BYTES, make_formatter
from ._guard import guard_logger, guard_loggers

__all__ = ["MAX_LINE_BYTES", "append_keys", "get_logger", "setup_logging"]

_MARK = "_lambda_observe_handler"
_RUNTIME_HANDLERS = ("LambdaLoggerHandler", "LambdaLoggerHandlerWithFrameType")


class _Setup:
    done = False
    level = logging.INFO
    applied = logging.INFO
    floor = logging.INFO  # the root logger's level: lower than ``level`` when records are buffered
    service: str | None = None  # the last service given (metrics outside a handler use it too)


def _level(name: str) -> int:
    value = logging.getLevelName(name.upper())
    if not isinstance(value, int):
        raise ValueError(f"log level {name!r}: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return value


def setup_logging(
    level: str | int | None = None,
    *,
    service: str | None = None,
    redact: Iterable[str] = (),
    stream: Any = None,
    force: bool = False,
) -> None:
    """Send every log record through the JSON formatter; idempotent.

    ``level`` defaults to ``LAMBDA_OBSERVE_LOG_LEVEL``, else ``AWS_LAMBDA_LOG_LEVEL``, else
    ``LOG_LEVEL``, else INFO. ``redact`` adds key patterns (regular expressions) to what
    :mod:`lambda_observe.redact` hides in every log line, the logged event and trace documents.
    ``force`` sets up again (tests).
    """
    if service:
        _Setup.service = service
    if _Setup.done and not force:
        return
    cfg = config.get()
    _Setup.level = _level(level) if isinstance(level, str) else (level or _level(cfg.log_level))
    _redact.configure(redact)
    _redact.get()  # a bad pattern fails here, not in a log call
    guard_loggers()  # extra={"message": ...} is kept as extra_message instead of raising KeyError
    formatter = make_formatter(service)
    root = logging.getLogger()
    handlers = [h for h in root.handlers if not getattr(h, _MARK, False)]
    runtime = [
        h
        for h in handlers
        if type(h).__name__ in _RUNTIME_HANDLERS
        or (type(h) is logging.StreamHandler and h.stream in (sys.stdout, sys.stderr))
    ]
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
    configured = runtime if runtime and stream is None else []
    if runtime and stream is None:
        for handler in runtime:
            if type(handler).__name__ in _RUNTIME_HANDLERS:  # the runtime's sink adds no newline itself
                handler.setFormatter(make_formatter(service, terminator="\n"))
            else:
                handler.setFormatter(formatter)
    else:
        ours = _StdoutHandler(stream)
        setattr(ours, _MARK, True)
        ours.setFormatter(formatter)
        root.addHandler(ours)
        configured = [ours]
    for handler in configured:  # records that reach only these may take the short way (._fast)
        setattr(handler, _fast.FORMATTER_ATTR, handler.formatter)
        handler.handleError = types.MethodType(_errors.handle_error, handler)  # type: ignore[method-assign]
    _Setup.floor = _buffer.install(configured, _Setup.level)
    root.setLevel(_Setup.floor)
    _Setup.applied = _Setup.floor
    logging.getLogger("lambda_observe").setLevel(logging.NOTSET)
    from .._hooks import add_start_hook

    add_start_hook(_on_invocation)
    _Setup.done = True


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``stream``, or to whatever ``sys.stdout`` is at the time of each record."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream or sys.stdout)
        self._fixed = stream

    @property
    def stream(self) -> Any:
        return self._fixed or sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        pass

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = self._fixed or sys.stdout
            stream.write(self.format(record) + "\n")
            stream.flush()  # Lambda may freeze the process right after the handler returns
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


def get_logger(name: str | None = None) -> logging.Logger:
    """A plain :class:`logging.Logger` whose records come out as JSON (sets logging up once)."""
    setup_logging()
    return guard_logger(logging.getLogger(name))


class append_keys(contextlib.ContextDecorator):
    """Add keys to every log line within a block or a function call.

    ``with append_keys(order_id=42): ...`` or ``@append_keys(component="billing")``. Scoped by
    contextvars: a thread (through :func:`lambda_observe.propagate`) or an asyncio task sees
    the keys bound where it was started, and the keys are gone when the block ends.
    """

    def __init__(self, **keys: Any) -> None:
        self._keys = keys
        self._tokens: list[Any] = []

    def __enter__(self) -> append_keys:
        self._tokens.append(KEYS.set({**KEYS.get(), **self._keys}))
        return self

    def __exit__(self, *exc: object) -> None:
        KEYS.reset(self._tokens.pop())


def _on_invocation(inv: _invocation.Invocation, event: Any) -> None:
    """At each invocation start: correlation id, debug sampling, optional event log."""
    cfg = config.get()
    inv.correlation_id = correlation_id(event, cfg.correlation_id_path)
    rate = cfg.debug_sample_rate
    inv.debug = rate > 0 and random.random() < rate
    wanted = logging.DEBUG if inv.debug else _Setup.floor
    if wanted != _Setup.applied:
        logging.getLogger().setLevel(wanted)
        _Setup.applied = wanted
    if cfg.log_event:
        logging.getLogger("lambda_observe").info("incoming event", extra={"event": _redact.get()(event)})
