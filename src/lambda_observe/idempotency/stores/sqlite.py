"""The embedded default: one SQLite file, safe across processes on one machine.

The default file lives in a directory of the user's own under the temp dir
(``lambda_observe-<uid>``, mode 0700); a directory there that someone else owns, that is a
symlink, or that others can write to is refused. The database file is created 0600 (with
``O_NOFOLLOW``); SQLite gives its ``-wal`` and ``-shm`` files the database file's mode, so they are
0600 too, whatever the umask. The process umask is never changed (it is process-wide). For a
path of yours, missing parent directories are created: the last one 0700, those above it with
the default mode (``0777`` less the umask).
"""

from __future__ import annotations

import os
import sqlite3
import stat
import tempfile
import threading
import time
from pathlib import Path

from .._record import COMPLETED, IN_PROGRESS, Record
from .._secrets import safe_url
from ..errors import StoreError

__all__ = ["SQLiteStore", "default_path"]

_FILE = "idempotency.sqlite3"


def _uid() -> int | str:
    getuid = getattr(os, "getuid", None)
    return getuid() if getuid is not None else os.environ.get("USERNAME", "user")


def default_path() -> str:
    """``<tempdir>/lambda_observe-<uid>/idempotency.sqlite3``; the directory made (0700) or checked.

    Raises :class:`StoreError` when the directory belongs to someone else, is a symlink or is
    writable by group or others.
    """
    directory = os.path.join(tempfile.gettempdir(), f"lambda_observe-{_uid()}")
    where = f"sqlite:///{directory}"
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise StoreError(where, f"cannot create the directory: {exc.strerror}") from None
    info = os.lstat(directory)
    if not stat.S_ISDIR(info.st_mode):
        raise StoreError(where, "expected a directory of our own there, found a symlink or a file; remove it")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise StoreError(where, f"the directory belongs to uid {info.st_uid}, not to us ({os.getuid()}); remove it")
    if info.st_mode & 0o022:
        raise StoreError(
            where, f"the directory is writable by others (mode {stat.S_IMODE(info.st_mode):o}); expected 0700"
        )
    return os.path.join(directory, _FILE)


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
        self.name = safe_url(f"sqlite:///{self.path}")  # unchanged unless it looks like it holds a secret
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            try:
                conn = self._open()
            except (sqlite3.Error, OSError) as exc:
                raise StoreError(self.name, f"cannot open the database: {exc}") from None
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Create the file 0600 ourselves (never through a symlink); an existing file keeps its mode.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
            os.close(fd)
        # Our own bookkeeping is not the user's SQL: bypass a patch("sqlite3") wrapper.
        connect = getattr(sqlite3.connect, "__wrapped__", sqlite3.connect)
        # -wal and -shm, created by the statements below, take the database file's mode from SQLite.
        conn = connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 30000")
        # Switching a new file to WAL and creating the table can answer "database is locked" at once,
        # without waiting on the busy timeout, while other processes open the same file (seen with 8
        # processes racing on a fresh file): those steps are retried for a few seconds, then fail closed.
        for attempt in range(60):
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute(_SCHEMA)
                return conn
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    conn.close()
                    raise
                if attempt == 59:
                    conn.close()
                    raise
                time.sleep(min(0.01 * (attempt + 1), 0.2))
        raise AssertionError("unreachable")  # pragma: no cover

    def __repr__(self) -> str:
        return f"SQLiteStore({self.name!r})"

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
