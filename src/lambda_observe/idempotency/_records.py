"""Idempotency for one record of a batch, for :mod:`lambda_observe.batch`.

The batch runs each record through the same state machine as ``@idempotent``
(:class:`~lambda_observe.idempotency._core.Idempotency`): the key is selected from the record,
a completed record answers from the store, a duplicate still in progress raises
:class:`~lambda_observe.idempotency.errors.AlreadyInProgressError`. This module adds only two
things: one state per record handler and options (so a store URL is opened once per process,
not once per batch), and an ``idempotency`` outcome log key scoped to the record rather than
left on the invocation for the next record to inherit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .. import _invocation
from ._core import Idempotency
from ._decorators import _OPTIONS, _identity

__all__ = ["run", "run_async", "state_for"]

_STATES: dict[tuple[Any, ...], Idempotency] = {}
_MAX_STATES = 64
_ABSENT = object()
#: The option that makes a key selecting nothing an error (its name differs across versions).
_RAISE_OPTION = "raise_on_no_key" if "raise_on_no_key" in _OPTIONS else "raise_on_missing_key"


def state_for(
    handler: Callable[..., Any],
    key: str,
    *,
    validate: str | None = None,
    store: Any = None,
    expires_after: float = 3600.0,
    in_progress_timeout: float | None = None,
    raise_on_no_key: bool = False,
    local_cache: int = 0,
) -> Idempotency:
    """The idempotency state for ``handler``'s records with these options (made once, then reused).

    Records are keyed under the handler's identity (function name, module and qualified name),
    as ``@idempotent_function`` keys its calls. A bad key expression or store URL raises here.
    """
    identity = _identity(handler)
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


def _restore(keys: dict[str, Any] | None, before: Any) -> None:
    if keys is None:
        return
    if before is _ABSENT:
        keys.pop("idempotency", None)
    else:
        keys["idempotency"] = before


def run(state: Idempotency, call: Callable[[], Any], record: Any, remaining_ms: float | None) -> Any:
    """Run ``call`` at most once for the key selected from ``record``; the stored result on a repeat."""
    keys, before = _keys()
    try:
        return state.run(call, record, remaining_ms)
    finally:
        _restore(keys, before)


async def run_async(
    state: Idempotency, call: Callable[[], Awaitable[Any]], record: Any, remaining_ms: float | None
) -> Any:
    """:func:`run` for a coroutine function."""
    keys, before = _keys()
    try:
        return await state.run_async(call, record, remaining_ms)
    finally:
        _restore(keys, before)


def forget() -> None:
    """Drop every cached state (for tests)."""
    _STATES.clear()
