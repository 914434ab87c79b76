"""JSON logs of decorated handlers, read back from stdout line by line."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import decimal
import json
import logging
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_observe import append_keys, get_logger, propagate, setup_logging, traced
from lambda_observe.logs import MAX_LINE_BYTES
from lambda_observe.logs._formatter import RESERVED_KEYS
from lambda_observe.redact import Redactor
from lambda_observe.testing import LambdaContext
from tests.conftest import shared_event

INVOCATION_KEYS = {
    "function_request_id",
    "function_name",
    "function_arn",
    "function_memory_size",
    "cold_start",
    "xray_trace_id",
}
BASE_KEYS = {"timestamp", "level", "message", "logger", "location", "service"}


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_every_line_carries_the_invocation(lambda_env, capsys):
    """Lines from get_logger and from plain logging calls carry the same keys inside an invocation."""
    log = get_logger("orders")

    @traced(service="orders")
    def handler(event, context):
        log.info("order stored", extra={"order_id": 42})
        logging.getLogger("legacy.module").warning("old code still logs")
        return "ok"

    context = LambdaContext(function_name="orders-fn", memory_limit_in_mb=256)
    handler(shared_event("apiGatewayProxyEvent.json"), context)
    out = lines(capsys)
    assert len(out) == 2
    for line in out:
        assert BASE_KEYS | INVOCATION_KEYS | {"correlation_id"} <= set(line)
        assert line["function_request_id"] == context.aws_request_id
        assert line["function_name"] == "orders-fn"
        assert line["function_memory_size"] == 256
        assert line["cold_start"] is True
        assert line["xray_trace_id"] == lambda_env.root
        assert line["service"] == "orders"
        assert datetime.datetime.strptime(line["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert out[0]["order_id"] == 42 and out[0]["logger"] == "orders" and out[0]["level"] == "INFO"
    assert out[1]["logger"] == "legacy.module" and out[1]["level"] == "WARNING"


def test_outside_an_invocation_the_keys_are_absent(capsys):
    """Outside an invocation the invocation keys are absent, not null."""
    get_logger("x").info("hello")
    (line,) = lines(capsys)
    assert not INVOCATION_KEYS & set(line)
    assert "correlation_id" not in line
    assert set(line) >= BASE_KEYS


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("apiGatewayProxyEvent.json", lambda e: e["requestContext"]["requestId"]),
        ("apiGatewayProxyV2Event.json", lambda e: e["requestContext"]["requestId"]),
        ("lambdaFunctionUrlEvent.json", lambda e: e["requestContext"]["requestId"]),
        ("albEvent.json", lambda e: e["headers"]["x-amzn-trace-id"]),
        ("eventBridgeEvent.json", lambda e: e["id"]),
        ("sqsEvent.json", lambda e: None),
        ("s3Event.json", lambda e: None),
    ],
)
def test_correlation_ids_per_event_type(lambda_env, capsys, name, expected):
    """The correlation id comes from where each event type keeps it; others have none."""
    event = shared_event(name)

    @traced
    def handler(event, context):
        get_logger("t").info("x")

    handler(event, LambdaContext())
    (line,) = lines(capsys)
    want = expected(event)
    if want is None:
        assert "correlation_id" not in line
    else:
        assert line["correlation_id"] == want


def test_custom_correlation_path(lambda_env, capsys, monkeypatch):
    """A JMESPath from the environment picks the correlation id."""
    monkeypatch.setenv("LAMBDA_OBSERVE_CORRELATION_ID_PATH", "Records[0].messageId")

    @traced
    def handler(event, context):
        get_logger("t").info("x")

    event = shared_event("sqsEvent.json")
    handler(event, LambdaContext())
    assert lines(capsys)[0]["correlation_id"] == event["Records"][0]["messageId"]


def _runtime_like_root_handler(json_format: bool) -> logging.Handler:
    """A root handler installed the way awslambdaric's bootstrap does it: its sink writes what the
    formatter returns as is, and the runtime's formatters end their lines themselves."""

    class LambdaLoggerHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            sys.stdout.write(self.format(record))

    handler = LambdaLoggerHandler()
    if json_format:
        handler.setFormatter(logging.Formatter('{"message": "%(message)s", "level": "%(levelname)s"}\n'))
    else:
        handler.setFormatter(logging.Formatter("[%(levelname)s]\t%(asctime)s\t%(message)s\n"))
    logging.getLogger().addHandler(handler)
    return handler


