"""Warnings that are said once per process, never once per call."""

from __future__ import annotations

import logging

_LOG = logging.getLogger("lambda_observe")
_SAID: set[str] = set()


def once(key: str, message: str, *args: object) -> None:
    """Log ``message`` at WARNING the first time ``key`` is seen in this process."""
    if key in _SAID:
        return
    _SAID.add(key)
    try:
        _LOG.warning(message, *args)
    except Exception:  # pragma: no cover - logging itself failed; nothing more to do
        pass


def forget() -> None:
    """Allow every warning to be said again (for tests)."""
    _SAID.clear()
