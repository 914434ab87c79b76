"""The active tracing backend, chosen from configuration on first use.

``LAMBDA_OBSERVE_TRACER`` (or :func:`use_tracer`) picks the output: ``xray`` (the default),
``otlp`` or ``otel``. Only the chosen backend's module is imported, so the X-Ray SDK is never
imported in the OTel modes and ``opentelemetry`` only in ``otel`` mode (or by ``patch()``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import config

if TYPE_CHECKING:
    from ._backend import Backend

__all__ = ["TRACERS", "backend", "light", "reset", "tracer_name", "tracer_valid", "use", "use_tracer"]

#: The values ``LAMBDA_OBSERVE_TRACER`` accepts.
TRACERS = ("xray", "otlp", "otel")
_BACKEND: list[Backend] = []
_CHOSEN: list[str] = []


def _make(name: str) -> Backend:
    cfg = config.get()
    if name == "otlp":
        from .otlp import OtlpBackend, OtlpEmitter

        return OtlpBackend(OtlpEmitter(cfg.daemon_address, cfg.patch_ignore))
    if name == "otel":
        from .otel import OtelBackend

        return OtelBackend(ignore=cfg.patch_ignore)
    from ._emitter import UDPEmitter
    from .xray import XRayBackend

    return XRayBackend(UDPEmitter(cfg.daemon_address, cfg.patch_ignore))


def backend() -> Backend:
    """The backend in use: the configured one, unless tracing is switched off or misconfigured."""
    if _BACKEND:
        return _BACKEND[0]
    import logging  # only here, when the backend is chosen: patch() imports this module before the libraries

    from ._backend import NoopBackend

    cfg = config.get()
    chosen: Backend
    name = _CHOSEN[0] if _CHOSEN else cfg.tracer
    if not cfg.tracing:
        chosen = NoopBackend()
    elif name not in TRACERS:
        logging.getLogger("lambda_observe").error(
            "lambda_observe: LAMBDA_OBSERVE_TRACER=%r is not a tracer; expected one of %s. Tracing is off.",
            name,
            ", ".join(TRACERS),
        )
        chosen = NoopBackend()
    else:
        try:
            chosen = _make(name)
        except Exception as exc:  # e.g. otel mode without opentelemetry installed
            logging.getLogger("lambda_observe").error(
                "lambda_observe: tracer %r is unavailable (%s); tracing is off", name, exc
            )
            chosen = NoopBackend()
    _BACKEND.append(chosen)
    return chosen


def light() -> bool | None:
    """Whether the light patchers (:mod:`._light`) trace botocore and requests, without building the backend.

    ``True`` in X-Ray mode (or with an installed backend that has no ``instrument``), ``False`` in
    the OTel modes (OpenTelemetry's instrumentations do it), ``None`` when tracing is off or the
    tracer is not one of :data:`TRACERS`. Called from the post-import hooks, it leaves choosing and
    building the backend (its emitter, its socket address, its modules) to the backend's first use,
    which ``@traced`` makes at the first invocation anyway (issue #17).
    """
    if _BACKEND:
        from ._backend import NoopBackend  # small, and imports no library (loaded already unless use() was called)

        installed = _BACKEND[0]
        if isinstance(installed, NoopBackend):
            return None
        return getattr(installed, "instrument", None) is None
    if not config.get().tracing or not tracer_valid():
        return None
    return tracer_name() == "xray"


def tracer_name() -> str:
    """The tracer chosen (``xray``, ``otlp`` or ``otel``), whether or not it is running yet."""
    return _CHOSEN[0] if _CHOSEN else config.get().tracer


def tracer_valid() -> bool:
    """Whether the chosen tracer is one of :data:`TRACERS` (without choosing the backend, or logging)."""
    return tracer_name() in TRACERS


def use_tracer(name: str) -> None:
    """Choose the output in code, as ``LAMBDA_OBSERVE_TRACER`` does: ``xray``, ``otlp`` or ``otel``.

    The name is read as the variable is: case and surrounding spaces do not matter. Choose once
    per process, before the first ``patch()`` and the first invocation: libraries already patched
    stay patched for the tracer chosen then.

    Raises :class:`ValueError` for any other name.
    """
    key = name.strip().lower() if isinstance(name, str) else name
    if key not in TRACERS:
        raise ValueError(f"unknown tracer {name!r}; expected one of {', '.join(TRACERS)}")
    reset()
    _CHOSEN.append(key)


def use(chosen: Backend) -> None:
    """Install a backend explicitly (an OpenTelemetry one, or a test double)."""
    reset()
    _BACKEND.append(chosen)


def reset() -> None:
    """Forget the backend; the next call chooses again from configuration (for tests)."""
    _CHOSEN.clear()
    while _BACKEND:
        old = _BACKEND.pop()
        close = getattr(getattr(old, "emitter", None), "close", None)
        if callable(close):
            close()
