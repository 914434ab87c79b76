"""Tracing any block of code: ``subsegment``, ``capture``, ``annotate``, ``add_metadata``."""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Callable, Generator
from types import TracebackType
from typing import Any, TypeVar, cast, overload

from .. import _warn
from . import _context, _state

__all__ = ["add_metadata", "annotate", "capture", "subsegment"]

F = TypeVar("F", bound=Callable[..., Any])
_KEY_BAD = re.compile(r"[^a-zA-Z0-9_]")


def _key(key: object) -> str:
    text = key if isinstance(key, str) else str(key)
    cleaned = _KEY_BAD.sub("_", text)[:500]
    return cleaned or "_"


def _value(value: object) -> str | float | bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        return value
    text = value if isinstance(value, str) else str(value)
    return text[:1000]


def _fail(what: str, exc: BaseException) -> None:
    _warn.once(f"tracing-{what}", "lambda_observe: %s failed and was skipped: %r", what, exc)


def annotate(key: str, value: str | float | bool) -> None:
    """Add an indexed annotation to the current subsegment (no-op when nothing is traced).

    Keys are made to fit ``^[a-zA-Z0-9_]{1,500}$`` (other characters become ``_``); values
    other than str, number or bool are turned into strings; strings are cut at 1,000 characters.
    """
    span = _context.current()
    if span is None or span.type != "subsegment":
        return
    try:
        _state.backend().annotate(span, _key(key), _value(value))
    except Exception as exc:
        _fail("annotate", exc)


def add_metadata(key: str, value: Any, namespace: str | None = None) -> None:
    """Attach an unindexed value to the current subsegment, under ``namespace`` (the service)."""
    span = _context.current()
    if span is None or span.type != "subsegment":
        return
    try:
        from .._invocation import current

        inv = current()
        ns = namespace or (inv.service if inv is not None else "default")
        _state.backend().add_metadata(span, ns, str(key), value)
    except Exception as exc:
        _fail("add_metadata", exc)


class subsegment:
    """Trace a block of code: ``with subsegment("db", table="orders"):`` (or ``async with``).

    Keyword arguments become annotations. The block nests under whatever is current; an
    exception marks the subsegment as a fault, records its stack, and propagates unchanged.
    """

    __slots__ = ("_annotations", "_name", "_namespace", "_span", "_token")

    def __init__(self, name: str, /, **annotations: str | float | bool) -> None:
        self._name = name
        self._annotations = annotations
        self._namespace: str | None = None
        self._span: Any = None
        self._token: Any = None

    def annotate(self, key: str, value: str | float | bool) -> None:
        """Annotate this subsegment (not whatever is innermost)."""
        if self._span is not None:
            try:
                _state.backend().annotate(self._span, _key(key), _value(value))
            except Exception as exc:
                _fail("annotate", exc)

    def add_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        """Attach metadata to this subsegment."""
        if self._span is not None:
            try:
                _state.backend().add_metadata(self._span, namespace, str(key), value)
            except Exception as exc:
                _fail("add_metadata", exc)

    def __enter__(self) -> subsegment:
        parent = _context.current()
        if parent is None:
            return self
        try:
            backend = _state.backend()
            span = backend.start(self._name, parent, self._namespace)
            for key, value in self._annotations.items():
                backend.annotate(span, _key(key), _value(value))
            self._span = span
            self._token = _context.push(span)
        except Exception as exc:
            _fail("subsegment", exc)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        span = self._span
        if span is None:
            return
        self._span = None
        try:
            _context.reset(self._token)
            backend = _state.backend()
            if exc is not None:
                backend.record_exception(span, exc, tb)
            backend.finish(span)
        except Exception as failure:
            _fail("subsegment", failure)

    async def __aenter__(self) -> subsegment:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)


def _open(name: str) -> tuple[Any, Any] | None:
    parent = _context.current()
    if parent is None:
        return None
    try:
        backend = _state.backend()
        return backend, backend.start(name, parent)
    except Exception as exc:
        _fail("capture", exc)
        return None


