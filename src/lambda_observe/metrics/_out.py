"""Writing what the metrics produce: EMF lines on stdout, and the metrics' own warnings on stderr."""

from __future__ import annotations

import sys
import time

from .. import _json

__all__ = ["forget", "say_once", "write"]

_SAID: set[str] = set()


def say_once(key: str, message: str) -> None:
    """One WARNING line on stderr, once per process. Not through ``logging``: the failure is usually
    stdout's, where the log handler writes too (it would print '--- Logging error ---')."""
    if key in _SAID:
        return
    _SAID.add(key)
    now = time.time()
    line = {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z",
        "level": "WARNING",
        "logger": "lambda_observe",
        "message": "lambda_observe: " + message,
    }
    try:
        err = sys.stderr
        err.write(_json.dumps(line) + "\n")
        err.flush()
    except Exception:
        pass


def write(lines: list[str]) -> None:
    out = sys.stdout
    for line in lines:
        out.write(line + "\n")  # one write per line, flushed: Lambda may freeze the process right after
        out.flush()


def forget() -> None:
    """Allow every warning to be said again (for tests)."""
    _SAID.clear()
