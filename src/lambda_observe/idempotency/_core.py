"""The idempotency state machine, written once against the store protocol.

::

    (none) --put_in_progress--> IN_PROGRESS --handler returns--> COMPLETED --expiry--> (none)
                                     |  \\--handler raises--> (deleted)
                                     \\--in-progress expiry passes (crash, timeout)--> taken over by a retry
"""

from __future__ import annotations

import collections
import logging
import reprlib
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from .. import _invocation, _warn, config
from . import _serialize
from ._keys import KeySelector, digest, no_key
from ._record import COMPLETED, IN_PROGRESS, Record
from ._secrets import clean
from .errors import (
    AlreadyInProgressError,
    ConfigError,
    IdempotencyError,
    NoKeyError,
    PayloadMismatchError,
    ReplayError,
    ResultNotSerializableError,
    StoreError,
)

__all__ = ["Idempotency"]

_LOG = logging.getLogger("lambda_observe")
_DEFAULT_IN_PROGRESS_S = 900.0  # Lambda's longest timeout, when the deadline is unknown


def default_store() -> Any:
    """The store named by ``LAMBDA_OBSERVE_IDEMPOTENCY_STORE``, else a SQLite file of the user's own."""
    from .stores.url import from_url

    url = config.get().idempotency_store
    if url:
        try:
            return from_url(url)
        except ConfigError as exc:
            refused = str(exc)
        raise ConfigError(f"LAMBDA_OBSERVE_IDEMPOTENCY_STORE: {refused}")
    from .stores.sqlite import SQLiteStore, default_path

    if config.get().in_lambda:
        _warn.once(
            "idempotency-default-store",
            "lambda_observe: idempotency uses the embedded SQLite store, which only dedupes within one "
            "execution environment; set LAMBDA_OBSERVE_IDEMPOTENCY_STORE to a dynamodb:// or redis:// URL",
        )
    return SQLiteStore(default_path())