def _close(opened: tuple[Any, Any], failure: BaseException | None) -> None:
    backend, span = opened
    try:
        if failure is not None:
            backend.record_exception(span, failure, failure.__traceback__)
        backend.finish(span)
    except Exception as exc:
        _fail("capture", exc)


def _trace_generator(gen: Generator[Any, Any, Any], name: str) -> Generator[Any, Any, Any]:
    """Drive ``gen``; its subsegment is current only while the generator's own body runs."""
    opened = _open(name)
    if opened is None:
        return (yield from gen)
    failure: BaseException | None = None
    pending: BaseException | None = None
    sent: Any = None
    try:
        while True:
            token = _context.push(opened[1])
            try:
                item = gen.throw(pending) if pending is not None else gen.send(sent)
            except StopIteration as stop:
                return stop.value
            finally:
                _context.reset(token)
            pending = None
            try:
                sent = yield item
            except GeneratorExit:
                gen.close()
                raise
            except BaseException as exc:
                pending, sent = exc, None
    except GeneratorExit:
        raise
    except BaseException as exc:
        failure = exc
        raise
    finally:
        _close(opened, failure)


async def _trace_async_generator(agen: Any, name: str) -> AsyncIterator[Any]:
    """The async-generator twin of :func:`_trace_generator`."""
    opened = _open(name)
    failure: BaseException | None = None
    pending: BaseException | None = None
    sent: Any = None
    try:
        while True:
            token = _context.push(opened[1]) if opened is not None else None
            try:
                item = await (agen.athrow(pending) if pending is not None else agen.asend(sent))
            except StopAsyncIteration:
                return
            finally:
                if token is not None:
                    _context.reset(token)
            pending = None
            try:
                sent = yield item
            except GeneratorExit:
                await agen.aclose()
                raise
            except BaseException as exc:
                pending, sent = exc, None
    except GeneratorExit:
        raise
    except BaseException as exc:
        failure = exc
        raise
    finally:
        if opened is not None:
            _close(opened, failure)


def _wrap(fn: F, name: str) -> F:
    import inspect  # both only when @capture decorates something, not on the handler's path

    import wrapt

    if inspect.isasyncgenfunction(fn):

        @wrapt.decorator
        def agen_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            return _trace_async_generator(wrapped(*args, **kwargs), name)

        return cast(F, agen_wrapper(fn))
    if inspect.isgeneratorfunction(fn):

        @wrapt.decorator
        def gen_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            return _trace_generator(wrapped(*args, **kwargs), name)

        return cast(F, gen_wrapper(fn))
    if inspect.iscoroutinefunction(fn):

        @wrapt.decorator
        async def async_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            if _context.current() is None:
                return await wrapped(*args, **kwargs)
            async with subsegment(name):
                return await wrapped(*args, **kwargs)

        return cast(F, async_wrapper(fn))

    @wrapt.decorator
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if _context.current() is None:
            return wrapped(*args, **kwargs)
        with subsegment(name):
            return wrapped(*args, **kwargs)

    return cast(F, wrapper(fn))


def _label(fn: Callable[..., Any]) -> str:
    target = fn.__func__ if isinstance(fn, (classmethod, staticmethod)) else fn
    name = str(getattr(target, "__qualname__", None) or getattr(target, "__name__", "function"))
    return f"## {name.replace('<locals>.', '')}"


@overload
def capture(fn: F, /) -> F: ...
@overload
def capture(name: str | None = None, /) -> Callable[[F], F]: ...


def capture(fn: Any = None, /) -> Any:
    """Trace every call of a function: ``@capture`` or ``@capture("pricing")``.

    Works on sync and async functions, generators, async generators, methods, classmethods
    and staticmethods; ``inspect.signature`` and the static type are those of the function.
    """
    if fn is None or isinstance(fn, str):
        name = fn

        def decorate(func: F) -> F:
            return _wrap(func, name or _label(func))

        return decorate
    if not callable(fn) and not isinstance(fn, (classmethod, staticmethod)):
        raise TypeError(f"capture() takes a function or a subsegment name, not {type(fn).__name__}")
    return _wrap(fn, _label(fn))
