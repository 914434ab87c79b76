"""Where the current trace entity lives: a ContextVar holding an immutable stack.

Because the stack is a tuple in a :class:`~contextvars.ContextVar`, an ``asyncio`` task
sees the entity that was current when it was created, and :func:`propagate` carries it
into threads. No thread-local, no "cannot find the current segment".
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

__all__ = ["current", "propagate", "push", "reset", "stack"]

P = ParamSpec("P")
R = TypeVar("R")

_STACK: contextvars.ContextVar[tuple[Any, ...]] = contextvars.ContextVar("lambda_observe_trace", default=())


def current() -> Any:
    """The innermost open entity (a span, or the invocation's root), or ``None``."""
    stack = _STACK.get()
    return stack[-1] if stack else None


def stack() -> tuple[Any, ...]:
    return _STACK.get()


def push(entity: Any) -> contextvars.Token[tuple[Any, ...]]:
    return _STACK.set((*_STACK.get(), entity))


def reset(token: contextvars.Token[tuple[Any, ...]]) -> None:
    try:
        _STACK.reset(token)
    except ValueError:  # closed in another context than it was opened in: drop it from this one
        stack = _STACK.get()
        if stack:
            _STACK.set(stack[:-1])


def replace(entities: tuple[Any, ...]) -> contextvars.Token[tuple[Any, ...]]:
    return _STACK.set(entities)


def propagate(fn: Callable[P, R]) -> Callable[P, R]:
    """Carry the current trace (and log keys) into a thread: ``pool.submit(propagate(work), x)``.

    The context is captured when ``propagate`` is called, and each call runs in its own copy,
    so one wrapped function can be mapped over a pool concurrently.
    """
    ctx = contextvars.copy_context()

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return ctx.copy().run(fn, *args, **kwargs)

    return run
