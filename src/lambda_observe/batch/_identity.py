"""What a record handler is: the name its idempotency keys go under, and the shapes refused up front.

A record handler's idempotency keys are prefixed with its identity (``module.qualname``, with the
Lambda function's name in front in Lambda), so that two handlers never answer each other's records.
An identity is derived only where it names the code that runs:

- a function: its module and qualified name;
- a bound method: its function's (``module.Class.method``); instances of one class share keys;
- a ``functools.partial`` without bound arguments: the wrapped function's.

A lambda, a partial with bound arguments (they can change what the handler does), a callable object,
a bound builtin (``list.append``) or anything else without a safe name needs ``idempotency_name=``:
:class:`HandlerIdentityError` otherwise, before any record runs.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from .errors import HandlerIdentityError

__all__ = ["code_of", "identity"]

_CO_GENERATOR = 0x20
_CO_ASYNC_GENERATOR = 0x200


def code_of(fn: Any) -> Any:
    """The code object that runs when ``fn`` is called (through partials, bound methods, ``__call__``)."""
    target = fn
    while isinstance(target, functools.partial):
        target = target.func
    target = getattr(target, "__func__", target)
    code = getattr(target, "__code__", None)
    if code is None:  # a callable object: its class's __call__
        call = getattr(type(target), "__call__", None)  # noqa: B004
        code = getattr(getattr(call, "__func__", call), "__code__", None)
    return code


def refuse_generators(fn: Any, caller: str) -> None:
    """A generator or async generator function as record handler: :class:`TypeError`, before any record runs."""
    code = code_of(fn)
    flags = getattr(code, "co_flags", 0)
    if isinstance(flags, int) and flags & (_CO_GENERATOR | _CO_ASYNC_GENERATOR):
        kind = "an async generator" if flags & _CO_ASYNC_GENERATOR else "a generator"
        raise TypeError(
            f"{caller}: the record handler {getattr(code, 'co_name', '?')!r} is {kind} function; its body would not "
            "run. A record handler must return (or, if `async def`, await) a value, not yield"
        )


def _derived(fn: Any) -> str | None:
    """``module.qualname`` of the code ``fn`` runs, or None when that does not identify it safely."""
    if isinstance(fn, functools.partial):
        if fn.args or fn.keywords:
            return None
        return _derived(fn.func)
    function = getattr(fn, "__func__", None)
    owner = getattr(fn, "__self__", None)
    if function is not None and owner is not None:  # a bound method: the class's method
        return _derived(function)
    code = getattr(fn, "__code__", None)
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if code is None or not isinstance(module, str) or not isinstance(qualname, str):
        return None  # a builtin, a callable object, something else without a name of its own
    if getattr(fn, "__name__", None) == "<lambda>":
        return None
    return f"{module}.{qualname}"


def identity(handler: Any, name: str | None, caller: str) -> str:
    """The prefix of ``handler``'s idempotency keys; :class:`HandlerIdentityError` when it needs a name."""
    if name is not None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{caller}: idempotency_name={name!r}; expected a non-empty string")
        derived: str | None = name
    else:
        derived = _derived(handler)
    if derived is None:
        raise HandlerIdentityError(
            f"{caller}: with idempotent_key, the record handler's records are keyed under its name, and "
            f"{_describe(handler)} has no name that identifies it safely; pass idempotency_name='...' (a name "
            "unique to this handler, kept across deployments), or use a function defined with `def`"
        )
    function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
    return f"{function}.{derived}" if function else derived


def _describe(handler: Any) -> str:
    if isinstance(handler, functools.partial):
        if handler.args or handler.keywords:
            return "a functools.partial with bound arguments (they can change what it does)"
        return f"a functools.partial of {_describe(handler.func)}"
    if getattr(handler, "__name__", None) == "<lambda>":
        return "a lambda"
    if getattr(handler, "__code__", None) is None and getattr(handler, "__func__", None) is None:
        if getattr(handler, "__self__", None) is not None:
            return f"the builtin method {getattr(handler, '__qualname__', '?')} of a {type(handler.__self__).__name__}"
        return f"a {type(handler).__name__} object"
    return f"{type(handler).__name__} {getattr(handler, '__qualname__', '?')}"
