"""Log buffering: low-level records held back per invocation, written only if it fails.

With ``LAMBDA_OBSERVE_LOG_BUFFER=DEBUG`` (or ``INFO``), a record at or below that level, logged
during an invocation, is kept in memory instead of written: its message is fixed at once, and the
record is formatted only if it is ever written (in the context it was logged in, so with its own
timestamp, request id and ``append_keys``). If the invocation then logs an ERROR, raises, or comes
near its timeout, the kept records are written first, in order, then the error; after that the
rest of the invocation's records are written as they come. Otherwise the lines are dropped when the
invocation ends, and nothing is carried into the next one.

The buffer is a :class:`logging.Filter` on the handlers :func:`~lambda_observe.logs.setup_logging`
configured, so it sees every record that reaches the root logger: ``get_logger``'s and the user's
own ``logging.getLogger(...)`` calls alike. It is bounded in bytes: while holding, by an estimate
of each line (the message, the ``extra=`` values walked to a bounded depth, and the size of a line's
other fields, measured once); when flushing, by the lines themselves, so what is written never
exceeds the bound. The oldest records go first, and the flushed output starts with a WARNING that
says how many were lost. A record larger than a share of the bound (:func:`_cap`), or one carrying
a traceback, is formatted when it is held, cut to that share with a ``...[truncated N characters]``
marker, and held as its line, so neither a huge ``extra=`` value nor a traceback's frames stay in
memory and one oversized record never pushes out the others.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import threading
from collections import deque
from typing import Any

from .. import _invocation, config
from .._hooks import add_end_hook, add_start_hook, add_timeout_hook
from ._fast import RECORD_ATTRS

__all__ = ["BufferFilter", "install", "reset"]

#: Libraries whose DEBUG output would fill the buffer: kept at the written level when buffering
#: lowers the root logger's level (only when their own level is unset).
NOISY = ("botocore", "boto3", "urllib3", "s3transfer", "aiobotocore")

_BUFFERS: dict[_invocation.Invocation, _Buffer] = {}
#: The attributes every LogRecord has: anything else on a record came from ``extra=``.
_STANDARD = frozenset(RECORD_ATTRS) | {"message", "asctime"}
_PLAIN = len(RECORD_ATTRS)
_WALK = 2000  # containers' items looked at per record when estimating its extras
_INSTALLED: list[logging.Handler] = []
_PINNED: list[logging.Logger] = []


class _Buffer:
    """One invocation's held records: (handler, record, context, estimated bytes, line formatted when
    held or ``None``), oldest first."""

    __slots__ = ("dropped", "entries", "last_dropped", "limit", "lock", "open", "size")

    def __init__(self, limit: int) -> None:
        self.entries: deque[tuple[BufferFilter, logging.LogRecord, contextvars.Context, int, str | None]] = deque()
        self.size = 0
        self.limit = limit
        self.dropped = 0
        self.last_dropped = 0.0
        self.open = True
        self.lock = threading.RLock()  # re-entrant: the timeout warning may flush from a signal handler

    def add(self, owner: BufferFilter, record: logging.LogRecord, estimate: int, line: str | None) -> bool:
        """Hold ``record``; ``False`` when the buffer was flushed already (write the record instead)."""
        context = contextvars.copy_context()  # append_keys and the invocation, as they are now
        with self.lock:
            if not self.open:
                return False
            entries = self.entries
            entries.append((owner, record, context, estimate, line))
            self.size += estimate
            while self.size > self.limit and len(entries) > 1:  # the newest stays: it is within the cap
                _, old, _, old_size, _ = entries.popleft()
                self.size -= old_size
                self.dropped += 1
                self.last_dropped = old.created
        return True

    def flush(self) -> None:
        """Write what is held, the loss first if any; from now on records are written as they come.

        The held records are formatted now, in the context they were logged in, newest first, until
        the next would pass the bound: the lines written never exceed it. A line over the cap alone is
        cut to the cap (or left out if it cannot be), and the older lines still get their turn.
        """
        with self.lock:
            entries, self.entries = self.entries, deque()
            dropped, self.dropped = self.dropped, 0
            self.size = 0
            self.open = False
        lines: list[tuple[logging.Handler, logging.LogRecord, str]] = []
        room = self.limit
        cap = _cap(self.limit)
        while entries:
            owner, record, context, _, held = entries.pop()
            try:
                line = held if held is not None else context.run(owner.handler.format, record)
            except Exception:
                continue
            size = _size(line)
            if size > cap:
                cut = _cut(line, cap)
                if cut is None:
                    dropped += 1
                    self.last_dropped = record.created
                    continue
                line, size = cut, len(cut)
            if size > room:
                dropped += 1 + len(entries)
                self.last_dropped = record.created if not entries else entries[-1][1].created
                break
            room -= size
            lines.append((owner.handler, record, line))
        if dropped:
            notice = logging.LogRecord(
                "lambda_observe",
                logging.WARNING,
                __file__,
                0,
                "log buffer: %d earlier records were dropped to keep it under %d bytes",
                (dropped, self.limit),
                None,
            )
            notice.created = self.last_dropped  # where the lost lines were, so timestamps stay in order
            notice.msecs = (notice.created % 1) * 1000
            notice.log_buffer_dropped = dropped
            for handler in dict.fromkeys([*(h for h, _, _ in lines), *_INSTALLED]):
                _emit(handler, notice, None)
        for handler, record, line in reversed(lines):
            _emit(handler, record, line)


def _cap(limit: int) -> int:
    """The most one held line may take: a quarter of the bound (at least 2 KiB, at most the bound)."""
    return max(limit // 4, min(limit, 2048))


def _size(line: str) -> int:
    return len(line) if line.isascii() else len(line.encode("utf-8", "replace"))


def _cut(line: str, cap: int) -> str | None:
    """``line`` (a JSON object) with its largest fields cut, each with a marker, to fit ``cap`` bytes;
    ``None`` if it cannot fit. Works on the formatted line, so what redaction hid stays hidden."""
    end = "\n" if line.endswith("\n") else ""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    data["truncated"] = True
    for _ in range(32):
        text = json.dumps(data, separators=(",", ":"))  # ASCII: its length is its size
        over = len(text) + len(end) - cap
        if over <= 0:
            return text + end
        sizes = {k: len(json.dumps(v)) for k, v in data.items()}
        key = max(sizes, key=sizes.__getitem__)
        if sizes[key] < 64:
            return None
        value = data[key] if isinstance(data[key], str) else json.dumps(data[key])
        keep = max(len(value) * (sizes[key] - over - 48) // sizes[key], 0)
        data[key] = value[:keep] + f"...[truncated {len(value) - keep} characters]"
    return None


def _estimate(value: object, budget: int) -> int:
    """About how many bytes ``value`` takes rendered (and in memory); stops counting past ``budget``."""
    total, steps, stack = 0, 0, [value]
    while stack and total <= budget:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bytes or kind is bytearray:
            total += len(item) + 2  # type: ignore[arg-type]
        elif kind is dict:
            total += 2
            stack.extend(item.keys())  # type: ignore[attr-defined]
            stack.extend(item.values())  # type: ignore[attr-defined]
        elif kind is list or kind is tuple or kind is set or kind is frozenset:
            total += 2
            stack.extend(item)  # type: ignore[arg-type]
        else:  # numbers, None, objects: their own size (a big buffer inside one shows here)
            total += max(sys.getsizeof(item, 16), 8)
        steps += 1
        if steps > _WALK:
            return budget + 1  # too much to walk: treat as large (it will be formatted now)
    return total


def _slim(record: logging.LogRecord) -> logging.LogRecord:
    """A copy of ``record`` with only the standard attributes and no message, traceback or extras:
    what a held line needs for the handler's ``emit``."""
    copy = logging.makeLogRecord({k: v for k, v in record.__dict__.items() if k in _STANDARD})
    copy.msg, copy.args, copy.exc_info, copy.exc_text, copy.stack_info = "", None, None, None, None
    return copy


