"""Loggers whose ``extra=`` keys never collide with a record's own, and which take the short way.

``log.info("x", extra={"message": ...})`` raises ``KeyError`` in the standard library; a guarded logger
keeps the key as ``extra_message``. Guarded loggers also find their caller past lambda_observe's frames
(:mod:`._caller`) and, when nothing stands in the way, log through :mod:`._fast`.
"""

from __future__ import annotations

import logging
from typing import Any

from . import _caller, _fast

__all__ = ["GuardedLogger", "guard_logger", "guard_loggers"]


def _make_record(
    self: logging.Logger,
    name: str,
    level: int,
    fn: str,
    lno: int,
    msg: object,
    args: Any,
    exc_info: Any,
    func: str | None = None,
    extra: Any = None,
    sinfo: str | None = None,
) -> logging.LogRecord:
    """``Logger.makeRecord``, except that an ``extra`` key the record already has (``message``,
    ``name``, ``levelname``...) is kept as ``extra_<key>`` instead of raising ``KeyError``. The
    record comes from ``logging.Logger.makeRecord`` as it is at the call (a tracer may have wrapped
    it to put its ids on the record), given no ``extra``."""
    make = logging.Logger.makeRecord
    record: logging.LogRecord = make(self, name, level, fn, lno, msg, args, exc_info, func, None, sinfo)
    if extra is not None:
        _fast.add_extra(record.__dict__, extra)
    return record


class GuardedLogger(logging.Logger):
    """A :class:`logging.Logger` whose ``extra=`` keys never collide with the record's own."""

    makeRecord = _make_record
    if _caller.AVAILABLE:
        findCaller = _caller.find_caller
        _log = _fast.log

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass with its own record handling (``handle``, ``makeRecord``...) gets the standard ``_log``."""
        super().__init_subclass__(**kwargs)
        if cls._log is _fast.log and any(getattr(cls, name) is not getattr(GuardedLogger, name) for name in _ROUTED):
            cls._log = logging.Logger._log


#: The methods the short way of :mod:`._fast` stands in for.
_ROUTED = ("handle", "callHandlers", "makeRecord", "findCaller", "filter")
#: Those of them lambda_observe replaces on a logger (``guard_logger``), with its own.
_STAND_INS: dict[str, Any] = {"makeRecord": _make_record, "findCaller": _caller.find_caller}
_fast.OWN_METHODS.update(_STAND_INS.values())


def _routable(logger: logging.Logger) -> bool:
    """Whether ``logger`` has the standard (or lambda_observe's) methods for everything the short way skips."""
    own, cls = vars(logger), type(logger)
    for name in _ROUTED:
        ours = _STAND_INS.get(name)
        if ours is not None:
            if getattr(getattr(logger, name), "__func__", None) is not ours:
                return False
        elif name in own or getattr(cls, name) is not getattr(logging.Logger, name):
            return False
    return True


def guard_logger(logger: logging.Logger) -> logging.Logger:
    """Make ``logger`` keep colliding ``extra=`` keys as ``extra_<key>``: when its class uses the
    standard ``makeRecord`` (a subclass with its own is left alone); returns ``logger``."""
    if getattr(type(logger), "makeRecord", None) is logging.Logger.makeRecord and "makeRecord" not in vars(logger):
        logger.makeRecord = _make_record.__get__(logger)  # type: ignore[method-assign]
    if (
        _caller.AVAILABLE
        and getattr(type(logger), "findCaller", None) is logging.Logger.findCaller
        and "findCaller" not in vars(logger)
    ):
        logger.findCaller = _caller.find_caller.__get__(logger)  # type: ignore[method-assign]
    plain_log = type(logger)._log is logging.Logger._log and "_log" not in vars(logger)
    if _caller.AVAILABLE and plain_log and _routable(logger):
        logger._log = _fast.log.__get__(logger)  # type: ignore[method-assign]
    return logger


def guard_loggers() -> None:
    """Guard the root logger and every logger that exists now, and make loggers created from now
    on :class:`GuardedLogger` (when the logger class is still the standard one)."""
    guard_logger(logging.getLogger())
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            guard_logger(logger)
    if logging.getLoggerClass() is logging.Logger:
        logging.setLoggerClass(GuardedLogger)
