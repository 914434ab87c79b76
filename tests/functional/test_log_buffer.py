"""Log buffering (LAMBDA_OBSERVE_LOG_BUFFER): low-level lines held back per invocation and written
only when it fails, read back from the log stream line by line."""

from __future__ import annotations

import io
import json
import logging
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_observe import get_logger, setup_logging, traced
from lambda_observe.testing import LambdaContext


@pytest.fixture
def buffered(lambda_env, monkeypatch):
    monkeypatch.setenv("LAMBDA_OBSERVE_LOG_BUFFER", "DEBUG")
    return lambda_env


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def messages(out: list[dict[str, Any]]) -> list[str]:
    return [x["message"] for x in out]


def test_held_lines_are_dropped_when_the_invocation_succeeds(buffered, capsys):
    """DEBUG lines are not written when nothing fails; INFO lines are written as usual."""
    log = get_logger("app")

    @traced
    def handler(event, context):
        log.debug("detail 1")
        log.info("progress")
        log.debug("detail 2")
        return "ok"

    assert handler({}, LambdaContext()) == "ok"
    assert messages(lines(capsys)) == ["progress"]


def test_an_error_log_writes_the_held_lines_first_in_order_with_their_timestamps(buffered, capsys):
    """On an ERROR line: the held lines come first, in order, with the times they were logged, then the
    error; later DEBUG lines of that invocation are written as they come."""
    log = get_logger("app")

    @traced
    def handler(event, context):
        log.debug("detail 1")
        time.sleep(0.003)
        log.info("progress")
        time.sleep(0.003)
        log.debug("detail 2")
        time.sleep(0.003)
        log.error("payment refused")
        log.debug("after the error")
        return "handled"

    assert handler({}, LambdaContext()) == "handled"
    out = lines(capsys)
    assert messages(out) == ["progress", "detail 1", "detail 2", "payment refused", "after the error"]
    stamp = {x["message"]: x["timestamp"] for x in out}
    assert stamp["detail 1"] < stamp["progress"] < stamp["detail 2"] < stamp["payment refused"]
    request_ids = {x["function_request_id"] for x in out}
    assert len(request_ids) == 1  # the held lines carry their invocation's keys


@pytest.mark.parametrize("log_errors", [True, False])
def test_a_raising_handler_writes_the_held_lines(buffered, capsys, log_errors):
    """The handler raises: the held lines are written before the error line (or at the end when
    @traced does not log errors), and the exception reaches the caller unchanged."""
    log = get_logger("app")

    @traced(log_errors=log_errors)
    def handler(event, context):
        log.debug("state before the failure")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        handler({}, LambdaContext())
    out = messages(lines(capsys))
    assert out[0] == "state before the failure"
    assert out[1:] == (["handler raised RuntimeError: boom"] if log_errors else [])


def test_plain_logging_calls_are_buffered_too(buffered, capsys):
    """The user's own logging.getLogger(...) calls are held and flushed like get_logger's."""

    @traced
    def handler(event, context):
        logging.getLogger("legacy.module").debug("plain debug %s", event["n"])
        logging.getLogger("legacy.module").error("plain error")

    handler({"n": 7}, LambdaContext())
    out = lines(capsys)
    assert messages(out) == ["plain debug 7", "plain error"]
    assert out[0]["logger"] == "legacy.module" and out[0]["level"] == "DEBUG"


def test_a_buffer_never_leaks_into_the_next_invocation(buffered, capsys):
    """What a successful invocation held is gone; a failing next invocation writes only its own lines."""
    log = get_logger("app")

    @traced
    def handler(event, context):
        log.debug(f"held in {event['n']}")
        if event["fail"]:
            log.error(f"failed in {event['n']}")

    handler({"n": 1, "fail": False}, LambdaContext())
    handler({"n": 2, "fail": True}, LambdaContext())
    handler({"n": 3, "fail": False}, LambdaContext())
    assert messages(lines(capsys)) == ["held in 2", "failed in 2"]
    from lambda_observe.logs import _buffer

    assert _buffer._BUFFERS == {}  # nothing kept once the invocations are over


