"""Per-record processing of SQS, Kinesis and DynamoDB Streams batches, with partial failures.

::

    from lambda_observe import traced
    from lambda_observe.batch import process_partial_response

    def record_handler(record):
        ...                                    # raise to fail this record only

    @traced
    def handler(event, context):
        return process_partial_response(event, record_handler, idempotent_key="powertools_json(body).order_id")

The function returns ``{"batchItemFailures": [{"itemIdentifier": ...}]}`` for Lambda's
``ReportBatchItemFailures``. Each record runs in its own ``## record`` span with its identifier
as a log key; see :func:`process_partial_response` for the rules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ._process import Run, remaining_ms
from ._sources import read
from .errors import AllRecordsFailedError, BatchError

__all__ = ["AllRecordsFailedError", "BatchError", "async_process_partial_response", "process_partial_response"]

Response = dict[str, list[dict[str, str]]]


def _is_async(fn: Any) -> bool:
    """Is ``fn`` an ``async def`` function (also through partial, bound method or ``__call__``)?

    Read from the code flags, so the batch's hot path does not import :mod:`inspect`.
    """
    import functools
    import sys

    target = fn
    while isinstance(target, functools.partial):
        target = target.func
    target = getattr(target, "__func__", target)
    code = getattr(target, "__code__", None)
    if code is None:  # a callable object: its class's __call__
        call = getattr(type(target), "__call__", None)  # noqa: B004
        code = getattr(getattr(call, "__func__", call), "__code__", None)
    if code is not None and code.co_flags & 0x80:  # CO_COROUTINE
        return True
    inspect = sys.modules.get("inspect")  # markcoroutinefunction() and the like, when inspect is loaded anyway
    return inspect is not None and bool(inspect.iscoroutinefunction(fn))


def _prepare(
    event: Any,
    record_handler: Callable[..., Any],
    context: Any,
    idempotent_key: str | None,
    options: dict[str, Any],
) -> Run:
    if not callable(record_handler):
        raise TypeError(
            f"process_partial_response(): record_handler must be a function taking one record, "
            f"not {type(record_handler).__name__}"
        )
    batch = read(event)
    state = None
    if idempotent_key is not None:
        from ..idempotency import _records

        state = _records.state_for(record_handler, idempotent_key, **options)
    else:
        given = [name for name, value in options.items() if value != _DEFAULTS[name]]
        if given:
            raise ValueError(
                f"process_partial_response(): {', '.join(given)} given without idempotent_key; "
                "per-record idempotency needs a key expression (idempotent_key='powertools_json(body).order_id')"
            )
    return Run(batch, record_handler, state, remaining_ms(context))


_DEFAULTS: dict[str, Any] = {
    "validate": None,
    "store": None,
    "expires_after": 3600.0,
    "in_progress_timeout": None,
    "raise_on_no_key": False,
    "local_cache": 0,
}


def process_partial_response(
    event: Any,
    record_handler: Callable[[Any], Any],
    *,
    context: Any = None,
    idempotent_key: str | None = None,
    validate: str | None = None,
    store: Any = None,
    expires_after: float = 3600.0,
    in_progress_timeout: float | None = None,
    raise_on_no_key: bool = False,
    local_cache: int = 0,
) -> Response:
    """Run ``record_handler(record)`` on each record; report the failed ones to Lambda.

    ``event``: an SQS, Kinesis or DynamoDB Streams batch (anything else is a :class:`TypeError`
    naming the accepted sources). A record fails when its handler raises; the response lists
    its ``messageId`` (SQS) or ``sequenceNumber`` (streams). In an SQS FIFO batch (a queue ARN
    ending in ``.fifo``) processing stops at the first failure, which is reported with every
    record after it, in order. When every record fails, :class:`AllRecordsFailedError` (with
    ``count``) is raised, so Lambda retries the batch as a whole.

    The handler may be ``async def``: the records are then awaited one after another in one event
    loop (use :func:`async_process_partial_response` from inside a running loop).

    ``idempotent_key``: a JMESPath expression evaluated on each record
    (``"powertools_json(body).order_id"``) that turns on per-record idempotency: a record already
    completed is skipped and counts as a success; a duplicate still in progress counts as a
    failure, so the queue delivers it again later. ``validate``, ``store``, ``expires_after``,
    ``in_progress_timeout``, ``raise_on_no_key`` and ``local_cache`` mean what they mean for
    ``@idempotent``. ``context``: the Lambda context, for the remaining time when the handler is
    not under ``@traced``.
    """
    options = {
        "validate": validate,
        "store": store,
        "expires_after": expires_after,
        "in_progress_timeout": in_progress_timeout,
        "raise_on_no_key": raise_on_no_key,
        "local_cache": local_cache,
    }
    run = _prepare(event, record_handler, context, idempotent_key, options)
    if _is_async(record_handler):
        import asyncio

        try:
            asyncio.get_running_loop()
            running = True
        except RuntimeError:
            running = False
        if running:
            raise RuntimeError(
                "process_partial_response() was called with an async record handler inside a running event "
                "loop; use `await async_process_partial_response(...)` there"
            )
        asyncio.run(run.run_async())  # outside the except block: the records' exceptions get no context
    else:
        run.run()
    return run.response()


async def async_process_partial_response(
    event: Any,
    record_handler: Callable[[Any], Awaitable[Any]],
    *,
    context: Any = None,
    idempotent_key: str | None = None,
    validate: str | None = None,
    store: Any = None,
    expires_after: float = 3600.0,
    in_progress_timeout: float | None = None,
    raise_on_no_key: bool = False,
    local_cache: int = 0,
) -> Response:
    """:func:`process_partial_response` for an ``async def`` handler already running in an event loop."""
    options = {
        "validate": validate,
        "store": store,
        "expires_after": expires_after,
        "in_progress_timeout": in_progress_timeout,
        "raise_on_no_key": raise_on_no_key,
        "local_cache": local_cache,
    }
    run = _prepare(event, record_handler, context, idempotent_key, options)
    if not _is_async(record_handler):
        raise TypeError("async_process_partial_response(): record_handler must be an async function")
    await run.run_async()
    return run.response()
