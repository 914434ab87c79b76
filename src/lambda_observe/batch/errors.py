"""The batch errors.

::

    BatchError                 base of everything below
    ├── AllRecordsFailedError  every record of the batch failed: raised so Lambda retries the batch
    └── HandlerIdentityError   (also a TypeError) per-record idempotency on a handler that needs idempotency_name=
"""

from __future__ import annotations

__all__ = ["AllRecordsFailedError", "BatchError", "HandlerIdentityError"]


class BatchError(Exception):
    """Base class of the batch errors."""


class AllRecordsFailedError(BatchError):
    """Every record of the batch failed (or, in a FIFO batch, the first one did).

    AWS documents that a function whose whole batch failed should raise rather than report every
    item: the batch is then retried as a whole. ``count`` is the number of records in the batch;
    ``failures`` holds ``(identifier, exception)`` for each record that ran and raised.
    """

    def __init__(self, count: int, failures: list[tuple[str, BaseException]]) -> None:
        self.count = count
        self.failures = failures
        first = ""
        if failures:
            ident, exc = failures[0]
            first = f"; first failure: record {ident}: {type(exc).__name__}: {_text(exc)}"
        super().__init__(f"all {count} records of the batch failed{first}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.count, self.failures))


def _text(exc: BaseException) -> str:
    """``str(exc)``; an exception whose ``__str__`` raises is named by its type instead."""
    try:
        return str(exc)
    except Exception:
        return f"<unprintable {type(exc).__name__}>"


class HandlerIdentityError(BatchError, TypeError):
    """Per-record idempotency was asked for on a record handler whose keys cannot be named safely.

    A lambda, a ``functools.partial`` with bound arguments, a callable object or a bound builtin
    has no name that tells it apart from another handler of the same shape; pass
    ``idempotency_name=`` to name its keys. Raised before any record runs.
    """