def test_the_bound_drops_the_oldest_and_says_how_many(buffered, capsys, monkeypatch):
    """Over LAMBDA_OBSERVE_LOG_BUFFER_BYTES the oldest lines go; the flush starts with a WARNING that
    counts them, and what is kept is the newest lines, in order, within the bound."""
    monkeypatch.setenv("LAMBDA_OBSERVE_LOG_BUFFER_BYTES", "4000")
    log = get_logger("app")

    @traced
    def handler(event, context):
        for i in range(60):
            log.debug("line %02d %s", i, "x" * 100)
        log.error("failed")

    handler({}, LambdaContext())
    raw = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    out = [json.loads(line) for line in raw]
    notice, *kept, error = out
    assert notice["level"] == "WARNING" and notice["log_buffer_dropped"] == 60 - len(kept)
    assert f"{60 - len(kept)} earlier records were dropped" in notice["message"]
    assert [x["message"][:7] for x in kept] == [f"line {i:02d}" for i in range(60 - len(kept), 60)]
    assert sum(len(line.encode()) for line in raw[1:-1]) <= 4000 < sum(len(line.encode()) for line in raw[:-1]) + 200
    assert notice["timestamp"] <= kept[0]["timestamp"]
    assert error["message"] == "failed"


def test_info_mode_holds_info_too(lambda_env, capsys, monkeypatch):
    """LAMBDA_OBSERVE_LOG_BUFFER=INFO holds INFO and DEBUG; WARNING is written at once."""
    monkeypatch.setenv("LAMBDA_OBSERVE_LOG_BUFFER", "INFO")
    monkeypatch.setenv("LAMBDA_OBSERVE_LOG_LEVEL", "DEBUG")
    log = get_logger("app")

    @traced
    def handler(event, context):
        log.info("info held")
        log.debug("debug held")
        log.warning("warning written")

    handler({}, LambdaContext())
    assert messages(lines(capsys)) == ["warning written"]


def test_outside_an_invocation_nothing_is_held(buffered, capsys):
    """Outside an invocation the written level applies as without buffering: DEBUG is not written, INFO is."""
    log = get_logger("init")
    log.debug("init detail")
    log.info("init done")
    assert messages(lines(capsys)) == ["init done"]


def test_the_sdk_loggers_stay_at_the_written_level(buffered):
    """Buffering lowers the root level to DEBUG, but botocore's and urllib3's DEBUG output is not produced."""
    setup_logging()
    assert logging.getLogger().level == logging.DEBUG
    assert not logging.getLogger("botocore").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("urllib3").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("my.app").isEnabledFor(logging.DEBUG)


def test_held_lines_are_written_before_the_timeout_warning(buffered, capsys, monkeypatch):
    """A handler near its deadline: the held lines are written, then the timeout warning."""
    monkeypatch.setenv("LAMBDA_OBSERVE_TIMEOUT_WARNING_MS", "900")
    log = get_logger("app")

    @traced
    def handler(event, context):
        log.debug("waiting for the bank")
        time.sleep(0.4)
        log.debug("after the warning")

    handler({}, LambdaContext(timeout_s=1.0))
    out = lines(capsys)
    assert [x["level"] for x in out] == ["DEBUG", "WARNING", "DEBUG"]
    assert out[0]["message"] == "waiting for the bank" and "from its deadline" in out[1]["message"]


def test_a_bad_variable_is_a_clear_error(lambda_env, monkeypatch):
    """LAMBDA_OBSERVE_LOG_BUFFER must be DEBUG or INFO; the bound a positive number of bytes."""
    from lambda_observe import config

    monkeypatch.setenv("LAMBDA_OBSERVE_LOG_BUFFER", "TRACE")
    with pytest.raises(ValueError, match="expected DEBUG or INFO"):
        config.Config.from_env()
    monkeypatch.setenv("LAMBDA_OBSERVE_LOG_BUFFER", "debug")
    monkeypatch.setenv("LAMBDA_OBSERVE_LOG_BUFFER_BYTES", "-5")
    with pytest.raises(ValueError, match="LAMBDA_OBSERVE_LOG_BUFFER_BYTES='-5': expected a positive"):
        config.Config.from_env()


LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING, "ERROR": logging.ERROR}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(st.tuples(st.sampled_from(sorted(LEVELS)), st.integers(0, 400)), max_size=40),
    raises=st.booleans(),
    limit=st.integers(600, 6000),
)
def test_the_rules_hold_for_any_interleaving(lambda_env, monkeypatch, steps, raises, limit):
    """Random levels and sizes, random bounds, raising or not: lines above DEBUG are written in order; held
    DEBUG lines appear only if the invocation failed, before the first error, newest kept within the
    bound, the loss counted; after a flush DEBUG lines are written as they come."""
    monkeypatch.setenv("LAMBDA_OBSERVE_LOG_BUFFER", "DEBUG")
    monkeypatch.setenv("LAMBDA_OBSERVE_LOG_BUFFER_BYTES", str(limit))
    from tests.conftest import reset_library

    reset_library()
    stream = io.StringIO()
    setup_logging(stream=stream)
    log = logging.getLogger("prop")

    @traced(log_errors=False)
    def handler(event, context):
        for i, (level, size) in enumerate(steps):
            log.log(LEVELS[level], "%d %s", i, "y" * size)
        if raises:
            raise ValueError("x")

    try:
        handler({}, LambdaContext())
    except ValueError:
        pass
    raw = [line for line in stream.getvalue().splitlines() if line]
    out = [json.loads(line) for line in raw]
    written = [x for x in out if x["logger"] == "prop"]
    notices = [x for x in out if x.get("log_buffer_dropped")]
    first_error = next((i for i, (level, _) in enumerate(steps) if level == "ERROR"), None)
    failed = first_error is not None or raises
    cut = first_error if first_error is not None else len(steps)  # the held lines before the first flush
    held = [i for i, (level, _) in enumerate(steps[:cut]) if level == "DEBUG"]
    expected_direct = [i for i, (level, _) in enumerate(steps) if level != "DEBUG" or i > cut]
    got = [int(x["message"].split()[0]) for x in written]
    if not failed:
        assert got == expected_direct and notices == []
        return
    flushed = [i for i in got if steps[i][0] == "DEBUG" and i < cut]
    lost = len(held) - len(flushed)
    assert flushed == held[lost:]  # the newest kept, in order
    assert (notices[0]["log_buffer_dropped"] if notices else 0) == lost
    sizes = [
        len(line.encode())
        for line, x in zip(raw, out, strict=True)
        if x["logger"] == "prop"
        and steps[int(x["message"].split()[0])][0] == "DEBUG"
        and int(x["message"].split()[0]) < cut
    ]
    assert sum(sizes) <= limit
    direct = [i for i in got if i not in flushed]
    assert direct == expected_direct
    if first_error is not None:  # the held lines come right before the first error line
        position = got.index(first_error)
        assert got[position - len(flushed) : position] == flushed


def test_extras_count_against_the_bound(buffered, monkeypatch):
    """150 held records with a 1 MB extra each, and 2,000 with nested 2 KB extras, under a 64 KiB bound:
    the memory the buffer holds (traced after each record) stays within a few times the bound."""
    import tracemalloc

    monkeypatch.setenv("LAMBDA_OBSERVE_LOG_BUFFER_BYTES", str(64 * 1024))
    setup_logging(stream=io.StringIO())
    root = logging.getLogger()  # pytest's own capture handler keeps every record: not ours to measure
    monkeypatch.setattr(root, "handlers", [h for h in root.handlers if not type(h).__module__.startswith("_pytest")])
    log = logging.getLogger("app")
    held: list[int] = []

    @traced
    def handler(event, context):
        log.debug("start")  # a plain first record: the size of a line's other fields is learned on it
        base = tracemalloc.get_traced_memory()[0]
        for i in range(150):
            log.debug("big %d", i, extra={"blob": "x" * 1_000_000})
            held.append(tracemalloc.get_traced_memory()[0] - base)
        for i in range(2000):
            log.debug("nested %d", i, extra={"rows": [{"id": j, "name": "n" * 60} for j in range(30)]})
            held.append(tracemalloc.get_traced_memory()[0] - base)

    tracemalloc.start()
    try:
        handler({}, LambdaContext())
    finally:
        tracemalloc.stop()
    assert max(held) <= 6 * 64 * 1024 + 256 * 1024, f"held up to {max(held)} bytes"


