"""The idempotency errors.

::

    IdempotencyError                  base of everything below
    ├── AlreadyInProgressError        a duplicate arrived while the first is still running
    ├── PayloadMismatchError          same key, different payload (per ``validate``)
    ├── KeyMissingError               the key expression selected nothing (raise_on_missing_key)
    ├── ResultNotSerializableError    the handler's result cannot be stored as JSON
    └── StoreError                    the store could not be reached or answered wrongly
"""

from __future__ import annotations

__all__ = [
    "AlreadyInProgressError",
    "IdempotencyError",
    "KeyMissingError",
    "PayloadMismatchError",
    "ResultNotSerializableError",
    "StoreError",
]


class IdempotencyError(Exception):
    """Base class of every idempotency error."""


class AlreadyInProgressError(IdempotencyError):
    """Another execution holds this key; retry later (after ``retry_after`` epoch seconds)."""

    def __init__(self, key: str, retry_after: float | None = None) -> None:
        self.key = key
        self.retry_after = retry_after
        when = f"; it expires at {retry_after:.3f} (epoch seconds)" if retry_after else ""
        super().__init__(f"an execution with idempotency key {key!r} is already in progress{when}")


class PayloadMismatchError(IdempotencyError):
    """The same idempotency key arrived with a different payload."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(
            f"idempotency key {key!r} was first used with a different payload (per the 'validate' expression)"
        )


class KeyMissingError(IdempotencyError):
    """The key expression selected nothing from the event."""

    def __init__(self, expression: str) -> None:
        self.expression = expression
        super().__init__(
            f"the idempotency key expression {expression!r} selected nothing from the event; "
            "expected a value there (or pass raise_on_missing_key=False to run without idempotency)"
        )


class ResultNotSerializableError(IdempotencyError):
    """The result is not JSON; the record was removed so a retry can run."""


class StoreError(IdempotencyError):
    """The store failed; the handler did not run (or its result could not be recorded)."""

    def __init__(self, store: str, reason: str) -> None:
        self.store = store
        self.reason = reason
        super().__init__(f"idempotency store {store} failed: {reason}")
