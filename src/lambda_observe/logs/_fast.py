"""The common log call, without the standard library's general machinery.

``log.info("text", extra={...})`` goes through ``Logger._log``: ``findCaller``, a full
``LogRecord`` (thread, process and task names, relative time...), ``Logger.handle``,
``callHandlers`` up the logger tree, then ``Handler.handle``. When the only handler that
record can reach is one :func:`~lambda_observe.logs.setup_logging` configured with its JSON
formatter, none of that is read by anyone but that formatter. :func:`log` then builds a
:class:`Record` holding what the formatter and the handler read, and hands it to that handler's
``handle``: the same line as the general path, for about a third less work.

Anything else takes the general path, decided at each call: a traceback or ``stack_info``, a
``stacklevel``, a message that is not a ``str``, a filter on the logger or the handler (log
buffering is one), another handler anywhere up the tree, ``propagate`` off before the root, a
disabled logger, a handler level above the record's, a formatter changed since set-up, a custom
``LogRecord`` factory, or no caller frame.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Mapping
from typing import Any

from . import _caller

__all__ = ["FORMATTER_ATTR", "RECORD_ATTRS", "RECORD_SET", "Record", "add_extra", "log"]

#: Set by ``setup_logging`` on each handler it configured: the formatter it gave that handler.
FORMATTER_ATTR = "_lambda_observe_formatter"
#: A LogRecord's own attributes, in the order its constructor sets them.
RECORD_ATTRS: tuple[str, ...] = tuple(logging.LogRecord("", 0, "", 0, "", (), None).__dict__)
_OWN = frozenset(RECORD_ATTRS)
#: Other names an ``extra=`` key may not take: what formatting adds, and what the Lambda runtime's
#: filter sets on every record (a user's ``aws_request_id`` would be overwritten, then dropped).
_NOT_EXTRA = frozenset({"message", "asctime", "aws_request_id", "tenant_id"})
_MODULES: dict[str, tuple[str, str]] = {}  # pathname -> (filename, module), as LogRecord derives them


def _unwrapped(function: Any) -> Any:
    """The function under any ``__wrapped__`` layers (functools.wraps, wrapt): the standard library's own."""
    for _ in range(32):
        inner = getattr(function, "__wrapped__", None)
        if inner is None:
            break
        function = inner
    return function


_ORIGINAL_LOG = _unwrapped(logging.Logger._log)
#: Tracers (ddtrace) wrap ``Logger.makeRecord`` to put their ids on each record: a wrapped one means
#: the standard way, through it.
_ORIGINAL_MAKE_RECORD = _unwrapped(logging.Logger.makeRecord)
_DEFAULT_FACTORY = logging.LogRecord
_HANDLE = logging.Handler.handle
_LOGGER_HANDLE = logging.Logger.handle
_CALL_HANDLERS = logging.Logger.callHandlers
_FILTER = logging.Filterer.filter
#: Instance attributes that replace a method the short way stands in for (a mock, a silencing lambda).
_REPLACED = ("handle", "callHandlers", "filter")
#: lambda_observe's own methods a logger instance may carry (set by ``guard_logger``).
OWN_METHODS: set[Any] = set()


#: How many attributes :func:`log` sets on a :class:`Record` before the ``extra=`` keys: the
#: formatter looks for the user's keys after them.
RECORD_SET = 14


class Record(logging.LogRecord):
    """A :class:`logging.LogRecord` with only the attributes lambda_observe's formatter reads set on
    the instance (name, message and arguments, level, created, caller, the ``extra=`` keys); the
    others (thread, process, relative time...) read as ``None`` from the class."""

    thread = threadName = processName = process = taskName = relativeCreated = msecs = None  # type: ignore[assignment]

    def __init__(self) -> None:  # built by :func:`log`, never by the LogRecord constructor
        pass


def _module(pathname: str) -> tuple[str, str]:
    known = _MODULES.get(pathname)
    if known is None:
        try:
            filename = os.path.basename(pathname)
            known = (filename, os.path.splitext(filename)[0])
        except (TypeError, ValueError, AttributeError):
            known = (pathname, "Unknown module")
        if len(_MODULES) < 4096:
            _MODULES[pathname] = known
    return known


def _runtime_filter(candidate: Any) -> bool:
    """The Lambda runtime's filter on its handler: it only tags records with the request and tenant ids."""
    kind = type(candidate)
    return kind.__name__ == "LambdaLoggerFilter" and kind.__module__.startswith("awslambdaric")


