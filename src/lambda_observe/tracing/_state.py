"""The active tracing backend, chosen from configuration on first use."""

from __future__ import annotations

from .. import config
from ._backend import Backend, NoopBackend

__all__ = ["backend", "reset", "use"]

_BACKEND: list[Backend] = []


def backend() -> Backend:
    """The backend in use: X-Ray unless tracing is switched off."""
    if _BACKEND:
        return _BACKEND[0]
    cfg = config.get()
    chosen: Backend
    if cfg.tracing:
        from ._emitter import UDPEmitter
        from .xray import XRayBackend

        chosen = XRayBackend(UDPEmitter(cfg.daemon_address, cfg.patch_ignore))
    else:
        chosen = NoopBackend()
    _BACKEND.append(chosen)
    return chosen


def use(chosen: Backend) -> None:
    """Install a backend explicitly (an OpenTelemetry one, or a test double)."""
    reset()
    _BACKEND.append(chosen)


def reset() -> None:
    """Forget the backend; the next call chooses again from configuration (for tests)."""
    while _BACKEND:
        old = _BACKEND.pop()
        close = getattr(getattr(old, "emitter", None), "close", None)
        if callable(close):
            close()
