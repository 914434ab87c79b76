"""Every environment variable lambda_observe reads, in one place.

The values are read once per process, on first use (never at import time), because a
Lambda execution environment's configuration does not change between invocations.
Tests that change the environment call :func:`reset`.

========================================  ===========  ==============================================
Variable                                  Default      Meaning
========================================  ===========  ==============================================
LAMBDA_OBSERVE_TRACING                    true         ``false`` turns every tracing call into a no-op
AWS_XRAY_SDK_ENABLED                      true         ``false`` does the same (the SDK's own switch)
LAMBDA_OBSERVE_TRACER                     xray         the output: ``xray``, ``otlp`` or ``otel``
LAMBDA_OBSERVE_SERVICE                    function     the ``Service`` annotation and log key
LAMBDA_OBSERVE_CAPTURE_RESPONSE           true         store the handler's response as metadata
LAMBDA_OBSERVE_CAPTURE_ERROR              true         record exceptions as the subsegment's cause
LAMBDA_OBSERVE_PATCH                      (none)       libraries to patch at the first invocation
LAMBDA_OBSERVE_PATCH_IGNORE               (none)       host or URL patterns whose calls are not traced
AWS_XRAY_DAEMON_ADDRESS                   127.0.0.1:2000  where segment documents are sent (UDP)
LAMBDA_OBSERVE_TIMEOUT_WARNING_MS         500          warn this long before the deadline; 0 = off
LAMBDA_OBSERVE_LOG_LEVEL                  (none)       log level; else AWS_LAMBDA_LOG_LEVEL, LOG_LEVEL, INFO
LAMBDA_OBSERVE_LOG_EVENT                  false        log the incoming event (redacted) once
LAMBDA_OBSERVE_LOG_ERRORS                 true         ``@traced`` logs an escaping exception once
LAMBDA_OBSERVE_DEBUG_SAMPLE_RATE          0            share of invocations logged at DEBUG
LAMBDA_OBSERVE_CORRELATION_ID_PATH        (auto)       JMESPath to the correlation id in the event
LAMBDA_OBSERVE_REDACT_KEYS                (none)       extra key patterns to redact (logs and traces)
LAMBDA_OBSERVE_IDEMPOTENCY                true         ``false`` turns idempotency off (local work)
LAMBDA_OBSERVE_IDEMPOTENCY_STORE          sqlite       store URL; unset = a SQLite file in /tmp
LAMBDA_OBSERVE_HANDLER                    (none)       the original handler, for the zero-code wrapper
LAMBDA_OBSERVE_METRICS_NAMESPACE          (none)       CloudWatch namespace of the EMF metrics
POWERTOOLS_METRICS_NAMESPACE              (none)       the same, when the variable above is unset
LAMBDA_OBSERVE_LOG_BUFFER                 (off)        ``DEBUG``/``INFO``: hold those records until a failure
LAMBDA_OBSERVE_LOG_BUFFER_BYTES           262144       the log buffer's bound per invocation (bytes)
========================================  ===========  ==============================================
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["Config", "get", "reset"]

_FALSE = frozenset({"0", "false", "no", "off", ""})


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() not in _FALSE


def _names(name: str) -> tuple[str, ...]:
    raw = os.environ.get(name, "")
    return tuple(part.strip() for part in raw.replace(";", ",").split(",") if part.strip())


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected a number") from None
    if value != value:  # NaN compares false with everything: it would switch things off unseen
        raise ValueError(f"{name}={raw!r}: expected a number")
    return value


def _buffer_level(name: str) -> str | None:
    given = os.environ.get(name) or ""
    raw = given.strip().upper()
    if raw.lower() in _FALSE:
        return None
    if raw not in ("DEBUG", "INFO"):
        raise ValueError(f"{name}={given!r}: expected DEBUG or INFO (the level at and below which records wait)")
    return raw


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"{name}={raw!r}: expected a positive whole number of bytes")
    return value


class Config:
    """A snapshot of the environment, taken once per process (a plain class: no dataclasses import)."""

    tracing: bool
    tracer: str
    service: str
    capture_response: bool
    capture_error: bool
    patch: tuple[str, ...]
    patch_ignore: tuple[str, ...]
    daemon_address: str
    timeout_warning_ms: float
    log_level: str
    log_event: bool
    log_errors: bool
    debug_sample_rate: float
    correlation_id_path: str | None
    redact_keys: tuple[str, ...]
    idempotency: bool
    idempotency_store: str | None
    handler: str | None
    metrics_namespace: str | None
    log_buffer: str | None
    log_buffer_bytes: int
    in_lambda: bool
    provisioned: bool

    def __init__(self, **values: Any) -> None:
        missing = set(self.__annotations__) - set(values)
        if missing:
            raise TypeError(f"Config needs {sorted(missing)}")
        for key, value in values.items():
            setattr(self, key, value)

    def __repr__(self) -> str:
        return "Config(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__annotations__) + ")"

    @classmethod
    def from_env(cls) -> Config:
        env = os.environ
        level = env.get("LAMBDA_OBSERVE_LOG_LEVEL") or env.get("AWS_LAMBDA_LOG_LEVEL") or env.get("LOG_LEVEL") or "INFO"
        return cls(
            tracing=_flag("LAMBDA_OBSERVE_TRACING", True) and _flag("AWS_XRAY_SDK_ENABLED", True),
            tracer=(env.get("LAMBDA_OBSERVE_TRACER") or "xray").strip().lower(),
            service=env.get("LAMBDA_OBSERVE_SERVICE") or env.get("AWS_LAMBDA_FUNCTION_NAME") or "service_undefined",
            capture_response=_flag("LAMBDA_OBSERVE_CAPTURE_RESPONSE", True),
            capture_error=_flag("LAMBDA_OBSERVE_CAPTURE_ERROR", True),
            patch=_names("LAMBDA_OBSERVE_PATCH"),
            patch_ignore=_names("LAMBDA_OBSERVE_PATCH_IGNORE"),
            daemon_address=env.get("AWS_XRAY_DAEMON_ADDRESS") or "127.0.0.1:2000",
            timeout_warning_ms=_float("LAMBDA_OBSERVE_TIMEOUT_WARNING_MS", 500.0),
            log_level=level.strip().upper(),
            log_event=_flag("LAMBDA_OBSERVE_LOG_EVENT", False),
            log_errors=_flag("LAMBDA_OBSERVE_LOG_ERRORS", True),
            debug_sample_rate=_float("LAMBDA_OBSERVE_DEBUG_SAMPLE_RATE", 0.0),
            correlation_id_path=env.get("LAMBDA_OBSERVE_CORRELATION_ID_PATH") or None,
            redact_keys=_names("LAMBDA_OBSERVE_REDACT_KEYS"),
            idempotency=_flag("LAMBDA_OBSERVE_IDEMPOTENCY", True),
            idempotency_store=env.get("LAMBDA_OBSERVE_IDEMPOTENCY_STORE") or None,
            handler=env.get("LAMBDA_OBSERVE_HANDLER") or None,
            metrics_namespace=(
                env.get("LAMBDA_OBSERVE_METRICS_NAMESPACE") or env.get("POWERTOOLS_METRICS_NAMESPACE") or None
            ),
            log_buffer=_buffer_level("LAMBDA_OBSERVE_LOG_BUFFER"),
            log_buffer_bytes=_positive_int("LAMBDA_OBSERVE_LOG_BUFFER_BYTES", 256 * 1024),
            in_lambda=bool(env.get("AWS_LAMBDA_FUNCTION_NAME") or env.get("LAMBDA_TASK_ROOT")),
            provisioned=env.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "provisioned-concurrency",
        )


_CONFIG: Config | None = None


def get() -> Config:
    """The process's configuration, read from the environment on first call."""
    global _CONFIG
    if _CONFIG is None:
        _CONFIG = Config.from_env()
    return _CONFIG


def reset() -> None:
    """Forget the snapshot so the next :func:`get` reads the environment again (for tests)."""
    global _CONFIG
    _CONFIG = None
