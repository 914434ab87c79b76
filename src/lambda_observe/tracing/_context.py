"""Where the current trace entity lives: a ContextVar holding the top of an immutable linked stack.

Each frame is a pair ``(entity, parent frame)``; the ContextVar holds the top frame, so a push
or a pop is O(1) in time and memory however deep the nesting (a tuple copied on each push made
deep nesting quadratic: every token kept its own copy alive). Frames are never changed, only
shared: an ``asyncio`` task sees the entity that was current when it was created (its context
copy holds its own top), and :func:`propagate` carries it into threads. No thread-local, no
"cannot find the current segment".
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

__all__ = ["current", "parent", "pop", "propagate", "push", "replace", "reset", "stack"]

P = ParamSpec("P")
R = TypeVar("R")

#: A frame: ``(entity, parent frame)``; ``None`` is the empty stack.
Frame = tuple[Any, Any] | None
Token = contextvars.Token[Frame]

_TOP: contextvars.ContextVar[Frame] = contextvars.ContextVar("lambda_observe_trace", default=None)


def current() -> Any:
    """The innermost open entity (a span, or the invocation's root), or ``None``."""
    top = _TOP.get()
    return top[0] if top is not None else None


def parent() -> Any:
    """The entity just below the innermost one, or ``None``."""
    top = _TOP.get()
    below = top[1] if top is not None else None
    return below[0] if below is not None else None


def stack() -> tuple[Any, ...]:
    """The open entities, outermost first (a copy: O(depth); for inspection, not the hot path)."""
    out: list[Any] = []
    frame = _TOP.get()
    while frame is not None:
        out.append(frame[0])
        frame = frame[1]
    out.reverse()
    return tuple(out)


def push(entity: Any) -> Token:
    return _TOP.set((entity, _TOP.get()))


def pop() -> None:
    """Drop the innermost entity from this context."""
    top = _TOP.get()
    if top is not None:
        _TOP.set(top[1])


def reset(token: Token) -> None:
    try:
        _TOP.reset(token)
    except ValueError:  # closed in another context than it was opened in: drop it from this one
        pop()


def replace(entities: tuple[Any, ...]) -> Token:
    """Make ``entities`` (outermost first) the whole stack."""
    frame: Frame = None
    for entity in entities:
        frame = (entity, frame)
    return _TOP.set(frame)


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
