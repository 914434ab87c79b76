"""A log stream that fails: what reaches stderr never holds a record's unredacted arguments.

The standard ``Handler.handleError`` prints ``Message: 'login %s'`` and ``Arguments: ('password=...',)``
to stderr as they are. ``setup_logging`` gives its handlers a ``handleError`` that shows the redacted
line instead (so the record is not lost) and the error, redacted.
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


class Broken(io.StringIO):
    """A stream whose writes fail, as a closed pipe or a full disk does."""

    def write(self, text: str) -> int:
        raise OSError(28, "No space left on device")


@pytest.fixture
def broken_root() -> Iterator[None]:
    """Only lambda_observe's handler on the root logger, writing to a stream that fails."""
    root = logging.getLogger()
    others = [h for h in root.handlers if not getattr(h, "_lambda_observe_handler", False)]
    for handler in others:
        root.removeHandler(handler)
    try:
        setup_logging("INFO", stream=Broken(), force=True)
        yield
    finally:
        for handler in others:
            root.addHandler(handler)


def _isolate() -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if not getattr(h, "_lambda_observe_handler", False)]:
        root.removeHandler(handler)


#: Secrets that cannot occur in a line by chance (the service name, a key): a marker, then any letters.
_SECRETS = st.text(alphabet="abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", min_size=6, max_size=24).map(
    lambda s: "Qz7" + s
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=_SECRETS, through_args=st.booleans(), key=st.sampled_from(["password", "api_key", "token", "secret"]))
def test_a_failed_write_never_shows_a_secret_on_stderr(
    broken_root: None, capsys: pytest.CaptureFixture[str], secret: str, through_args: bool, key: str
) -> None:
    _isolate()
    capsys.readouterr()
    log = get_logger("errors.secret")
    if through_args:
        log.info("login with %s", f"{key}={secret}")
    else:
        log.info("login", extra={key: secret})
    err = capsys.readouterr().err
    assert secret not in err
    assert "Logging error: OSError" in err
    line = json.loads(err.splitlines()[-1])  # the line that could not be written, redacted, is not lost
    assert line["logger"] == "errors.secret" and line["level"] == "INFO"


def test_the_error_and_the_line_are_shown_on_the_standard_way_and_the_runtimes_handler(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain StreamHandler on stdout (what set-up treats as the runtime's) whose stream fails; the
    call takes the standard way (a filter on the logger)."""
    root = logging.getLogger()
    saved = list(root.handlers)
    for handler in saved:
        root.removeHandler(handler)
    monkeypatch.setattr(sys, "stdout", Broken())
    runtime = logging.StreamHandler(sys.stdout)
    root.addHandler(runtime)
    try:
        setup_logging("INFO", force=True)
        assert runtime.formatter is not None  # set-up configured it rather than adding its own
        log = get_logger("errors.standard")
        log.addFilter(lambda record: True)
        log.warning("connect %s", "postgres://app:s3cr3tpw@db:5432/x")
    finally:
        root.removeHandler(runtime)
        for handler in saved:
            root.addHandler(handler)
    err = capsys.readouterr().err
    assert "s3cr3tpw" not in err
    assert json.loads(err.splitlines()[-1])["message"].startswith("connect postgres://app:")


def test_a_formatter_set_by_the_user_is_not_run_and_only_the_place_is_named(
    broken_root: None, capsys: pytest.CaptureFixture[str]
) -> None:
    _isolate()
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_lambda_observe_handler", False))
    handler.setFormatter(logging.Formatter("%(message)s"))
    capsys.readouterr()
    get_logger("errors.theirs").info("login %s", "password=hunter2hunter2")
    err = capsys.readouterr().err
    assert "hunter2hunter2" not in err
    assert "Logged by 'errors.theirs' at INFO from " in err and "test_log_errors.py:" in err


def test_raise_exceptions_off_silences_it_as_it_does_the_standard_one(
    broken_root: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _isolate()
    monkeypatch.setattr(logging, "raiseExceptions", False)
    capsys.readouterr()
    get_logger("errors.quiet").info("nothing to say")
    assert capsys.readouterr().err == ""


def test_a_broken_stderr_too_raises_nothing_into_the_handler(
    broken_root: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _isolate()
    monkeypatch.setattr(sys, "stderr", Broken())
    result: Any = get_logger("errors.both").info("still returns")
    assert result is None