class _LRU:
    """Completed records kept in process, so a duplicate costs no round trip."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: collections.OrderedDict[str, Record] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, now: float) -> Record | None:
        if not self.size:
            return None
        with self._lock:
            record = self._data.get(key)
            if record is None:
                return None
            if record.expiry < now:
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return record

    def put(self, record: Record) -> None:
        if not self.size:
            return
        with self._lock:
            self._data[record.key] = record
            self._data.move_to_end(record.key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


def _outcome(value: str) -> None:
    """Make the outcome visible: an annotation on the current subsegment and a log key."""
    inv = _invocation.current()
    if inv is not None:
        inv.keys["idempotency"] = value
    from ..tracing.api import annotate

    annotate("idempotency", value)


class _Step:
    """Where :meth:`Idempotency.begin` left things: answered (``done``) or claimed (``record``)."""

    __slots__ = ("done", "record", "value")

    def __init__(self, done: bool = False, value: Any = None, record: Record | None = None) -> None:
        self.done = done
        self.value = value
        self.record = record


class Idempotency:
    """One decorated function's idempotency settings and its store."""

    def __init__(
        self,
        identity: str,
        *,
        key: str | None,
        validate: str | None,
        store: Any,
        expires_after: float,
        in_progress_timeout: float | None,
        raise_on_no_key: bool,
        local_cache: int,
        output_type: type[Any] | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if expires_after <= 0:
            raise ConfigError(f"expires_after={expires_after!r}: expected a positive number of seconds")
        if in_progress_timeout is not None and in_progress_timeout <= 0:
            raise ConfigError(f"in_progress_timeout={in_progress_timeout!r}: expected a positive number of seconds")
        if local_cache < 0:
            raise ConfigError(f"local_cache={local_cache!r}: expected 0 (off) or a number of records")
        self.identity = identity
        self.key = KeySelector(key, "key")
        self.validate = KeySelector(validate, "validate") if validate else None
        self._store_spec = store
        self._store: Any = None
        if store is not None and not isinstance(store, str):
            self._store = _checked_store(store)
        elif isinstance(store, str):
            from .stores.url import from_url

            self._store = from_url(store)  # validate the URL now, connect on first use
        self.expires_after = expires_after
        self.in_progress_timeout = in_progress_timeout
        self.raise_on_no_key = raise_on_no_key
        self.cache = _LRU(local_cache)
        self.output_type = output_type
        self.clock = clock

    @property
    def store(self) -> Any:
        if self._store is None:
            self._store = default_store()
        return self._store

    def _in_progress_window(self, remaining_ms: float | None) -> float:
        window = remaining_ms / 1000.0 if remaining_ms is not None and remaining_ms > 0 else None
        cap = self.in_progress_timeout
        if window is None:
            return cap or _DEFAULT_IN_PROGRESS_S
        return min(window, cap) if cap else window

    def begin(self, data: Any, remaining_ms: float | None) -> _Step:
        """Claim the key, or answer from an existing record; see :meth:`run`."""
        if not config.get().idempotency:
            return _Step()
        selected = self.key.select(data)
        if no_key(selected):
            if self.raise_on_no_key:
                raise NoKeyError(self.key.expression or "@", selected)
            _outcome("no_key")
            _warn.once(
                f"idempotency-no-key-{self.identity}",
                "lambda_observe: idempotency key expression %r selected no key (%s) for %s; running without "
                "idempotency (said once per function; raise_on_no_key=True raises NoKeyError instead)",
                self.key.expression or "@",
                reprlib.repr(selected),
                self.identity,
            )
            return _Step()
        key = f"{self.identity}#{digest(selected)}"
        payload_hash = digest(self.validate.select(data)) if self.validate is not None else None
        now = self.clock()
        cached = self.cache.get(key, now)
        if cached is not None:
            return _Step(done=True, value=self._answer(cached, payload_hash))
        record = Record(
            key=key,
            status=IN_PROGRESS,
            expiry=now + self.expires_after,
            in_progress_expiry=now + self._in_progress_window(remaining_ms),
            payload_hash=payload_hash,
            attempt=uuid.uuid4().hex,
        )
        store = self.store
        existing = self._guard(store, lambda: store.put_in_progress(record, now))
        if existing is not None:
            return _Step(done=True, value=self._answer(existing, payload_hash))
        _outcome("miss")
        return _Step(record=record)

    def failed(self, step: _Step) -> None:
        """The function raised: remove the claim so a retry can run."""
        record = step.record
        if record is None:
            return
        try:
            self.store.delete(record.key, record.attempt)
        except Exception as exc:
            _LOG.warning(
                "lambda_observe: could not delete idempotency record %s after a failure (%s); a retry can run "
                "once its in-progress expiry passes",
                record.key,
                clean(f"{type(exc).__name__}: {exc}"),
            )

    def succeeded(self, step: _Step, result: Any) -> Any:
        """The function returned: store its result as JSON and mark the record completed."""
        record = step.record
        if record is None:
            return result
        try:
            text = _serialize.dumps(result)
        except IdempotencyError:
            self.failed(step)
            raise
        expiry = self.clock() + self.expires_after
        refused: ResultNotSerializableError | None = None
        try:
            self.store.complete(record.key, record.attempt, text, expiry)
        except ResultNotSerializableError as exc:  # the store refuses this result for good (too large)
            refused = ResultNotSerializableError(str(exc), result=result)
        except Exception as exc:  # the work is done: return it; duplicates wait out the in-progress window
            _LOG.error(
                "lambda_observe: could not record the result for idempotency key %s: %s",
                record.key,
                clean(f"{type(exc).__name__}: {exc}"),
            )
            return result
        if refused is not None:  # the one path of an unstorable result: release the record, say so
            self.failed(step)
            raise refused
        self.cache.put(
            Record(record.key, COMPLETED, expiry, record.in_progress_expiry, record.payload_hash, text, record.attempt)
        )
        return result

    def run(self, call: Callable[[], Any], data: Any, remaining_ms: float | None) -> Any:
        """Run ``call`` at most once for the key selected from ``data``."""
        step = self.begin(data, remaining_ms)
        if step.done:
            return step.value
        try:
            result = call()
        except BaseException:
            self.failed(step)
            raise
        return self.succeeded(step, result)

    async def run_async(self, call: Callable[[], Awaitable[Any]], data: Any, remaining_ms: float | None) -> Any:
        """:meth:`run` for a coroutine function."""
        step = self.begin(data, remaining_ms)
        if step.done:
            return step.value
        try:
            result = await call()
        except BaseException:
            self.failed(step)
            raise
        return self.succeeded(step, result)

    def _guard(self, store: Any, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except IdempotencyError:
            raise
        except Exception as exc:
            error = StoreError(getattr(store, "name", type(store).__name__), f"{type(exc).__name__}: {exc}")
        raise error  # outside the except block: the store's own exception is neither cause nor context

    def _answer(self, existing: Record, payload_hash: str | None) -> Any:
        if payload_hash is not None and existing.payload_hash is not None and existing.payload_hash != payload_hash:
            raise PayloadMismatchError(existing.key)
        if existing.status == COMPLETED:
            _outcome("hit")
            value = self._replay(existing)
            self.cache.put(existing)  # only a record that replays is kept in process
            return value
        _outcome("in_progress")
        raise AlreadyInProgressError(existing.key, existing.in_progress_expiry)

    def _replay(self, record: Record) -> Any:
        """The stored result, or :class:`ReplayError` (fail closed: the function does not run again)."""
        if record.result is None:
            raise ReplayError(record.key, "the completed record holds no result", "the result lambda_observe stored")
        try:
            value = _serialize.loads(record.result)
        except Exception as exc:  # corrupt: not JSON, or a tagged form that does not decode
            reason = f"the stored text does not decode: {type(exc).__name__}"
            raise ReplayError(record.key, reason, "the JSON (or tagged JSON) that lambda_observe writes") from None
        if self.output_type is None or value is None:
            return value
        try:
            return _serialize.rebuild(value, self.output_type)
        except Exception as exc:  # e.g. pydantic's ValidationError: the type changed since it was stored
            kind = getattr(self.output_type, "__qualname__", repr(self.output_type))
            raise ReplayError(
                record.key, f"output_type {kind} refused it: {type(exc).__name__}", f"a value {kind} accepts"
            ) from exc


_STORE_METHODS = ("put_in_progress", "get", "complete", "delete")


def _checked_store(store: Any) -> Any:
    """``store`` if it has the store methods, else :class:`ConfigError` saying what is accepted."""
    missing = [name for name in _STORE_METHODS if not callable(getattr(store, name, None))]
    if missing:
        raise ConfigError(
            f"store= got {type(store).__name__}, which has no {', '.join(missing)}: expected a store URL "
            "(sqlite:///path, redis://host:port/db, dynamodb://table?region=..., memory://) or a store object "
            "with put_in_progress, get, complete and delete (DynamoDBStore, RedisStore, SQLiteStore, InMemoryStore)"
        )
    return store
