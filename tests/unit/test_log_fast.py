"""The short way for a log call (logs/_fast.py): the same line as the standard path, or the standard path.

Each test logs through a logger set up by ``setup_logging`` and compares the short way's line with the
line the standard machinery (``makeRecord``, ``Logger.handle``, ``callHandlers``) writes for the same
call. A pass-through filter on the logger sends a call the standard way (the short way never runs with
a filter); the record type the handler receives tells which way a line took.
"""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_observe import get_logger, setup_logging
from lambda_observe.logs import _caller, _fast

#: The record type a call the short way may take arrives as: on Python 3.10 there is no short way,
#: so every call is expected to take the standard way (and still write the same lines).
SHORT: type = _fast.Record if _caller.AVAILABLE else logging.LogRecord


class Capture:
    """The lines written, and the record type each came from."""

    def __init__(self, stream: io.StringIO, handler: logging.Handler) -> None:
        self.stream = stream
        self.kinds: list[type] = []
        emit = handler.emit

        def spy(record: logging.LogRecord) -> None:
            self.kinds.append(type(record))
            emit(record)

        handler.emit = spy  # type: ignore[method-assign]

    def isolate(self) -> None:
        """Set aside the handlers pytest's log capture puts on the root logger for the test's call
        (pytest takes them off itself at the end of the call)."""
        root = logging.getLogger()
        for handler in [h for h in root.handlers if not getattr(h, "_lambda_observe_handler", False)]:
            root.removeHandler(handler)

    def lines(self) -> list[dict[str, Any]]:
        out = [json.loads(line) for line in self.stream.getvalue().splitlines()]
        self.stream.seek(0)
        self.stream.truncate()
        return out


@pytest.fixture
def capture() -> Iterator[Capture]:
    """Our handler alone on the root logger (pytest's log capture handlers are set aside meanwhile)."""
    root = logging.getLogger()
    others = [h for h in root.handlers if not getattr(h, "_lambda_observe_handler", False)]
    for handler in others:
        root.removeHandler(handler)
    stream = io.StringIO()
    try:
        setup_logging("DEBUG", stream=stream, force=True)
        ours = [h for h in root.handlers if getattr(h, "_lambda_observe_handler", False)]
        assert len(ours) == 1
        yield Capture(stream, ours[0])
    finally:
        for handler in others:
            root.addHandler(handler)


def _pass(record: logging.LogRecord) -> bool:
    return True


