"""The idempotency errors.

::

    IdempotencyError                  base of everything below
    ├── AlreadyInProgressError        a duplicate arrived while the first is still running
    ├── PayloadMismatchError          same key, different payload (per ``validate``)
    ├── KeyMissingError               the key expression selected nothing
    │   └── NoKeyError                ... raised with raise_on_no_key=True (None, "", [], {}, all-null)
    ├── KeyExpressionError            (also a ValueError) the key/validate expression is invalid, calls an
    │                                 unknown function, or cannot be evaluated on this event
    ├── ConfigError                   (also a ValueError) a bad option: store URL or object, name, times
    ├── ResultNotSerializableError    the function's result cannot be stored (by the encoder or the store);
    │                                 the record was released
    ├── ReplayError                   a stored result cannot be replayed (corrupt, missing, or rejected by
    │                                 output_type); the function did not run again
    └── StoreError                    the store could not be reached or answered wrongly
"""

from __future__ import annotations

import reprlib

__all__ = [
    "AlreadyInProgressError",
    "ConfigError",
    "IdempotencyError",
    "KeyExpressionError",
    "KeyMissingError",
    "NoKeyError",
    "PayloadMismatchError",
    "ReplayError",
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
            "expected a value there (or pass raise_on_no_key=False to run without idempotency)"
        )


class NoKeyError(KeyMissingError):
    """The key expression selected no key (``None``, ``""``, ``[]``, ``{}`` or only such values)."""

    def __init__(self, expression: str, selected: object = None) -> None:
        self.selected = selected  # only None, "" and empty containers: nothing of the event's data
        got = reprlib.repr(selected)
        Exception.__init__(
            self,
            f"the idempotency key expression {expression!r} selected no key from the event (got {got}); "
            "expected a non-empty value (a string, a number, or a list/object holding at least one); "
            "pass raise_on_no_key=False to run such events without idempotency",
        )
        self.expression = expression


class KeyExpressionError(IdempotencyError, ValueError):
    """A key or validate expression is invalid, or cannot be evaluated on this event."""


class ConfigError(IdempotencyError, ValueError):
    """An idempotency option is invalid: the store URL or object, ``name=``, a time or a size."""


class ResultNotSerializableError(IdempotencyError):
    """The function's result cannot be stored; the record was released so a retry can run.

    The function did run: its return value is kept on ``result``.
    """

    def __init__(self, message: str, result: object = None) -> None:
        self.result = result
        super().__init__(message)


class ReplayError(IdempotencyError):
    """A completed record's result cannot be replayed; the function was not run again (fail closed).

    The stored text is not what lambda_observe writes (corrupt, or missing), or ``output_type``
    refuses the stored value (the type changed since the result was stored). Deleting the record
    (key on ``key``) lets the next call run the function.
    """

    def __init__(self, key: str, reason: str, expected: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(
            f"the stored result for idempotency key {key!r} cannot be replayed ({reason}); expected {expected}. "
            "The function was not run again: delete the record from the store to let the next call run it"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (_replay_error, (self.key, self.reason, str(self)))


def _replay_error(key: str, reason: str, message: str) -> ReplayError:
    error = ReplayError.__new__(ReplayError)
    error.key, error.reason = key, reason
    Exception.__init__(error, message)
    return error


class StoreError(IdempotencyError):
    """The store failed; the handler did not run (or its result could not be recorded)."""

    def __init__(self, store: str, reason: str, secrets: tuple[str, ...] = ()) -> None:
        from ._secrets import clean  # credentials never reach a message, whoever builds the error

        self.store = clean(store, secrets)
        self.reason = clean(reason, secrets)
        super().__init__(f"idempotency store {self.store} failed: {self.reason}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.store, self.reason))
