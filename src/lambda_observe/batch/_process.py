"""Running a batch record by record: one span, one log key and (optionally) idempotency per record."""

from __future__ import annotations

import contextvars
import logging
import types
from collections.abc import Callable
from typing import Any

from .. import _invocation, config
from ..idempotency.errors import AlreadyInProgressError
from ..logs._formatter import KEYS
from . import _trace
from ._sources import Batch
from .errors import AllRecordsFailedError

__all__ = ["Run", "remaining_ms"]

_LOG = logging.getLogger("lambda_observe")
#: A record's open scope: its log-key token, and its span (``None`` when not traced).
Scope = tuple[contextvars.Token[dict[str, Any]], _trace.Opened | None]


_GENERATOR = (
    "the record handler returned {what}, so its body did not run; a record handler must return (or, if "
    "`async def`, await) a value, not yield"
)


def _not_generator(result: Any) -> Any:
    if isinstance(result, types.GeneratorType):
        result.close()
        raise TypeError(_GENERATOR.format(what="a generator"))
    if isinstance(result, types.AsyncGeneratorType):
        raise TypeError(_GENERATOR.format(what="an async generator"))
    return result


def _not_awaitable(result: Any) -> Any:
    result = _not_generator(result)
    if hasattr(result, "__await__"):
        close = getattr(result, "close", None)
        if callable(close):
            close()  # no "coroutine was never awaited" warning on top of the error
        raise TypeError(
            "the record handler returned an awaitable, but was called as a plain function; make it an "
            "`async def` function so process_partial_response awaits it"
        )
    return result