@pytest.mark.parametrize("json_format", [False, True])
def test_one_line_per_call_under_the_runtime_handler(lambda_env, capsys, monkeypatch, json_format):
    """With the runtime's root handler installed: one line per call, never JSON inside JSON."""
    if json_format:
        monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", "JSON")
    runtime = _runtime_like_root_handler(json_format)
    try:

        @traced
        def handler(event, context):
            get_logger("a").info("first")
            logging.getLogger("b").info("second")

        handler({}, LambdaContext())
        out = capsys.readouterr().out.split("\n")
        assert out[-1] == ""
        out = out[:-1]
        assert len(out) == 2
        parsed = [json.loads(line) for line in out]
        assert [p["message"] for p in parsed] == ["first", "second"]
        assert all(isinstance(p["message"], str) and not p["message"].startswith("{") for p in parsed)
    finally:
        logging.getLogger().removeHandler(runtime)


def test_setup_twice_adds_no_second_handler(capsys):
    """setup_logging and get_logger are idempotent: still one line per call."""
    setup_logging()
    setup_logging()
    get_logger("x")
    get_logger("x").info("once")
    assert len(lines(capsys)) == 1


def test_append_keys_scoped_across_threads_tasks_and_invocations(lambda_env, capsys):
    """append_keys is undone when the block ends, seen by propagated threads and tasks, never leaks."""
    log = get_logger("k")

    @traced
    def handler(event, context):
        with append_keys(tenant=event["tenant"]):
            log.info("main")
            t = threading.Thread(target=propagate(lambda: log.info("thread")))
            t.start()
            t.join()

            async def task(n):
                with append_keys(task=n):
                    await asyncio.sleep(0)
                    log.info("task")

            async def both():
                await asyncio.gather(task(1), task(2))

            asyncio.run(both())
        log.info("after")

    handler({"tenant": "a"}, LambdaContext())
    handler({"tenant": "b"}, LambdaContext())
    out = lines(capsys)
    first, second = out[:5], out[5:]
    for batch, tenant in ((first, "a"), (second, "b")):
        assert [line.get("tenant") for line in batch] == [tenant, tenant, tenant, tenant, None]
        assert sorted(line["task"] for line in batch if "task" in line) == [1, 2]


def test_exception_escaping_the_handler_is_logged_once(lambda_env, capsys):
    """The escaping exception comes out once, structured, with the request id."""

    @traced
    def handler(event, context):
        raise ValueError("bad input")

    context = LambdaContext()
    with pytest.raises(ValueError):
        handler({}, context)
    (line,) = lines(capsys)
    assert line["level"] == "ERROR"
    assert line["function_request_id"] == context.aws_request_id
    assert line["exception"]["type"] == "ValueError"
    assert line["exception"]["message"] == "bad input"
    assert "Traceback" in line["exception"]["stack"]


