"""Idempotency for one record of a batch, for :mod:`lambda_observe.batch`.

The batch runs each record through the same state machine as ``@idempotent``
(:class:`~lambda_observe.idempotency._core.Idempotency`): the key is selected from the record,
a completed record answers from the store, a duplicate still in progress raises
:class:`~lambda_observe.idempotency.errors.AlreadyInProgressError`. This module adds three
things: one state per record handler and options (so a store URL is opened once per process,
not once per batch); an ``idempotency`` outcome log key scoped to the record rather than left
on the invocation for the next record to inherit; and a completion marker (``null``) stored in
place of the record handler's return value, which the batch never uses, so a record whose work
is done is never failed (and run again on redelivery) because its return value cannot be stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .. import _invocation
from ._core import Idempotency
from ._decorators import _OPTIONS

__all__ = ["run", "run_async", "state_for"]

_STATES: dict[tuple[Any, ...], Idempotency] = {}
_MAX_STATES = 64
_ABSENT = object()
#: The option that makes a key selecting nothing an error (its name differs across versions).
_RAISE_OPTION = "raise_on_no_key" if "raise_on_no_key" in _OPTIONS else "raise_on_missing_key"


#: The methods a store object must have (the store protocol of :mod:`.stores.base`).
_STORE_METHODS = ("put_in_progress", "get", "complete", "delete")


def check_store(store: Any) -> None:
    """``store`` is None, a URL or a store object; :class:`TypeError` saying what is accepted otherwise."""
    if store is None or isinstance(store, str):
        return
    missing = [name for name in _STORE_METHODS if not callable(getattr(store, name, None))]
    if missing:
        text = repr(store)
        raise TypeError(
            f"store={text if len(text) <= 60 else text[:57] + '...'}: expected a store URL "
            "('dynamodb://table', 'redis://host:6379/0', 'sqlite:///path', 'memory://'), a store object with "
            f"{', '.join(_STORE_METHODS)} (such as InMemoryStore()), or None for LAMBDA_OBSERVE_IDEMPOTENCY_STORE; "
            f"a {type(store).__name__} has no {', '.join(missing)}"
        )


def state_for(
    identity: str,
    key: str,
    *,
    validate: str | None = None,
    store: Any = None,
    expires_after: float = 3600.0,
    in_progress_timeout: float | None = None,
    raise_on_no_key: bool = False,
    local_cache: int = 0,
) -> Idempotency:
    """The idempotency state for a record handler's records with these options (made once, then reused).

    Records are keyed under ``identity``, the handler's name (see :mod:`lambda_observe.batch._identity`).
    A bad key expression, store URL or store object raises here, before any record runs.
    """
    check_store(store)
    cache_key: tuple[Any, ...] = (
        identity,
        key,
        validate,
        store,
        expires_after,
        in_progress_timeout,
        raise_on_no_key,
        local_cache,
    )
    try:
        state = _STATES.get(cache_key)
    except TypeError:  # an unhashable store object: no reuse, still correct
        cache_key, state = (), None
    if state is not None:
        return state
    options: dict[str, Any] = {
        "key": key,
        "validate": validate,
        "store": store,
        "expires_after": expires_after,
        "in_progress_timeout": in_progress_timeout,
        _RAISE_OPTION: raise_on_no_key,
        "local_cache": local_cache,
        "output_type": None,
    }
    state = Idempotency(identity, **options)
    if cache_key:
        if len(_STATES) >= _MAX_STATES:
            _STATES.pop(next(iter(_STATES)))
        _STATES[cache_key] = state
    return state


def _keys() -> tuple[dict[str, Any] | None, Any]:
    inv = _invocation.current()
    if inv is None:
        return None, _ABSENT
    return inv.keys, inv.keys.get("idempotency", _ABSENT)


def _restore(keys: dict[str, Any] | None, before: Any, outcome: list[Any]) -> None:
    if keys is None:
        outcome.clear()
        return
    outcome[:] = [keys.get("idempotency")]
    if before is _ABSENT:
        keys.pop("idempotency", None)
    else:
        keys["idempotency"] = before


def run(
    state: Idempotency, call: Callable[[], Any], record: Any, remaining_ms: float | None, outcome: list[Any]
) -> None:
    """Run ``call`` at most once for the key selected from ``record``; a completion marker is stored.
    ``outcome`` receives the record's idempotency outcome (``miss``, ``hit``, ``in_progress``...), which
    the log lines written during the record carry, for the lines written about it afterwards."""
    keys, before = _keys()

    def marked() -> None:
        call()  # the return value is the batch's to ignore, not the store's to hold

    try:
        state.run(marked, record, remaining_ms)
    finally:
        _restore(keys, before, outcome)


async def run_async(
    state: Idempotency,
    call: Callable[[], Awaitable[Any]],
    record: Any,
    remaining_ms: float | None,
    outcome: list[Any],
) -> None:
    """:func:`run` for a coroutine function."""
    keys, before = _keys()

    async def marked() -> None:
        await call()

    try:
        await state.run_async(marked, record, remaining_ms)
    finally:
        _restore(keys, before, outcome)


def forget() -> None:
    """Drop every cached state (for tests)."""
    _STATES.clear()
