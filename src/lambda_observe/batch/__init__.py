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
from typing import Any, NamedTuple

from ._identity import code_of, identity, refuse_generators
from ._process import Run, remaining_ms
from ._sources import read
from .errors import AllRecordsFailedError, BatchError, HandlerIdentityError

__all__ = [
    "AllRecordsFailedError",
    "BatchError",
    "HandlerIdentityError",
    "async_process_partial_response",
    "process_partial_response",
]

Response = dict[str, list[dict[str, str]]]


def _is_async(fn: Any) -> bool:
    """Is ``fn`` an ``async def`` function (also through partial, bound method or ``__call__``)?

    Read from the code flags, so the batch's hot path does not import :mod:`inspect`.
    """
    import sys

    code = code_of(fn)
    if code is not None and code.co_flags & 0x80:  # CO_COROUTINE
        return True
    inspect = sys.modules.get("inspect")  # markcoroutinefunction() and the like, when inspect is loaded anyway
    return inspect is not None and bool(inspect.iscoroutinefunction(fn))


class _Idempotency(NamedTuple):
    """The per-record idempotency options of both entry points (their defaults are the signatures')."""

    validate: str | None = None
    store: Any = None
    expires_after: float = 3600.0
    in_progress_timeout: float | None = None
    raise_on_no_key: bool = False
    local_cache: int = 0
    idempotency_name: str | None = None


_NO_IDEMPOTENCY = _Idempotency()


def _prepare(
    caller: str,
    event: Any,
    record_handler: Callable[..., Any],
    context: Any,
    idempotent_key: str | None,
    options: _Idempotency,
    skip_group_on_error: bool,
) -> Run:
    """Everything both entry points check and decide before the first record: one :class:`Run`."""
    if not callable(record_handler):
        raise TypeError(
            f"{caller}: record_handler must be a function taking one record, not {type(record_handler).__name__}"
        )
    refuse_generators(record_handler, caller)
    batch = read(event)
    state = None
    if idempotent_key is not None:
        from ..idempotency import _records

        name = identity(record_handler, options.idempotency_name, caller)
        settings = options._asdict()
        del settings["idempotency_name"]
        state = _records.state_for(name, idempotent_key, **settings)
    elif options != _NO_IDEMPOTENCY:
        given = [name for name, value in options._asdict().items() if value != _Idempotency._field_defaults[name]]
        raise ValueError(
            f"{caller}: {', '.join(given)} given without idempotent_key; "
            "per-record idempotency needs a key expression (idempotent_key='powertools_json(body).order_id')"
        )
    return Run(batch, record_handler, state, remaining_ms(context), skip_group_on_error, _is_async(record_handler))


def _run_in_new_loop(run: Run) -> None:
    """Await an async handler's records in an event loop of their own (none may be running)."""
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
    ended: list[BaseException] = []

    async def guarded() -> None:
        # A BaseException (CancelledError above all) is caught inside the loop and raised again
        # outside it: asyncio.run on Python 3.10 replaces a task's CancelledError with a new one.
        try:
            await run.run_async()
        except BaseException as exc:
            ended.append(exc)

    asyncio.run(guarded())  # outside the except block: the records' exceptions get no context
    if ended:
        raise ended[0].with_traceback(ended[0].__traceback__)


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
    idempotency_name: str | None = None,
    skip_group_on_error: bool = False,
) -> Response:
    """Run ``record_handler(record)`` on each record; report the failed ones to Lambda.

    ``event``: an SQS, Kinesis or DynamoDB Streams batch (anything else is a :class:`TypeError`
    naming the accepted sources). A record fails when its handler raises; the response lists
    its ``messageId`` (SQS) or ``sequenceNumber`` (streams). In an SQS FIFO batch (a queue ARN
    ending in ``.fifo``) processing stops at the first failure, which is reported with every
    record after it, in order; with ``skip_group_on_error=True`` only the failed record's message
    group is held back (its later records are reported without running) and the other groups'
    records go on. When every record fails, :class:`AllRecordsFailedError` (with
    ``count``) is raised, so Lambda retries the batch as a whole.

    The handler may be ``async def`` (a generator or async generator function is a :class:`TypeError`:
    its body would never run): the records are then awaited one after another in one event
    loop (use :func:`async_process_partial_response` from inside a running loop).

    ``idempotent_key``: a JMESPath expression evaluated on each record
    (``"powertools_json(body).order_id"``) that turns on per-record idempotency: a record already
    completed is skipped and counts as a success; a duplicate still in progress counts as a
    failure, so the queue delivers it again later. ``validate``, ``store``, ``expires_after``,
    ``in_progress_timeout``, ``raise_on_no_key`` and ``local_cache`` mean what they mean for
    ``@idempotent``. The handler's return value is not stored (a completion marker is). Records are
    keyed under the handler's ``module.qualname``; a lambda, a ``functools.partial`` with bound
    arguments, a callable object or a bound builtin needs ``idempotency_name=`` (a name unique to
    this handler), else :class:`HandlerIdentityError` is raised before any record runs.
    ``context``: the Lambda context, for the remaining time when the handler is
    not under ``@traced``.
    """
    options = _Idempotency(
        validate=validate,
        store=store,
        expires_after=expires_after,
        in_progress_timeout=in_progress_timeout,
        raise_on_no_key=raise_on_no_key,
        local_cache=local_cache,
        idempotency_name=idempotency_name,
    )
    run = _prepare(
        "process_partial_response()", event, record_handler, context, idempotent_key, options, skip_group_on_error
    )
    if run.is_async:
        _run_in_new_loop(run)
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
    idempotency_name: str | None = None,
    skip_group_on_error: bool = False,
) -> Response:
    """:func:`process_partial_response` for an ``async def`` handler already running in an event loop."""
    options = _Idempotency(
        validate=validate,
        store=store,
        expires_after=expires_after,
        in_progress_timeout=in_progress_timeout,
        raise_on_no_key=raise_on_no_key,
        local_cache=local_cache,
        idempotency_name=idempotency_name,
    )
    caller = "async_process_partial_response()"
    run = _prepare(caller, event, record_handler, context, idempotent_key, options, skip_group_on_error)
    if not run.is_async:
        raise TypeError(f"{caller}: record_handler must be an async function")
    await run.run_async()
    return run.response()