def test_exception_logging_can_be_turned_off(lambda_env, capsys):
    """log_errors=False leaves the error to the caller."""

    @traced(log_errors=False)
    def handler(event, context):
        raise ValueError("quiet")

    with pytest.raises(ValueError):
        handler({}, LambdaContext())
    assert lines(capsys) == []


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LAMBDA_OBSERVE_LOG_LEVEL": "WARNING", "AWS_LAMBDA_LOG_LEVEL": "DEBUG"}, logging.WARNING),
        ({"AWS_LAMBDA_LOG_LEVEL": "ERROR", "LOG_LEVEL": "DEBUG"}, logging.ERROR),
        ({"LOG_LEVEL": "DEBUG"}, logging.DEBUG),
        ({}, logging.INFO),
    ],
)
def test_level_precedence(monkeypatch, env, expected):
    """LAMBDA_OBSERVE_LOG_LEVEL, then AWS_LAMBDA_LOG_LEVEL, then LOG_LEVEL, then INFO."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    setup_logging()
    assert logging.getLogger().level == expected


def test_debug_sampling_is_decided_per_invocation(lambda_env, capsys, monkeypatch):
    """With a sample rate, each invocation draws once: those drawn under the rate log DEBUG, the
    next one that is not is back at INFO (never all-or-nothing per process, never sticky)."""
    import random

    monkeypatch.setenv("LAMBDA_OBSERVE_DEBUG_SAMPLE_RATE", "0.5")
    draws = [0.1, 0.9, 0.9, 0.2, 0.3, 0.7, 0.49, 0.51, 0.0, 0.99] * 3
    sequence = iter(draws)
    monkeypatch.setattr(random, "random", lambda: next(sequence))
    log = get_logger("s")

    @traced
    def handler(event, context):
        log.debug("detail")

    debug_per_invocation = []
    for _ in draws:
        handler({}, LambdaContext())
        debug_per_invocation.append(any(line["level"] == "DEBUG" for line in lines(capsys)))
    assert debug_per_invocation == [draw < 0.5 for draw in draws]


def test_event_logging_redacts_secrets(lambda_env, capsys, monkeypatch):
    """LAMBDA_OBSERVE_LOG_EVENT logs the event once per invocation with secrets hidden."""
    monkeypatch.setenv("LAMBDA_OBSERVE_LOG_EVENT", "true")
    monkeypatch.setenv("LAMBDA_OBSERVE_REDACT_KEYS", "^ssn$")
    event = shared_event("apiGatewayProxyEvent.json")
    event["headers"].update({"Authorization": "Bearer abc", "Cookie": "s=1", "X-Api-Key": "k"})
    event["body"] = json.dumps({"user": "ann", "password": "hunter2", "ssn": "123", "db_token": "t"})

    @traced
    def handler(event, context):
        return 1

    handler(event, LambdaContext())
    (line,) = lines(capsys)
    logged = line["event"]
    assert logged["headers"]["Authorization"] == "***REDACTED***"
    assert logged["headers"]["Cookie"] == "***REDACTED***"
    assert logged["headers"]["X-Api-Key"] == "***REDACTED***"
    body = json.loads(logged["body"])
    assert body == {"user": "ann", "password": "***REDACTED***", "ssn": "***REDACTED***", "db_token": "***REDACTED***"}
    assert "hunter2" not in json.dumps(line)


def test_awkward_values_are_rendered(capsys):
    """Objects, sets, bytes, datetimes, Decimal, cycles and non-string keys never break a line."""
    loop: dict[str, Any] = {}
    loop["me"] = loop
    get_logger("w").info(
        "values",
        extra={
            "obj": object(),
            "set": {1, 2},
            "bytes": b"\xff\x00",
            "when": datetime.datetime(2026, 1, 1),
            "price": decimal.Decimal("1.10"),
            "loop": loop,
            "keys": {1: "a", (2, 3): "b"},
            "big": 2**80,
        },
    )
    (line,) = lines(capsys)
    assert line["price"] == 1.1 and line["when"].startswith("2026-01-01")
    assert sorted(line["set"]) == [1, 2]
    assert line["loop"]["me"] == "<circular reference>"


def test_oversized_line_is_cut_with_a_marker(capsys):
    """No line goes over CloudWatch Logs' event limit."""
    get_logger("big").info("x" * 400_000, extra={"blob": "y" * 300_000})
    raw = capsys.readouterr().out.splitlines()[0]
    assert len(raw.encode()) <= MAX_LINE_BYTES
    line = json.loads(raw)
    assert line["truncated"] is True and "[truncated" in line["message"]


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")

    def __repr__(self) -> str:
        return "Unprintable()"


