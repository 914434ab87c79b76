"""The embedded default: one SQLite file, safe across processes on one machine."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from .._record import COMPLETED, IN_PROGRESS, Record
from ..errors import StoreError

__all__ = ["SQLiteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    expiry REAL NOT NULL,
    in_progress_expiry REAL NOT NULL,
    payload_hash TEXT,
    result TEXT,
    attempt TEXT NOT NULL
)
"""
_UPSERT = """
INSERT INTO idempotency (key, status, expiry, in_progress_expiry, payload_hash, result, attempt)
VALUES (?, ?, ?, ?, ?, NULL, ?)
ON CONFLICT(key) DO UPDATE SET
    status = excluded.status, expiry = excluded.expiry, in_progress_expiry = excluded.in_progress_expiry,
    payload_hash = excluded.payload_hash, result = NULL, attempt = excluded.attempt
WHERE idempotency.expiry < ? OR (idempotency.status = ? AND idempotency.in_progress_expiry < ?)
"""


class SQLiteStore:
    """Records in a SQLite file. The put-if-absent is one conditional upsert statement."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        self.name = f"sqlite:///{self.path}"
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            try:
                if self.path != ":memory:":
                    Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                # Our own bookkeeping is not the user's SQL: bypass a patch("sqlite3") wrapper.
                connect = getattr(sqlite3.connect, "__wrapped__", sqlite3.connect)
                conn = connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA busy_timeout = 30000")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute(_SCHEMA)
            except sqlite3.Error as exc:
                raise StoreError(self.name, f"cannot open the database: {exc}") from exc
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def _run(self, sql: str, params: tuple[object, ...]) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._connection().execute(sql, params)
            except sqlite3.Error as exc:
                raise StoreError(self.name, str(exc)) from exc

    def put_in_progress(self, record: Record, now: float) -> Record | None:
        for _ in range(5):
            cursor = self._run(
                _UPSERT,
                (
                    record.key,
                    IN_PROGRESS,
                    record.expiry,
                    record.in_progress_expiry,
                    record.payload_hash,
                    record.attempt,
                    now,
                    IN_PROGRESS,
                    now,
                ),
            )
            if cursor.rowcount == 1:
                return None
            existing = self.get(record.key)
            if existing is not None:
                return existing
        raise StoreError(self.name, f"key {record.key!r} kept changing under a conditional write")

    def get(self, key: str) -> Record | None:
        row = self._run(
            "SELECT status, expiry, in_progress_expiry, payload_hash, result, attempt FROM idempotency WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        return Record(key, row[0], row[1], row[2], row[3], row[4], row[5])

    def complete(self, key: str, attempt: str, result: str, expiry: float) -> None:
        self._run(
            "UPDATE idempotency SET status = ?, result = ?, expiry = ? WHERE key = ? AND attempt = ?",
            (COMPLETED, result, expiry, key, attempt),
        )

    def delete(self, key: str, attempt: str) -> None:
        self._run("DELETE FROM idempotency WHERE key = ? AND attempt = ?", (key, attempt))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
