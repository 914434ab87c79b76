"""``@idempotent`` for handlers and ``@idempotent_function`` for any function."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from typing import Any, TypeVar

from .. import _invocation
from ._core import Idempotency
from ._keys import as_data
from .errors import ConfigError

__all__ = ["idempotent", "idempotent_function"]

F = TypeVar("F", bound=Callable[..., Any])
#: The keyword options both decorators pass to :class:`Idempotency` unchanged.
_OPTIONS = frozenset(
    {
        "key",
        "validate",
        "store",
        "expires_after",
        "in_progress_timeout",
        "raise_on_no_key",
        "local_cache",
        "output_type",
    }
)


def _options(given: dict[str, Any]) -> dict[str, Any]:
    """The keyword options for :class:`Idempotency`; ``raise_on_missing_key`` is the old name."""
    options = {name: value for name, value in given.items() if name in _OPTIONS}
    if given.get("raise_on_missing_key") is not None:
        options["raise_on_no_key"] = bool(given["raise_on_missing_key"]) or bool(options["raise_on_no_key"])
    return options


def _identity(fn: Callable[..., Any], name: str | None = None) -> str:
    """``<AWS_LAMBDA_FUNCTION_NAME>.<name>``, ``name`` defaulting to the function's ``module.qualname``.

    Functions with the same module and qualified name (handlers made by one factory) share records
    unless each is given its own ``name=``.
    """
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ConfigError(f"name={name!r}: expected a non-empty string naming this function's records")
    function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
    if name is None:
        name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', getattr(fn, '__name__', '?'))}"
    return f"{function}.{name}" if function else name


def _remaining(context: Any) -> float | None:
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if callable(getter):
        try:
            return float(getter())
        except Exception:
            return None
    inv = _invocation.current()
    return inv.remaining_ms() if inv is not None else None


def idempotent(
    fn: F | None = None,
    /,
    *,
    key: str | None = None,
    validate: str | None = None,
    store: Any = None,
    expires_after: float = 3600.0,
    in_progress_timeout: float | None = None,
    raise_on_no_key: bool = False,
    raise_on_missing_key: bool | None = None,
    local_cache: int = 0,
    output_type: type[Any] | None = None,
    name: str | None = None,
) -> Any:
    """Run a Lambda handler at most once per event key.

    ``key``: JMESPath over the event (``"body.order_id"``; a JSON-string ``body`` is parsed
    for you; ``from_json(...)`` / ``powertools_json(...)`` parse other strings); ``None`` keys
    on the whole event. ``validate``: JMESPath whose value must match on duplicates, else
    :class:`PayloadMismatchError`. ``store``: a store object or URL (``sqlite:///path``,
    ``redis://host:port/db``, ``dynamodb://table?region=...&endpoint=...``); omitted,
    ``LAMBDA_OBSERVE_IDEMPOTENCY_STORE``, else a SQLite file. ``expires_after``: how long a
    result is kept (seconds). The in-progress window is the invocation's remaining time,
    capped by ``in_progress_timeout``. ``local_cache``: keep this many completed records in
    process. ``output_type``: rebuild stored results as this dataclass or pydantic model.
    ``name``: the name the records are kept under (default: the function's ``module.qualname``,
    which handlers made by one factory share); the Lambda function's name is always prefixed.

    A key that selects *no key* (``None``, ``""``, ``[]``, ``{}``, or only such values, as a
    multiselect over absent fields gives) runs the handler without idempotency, with one WARNING
    naming the expression; ``raise_on_no_key=True`` raises :class:`NoKeyError` instead
    (``raise_on_missing_key`` is its old name). A result that cannot be stored raises
    :class:`ResultNotSerializableError` (the handler ran; its value is on ``.result``) and
    releases the record; so does a result the store refuses (over DynamoDB's 400 KB item limit).
    A stored result that cannot be replayed raises :class:`ReplayError` (the handler does not run
    again). A bad option or store raises :class:`ConfigError` (a ValueError) when decorating.
    """

    options = _options(locals())

    def decorate(handler: F) -> F:
        state = Idempotency(_identity(handler, name), **options)
        if inspect.iscoroutinefunction(handler):

            @functools.wraps(handler)
            async def async_entry(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
                return await state.run_async(
                    lambda: handler(event, context, *args, **kwargs), event, _remaining(context)
                )

            async_entry.idempotency = state  # type: ignore[attr-defined]
            return async_entry  # type: ignore[return-value]

        @functools.wraps(handler)
        def entry(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            return state.run(lambda: handler(event, context, *args, **kwargs), event, _remaining(context))

        entry.idempotency = state  # type: ignore[attr-defined]
        return entry  # type: ignore[return-value]

    return decorate(fn) if fn is not None else decorate


def idempotent_function(
    fn: F | None = None,
    /,
    *,
    arg: str,
    key: str | None = None,
    validate: str | None = None,
    store: Any = None,
    expires_after: float = 3600.0,
    in_progress_timeout: float | None = None,
    raise_on_no_key: bool = False,
    raise_on_missing_key: bool | None = None,
    local_cache: int = 0,
    output_type: type[Any] | None = None,
    name: str | None = None,
) -> Any:
    """Run any function at most once per key selected from its argument ``arg``.

    ``@idempotent_function(arg="order", key="id")``: the key is JMESPath over that argument
    (dataclasses and pydantic models are turned into dicts first). Works on sync and async
    functions; the other options are those of :func:`idempotent`.
    """

    options = _options(locals())

    def decorate(func: F) -> F:
        signature = inspect.signature(func)
        if arg not in signature.parameters:
            raise ConfigError(
                f"idempotent_function(arg={arg!r}): {func.__qualname__} has no parameter {arg!r}; "
                f"its parameters are {list(signature.parameters)}"
            )
        state = Idempotency(_identity(func, name), **options)

        def selected(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            bound = signature.bind_partial(*args, **kwargs)
            return as_data(bound.arguments.get(arg))

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_run(*args: Any, **kwargs: Any) -> Any:
                inv = _invocation.current()
                remaining = inv.remaining_ms() if inv is not None else None
                return await state.run_async(lambda: func(*args, **kwargs), selected(args, kwargs), remaining)

            async_run.idempotency = state  # type: ignore[attr-defined]
            return async_run  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            inv = _invocation.current()
            remaining = inv.remaining_ms() if inv is not None else None
            return state.run(lambda: func(*args, **kwargs), selected(args, kwargs), remaining)

        run.idempotency = state  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return decorate(fn) if fn is not None else decorate