class Unrepresentable:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def _cycle() -> dict[str, Any]:
    loop: dict[str, Any] = {"n": 1}
    loop["me"] = loop
    return loop


RESERVED = sorted(RESERVED_KEYS)
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.binary(max_size=10)
    | st.builds(Unprintable)
    | st.builds(Unrepresentable)
    | st.builds(_cycle)
    | st.sampled_from(["x" * 300_000, b"\xff" * 200_000])
    | st.decimals(allow_nan=True)
    | st.datetimes(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)
MESSAGES = (
    st.text(max_size=200)
    | st.sampled_from(["%s %s", "%d", "%(missing)s", "100%", "%"])
    | st.integers()
    | st.none()
    | st.binary(max_size=20)
    | st.builds(Unprintable)
    | st.builds(Unrepresentable)
    | st.just(ValueError("boom"))
    | st.lists(st.integers(), max_size=3)
)
ARGS = st.lists(st.integers() | st.text(max_size=5) | st.builds(Unprintable) | st.builds(Unrepresentable), max_size=3)
# User keys: any text, the reserved keys and the LogRecord attributes included (those raise
# KeyError in logging itself when given as extra=, so they go through append_keys instead).
KEYS = st.text(min_size=1, max_size=10) | st.sampled_from(RESERVED)
_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


@contextlib.contextmanager
def only_our_handler() -> Iterator[None]:
    """pytest's own log capture handlers re-raise formatting errors: take them off the root logger."""
    get_logger()
    root = logging.getLogger()
    others = [h for h in root.handlers if not getattr(h, "_lambda_observe_handler", False)]
    for handler in others:
        root.removeHandler(handler)
    try:
        yield
    finally:
        for handler in others:
            root.addHandler(handler)


def _log_hostile(message: Any, args: list[Any], extra: dict[str, Any], bound: dict[str, Any]) -> None:
    log = get_logger("h")
    safe_extra = {k: v for k, v in extra.items() if k not in _RECORD_ATTRS}
    with only_our_handler(), append_keys(**bound):
        log.info(message, *args, extra=safe_extra)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    message=MESSAGES,
    args=ARGS,
    extra=st.dictionaries(KEYS, VALUES, max_size=5),
    bound=st.dictionaries(KEYS, VALUES, max_size=3),
)
def test_any_record_gives_exactly_one_valid_line(capsys, message, args, extra, bound):
    """Non-str messages, bad % arguments, raising __str__/__repr__, reserved-key extras and bound
    keys, huge values, bytes and cycles: exactly one JSON line that parses, within the limit,
    with the formatter's own level, logger and timestamp, and nothing on stderr."""
    capsys.readouterr()
    _log_hostile(message, args, extra, bound)
    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert len(out) == 1, captured
    assert captured.err == ""
    assert len(out[0].encode()) <= MAX_LINE_BYTES
    line = json.loads(out[0])
    assert isinstance(line, dict)
    assert line["level"] == "INFO" and line["logger"] == "h" and line["timestamp"].endswith("Z")
    assert isinstance(line["message"], str)


def test_hostile_record_checks_fail_without_the_protections(capsys, monkeypatch):
    """Companion: with the safe message rendering and the reserved-key merge switched off, the
    same checks see the broken line and the overwritten level."""
    from lambda_observe.logs import _formatter

    monkeypatch.setattr(_formatter, "_message", lambda record: record.getMessage())
    monkeypatch.setattr(_formatter, "_merge", lambda log_data, user: log_data.update(user))
    _log_hostile(Unprintable(), [], {}, {})
    captured = capsys.readouterr()
    assert "Logging error" in captured.err or len(captured.out.splitlines()) != 1 or "no" in captured.out
    _log_hostile("fine", [], {}, {"level": "FAKE"})
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert line["level"] == "FAKE"


