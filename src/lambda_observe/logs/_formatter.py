"""The JSON formatter: python-json-logger, fed by the current invocation."""

from __future__ import annotations

import json
import logging
import time
import traceback
from contextvars import ContextVar
from itertools import islice
from typing import Any

from .. import _invocation, _json, config
from .. import redact as _redact
from . import _fast

__all__ = [
    "KEYS",
    "MAX_LINE_BYTES",
    "PREFIX",
    "RESERVED_KEYS",
    "LambdaJsonFormatter",
    "make_formatter",
]

#: CloudWatch Logs takes events of up to 256 KiB including 26 bytes of overhead.
MAX_LINE_BYTES = 256 * 1024 - 26 - 512
#: Keys bound with ``append_keys``: a fresh dict per scope, never mutated in place.
KEYS: ContextVar[dict[str, Any]] = ContextVar("lambda_observe_log_keys", default={})  # noqa: B039

_OWN = _fast.RECORD_ATTRS
_RESERVED = frozenset({*_OWN, "message", "asctime", "aws_request_id", "tenant_id"})
#: Keys the formatter writes itself: a user's key of the same name (``extra=``, ``append_keys``,
#: a dict message) never replaces them; its value is kept under ``PREFIX + key`` instead.
RESERVED_KEYS = frozenset(
    {
        "timestamp",
        "level",
        "message",
        "logger",
        "location",
        "service",
        "function_request_id",
        "function_name",
        "function_arn",
        "function_memory_size",
        "cold_start",
        "xray_trace_id",
        "correlation_id",
        "exception",
        "stack_info",
        "truncated",
    }
)
PREFIX = "extra_"
_BASE_ATTRS = len(_OWN) + 1  # + "message"
_LAST_OWN = _OWN[-1]  # "process", or "taskName" from 3.12
_PLAIN_RECORDS = (logging.LogRecord, _fast.Record)
_STAMP: list[Any] = [-1, ""]  # the second, and its text
_LINE_BREAKS = {
    0x85: "\\u0085",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
    0x1C: "\\u001c",
    0x1D: "\\u001d",
    0x1E: "\\u001e",
    0x0B: "\\u000b",
    0x0C: "\\u000c",
}


#: ``.000Z`` to ``.999Z``: the millisecond part of a timestamp, formatted once (at the first line).
_MILLIS: list[str] = []


