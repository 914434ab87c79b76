"""Running a batch record by record: one span, one log key and (optionally) idempotency per record."""

from __future__ import annotations

import functools
import logging
import types
from collections.abc import Callable
from typing import Any

from .. import _invocation, config
from ..idempotency.errors import AlreadyInProgressError
from ..logs import append_keys
from . import _trace
from ._sources import Batch
from .errors import AllRecordsFailedError

__all__ = ["Run"]

_LOG = logging.getLogger("lambda_observe")


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
    """One batch being processed: what failed, and the response for Lambda."""

    __slots__ = ("batch", "failed_groups", "failures", "handler", "idempotency", "remaining", "reported", "skipped")

    def __init__(
        self,
        batch: Batch,
        handler: Callable[[Any], Any],
        idempotency: Any,
        remaining: Callable[[], float | None],
        skip_group_on_error: bool = False,
    ) -> None:
        self.batch = batch
        self.handler = handler
        self.idempotency = idempotency
        self.remaining = remaining
        self.failures: list[tuple[str, BaseException]] = []
        self.reported: list[str] = []
        self.skipped = 0
        #: FIFO with skip_group_on_error: the message groups that had a failure (their later records are held back).
        self.failed_groups: set[str | None] | None = set() if skip_group_on_error and batch.fifo else None

    def _held_back(self, index: int) -> bool:
        """Is this record's FIFO message group already failed? Then it is reported without running."""
        groups = self.failed_groups
        if not groups or self.batch.groups[index] not in groups:
            return False
        self.reported.append(self.batch.ids[index])
        self.skipped += 1
        return True

    # One record: enter (span, log key), then leave with its outcome.
    def _enter(self, index: int) -> tuple[Any, Any]:
        batch = self.batch
        keys = append_keys(**{batch.id_key: batch.ids[index]})
        keys.__enter__()
        opened = _trace.open_span(batch.id_key, batch.ids[index], batch.source, batch.records[index])
        return keys, opened

    def _leave(self, index: int, scope: tuple[Any, Any], exc: BaseException | None, failed: bool = True) -> bool:
        """Close the record's scope; True when processing goes on to the next record.

        ``failed=False`` for a BaseException (KeyboardInterrupt, SystemExit, CancelledError) ending the batch:
        the span is closed with it, but it is neither reported nor logged as the record's failure.
        """
        keys, opened = scope
        ident = self.batch.ids[index]
        try:
            if exc is not None and failed:
                self.failures.append((ident, exc))
                self.reported.append(ident)
                self._log(ident, exc)
            if opened is not None:
                _trace.close(opened, exc)
        finally:
            keys.__exit__(None, None, None)
        if exc is None or not failed:
            return True
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
        try:
            if isinstance(exc, AlreadyInProgressError):
                _LOG.warning(
                    "record %s is a duplicate still in progress elsewhere; reported as failed so the queue "
                    "delivers it again later",
                    ident,
                )
            else:
                _LOG.error("record %s failed: %s: %s", ident, type(exc).__name__, exc, exc_info=exc)
        except Exception:
            pass

    def _call(self, index: int) -> Any:
        record = self.batch.records[index]
        call = functools.partial(self.handler, record)
        if self.idempotency is None:
            return _not_awaitable(call())
        from ..idempotency import _records

        return _records.run(self.idempotency, lambda: _not_awaitable(call()), record, self.remaining())

    async def _call_async(self, index: int) -> Any:
        record = self.batch.records[index]
        call = functools.partial(self.handler, record)

        async def checked() -> Any:
            return _not_generator(await call())

        if self.idempotency is None:
            return await checked()
        from ..idempotency import _records

        return await _records.run_async(self.idempotency, checked, record, self.remaining())

    def run(self) -> None:
        for index in range(len(self.batch.records)):
            if self._held_back(index):
                continue
            scope = self._enter(index)
            try:
                self._call(index)
            except Exception as exc:
                if not self._leave(index, scope, exc):
                    break
            except BaseException as exc:  # KeyboardInterrupt, SystemExit: close the span, then let it go
                self._leave(index, scope, exc, failed=False)
                raise
            else:
                self._leave(index, scope, None)

    async def run_async(self) -> None:
        for index in range(len(self.batch.records)):
            if self._held_back(index):
                continue
            scope = self._enter(index)
            try:
                await self._call_async(index)
            except Exception as exc:
                if not self._leave(index, scope, exc):
                    break
            except BaseException as exc:  # CancelledError too: not the record's failure
                self._leave(index, scope, exc, failed=False)
                raise
            else:
                self._leave(index, scope, None)

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
