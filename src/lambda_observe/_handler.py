"""The invocation lifecycle, and ``@traced``: the one decorator for a Lambda handler.

Every invocation runs through :func:`_invoke`: begin the invocation (:mod:`._invocation`), run the
start hooks (logs, idempotency, metrics... register in :mod:`._hooks`), open the handler's span
through the tracing backend, call the handler, then run the end hooks whether it returned or
raised. Tracing, logs, metrics and idempotency are peers below this module: none of them imports it
back, they only append to the hook lists.

Lambda runs one invocation per process at a time (managed instances included: they run several
processes). Two things are process-wide and rely on that: the trace header (the environment
variable ``_X_AMZN_TRACE_ID``) and the timeout alarm. An invocation that starts while another is
running in the same process (threads, or a decorated handler called from another) overlaps: it gets
no timeout alarm, it is not traced when its trace header is the one a running invocation already
has (that header is not its own), and a WARNING says so once per process.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar, overload

from . import _invocation, _timeout, _warn, config
from ._hooks import END_HOOKS, INVOCATION_HOOKS
from .tracing import _context, _state

__all__ = ["traced"]

P = ParamSpec("P")
R = TypeVar("R")
_LOG = logging.getLogger("lambda_observe")


class _Options:
    __slots__ = ("capture_error", "capture_response", "log_errors", "name", "response_key", "service")

    def __init__(
        self,
        name: str,
        service: str | None,
        capture_response: bool | None,
        capture_error: bool | None,
        log_errors: bool | None,
    ) -> None:
        self.name = f"## {name}"
        self.response_key = f"{name} response"
        self.service = service
        self.capture_response = capture_response
        self.capture_error = capture_error
        self.log_errors = log_errors


#: Set on the functions ``traced`` returns, so the zero-code wrapper does not trace a handler twice.
TRACED_ATTR = "__lambda_observe_traced__"


class _First:
    done = False


#: The invocations running in this process: (the thread running it, its trace header).
_RUNNING: list[tuple[int, str | None]] = []
_RUNNING_LOCK = threading.Lock()


def _after_fork() -> None:
    """A forked child has only the thread that forked: the invocations of the others are not running."""
    global _RUNNING_LOCK
    _RUNNING_LOCK = threading.Lock()
    me = threading.get_ident()
    _RUNNING[:] = [entry for entry in _RUNNING if entry[0] == me]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _enter(header: str | None) -> tuple[bool, bool]:
    """Count an invocation in: (overlaps another, its header is a running invocation's)."""
    with _RUNNING_LOCK:
        overlapping = bool(_RUNNING)
        shared = any(running == header for _, running in _RUNNING)
        _RUNNING.append((threading.get_ident(), header))
    if overlapping:
        _warn.once(
            "overlap",
            "lambda_observe: another invocation is already running in this process; Lambda runs one at a time, "
            "and the trace header and the timeout alarm are process-wide: this one gets no timeout warning%s",
            " and is not traced (its trace header is the running invocation's)" if shared else "",
        )
    return overlapping, shared


def _leave(header: str | None) -> None:
    with _RUNNING_LOCK:
        mine = (threading.get_ident(), header)
        if mine in _RUNNING:
            _RUNNING.remove(mine)
        else:  # ended in another thread than it started in: the first of the same header
            for entry in _RUNNING:
                if entry[1] == header:
                    _RUNNING.remove(entry)
                    break


def _first_invocation() -> None:
    """Once per process, at the first invocation: reseed ids after a SnapStart restore, apply
    ``LAMBDA_OBSERVE_PATCH``."""
    _First.done = True
    from . import _snapstart

    _snapstart.first_invocation()
    names = config.get().patch
    if names:
        try:
            from .tracing.patching import patch

            patch(*names)
        except Exception as exc:
            _warn.once("env-patch", "lambda_observe: LAMBDA_OBSERVE_PATCH could not be applied: %s", exc)


def _invoke(fn: Callable[..., Any], opts: _Options, event: Any, context: Any) -> Any:
    if not _First.done:
        _first_invocation()
    inv, inv_token = _invocation.begin(context, opts.service)
    overlapping, shared = _enter(inv.trace_header)
    if shared:
        inv.trace = None  # another invocation's header: tracing under it would cross-wire the two
    cfg = config.get()
    for hook in INVOCATION_HOOKS:
        try:
            hook(inv, event)
        except Exception as exc:
            _warn.once(f"hook-{getattr(hook, '__name__', hook)}", "lambda_observe: %r failed: %r", hook, exc)
    backend = _state.backend()
    root = span = None
    try:
        root = backend.root(inv)
        if root is not None:
            start_handler = getattr(backend, "start_handler", None)  # OTel backends: kind, FaaS attributes
            if start_handler is not None:
                span = start_handler(opts.name, root, inv, event)
            else:
                span = backend.start(opts.name, root)
            backend.annotate(span, "ColdStart", inv.cold_start)
            backend.annotate(span, "Service", inv.service)  # both keys already fit X-Ray's pattern
            if inv.restore:
                backend.annotate(span, "Restore", True)
    except Exception as exc:
        _warn.once("traced-start", "lambda_observe: could not start the handler's subsegment: %r", exc)
        span = None
    stack_token = _context.replace((root, span) if span is not None else ())
    alarm = None if overlapping else _timeout.arm(inv, root)
    error: BaseException | None = None
    try:
        result = fn(event, context)
    except BaseException as exc:
        if span is not None and (cfg.capture_error if opts.capture_error is None else opts.capture_error):
            try:
                backend.record_exception(span, exc, exc.__traceback__)
            except Exception as failure:
                _warn.once("traced-error", "lambda_observe: could not record the exception: %r", failure)
        if cfg.log_errors if opts.log_errors is None else opts.log_errors:
            try:
                _LOG.error("handler raised %s: %s", type(exc).__name__, _text(exc), exc_info=exc)
            except Exception:
                pass
        error = exc
        raise
    else:
        if span is not None and (cfg.capture_response if opts.capture_response is None else opts.capture_response):
            try:
                backend.add_metadata(span, inv.service, opts.response_key, result)
            except Exception as failure:
                _warn.once("traced-response", "lambda_observe: could not store the response: %r", failure)
        return result
    finally:
        _timeout.disarm(alarm)
        if span is not None:
            try:
                backend.finish(span)
            except Exception as failure:
                _warn.once("traced-finish", "lambda_observe: could not send the handler's subsegment: %r", failure)
        _context.reset(stack_token)
        for end_hook in END_HOOKS:
            try:
                end_hook(inv, error)
            except Exception as failure:
                name = getattr(end_hook, "__name__", end_hook)
                _warn.once(f"end-hook-{name}", "lambda_observe: %r failed: %r", end_hook, failure)
        _leave(inv.trace_header)
        _invocation.end(inv_token)


def _text(exc: BaseException) -> str:
    """``str(exc)``; an exception whose ``__str__`` raises is named by its type instead."""
    try:
        return str(exc)
    except Exception:
        return f"<unprintable {type(exc).__name__}>"


def _is_coroutine_function(fn: Any) -> bool:
    """inspect.iscoroutinefunction without importing inspect (and through it, much else)."""
    target = getattr(fn, "__func__", fn)
    while hasattr(target, "__wrapped__") and not hasattr(target, "__code__"):
        target = target.__wrapped__
    code = getattr(target, "__code__", None)
    if code is not None and code.co_flags & 0x80:  # CO_COROUTINE
        return True
    if "inspect" in __import__("sys").modules:
        import inspect

        return inspect.iscoroutinefunction(fn)
    return False


@overload
def traced(fn: Callable[P, Awaitable[R]], /) -> Callable[P, R]: ...
@overload
def traced(fn: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def traced(
    fn: None = None,
    /,
    *,
    service: str | None = ...,
    capture_response: bool | None = ...,
    capture_error: bool | None = ...,
    log_errors: bool | None = ...,
    logs: bool = ...,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def traced(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    service: str | None = None,
    capture_response: bool | None = None,
    capture_error: bool | None = None,
    log_errors: bool | None = None,
    logs: bool = True,
) -> Any:
    """Make a Lambda handler observable: ``@traced`` or ``@traced(service="orders")``.

    Each invocation: begins the invocation context (request id, trace header, cold start,
    deadline), opens the subsegment ``## <handler>`` under the Lambda segment annotated
    ``ColdStart`` and ``Service``, stores the response as metadata, records an escaping
    exception as the subsegment's cause and logs it once, then re-raises it unchanged.
    ``logs=True`` (the default) also sets up JSON logging for the process (:func:`setup_logging`).
    Options left at ``None`` follow the environment (see :mod:`lambda_observe.config`).
    An ``async def`` handler gets a plain entry point that runs it to completion.
    """

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        if not callable(handler):
            raise TypeError(f"traced() decorates a handler function, not {type(handler).__name__}")
        opts = _Options(getattr(handler, "__name__", "handler"), service, capture_response, capture_error, log_errors)
        from . import _snapstart

        _snapstart.prepare()
        if logs:
            from .logs import setup_logging

            setup_logging(service=service)
        if config.get().metrics_namespace:  # ColdStart, and each invocation's metrics flushed at its end
            from .metrics._store import install

            install()
        if _is_coroutine_function(handler):

            def run_async(event: Any, context: Any) -> Any:
                import asyncio  # only async handlers pay for importing asyncio

                return asyncio.run(handler(event, context))

            @functools.wraps(handler)
            def async_entry(event: Any, context: Any) -> Any:
                return _invoke(run_async, opts, event, context)

            setattr(async_entry, TRACED_ATTR, True)
            return async_entry

        @functools.wraps(handler)
        def entry(event: Any, context: Any) -> Any:
            return _invoke(handler, opts, event, context)

        setattr(entry, TRACED_ATTR, True)
        return entry

    if fn is None:
        return decorate
    return decorate(fn)