class _Ready(logging.Formatter):
    """Returns the line formatted when the record was held."""

    def __init__(self, line: str) -> None:
        super().__init__()
        self.line = line

    def format(self, record: logging.LogRecord) -> str:
        return self.line


def _emit(handler: logging.Handler, record: logging.LogRecord, line: str | None) -> None:
    """Through ``handler``'s own sink, past its filters; ``line`` as formatted when held."""
    handler.acquire()
    try:
        if line is None:
            handler.emit(record)
            return
        formatter = handler.formatter
        handler.formatter = _Ready(line)
        try:
            handler.emit(record)
        finally:
            handler.formatter = formatter
    except Exception:
        handler.handleError(record)
    finally:
        handler.release()


class BufferFilter(logging.Filter):
    """On one handler: hold records at or below ``held``, drop those under ``shown`` otherwise."""

    def __init__(self, handler: logging.Handler, held: int, shown: int) -> None:
        super().__init__()
        self.handler = handler
        self.held = held
        self.shown = shown
        self.envelope = 0  # bytes a line adds to its message, learned from the first record held

    def filter(self, record: logging.LogRecord) -> bool:
        level = record.levelno
        if level > self.held:
            if level >= logging.ERROR:
                flush_current()
            return level >= self.shown
        inv = _invocation.current()
        buffer = _BUFFERS.get(inv) if inv is not None else None
        if buffer is None:
            return level >= self.shown
        if not buffer.open or inv.debug:  # type: ignore[union-attr]
            return True  # flushed already, or a debug-sampled invocation: write everything
        try:  # the message as it is now: arguments changed later do not change it
            message = record.getMessage()
            record.msg, record.args = message, None
            if not self.envelope:
                self.envelope = max(len(self.handler.format(_slim(record))), 64)
            cap = _cap(buffer.limit)
            estimate = len(message) + self.envelope
            attrs = record.__dict__
            if len(attrs) > _PLAIN and estimate <= cap:  # extras given: count them
                for key in attrs.keys() - _STANDARD:
                    estimate += len(key) + 4 + _estimate(attrs[key], cap - estimate)
                    if estimate > cap:
                        break
            line = None
            if estimate > cap or record.exc_info is not None or record.stack_info:
                line = self.handler.format(record)  # now: neither the values nor the frames stay held
                if _size(line) > cap:
                    line = _cut(line, cap)
                    if line is None:  # cannot be held within the bound: counted as lost
                        with buffer.lock:
                            buffer.dropped += 1
                            buffer.last_dropped = record.created
                        return False
                estimate = _size(line)
                record = _slim(record)
        except Exception:
            return True  # let the handler report it as it would have
        return not buffer.add(self, record, estimate, line)