def both(log: logging.Logger, call: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``call(log)`` the short way, then the standard way (a pass-through filter), from the same line."""
    call(log)
    log.addFilter(_pass)
    try:
        call(log)
    finally:
        log.removeFilter(_pass)
    return _read(log)


def _read(log: logging.Logger) -> tuple[dict[str, Any], dict[str, Any]]:
    stream = next(h for h in logging.getLogger().handlers if getattr(h, "_lambda_observe_handler", False)).stream
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    stream.seek(0)
    stream.truncate()
    assert len(lines) == 2, lines
    for line in lines:
        line.pop("timestamp")
    return lines[0], lines[1]


def test_the_short_way_is_taken_and_writes_the_standard_line(capture: Capture) -> None:
    capture.isolate()
    log = get_logger("fast.same")
    short, standard = both(log, lambda lg: lg.info("order %s for %d", "a-1", 3, extra={"n": 1, "name": "x"}))
    assert capture.kinds == [SHORT, logging.LogRecord]
    assert short == standard
    assert short["message"] == "order a-1 for 3"
    assert short["extra_name"] == "x" and short["n"] == 1
    assert short["location"].startswith("test_log_fast.<lambda>:")


_KEYS = st.one_of(
    st.sampled_from(
        [
            *("name", "msg", "args", "message", "asctime", "levelname", "thread", "process", "module", "lineno"),
            *("extra_name", "exc_info", "created", "taskName", "order_id", "password", "_private", "n"),
        ]
    ),
    st.text(max_size=12),
)
_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=40), st.lists(st.integers(), max_size=3))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    message=st.text(max_size=60),
    args=st.one_of(
        st.just(()),
        st.tuples(st.text(max_size=10)),
        st.tuples(st.integers(), st.text(max_size=10)),
        st.just(({"a": 1},)),
        st.just(({},)),
    ),
    extra=st.one_of(st.none(), st.dictionaries(_KEYS, _VALUES, max_size=6)),
    level=st.sampled_from([logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, 25]),
)
def test_any_message_arguments_and_extra_give_the_same_line(
    capture: Capture, message: str, args: tuple[Any, ...], extra: dict[str, Any] | None, level: int
) -> None:
    """Hostile templates (``%`` with wrong arguments), extra keys that collide with the record's own."""
    capture.isolate()
    log = get_logger("fast.any")
    capture.kinds.clear()
    short, standard = both(log, lambda lg: lg.log(level, message, *args, extra=extra))
    assert capture.kinds == [SHORT, logging.LogRecord]
    assert short == standard


def test_an_extra_key_the_full_record_has_is_renamed_not_dropped(capture: Capture) -> None:
    """A LogRecord sets thread, process...: the short record does not, yet the key is renamed the same."""
    capture.isolate()
    log = get_logger("fast.collide")
    log.info("x", extra={"thread": "mine", "process": 7, "relativeCreated": "r"})
    (line,) = capture.lines()
    assert (line["extra_thread"], line["extra_process"], line["extra_relativeCreated"]) == ("mine", 7, "r")


def test_location_names_the_callers_line_on_both_ways(capture: Capture) -> None:
    """Through ``Logger.log``, a LoggerAdapter, the root's module functions, and ``stacklevel=2`` (the
    standard way) the location is the user's frame, never lambda_observe's own file."""
    capture.isolate()
    log = get_logger("fast.where")

    def helper() -> None:
        log.info("one", stacklevel=2)

    def caller() -> int:
        helper()
        return sys._getframe().f_lineno - 1

    line_of_helper_call = caller()
    log.log(logging.INFO, "two")
    line_two = sys._getframe().f_lineno - 1
    logging.LoggerAdapter(log, {"k": 1}).info("three")
    line_three = sys._getframe().f_lineno - 1
    logging.info("four")
    line_four = sys._getframe().f_lineno - 1
    lines = capture.lines()
    assert [line["location"] for line in lines] == [
        f"test_log_fast.caller:{line_of_helper_call}",
        f"test_log_fast.test_location_names_the_callers_line_on_both_ways:{line_two}",
        f"test_log_fast.test_location_names_the_callers_line_on_both_ways:{line_three}",
        f"test_log_fast.test_location_names_the_callers_line_on_both_ways:{line_four}",
    ]
    assert capture.kinds == [logging.LogRecord, SHORT, SHORT, SHORT]
    assert lines[2]["k"] == 1


class _Tag(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.tagged = True
        return True


def _factory_with_tag() -> Any:
    old = logging.getLogRecordFactory()

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = old(*args, **kwargs)
        record.from_factory = "yes"
        return record

    return old, make


def test_a_custom_record_factory_is_honoured(capture: Capture) -> None:
    capture.isolate()
    old, make = _factory_with_tag()
    logging.setLogRecordFactory(make)
    try:
        get_logger("fast.factory").info("hello")
    finally:
        logging.setLogRecordFactory(old)
    (line,) = capture.lines()
    assert line["from_factory"] == "yes"
    assert capture.kinds == [logging.LogRecord]


def test_filters_on_the_logger_and_on_the_handler_are_run(capture: Capture) -> None:
    capture.isolate()
    log = get_logger("fast.filters")
    log.addFilter(_Tag())
    log.info("by the logger's filter")
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_lambda_observe_handler", False))
    tag = _Tag()
    other = get_logger("fast.filters2")
    handler.addFilter(tag)
    try:
        other.info("by the handler's filter")
    finally:
        handler.removeFilter(tag)
    first, second = capture.lines()
    assert first["tagged"] is True and second["tagged"] is True


def test_another_handler_up_the_tree_also_gets_the_record(capture: Capture) -> None:
    capture.isolate()
    parent = logging.getLogger("fast.tree")
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    keep = Keep()
    parent.addHandler(keep)
    try:
        get_logger("fast.tree.child").warning("to both")
    finally:
        parent.removeHandler(keep)
    assert [r.getMessage() for r in seen] == ["to both"]
    assert type(seen[0]) is logging.LogRecord and seen[0].thread is not None
    assert [line["message"] for line in capture.lines()] == ["to both"]


def test_propagate_off_disabled_and_handler_level_are_obeyed(capture: Capture) -> None:
    capture.isolate()
    quiet = get_logger("fast.noprop")
    quiet.propagate = False
    quiet.info("nowhere")  # no handler of its own: logging's last resort writes WARNING+ only
    off = get_logger("fast.disabled")
    off.disabled = True
    off.error("never")
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_lambda_observe_handler", False))
    handler.setLevel(logging.WARNING)
    try:
        get_logger("fast.level").info("below the handler")
        get_logger("fast.level").warning("at the handler")
    finally:
        handler.setLevel(logging.NOTSET)
    assert [line["message"] for line in capture.lines()] == ["at the handler"]


def test_a_formatter_changed_after_setup_is_used(capture: Capture) -> None:
    capture.isolate()
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_lambda_observe_handler", False))
    handler.setFormatter(logging.Formatter("plain %(levelname)s %(process)d %(message)s"))
    get_logger("fast.plain").info("text")
    assert capture.stream.getvalue().startswith("plain INFO ")
    assert capture.kinds == [logging.LogRecord]


def test_tracebacks_and_stack_info_take_the_standard_way(capture: Capture) -> None:
    capture.isolate()
    log = get_logger("fast.exc")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    log.info("where", stack_info=True)
    failed, where = capture.lines()
    assert failed["exception"]["type"] == "ValueError"
    assert "Stack (most recent call last)" in where["stack_info"]
    assert capture.kinds == [logging.LogRecord, logging.LogRecord]


def test_a_logger_subclass_with_its_own_handle_keeps_it(capture: Capture) -> None:
    capture.isolate()
    base = logging.getLoggerClass()
    handled: list[str] = []

    class Mine(base):  # type: ignore[misc, valid-type]
        def handle(self, record: logging.LogRecord) -> None:
            handled.append(record.getMessage())
            super().handle(record)

    log = Mine("fast.subclass")
    log.parent = logging.getLogger()
    log.info("through my handle")
    assert handled == ["through my handle"]
    assert [line["message"] for line in capture.lines()] == ["through my handle"]


def test_an_existing_plain_logger_is_given_the_short_way(capture: Capture) -> None:
    """A ``logging.getLogger`` logger made before set-up (a module-level one) takes it too."""
    capture.isolate()
    plain = logging.Logger("fast.before")
    plain.parent = logging.getLogger()
    from lambda_observe.logs._guard import guard_logger

    guard_logger(plain)
    plain.info("made before", extra={"message": "kept"})
    (line,) = capture.lines()
    assert line["extra_message"] == "kept"
    assert capture.kinds == [SHORT]


def test_a_logger_class_that_filters_by_overriding_filter_still_drops(capture: Capture) -> None:
    """A subclass whose ``filter`` drops secrets: the line is not written on any way."""
    capture.isolate()

    class Quiet(logging.getLoggerClass()):  # type: ignore[misc]
        def filter(self, record: logging.LogRecord) -> bool:
            return "password" not in record.getMessage()

    log = Quiet("fast.quiet")
    log.parent = logging.getLogger()
    log.info("user password is hunter2")
    log.info("kept")
    assert [line["message"] for line in capture.lines()] == ["kept"]


def test_class_and_instance_patches_of_the_logging_methods_are_honoured(
    capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sentry's logging integration patches ``Logger.callHandlers``; tests mock ``log.handle``."""
    capture.isolate()
    seen: list[str] = []
    original = logging.Logger.callHandlers

    def sentry_like(self: logging.Logger, record: logging.LogRecord) -> None:
        seen.append(record.getMessage())
        original(self, record)

    monkeypatch.setattr(logging.Logger, "callHandlers", sentry_like)
    get_logger("fast.sentry").error("to sentry")
    monkeypatch.undo()
    silenced = get_logger("fast.silenced")
    silenced.handle = lambda record: None  # type: ignore[method-assign]
    silenced.info("never written")
    assert seen == ["to sentry"]
    assert [line["message"] for line in capture.lines()] == ["to sentry"]


def test_caller_lookup_switched_off_gives_the_standard_unknown_location(
    capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture.isolate()
    monkeypatch.setattr(logging, "_srcfile", None)
    get_logger("fast.nosrc").info("where")
    (line,) = capture.lines()
    assert line["location"] == "(unknown file).(unknown function):0"


def test_the_lambda_runtimes_handler_filter_is_run_on_the_short_way(capture: Capture) -> None:
    """Under awslambdaric its handler carries LambdaLoggerFilter: the short way still applies, and runs it."""
    from awslambdaric.bootstrap import LambdaLoggerFilter

    capture.isolate()
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_lambda_observe_handler", False))
    tagged: list[object] = []
    handler.addFilter(LambdaLoggerFilter())
    emit = handler.emit
    handler.emit = lambda record: (tagged.append(record.__dict__.get("aws_request_id")), emit(record))  # type: ignore[method-assign, func-returns-value]
    try:
        get_logger("fast.runtime").info("from the runtime")
    finally:
        handler.filters.clear()
    assert capture.kinds == [SHORT]
    assert tagged == [""]  # the filter ran: the runtime's request id (empty outside its loop)
    assert [line["message"] for line in capture.lines()] == ["from the runtime"]


def test_the_runtimes_request_and_tenant_id_keys_given_in_extra_are_kept_renamed(capture: Capture) -> None:
    """The runtime's filter sets ``aws_request_id`` and ``tenant_id`` on every record; a user's key of
    that name was overwritten or dropped. It is kept as ``extra_<key>`` on both ways."""
    from awslambdaric.bootstrap import LambdaLoggerFilter

    capture.isolate()
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_lambda_observe_handler", False))
    handler.addFilter(LambdaLoggerFilter())
    try:
        short, standard = both(
            get_logger("fast.ids"), lambda lg: lg.info("x", extra={"aws_request_id": "mine", "tenant_id": "t-1"})
        )
    finally:
        handler.filters.clear()
    assert short == standard
    assert (short["extra_aws_request_id"], short["extra_tenant_id"]) == ("mine", "t-1")


def test_a_tracer_wrapping_logger_makerecord_still_sees_every_record(
    capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ddtrace wraps ``logging.Logger.makeRecord`` to put its trace ids on each record; guarded
    loggers and the short way must not go around it."""
    capture.isolate()
    original = logging.Logger.makeRecord

    def wrapped(self: logging.Logger, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = original(self, *args, **kwargs)
        record.__dict__["dd.trace_id"] = "42"
        return record

    before = get_logger("fast.tracer.before")  # made (and guarded) before the wrap
    monkeypatch.setattr(logging.Logger, "makeRecord", wrapped)
    after = get_logger("fast.tracer.after")
    before.info("one", extra={"message": "m"})
    after.info("two")
    monkeypatch.undo()
    lines = capture.lines()
    assert [(line["message"], line.get("dd.trace_id")) for line in lines] == [("one", "42"), ("two", "42")]
    assert lines[0]["extra_message"] == "m"
    assert capture.kinds == [logging.LogRecord, logging.LogRecord]


def test_extra_keys_are_found_when_a_handler_changed_the_records_own_attributes(capture: Capture) -> None:
    """The formatter reads the short way's extras from the position after the record's own attributes;
    a handler that removed one of those first (so the extras moved up) still gets every key written."""
    capture.isolate()
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_lambda_observe_handler", False))
    emit = handler.emit

    def trimming(record: logging.LogRecord) -> None:
        record.__dict__.pop("levelno", None)  # not read by the formatter
        emit(record)

    handler.emit = trimming  # type: ignore[method-assign]
    get_logger("fast.trimmed").info("x", extra={"first": 1, "second": 2})
    (line,) = capture.lines()
    assert (line["first"], line["second"]) == (1, 2)
    assert capture.kinds == [SHORT]
