"""Warnings that are said once per process, never once per call.

:mod:`logging` is imported at the first warning, not with this module: ``patch()`` needs this
module before any patched library is imported, and must not load more than it needs (issue #17).
"""

from __future__ import annotations

_SAID: set[str] = set()


def once(key: str, message: str, *args: object) -> None:
    """Log ``message`` at WARNING the first time ``key`` is seen in this process."""
    if key in _SAID:
        return
    _SAID.add(key)
    try:
        import logging

        logging.getLogger("lambda_observe").warning(message, *args)
    except Exception:  # pragma: no cover - logging itself failed; nothing more to do
        pass


def forget() -> None:
    """Allow every warning to be said again (for tests)."""
    _SAID.clear()