def flush_current() -> None:
    """Write the current invocation's held lines now (an ERROR record is about to be written)."""
    inv = _invocation.current()
    buffer = _BUFFERS.get(inv) if inv is not None else None
    if buffer is not None and buffer.open:
        try:
            buffer.flush()
        except Exception:
            pass


def _on_start(inv: _invocation.Invocation, event: Any) -> None:
    _BUFFERS[inv] = _Buffer(config.get().log_buffer_bytes)


def _on_end(inv: _invocation.Invocation, error: BaseException | None) -> None:
    buffer = _BUFFERS.pop(inv, None)
    if buffer is not None and error is not None and buffer.open:
        buffer.flush()


def _before_timeout(inv: _invocation.Invocation) -> None:
    buffer = _BUFFERS.get(inv)
    if buffer is not None and buffer.open:
        buffer.flush()


def install(handlers: list[logging.Handler], shown: int) -> int:
    """Put the buffer on ``handlers`` when ``LAMBDA_OBSERVE_LOG_BUFFER`` asks for it.

    Returns the level the root logger needs: the lower of ``shown`` and the buffered level.
    """
    for handler in handlers:
        for old in [f for f in handler.filters if isinstance(f, BufferFilter)]:
            handler.removeFilter(old)
    _INSTALLED.clear()
    level = config.get().log_buffer
    if level is None:
        return shown
    held = logging.DEBUG if level == "DEBUG" else logging.INFO  # INFO: INFO and DEBUG records are held
    for handler in handlers:
        handler.addFilter(BufferFilter(handler, held, shown))
        _INSTALLED.append(handler)
    add_start_hook(_on_start)
    add_end_hook(_on_end)
    add_timeout_hook(_before_timeout)
    if shown > logging.DEBUG:
        for name in NOISY:
            logger = logging.getLogger(name)
            if logger.level == logging.NOTSET:
                logger.setLevel(shown)
                _PINNED.append(logger)
    return logging.DEBUG  # every held level reaches the buffer, DEBUG included, in both modes


def reset() -> None:
    """Forget every buffer and filter; unpin the libraries' loggers (for tests)."""
    for handler in _INSTALLED:
        for old in [f for f in handler.filters if isinstance(f, BufferFilter)]:
            handler.removeFilter(old)
    _INSTALLED.clear()
    _BUFFERS.clear()
    for logger in _PINNED:
        logger.setLevel(logging.NOTSET)
    _PINNED.clear()