def _timestamp(created: float) -> str:
    second = int(created)
    if _STAMP[0] != second:
        if not _MILLIS:
            _MILLIS.extend(f".{ms:03d}Z" for ms in range(1000))
        _STAMP[0] = second
        _STAMP[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    stamp: str = _STAMP[1]
    return stamp + _MILLIS[int((created - second) * 1000)]


def _exception(exc_info: Any, text: Any) -> dict[str, Any]:
    exc_type, exc, tb = exc_info
    name = getattr(exc_type, "__name__", None) or _render(exc_type, "exception type")
    try:
        message = str(exc)
    except Exception:
        message = f"<unprintable {name}>"
    try:
        stack = "".join(traceback.format_exception(exc_type, exc, tb))
    except Exception as failure:
        stack = f"<traceback could not be rendered: {_render(failure, 'error')}>"
    if exc is not None and _redact.from_driver(exc):  # a driver's message quotes the statement's values
        engine = _redact.get()
        return {"type": name, "message": engine.sql_error(message), "stack": engine.sql_error(stack)}
    return {"type": name, "message": text(message), "stack": text(stack)}


def _render(value: object, what: str) -> str:
    """``str(value)``, else ``repr(value)``, else a placeholder naming the type; never raises."""
    for show in (str, repr):
        try:
            return show(value)
        except Exception:
            pass
    try:
        kind = type(value).__name__
    except Exception:
        kind = "object"
    return f"<{what} could not be rendered: {kind}>"


def _message(record: logging.LogRecord) -> str:
    """The record's message; when ``msg % args`` or ``str`` fails, a placeholder naming the error,
    then the template filled with what each argument can show (its text, else its type)."""
    try:
        return record.getMessage()
    except Exception as exc:
        problem = f"{_type(exc)}: {_render(exc, 'error')}"
        template = _render(record.msg, "message")[:10_000]
        args = record.args
        if args:
            try:
                if isinstance(args, dict):
                    template = template % {k: _shown(v) for k, v in args.items()}
                else:
                    template = template % tuple(_shown(a) for a in (args if isinstance(args, tuple) else (args,)))
            except Exception:
                shown = args.values() if isinstance(args, dict) else args if isinstance(args, tuple) else (args,)
                template += " [arguments: " + ", ".join(_shown(a) for a in shown)[:10_000] + "]"
        return f"<message could not be rendered: {problem}> {template}"


def _type(value: object) -> str:
    try:
        return str(type(value).__name__)
    except Exception:
        return "object"


def _shown(value: object) -> str:
    """``str(value)``, else ``repr(value)``, else ``<unprintable TypeName>``; never raises."""
    for show in (str, repr):
        try:
            return show(value)
        except Exception:
            pass
    return f"<unprintable {_type(value)}>"


def _base() -> type[logging.Formatter]:
    try:
        import orjson  # noqa: F401
        from pythonjsonlogger.orjson import OrjsonFormatter

        return OrjsonFormatter
    except ImportError:
        from pythonjsonlogger.json import JsonFormatter

        return JsonFormatter


def make_formatter(service: str | None = None, terminator: str = "") -> logging.Formatter:
    """A :class:`LambdaJsonFormatter` on python-json-logger's fastest available serializer.

    ``terminator`` ends each line: the Lambda runtime's log sink writes what the formatter
    returns as is, so its handler needs ``"\\n"``; a StreamHandler adds its own.
    """
    cls = type("LambdaJsonFormatter", (LambdaJsonFormatter, _base()), {})
    return cls(service=service, terminator=terminator)  # type: ignore[no-any-return]


class LambdaJsonFormatter:
    """Mixed into python-json-logger's formatter; see :func:`make_formatter`.

    One JSON object per line, with the invocation's keys (request id, trace id, cold start,
    correlation id) on every line inside an invocation and absent outside one. Never raises;
    never writes a line over CloudWatch Logs' event limit.
    """

    def __init__(self, service: str | None = None, terminator: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service = service
        self.terminator = terminator
        if hasattr(self, "json_default"):
            self.json_default = _json.default
        if hasattr(self, "json_ensure_ascii"):  # the standard-library base: write what orjson writes
            self.json_ensure_ascii = False
            self.json_serializer = _json.compact_dumps

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        inv = _invocation.current()
        redactor = _redact.get()
        text = redactor.text
        log_data["timestamp"] = _timestamp(record.created)
        log_data["level"] = record.levelname
        message: Any = record.message
        if isinstance(record.msg, dict) and message == "" and "message" in message_dict:
            message = message_dict.pop("message")  # a dict message: its "message" key is the message
            message = message if isinstance(message, str) else _render(message, "message")
        log_data["message"] = text(message) if isinstance(message, str) else message
        log_data["logger"] = record.name
        log_data["location"] = f"{record.module}.{record.funcName}:{record.lineno}"
        log_data["service"] = self.service or (inv.service if inv is not None else None) or _default_service()
        user: dict[Any, Any] = {}
        if inv is not None:
            log_data["function_request_id"] = inv.request_id
            log_data["function_name"] = inv.function_name
            log_data["function_arn"] = inv.function_arn
            log_data["function_memory_size"] = inv.memory_mb
            log_data["cold_start"] = inv.cold_start
            if inv.trace is not None:
                log_data["xray_trace_id"] = inv.trace.root
            ids = inv.ids
            if ids is not None:  # OTel modes: hex ids of our own making, for log-to-trace correlation
                log_data["trace_id"], log_data["span_id"] = ids
            if inv.correlation_id is not None:
                log_data["correlation_id"] = inv.correlation_id
            if inv.keys:
                user.update(inv.keys)
        bound = KEYS.get()
        if bound:
            user.update(bound)
        exc_text = message_dict.pop("exc_info", None) if message_dict else None
        if record.exc_info and record.exc_info[0] is not None:
            log_data["exception"] = _exception(record.exc_info, text)
        elif exc_text:
            log_data["exception"] = {"stack": text(_render(exc_text, "exception"))}
        if message_dict:
            user.update(message_dict)
        if record.stack_info:
            log_data["stack_info"] = text(_render(record.stack_info, "stack"))
        attrs = record.__dict__
        # The user's extra= keys. A plain LogRecord sets its own attributes first (dicts keep insertion
        # order), so the extras come after them while its last own attribute still stands where it set
        # it (none was removed, or removed and added again, by a filter). Otherwise every attribute is
        # looked at.
        keys: Any = attrs
        kind = type(record)
        if kind is _fast.Record:  # the short way's: its own attributes first, "created" the last of them
            tail = islice(attrs, _fast.RECORD_SET - 1, None)
            if next(tail, None) == "created":
                keys = tail
        elif kind is logging.LogRecord:
            tail = islice(attrs, _BASE_ATTRS - 2, None)
            if next(tail, None) == _LAST_OWN:
                keys = tail
        for key in keys:
            if key not in _RESERVED and not (type(key) is str and key[:1] == "_"):  # not private ones
                user[key] = attrs[key]
        if user:
            _merge(log_data, redactor.clean(user))

    def jsonify_log_record(self, log_data: dict[str, Any]) -> str:
        try:
            line: str = super().jsonify_log_record(log_data)  # type: ignore[misc]
        except Exception:
            line = json.dumps(_json.safe(log_data), separators=(",", ":"), ensure_ascii=False)
        if len(line) * 4 > MAX_LINE_BYTES and len(line.encode("utf-8")) > MAX_LINE_BYTES:
            line = _fit(log_data)
        if not line.isascii():  # characters some readers split lines on: escape them (still valid JSON)
            line = line.translate(_LINE_BREAKS)
        return line

    def format(self, record: logging.LogRecord) -> str:
        try:
            if type(record.msg) is str and record.exc_info is None and record.exc_text is None:
                # The common case, without python-json-logger's generic field handling.
                plain = not record.args and type(record) in _PLAIN_RECORDS  # getMessage() would be str(msg)
                record.message = record.msg if plain else _message(record)
                log_data: dict[str, Any] = {}
                self.add_fields(log_data, record, {})
                return self.jsonify_log_record(log_data) + self.terminator
            if not isinstance(record.msg, dict):
                message = _message(record)
                if message is not record.msg:  # python-json-logger calls getMessage() again: give it the text
                    record = logging.makeLogRecord({**record.__dict__, "msg": message, "args": None})
            return super().format(record) + self.terminator  # type: ignore[misc, no-any-return]
        except Exception as exc:  # a failure of ours: still one line, still parseable
            fallback = {
                "timestamp": _timestamp(record.created),
                "level": _render(record.levelname, "level"),
                "logger": _render(record.name, "logger"),
                "message": f"<log record could not be rendered: {_render(exc, 'error')}>",
                "msg_template": _redact.get().text(_render(getattr(record, "msg", ""), "message")[:10_000]),
            }
            return json.dumps(fallback, separators=(",", ":"), ensure_ascii=False) + self.terminator


def _merge(log_data: dict[str, Any], user: dict[str, Any]) -> None:
    """Add the user's keys; a reserved or already written key keeps its value, the user's goes to ``extra_<key>``."""
    for key, value in user.items():
        if key in log_data or key in RESERVED_KEYS:
            key = PREFIX + key
            while key in log_data:
                key = PREFIX + key
        log_data[key] = value


def _default_service() -> str:
    return config.get().service


def _fit(log_data: dict[str, Any]) -> str:
    """Cut the largest fields, with a marker, until the line fits the limit."""
    data = _json.safe(log_data)
    data["truncated"] = True
    for _ in range(64):
        line = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        size = len(line.encode("utf-8"))
        if size <= MAX_LINE_BYTES:
            return line
        sizes = {k: len(json.dumps(v, ensure_ascii=False)) for k, v in data.items()}
        key = max(sizes, key=lambda k: sizes[k])
        keep = max(sizes[key] - (size - MAX_LINE_BYTES) - 200, 0) // 4
        text = data[key] if isinstance(data[key], str) else json.dumps(data[key], ensure_ascii=False)
        data[key] = text[:keep] + f"...[truncated {len(text) - keep} characters]"
    kept = {k: data[k] for k in ("timestamp", "level", "logger") if k in data} | {"truncated": True}
    return json.dumps(kept, separators=(",", ":"), ensure_ascii=False)
