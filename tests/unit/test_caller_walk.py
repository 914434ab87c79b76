"""The remembered frame walk (Python 3.11+) finds the same caller as the standard library's ``findCaller``.

On Python 3.10 the library keeps the standard ``findCaller`` and this module is not collected
(``tests/conftest.py``); ``test_caller.py`` checks there which one is in place."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_observe.logs import _caller


class _Both(logging.Logger):
    """Records what each ``findCaller`` says for the same call."""

    seen: list[tuple[Any, Any]] = []

    def findCaller(self, stack_info: bool = False, stacklevel: int = 1) -> Any:
        level = stacklevel + 1  # past this method; both are called from one line, so they may stop here
        ours, theirs = _caller.find_caller(self, stack_info, level), logging.Logger.findCaller(self, stack_info, level)
        _Both.seen.append((ours, theirs))
        return theirs


def _nested(logger: logging.Logger, depth: int, stacklevel: int, via_adapter: bool) -> None:
    if depth:
        _nested(logger, depth - 1, stacklevel, via_adapter)
        return
    target: Any = logging.LoggerAdapter(logger, {}) if via_adapter else logger
    target.info("x", stacklevel=stacklevel)


@given(depth=st.integers(0, 5), stacklevel=st.integers(-1, 12), via_adapter=st.booleans())
def test_same_caller_as_the_standard_library(depth: int, stacklevel: int, via_adapter: bool) -> None:
    """Any depth, any stacklevel (past the top of the stack too), through a LoggerAdapter."""
    logger = _Both("caller-test")
    logger.addHandler(logging.NullHandler())
    _Both.seen.clear()
    _nested(logger, depth, stacklevel, via_adapter)
    ((ours, theirs),) = _Both.seen
    assert ours == theirs


def test_logging_internals_moved_elsewhere_are_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    """``logging._srcfile`` is read on every call: a changed value is not answered from memory."""
    logger = _Both("caller-test-2")
    logger.addHandler(logging.NullHandler())
    _Both.seen.clear()
    logger.info("first")
    monkeypatch.setattr(logging, "_srcfile", __file__)  # this file now counts as logging's own
    logger.info("second")
    _, (ours, theirs) = _Both.seen
    assert ours == theirs and ours[0] != __file__


def test_importlib_frames_are_skipped_as_the_standard_library_does(tmp_path, monkeypatch) -> None:
    """A line logged while a module is imported, with ``stacklevel=2``: importlib's own frames
    between the module and its importer are skipped by both."""
    (tmp_path / "logs_at_import_probe.py").write_text(
        "import logging\nlogging.getLogger('caller-import').info('importing', stacklevel=2)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    logger = _Both("caller-import")
    logger.addHandler(logging.NullHandler())
    monkeypatch.setitem(logging.Logger.manager.loggerDict, "caller-import", logger)
    _Both.seen.clear()
    __import__("logs_at_import_probe")
    ((ours, theirs),) = _Both.seen
    assert ours == theirs and ours[0] == __file__
