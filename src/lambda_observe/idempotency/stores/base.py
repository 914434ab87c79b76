"""The store protocol: four operations, each atomic on its own.

The state machine in :mod:`lambda_observe.idempotency._core` is written once against this;
a store only knows how to put-if-absent, get, complete and delete.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from .._record import Record

__all__ = ["Store"]


@runtime_checkable
class Store(Protocol):
    """Where idempotency records live."""

    name: str

    def put_in_progress(self, record: Record, now: float) -> Record | None:
        """Write ``record`` unless a live record holds the key at ``now``.

        A record is live unless it has expired or is an in-progress record whose in-progress
        expiry has passed (a crashed attempt): those are taken over. Returns ``None`` when
        written, else the live record that stands. Must be atomic.
        """

    def get(self, key: str) -> Record | None:
        """The record for ``key`` whatever its state, or ``None``."""

    def complete(self, key: str, attempt: str, result: str, expiry: float) -> None:
        """Mark ``key`` completed with ``result`` if ``attempt`` still owns it."""

    def delete(self, key: str, attempt: str) -> None:
        """Remove ``key`` if ``attempt`` still owns it (the handler failed)."""