def test_one_oversized_record_does_not_wipe_the_buffer(buffered, capsys, monkeypatch):
    """A 400 KB record between two small ones under a 64 KiB bound: on failure every record is written,
    the oversized one cut to fit with a truncation marker; nothing is reported lost."""
    monkeypatch.setenv("LAMBDA_OBSERVE_LOG_BUFFER_BYTES", str(64 * 1024))
    log = get_logger("app")

    @traced
    def handler(event, context):
        log.debug("first")
        log.debug("G" * 400_000)
        log.debug("last")
        log.error("fail")

    handler({}, LambdaContext())
    raw = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    out = [json.loads(line) for line in raw]
    assert [x["message"][:5] for x in out] == ["first", "GGGGG", "last", "fail"]
    assert out[1]["truncated"] is True and "...[truncated " in out[1]["message"]
    assert not any(x.get("log_buffer_dropped") for x in out)
    assert sum(len(line.encode()) + 1 for line in raw[:3]) <= 64 * 1024


def test_oldest_go_first_when_small_records_overflow_around_a_big_one(buffered, capsys, monkeypatch):
    """Records that together pass the bound: the oldest are dropped and counted; a big one in the middle
    is cut, not the reason everything older goes."""
    monkeypatch.setenv("LAMBDA_OBSERVE_LOG_BUFFER_BYTES", "8000")
    log = get_logger("app")

    @traced
    def handler(event, context):
        for i in range(40):
            log.debug("old %02d %s", i, "o" * 200)
        log.debug("big %s", "B" * 50_000)
        log.debug("new")
        log.error("fail")

    handler({}, LambdaContext())
    raw = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    out = [json.loads(line) for line in raw]
    notice, *kept, error = out
    assert notice["log_buffer_dropped"] > 0 and error["message"] == "fail"
    assert [x["message"][:3] for x in kept[-2:]] == ["big", "new"] and kept[-2]["truncated"] is True
    olds = [int(x["message"][4:6]) for x in kept[:-2]]
    assert olds and olds == list(range(40 - len(olds), 40)) and len(olds) + notice["log_buffer_dropped"] == 40
    assert sum(len(line.encode()) for line in raw[1:-1]) <= 8000


@pytest.mark.parametrize("mode", ["INFO", "DEBUG"])
def test_info_mode_holds_debug_too_at_the_default_level(lambda_env, capsys, monkeypatch, mode):
    """With the default written level (INFO), =INFO holds INFO and DEBUG records and =DEBUG holds DEBUG:
    a failing invocation shows its DEBUG lines in both modes."""
    monkeypatch.setenv("LAMBDA_OBSERVE_LOG_BUFFER", mode)
    log = get_logger("app")

    @traced
    def handler(event, context):
        log.debug("debug detail")
        log.info("info progress")
        if event["fail"]:
            log.error("failed")

    handler({"fail": False}, LambdaContext())
    ok = messages(lines(capsys))
    handler({"fail": True}, LambdaContext())
    failed = messages(lines(capsys))
    assert ok == ([] if mode == "INFO" else ["info progress"])
    expected = ["debug detail", "info progress", "failed"]
    assert failed == (expected if mode == "INFO" else ["info progress", "debug detail", "failed"])
    assert logging.getLogger().level == logging.DEBUG


def test_a_bad_variable_names_the_value_as_set(lambda_env, monkeypatch):
    """The error for a bad LAMBDA_OBSERVE_LOG_BUFFER shows the value as it was set, not upper-cased."""
    from lambda_observe import config

    monkeypatch.setenv("LAMBDA_OBSERVE_LOG_BUFFER", "trace")
    with pytest.raises(ValueError, match=r"LAMBDA_OBSERVE_LOG_BUFFER='trace': expected DEBUG or INFO"):
        config.Config.from_env()
