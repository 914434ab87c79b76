"""An in-memory store, for tests and for one process."""

from __future__ import annotations

import dataclasses
import threading

from .._record import COMPLETED, Record

__all__ = ["InMemoryStore"]


class InMemoryStore:
    """Records in a dict behind a lock: atomic within one process, gone with it."""

    name = "memory"

    def __init__(self) -> None:
        self._records: dict[str, Record] = {}
        self._lock = threading.Lock()

    def put_in_progress(self, record: Record, now: float) -> Record | None:
        with self._lock:
            existing = self._records.get(record.key)
            if existing is not None and existing.live(now):
                return dataclasses.replace(existing)
            self._records[record.key] = dataclasses.replace(record)
            return None

    def get(self, key: str) -> Record | None:
        with self._lock:
            found = self._records.get(key)
            return dataclasses.replace(found) if found else None

    def complete(self, key: str, attempt: str, result: str, expiry: float) -> None:
        with self._lock:
            found = self._records.get(key)
            if found is not None and found.attempt == attempt:
                found.status, found.result, found.expiry = COMPLETED, result, expiry

    def delete(self, key: str, attempt: str) -> None:
        with self._lock:
            found = self._records.get(key)
            if found is not None and found.attempt == attempt:
                del self._records[key]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
