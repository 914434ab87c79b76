"""``Logger.findCaller`` with the frame test remembered per source file.

The standard library (3.11 and later) walks back from ``findCaller`` past its own frames and
importlib's, and tests each frame by normalising its file name again: three times for every
``log.info`` call. This does the same walk with the same rule, remembering the answer for each
file name (the rule depends only on the name and on ``logging._srcfile``, which is read on every
call); ``stack_info=True`` renders the stack from the frame found, as the standard method does.
A ``stacklevel`` below 1 and Python 3.10 (whose walk differs) use the standard method itself.
"""

from __future__ import annotations

import logging
import os
import sys
from types import FrameType
from typing import Any

__all__ = ["AVAILABLE", "INTERNAL_CODE", "find_caller", "internal"]

#: The walk below is the one of Python 3.11 to 3.13 (``logging._is_internal_frame`` exists).
AVAILABLE = sys.version_info >= (3, 11) and callable(getattr(logging, "_is_internal_frame", None))
_INTERNAL: dict[str, bool] = {}
_SOURCE: list[Any] = [None]  # the logging._srcfile the remembered answers were made for
#: lambda_observe's own files that stand between a log call and ``Logger._log`` (its file names as
#: compiled): skipped like logging's own, so a record names the user's line.
INTERNAL_CODE: set[str] = set()


def internal(filename: str) -> bool:
    """Whether a frame of ``filename`` is logging's own (or importlib's), not the caller's."""
    source = logging._srcfile
    if _SOURCE[0] is not source:
        _INTERNAL.clear()
        _SOURCE[0] = source
    known = _INTERNAL.get(filename)
    if known is None:
        name = os.path.normcase(filename)
        known = name == source or ("importlib" in name and "_bootstrap" in name) or filename in INTERNAL_CODE
        if len(_INTERNAL) < 4096:
            _INTERNAL[filename] = known
    return known


def find_caller(
    self: logging.Logger, stack_info: bool = False, stacklevel: int = 1
) -> tuple[str, int, str, str | None]:
    """What ``logging.Logger.findCaller`` returns: file, line, function and stack text."""
    if stacklevel < 1:  # below 1 the standard method names its own frame
        return logging.Logger.findCaller(self, stack_info, stacklevel)
    f: FrameType | None = sys._getframe(0)
    while stacklevel > 0:
        next_f = f.f_back  # type: ignore[union-attr]
        if next_f is None:
            break
        f = next_f
        if not internal(f.f_code.co_filename):
            stacklevel -= 1
    assert f is not None
    co = f.f_code
    return co.co_filename, f.f_lineno, co.co_name, _stack(f) if stack_info else None


def _stack(frame: FrameType) -> str:
    """The stack text the standard ``findCaller`` gives for ``stack_info=True``."""
    import io
    import traceback

    with io.StringIO() as out:
        out.write("Stack (most recent call last):\n")
        traceback.print_stack(frame, file=out)
        text = out.getvalue()
    return text[:-1] if text[-1:] == "\n" else text