_PLAIN_KEYS = st.text("abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=8).filter(
    lambda k: k not in _RECORD_ATTRS and k not in RESERVED_KEYS and not k.startswith("_") and not _SECRET(k)
)
_SECRET = Redactor().secret


class _Meddler(logging.Filter):
    """A filter that takes a record's own attribute off, and puts it back (it moves to the end)
    unless its name starts with ``-``."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.attr = name

    def filter(self, record: logging.LogRecord) -> bool:
        value = record.__dict__.pop(self.attr.lstrip("-"), None)
        if not self.attr.startswith("-"):
            setattr(record, self.attr, value)
        return True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    extra=st.dictionaries(_PLAIN_KEYS, st.integers() | st.text(max_size=5), min_size=1, max_size=5),
    meddle=st.sampled_from([None, "msg", "process", "name", "created", "-processName", "-msecs", "-process"]),
    own_factory=st.booleans(),
)
def test_every_extra_key_reaches_the_line(capsys, extra, meddle, own_factory):
    """Each ``extra=`` key is on the line, in the order given, whatever a filter did to the
    record's own attributes and whatever record factory made it (one that sets attributes of
    its own first, or a LogRecord subclass)."""
    log = get_logger("x")
    meddler = _Meddler(meddle) if meddle else None
    old_factory = logging.getLogRecordFactory()

    class Mine(logging.LogRecord):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.tenant = "t-1"
            super().__init__(*args, **kwargs)

    if own_factory:
        logging.setLogRecordFactory(Mine)
    if meddler is not None:
        log.addFilter(meddler)
    try:
        capsys.readouterr()
        with only_our_handler():
            log.info("hello", extra=extra)
    finally:
        logging.setLogRecordFactory(old_factory)
        if meddler is not None:
            log.removeFilter(meddler)
    (line,) = lines(capsys)
    assert {k: line.get(k) for k in extra} == extra
    assert [k for k in line if k in extra] == list(extra)
    if own_factory:
        assert line["tenant"] == "t-1"


def test_stack_info_names_the_caller(capsys):
    """``stack_info=True``: the location is the caller's and the stack ends in the caller, as the
    standard library's ``findCaller`` gives them."""
    log = get_logger("stack")

    def where_it_happened() -> None:
        log.info("with the stack", stack_info=True)

    capsys.readouterr()
    with only_our_handler():
        where_it_happened()
    (line,) = lines(capsys)
    assert line["location"].endswith(".where_it_happened:" + str(where_it_happened.__code__.co_firstlineno + 1))
    assert line["stack_info"].startswith("Stack (most recent call last):")
    assert line["stack_info"].rstrip().endswith('log.info("with the stack", stack_info=True)')


def test_awkward_extras_keep_the_rest_of_the_line(lambda_env, capsys):
    """An int key, a string that looks like very deeply nested JSON, and an int too long to write in
    decimal: the line keeps its message, location, request id and the other keys."""
    log = get_logger("awkward")

    @traced
    def handler(event, context):
        log.info("placed", extra={1: "x", "order_id": 7})
        log.info("placed", extra={"body": "[" * 5000, "order_id": 7})
        log.info("placed", extra={"big": 10**5000, "order_id": 7})
        return "ok"

    capsys.readouterr()
    with only_our_handler():
        handler({}, LambdaContext(aws_request_id="req-awkward"))
    got = [line for line in lines(capsys) if line.get("logger") == "awkward"]
    assert len(got) == 3
    for line in got:
        assert line["message"] == "placed" and line["order_id"] == 7
        assert line["function_request_id"] == "req-awkward" and line["location"].endswith(
            ".handler:" + str(handler.__wrapped__.__code__.co_firstlineno + 2 + got.index(line))
        )
    assert got[0]["1"] == "x"
    assert got[1]["body"] == "[" * 5000
    assert got[2]["big"] == "<int of 16610 bits>"