def _route(logger: logging.Logger, level: int) -> logging.Handler | None:
    """The one handler a record of ``logger`` at ``level`` reaches, when it is one set-up
    configured and nothing else (filter, other handler, changed formatter) is in the way."""
    if logger.filters or logger.disabled:
        return None
    cls = type(logger)
    if cls.handle is not _LOGGER_HANDLE or cls.callHandlers is not _CALL_HANDLERS or cls.filter is not _FILTER:
        return None  # patched or overridden (Sentry's logging integration patches callHandlers)
    attrs = logger.__dict__
    if "handle" in attrs or "callHandlers" in attrs or "filter" in attrs:
        return None
    for name in ("makeRecord", "findCaller"):
        method = attrs.get(name)
        if method is not None and getattr(method, "__func__", None) not in OWN_METHODS:
            return None
    found = None
    node: Any = logger
    while node is not None:
        handlers = node.handlers
        if handlers:
            if found is not None or len(handlers) != 1:
                return None
            found = handlers[0]
        if not node.propagate:
            break
        node = node.parent
    if (
        found is None
        or level < found.level
        or (found.filters and not all(_runtime_filter(f) for f in found.filters))
        or type(found).handle is not _HANDLE
        or type(found).filter is not _FILTER
        or "handle" in found.__dict__
        or "filter" in found.__dict__
        or found.formatter is None
        or getattr(found, FORMATTER_ATTR, None) is not found.formatter
    ):
        return None
    return found  # type: ignore[no-any-return]


def log(
    self: logging.Logger,
    level: int,
    msg: Any,
    args: Any,
    exc_info: Any = None,
    extra: Any = None,
    stack_info: bool = False,
    stacklevel: int = 1,
) -> None:
    """``Logger._log``: the short way when it gives the same line, else the standard method."""
    handler = (
        _route(self, level)
        if (
            exc_info is None
            and not stack_info
            and stacklevel == 1
            and type(msg) is str
            and (extra is None or type(extra) is dict)
            and logging.getLogRecordFactory() is _DEFAULT_FACTORY
            and logging.Logger._log is _ORIGINAL_LOG
            and logging.Logger.makeRecord is _ORIGINAL_MAKE_RECORD
            and logging._srcfile is not None  # caller lookup switched off: the standard way says so
        )
        else None
    )
    frame = sys._getframe(1) if handler is not None else None
    internal = _caller.internal
    while frame is not None and internal(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        logging.Logger._log(self, level, msg, args, exc_info, extra, stack_info, stacklevel)  # as patched, if it is
        return
    assert handler is not None
    code = frame.f_code
    pathname = code.co_filename
    filename, module = _module(pathname)
    if args and len(args) == 1 and isinstance(args[0], Mapping) and args[0]:
        args = args[0]  # as LogRecord does: log.info("%(a)s", {"a": 1})
    record = Record()
    attrs = record.__dict__
    attrs["name"] = self.name
    attrs["msg"] = msg
    attrs["args"] = args
    attrs["levelname"] = logging.getLevelName(level)
    attrs["levelno"] = level
    attrs["pathname"] = pathname
    attrs["filename"] = filename
    attrs["module"] = module
    attrs["exc_info"] = None
    attrs["exc_text"] = None
    attrs["stack_info"] = None
    attrs["lineno"] = frame.f_lineno
    attrs["funcName"] = code.co_name
    attrs["created"] = time.time()  # the RECORD_SET-th: keep the count in step with the keys above
    if extra:
        add_extra(attrs, extra)
    for runtime_filter in handler.filters:  # only the Lambda runtime's, which tags the record with the request id
        if not runtime_filter.filter(record):  # type: ignore[union-attr]
            return
    lock = handler.lock
    if lock is not None:
        with lock:  # Handler.handle, less its two method calls
            handler.emit(record)
    else:
        handler.handle(record)


def add_extra(attrs: dict[str, Any], extra: Mapping[Any, Any]) -> None:
    """Put the ``extra=`` keys on a record's attributes; a key the record has (``message``, ``name``,
    ``levelname``...) is kept as ``extra_<key>`` instead of raising ``KeyError``."""
    for key in extra:
        target = key
        while target in _NOT_EXTRA or target in _OWN or target in attrs:
            target = "extra_" + str(target)
        attrs[target] = extra[key]


_caller.INTERNAL_CODE.add(log.__code__.co_filename)  # the general path's caller is the user's frame, not this