class Run:
    """One batch being processed: what failed, and the response for Lambda.

    Per record: bind its log key, open its span, call the handler, then close both (in reverse).
    Everything that does not change from record to record is decided once per batch: the span
    backend and parent (:func:`._trace.spans_for`), whether idempotency is on, sync or async.
    """

    __slots__ = (
        "batch",
        "failed_groups",
        "failures",
        "handler",
        "idempotency",
        "is_async",
        "outcome",
        "remaining",
        "reported",
        "skipped",
        "spans",
    )

    def __init__(
        self,
        batch: Batch,
        handler: Callable[[Any], Any],
        idempotency: Any,
        remaining: Callable[[], float | None],
        skip_group_on_error: bool = False,
        is_async: bool = False,
    ) -> None:
        self.batch = batch
        self.handler = handler
        self.idempotency = idempotency
        self.remaining = remaining
        self.is_async = is_async
        self.failures: list[tuple[str, BaseException]] = []
        self.reported: list[str] = []
        self.skipped = 0
        #: FIFO with skip_group_on_error: the message groups that had a failure (their later records are held back).
        self.failed_groups: set[str | None] | None = set() if skip_group_on_error and batch.fifo else None
        self.spans: _trace.RecordSpans | None = None
        #: The idempotency outcome of the record that just ran (per-record idempotency only).
        self.outcome: list[Any] = []

    def _held_back(self, index: int) -> bool:
        """Is this record's FIFO message group already failed? Then it is reported without running."""
        groups = self.failed_groups
        if not groups or self.batch.groups[index] not in groups:
            return False
        self.reported.append(self.batch.ids[index])
        self.skipped += 1
        return True

    # One record: enter (log key, span), then leave with its outcome.
    def _enter(self, index: int) -> Scope:
        batch = self.batch
        ident = batch.ids[index]
        keys = KEYS.set({**KEYS.get(), batch.id_key: ident})  # as append_keys does, without its object
        spans = self.spans
        return keys, (spans.open(ident, batch.records[index]) if spans is not None else None)

    def _exit(self, scope: Scope, exc: BaseException | None) -> None:
        """Close the record's span (with ``exc``, if any), then unbind its log key."""
        keys, opened = scope
        try:
            if opened is not None and self.spans is not None:
                self.spans.close(opened, exc)
        finally:
            KEYS.reset(keys)

    def _failed(self, index: int, scope: Scope, exc: Exception) -> bool:
        """The record raised: report it, log it (under its key and span), close it; True to go on."""
        ident = self.batch.ids[index]
        try:
            self.failures.append((ident, exc))
            self.reported.append(ident)
            self._log(ident, exc)
        finally:
            self._exit(scope, exc)
        if self.failed_groups is not None:
            group = self.batch.groups[index]
            self.failed_groups.add(group)
            _LOG.info(
                "FIFO batch: record %s of message group %r failed; the group's later records are not processed and "
                "are reported as failed, the other groups go on (skip_group_on_error)",
                ident,
                group,
            )
            return True
        if self.batch.fifo:
            rest = self.batch.ids[index + 1 :]
            self.reported.extend(rest)
            self.skipped = len(rest)
            if rest:
                _LOG.info(
                    "FIFO batch: record %s failed; the %d records after it were not processed and are reported "
                    "as failed, in order",
                    ident,
                    len(rest),
                )
            return False
        return True

    def _log(self, ident: str, exc: BaseException) -> None:
        if not config.get().log_errors:
            return
        # The record's idempotency outcome, as the lines written during the record carry it.
        extra = {"idempotency": self.outcome[0]} if self.outcome and self.outcome[0] is not None else None
        try:
            if isinstance(exc, AlreadyInProgressError):
                _LOG.warning(
                    "record %s is a duplicate still in progress elsewhere; reported as failed so the queue "
                    "delivers it again later",
                    ident,
                    extra=extra,
                )
            else:
                _LOG.error("record %s failed: %s: %s", ident, type(exc).__name__, exc, exc_info=exc, extra=extra)
        except Exception:
            pass

    def _start(self) -> None:
        if self.batch.records:
            self.spans = _trace.spans_for(self.batch.id_key, self.batch.source)

    def run(self) -> None:
        """Run the records through a plain (not ``async def``) record handler, in order."""
        self._start()
        records = self.batch.records
        call = self.handler if self.idempotency is None else self._idempotent
        for index in range(len(records)):
            if self.failed_groups and self._held_back(index):
                continue
            scope = self._enter(index)
            try:
                result = call(records[index])
                if result is not None:  # what a record handler usually returns needs no look
                    _not_awaitable(result)
            except Exception as exc:
                if not self._failed(index, scope, exc):
                    break
            except BaseException as exc:  # KeyboardInterrupt, SystemExit: close the span, then let it go
                self._exit(scope, exc)
                raise
            else:
                self._exit(scope, None)

    async def run_async(self) -> None:
        """Await the records through an ``async def`` record handler, one after another."""
        self._start()
        records = self.batch.records
        handler = self.handler
        plain = self.idempotency is None
        for index in range(len(records)):
            if self.failed_groups and self._held_back(index):
                continue
            scope = self._enter(index)
            try:
                if plain:
                    result = await handler(records[index])
                    if result is not None:
                        _not_generator(result)
                else:
                    await self._idempotent_async(records[index])
            except Exception as exc:
                if not self._failed(index, scope, exc):
                    break
            except BaseException as exc:  # CancelledError too: not the record's failure
                self._exit(scope, exc)
                raise
            else:
                self._exit(scope, None)

    def _idempotent(self, record: Any) -> None:
        from ..idempotency import _records

        handler = self.handler
        _records.run(self.idempotency, lambda: _not_awaitable(handler(record)), record, self.remaining(), self.outcome)

    async def _idempotent_async(self, record: Any) -> None:
        from ..idempotency import _records

        handler = self.handler

        async def checked() -> Any:
            return _not_generator(await handler(record))

        await _records.run_async(self.idempotency, checked, record, self.remaining(), self.outcome)

    def response(self) -> dict[str, list[dict[str, str]]]:
        """``{"batchItemFailures": [...]}``, or :class:`AllRecordsFailedError` when nothing succeeded."""
        count = len(self.batch.records)
        if count and len(self.reported) == count:
            raise AllRecordsFailedError(count, self.failures)
        return {"batchItemFailures": [{"itemIdentifier": ident} for ident in self.reported]}


def remaining_ms(context: Any) -> Callable[[], float | None]:
    """Milliseconds left in the invocation, from ``context`` or the current invocation."""
    getter = getattr(context, "get_remaining_time_in_millis", None)

    def remaining() -> float | None:
        if callable(getter):
            try:
                return float(getter())
            except Exception:
                return None
        inv = _invocation.current()
        return inv.remaining_ms() if inv is not None else None

    return remaining
