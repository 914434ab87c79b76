"""Which caller lookup our loggers use: the remembered walk on Python 3.11+, the standard one on 3.10."""

from __future__ import annotations

import logging
import sys

from lambda_observe.logs import _caller


def test_guarded_loggers_use_the_walk_only_where_it_exists() -> None:
    """3.11+: our loggers find their caller with the remembered walk; 3.10: with the standard findCaller."""
    from lambda_observe.logs._guard import GuardedLogger, guard_logger

    plain = guard_logger(logging.Logger("plain-for-caller"))
    expected = _caller.find_caller if sys.version_info >= (3, 11) else logging.Logger.findCaller
    assert _caller.AVAILABLE is (sys.version_info >= (3, 11))
    assert plain.findCaller.__func__ is expected  # type: ignore[attr-defined]
    assert GuardedLogger.findCaller is expected
