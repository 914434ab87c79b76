"""The default SQLite store: a per-user directory (0700, checked) and 0600 files, -wal and -shm too."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest

from lambda_observe import idempotent
from lambda_observe.idempotency import SQLiteStore, StoreError
from lambda_observe.idempotency._core import default_store
from lambda_observe.idempotency.stores.sqlite import default_path
from lambda_observe.testing import LambdaContext
from tests.conftest import need


@pytest.fixture
def temp_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The temp dir is the test's own, and the process umask is the common 022."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    previous = os.umask(0o022)
    yield tmp_path
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _write_once(store: SQLiteStore) -> None:
    @idempotent(key="id", store=store)
    def handler(event, context):
        return "ok"

    assert handler({"id": 1}, LambdaContext()) == handler({"id": 1}, LambdaContext()) == "ok"


def test_default_store_lives_in_a_private_per_user_directory(temp_dir):
    """The default file is <tmp>/lambda_observe-<uid>/idempotency.sqlite3; the directory is 0700;
    the database and its -wal and -shm files are 0600 although the umask is 022."""
    store = default_store()
    assert isinstance(store, SQLiteStore)
    directory = temp_dir / f"lambda_observe-{os.getuid()}"
    assert Path(store.path) == directory / "idempotency.sqlite3"
    assert _mode(directory) == 0o700
    _write_once(store)
    files = {p.name: _mode(p) for p in directory.iterdir()}
    assert set(files) >= {"idempotency.sqlite3", "idempotency.sqlite3-wal", "idempotency.sqlite3-shm"}
    assert files == dict.fromkeys(files, 0o600), files
    store.close()


def test_a_path_of_yours_gets_0600_files_too(temp_dir):
    """SQLiteStore(path) creates its database, -wal and -shm 0600 under a 022 umask."""
    store = SQLiteStore(temp_dir / "mine" / "idem.db")
    _write_once(store)
    modes = {p.name: _mode(p) for p in (temp_dir / "mine").iterdir()}
    assert "idem.db-wal" in modes and "idem.db-shm" in modes
    assert modes == dict.fromkeys(modes, 0o600), modes
    store.close()


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702, 0o1777])
def test_a_directory_others_can_write_is_refused(temp_dir, mode):
    """A group- or world-writable lambda_observe-<uid> directory is refused with a StoreError
    saying what was expected; the handler does not run."""
    directory = temp_dir / f"lambda_observe-{os.getuid()}"
    directory.mkdir()
    directory.chmod(mode)
    with pytest.raises(StoreError, match=r"writable by others.*expected 0700"):
        default_path()

    @idempotent(key="id")
    def handler(event, context):
        raise AssertionError("must not run")

    with pytest.raises(StoreError):
        handler({"id": 1}, LambdaContext())


def test_a_symlink_in_its_place_is_refused(temp_dir):
    """A symlink where the directory should be (pointing at someone's directory) is refused."""
    elsewhere = temp_dir / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (temp_dir / f"lambda_observe-{os.getuid()}").symlink_to(elsewhere)
    with pytest.raises(StoreError, match="symlink"):
        default_path()


def test_a_directory_owned_by_someone_else_is_refused(temp_dir):
    """A lambda_observe-<uid> directory that another user owns is refused (needs root to set up)."""
    need(os.getuid() == 0, "making a directory owned by another user needs root")
    directory = temp_dir / f"lambda_observe-{os.getuid()}"
    directory.mkdir(mode=0o700)
    os.chown(directory, 65534, 65534)
    with pytest.raises(StoreError, match="belongs to uid 65534"):
        default_path()


def test_opening_leaves_the_process_umask_alone(temp_dir, monkeypatch):
    """The umask is process-wide (other threads create files meanwhile): opening a store never sets
    it. The 0600 modes come from creating the database file 0600 (SQLite gives -wal and -shm the
    database file's mode), which test_a_path_of_yours_gets_0600_files_too checks under umask 022."""
    calls = []
    real = os.umask
    monkeypatch.setattr(os, "umask", lambda mask: calls.append(mask) or real(mask))
    store = SQLiteStore(temp_dir / "idem.db")
    _write_once(store)
    store.close()
    assert calls == []
