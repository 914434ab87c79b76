"""Secrets kept out of what leaves the process: the logged event, log lines and trace documents,
read back from stdout and from the real UDP collector."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from lambda_observe import add_metadata, get_logger, traced
from lambda_observe.testing import LambdaContext
from tests.conftest import shared_event

R = "***REDACTED***"


@pytest.fixture(autouse=True)
def keep_patch_requests_private() -> Iterator[None]:
    """patch() in this process: forget the request afterwards so other tests see a fresh
    patch() (the SDK's own patching is idempotent, so nothing is wrapped twice later)."""
    from lambda_observe.tracing import patching

    before = set(patching._REQUESTED)
    yield
    patching._REQUESTED.intersection_update(before)


@contextlib.contextmanager
def only_our_handler() -> Iterator[None]:
    """pytest's own log capture handlers re-raise formatting errors: take them off the root logger."""
    get_logger()  # set up first: ours is on the root logger
    root = logging.getLogger()
    others = [h for h in root.handlers if not getattr(h, "_lambda_observe_handler", False)]
    for handler in others:
        root.removeHandler(handler)
    try:
        yield
    finally:
        for handler in others:
            root.addHandler(handler)


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_failed_request_url_is_scrubbed_from_the_trace_cause(lambda_env, assert_valid):
    """A refused requests.get under patch("requests"): the exception message in the X-Ray cause
    keeps the host and path but not the api_key or token values."""
    requests = pytest.importorskip("requests")
    from lambda_observe import patch

    patch("requests")

    @traced(logs=False)
    def handler(event, context):
        try:
            requests.get("http://127.0.0.1:1/x?api_key=SECRETAPIKEY&token=SECRETTOKEN&page=2", timeout=5)
        except requests.ConnectionError:
            return "refused"
        return "reached"

    assert handler({}, LambdaContext()) == "refused"
    docs = lambda_env.documents()
    assert_valid(docs)
    raw = b"".join(lambda_env.collector.datagrams).decode()
    messages = [e["message"] for d in docs for e in (d.get("cause") or {}).get("exceptions", [])]
    assert messages, "the failed call left no cause"
    assert any("/x?api_key=***REDACTED***&token=***REDACTED***&page=2" in m for m in messages), messages
    assert "SECRETAPIKEY" not in raw and "SECRETTOKEN" not in raw


def test_handler_exception_and_metadata_are_redacted_in_the_trace(lambda_env, capsys, assert_valid):
    """Our own cause (the handler's exception) and metadata go through the engine; the error log
    line (message, exception message, traceback) too."""

    @dataclasses.dataclass
    class User:
        name: str
        password: str

    @traced
    def handler(event, context):
        add_metadata("config", {"db_password": "METAPASS", "retries": 3, "url": "redis://u:METAURL@h/0"})
        add_metadata("user", User("ann", "METAOBJ"))
        raise RuntimeError("login to postgresql://app:EXCPASS@db/orders failed, token=EXCTOKEN")

    with pytest.raises(RuntimeError, match="EXCPASS"):  # the handler's exception is not changed
        handler({}, LambdaContext())
    docs = lambda_env.documents()
    assert_valid(docs)
    raw = b"".join(lambda_env.collector.datagrams).decode()
    out = capsys.readouterr().out
    for secret in ("METAPASS", "METAURL", "METAOBJ", "EXCPASS", "EXCTOKEN"):
        assert secret not in raw, secret
        assert secret not in out, secret
    (doc,) = [d for d in docs if d.get("cause")]
    assert doc["cause"]["exceptions"][0]["message"] == (
        "login to postgresql://app:***REDACTED***@db/orders failed, token=***REDACTED***"
    )
    (config,) = [ns["config"] for ns in doc["metadata"].values() if "config" in ns]
    assert config == {"db_password": R, "retries": 3, "url": f"redis://u:{R}@h/0"}
    (line,) = [json.loads(x) for x in out.splitlines()]
    assert (
        line["exception"]["type"] == "RuntimeError"
        and "postgresql://app:***REDACTED***@db" in line["exception"]["stack"]
    )


# Each case: a change to a real API Gateway event, and the secret it plants.
EVENT_CASES = {
    "access_token in rawQueryString": (
        "apiGatewayProxyV2Event.json",
        lambda e, s: e.update(rawQueryString=f"parameter1=value1&access_token={s}"),
    ),
    "form-encoded password body": (
        "apiGatewayProxyEvent.json",
        lambda e, s: e.update(body=f"user=ann&password={s}&remember=1"),
    ),
    "sig and key query parameters": (
        "apiGatewayProxyEvent.json",
        lambda e, s: (
            e["queryStringParameters"].update(sig=s + "1", key=s + "2"),
            e["multiValueQueryStringParameters"].update(sig=[s + "1"], key=[s + "2"]),
        ),
    ),
    "x-auth header": (
        "apiGatewayProxyEvent.json",
        lambda e, s: (e["headers"].update({"X-Auth": s}), e["multiValueHeaders"].update({"X-Auth": [s]})),
    ),
    "*_pass key in a JSON body": (
        "apiGatewayProxyV2Event.json",
        lambda e, s: e.update(body=json.dumps({"user": "ann", "db_pass": s, "smtpPass": s})),
    ),
    "authorizer token copied in identitySource": (
        "apiGatewayProxyV2Event.json",
        lambda e, s: (
            e.update(identitySource=[f"Bearer {s}"]),
            e["requestContext"]["authorizer"].update(lambda_={"token": s}),
        ),
    ),
    "base64 form body": (
        "apiGatewayProxyEvent.json",
        lambda e, s: e.update(isBase64Encoded=True, body=base64.b64encode(f"user=ann&password={s}".encode()).decode()),
    ),
    "SSM parameter in a JSON body": (
        "sqsEvent.json",
        lambda e, s: e["Records"][0].update(body=json.dumps({"Parameter": {"Name": "/app/db_password", "Value": s}})),
    ),
    "percent-encoded nested URL": (
        "apiGatewayProxyV2Event.json",
        lambda e, s: e.update(rawQueryString="redirect_uri=" + quote(f"https://x/cb?access_token={s}", safe="")),
    ),
    "X-Amz-Security-Token in a presigned URL": (
        "sqsEvent.json",
        lambda e, s: e["Records"][0].update(
            body=json.dumps(
                {
                    "download": "https://bucket.s3.amazonaws.com/k.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                    f"&X-Amz-Credential=AKIA{s}%2F20260101&X-Amz-Security-Token={quote(s + '/+=', safe='')}"
                    f"&X-Amz-Signature={s}ff"
                }
            )
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(EVENT_CASES))
def test_event_logging_hides_what_it_used_to_miss(lambda_env, capsys, monkeypatch, case):
    """LAMBDA_OBSERVE_LOG_EVENT=true: each secret that used to get through is hidden, and the
    rest of the event is still there."""
    monkeypatch.setenv("LAMBDA_OBSERVE_LOG_EVENT", "true")
    name, plant = EVENT_CASES[case]
    secret = "Zq9CanaryValue7"
    event = shared_event(name)
    plant(event, secret)

    @traced
    def handler(event, context):
        return 1

    handler(event, LambdaContext())
    out = capsys.readouterr().out
    assert secret not in out
    (line,) = [json.loads(x) for x in out.splitlines()]
    assert line["message"] == "incoming event" and R in json.dumps(line["event"])
    assert set(line["event"]) == set(event)


def test_reserved_keys_win_and_the_colliding_value_is_kept(lambda_env, capsys):
    """extra= and append_keys cannot overwrite level, timestamp, service or function_request_id;
    the user's value is kept under extra_<key>."""
    from lambda_observe import append_keys

    log = get_logger("keys")

    @traced(service="orders")
    def handler(event, context):
        with append_keys(service="fake-service", function_request_id="fake-id"):
            log.info("hello", extra={"level": "FAKE", "timestamp": "yesterday", "order_id": 7})

    context = LambdaContext()
    handler({}, context)
    (line,) = lines(capsys)
    assert line["level"] == "INFO" and line["service"] == "orders"
    assert line["function_request_id"] == context.aws_request_id
    assert line["timestamp"].endswith("Z") and line["timestamp"] != "yesterday"
    assert line["extra_level"] == "FAKE" and line["extra_timestamp"] == "yesterday"
    assert line["extra_service"] == "fake-service" and line["extra_function_request_id"] == "fake-id"
    assert line["order_id"] == 7


class RaisingStr:
    def __str__(self) -> str:
        raise RuntimeError("cannot str")

    def __repr__(self) -> str:
        raise RuntimeError("cannot repr")


class RaisingException(Exception):
    def __str__(self) -> str:
        raise RuntimeError("cannot str")


@pytest.mark.parametrize(
    "call",
    [
        lambda log: log.info(RaisingStr()),
        lambda log: log.error(RaisingException()),
        lambda log: log.info("value %s", RaisingStr()),
        lambda log: log.exception(RaisingException()),
    ],
    ids=["message", "exception-as-message", "argument", "log.exception"],
)
def test_unrenderable_message_still_gives_one_json_line(capsys, call):
    """A message (or argument) whose __str__ raises: one JSON line with a placeholder, and no
    '--- Logging error ---' on stderr."""
    with only_our_handler():
        call(get_logger("u"))
    captured = capsys.readouterr()
    assert "Logging error" not in captured.err
    (line,) = [json.loads(x) for x in captured.out.splitlines()]
    assert "could not be rendered" in line["message"]
    assert line["level"] in ("INFO", "ERROR")


def test_secrets_in_log_lines(capsys):
    """Message, % arguments, extras (at any depth, in objects rendered later), bound keys and
    exception text are redacted."""
    import dataclasses

    from lambda_observe import append_keys

    @dataclasses.dataclass
    class Creds:
        user: str
        password: str

    log = get_logger("s")
    with append_keys(session_id="BOUNDSECRET"):
        try:
            raise ValueError("bad dsn mysql://u:EXCSECRET@db/x")
        except ValueError:
            log.exception(
                "calling %s with token=%s",
                "https://api/x?api_key=ARGSECRET",
                "MSGSECRET",
                extra={"payload": {"items": [{"client_secret": "EXTRASECRET"}]}, "creds": Creds("ann", "OBJSECRET")},
            )
    out = capsys.readouterr().out
    (line,) = [json.loads(x) for x in out.splitlines()]
    for secret in ("BOUNDSECRET", "EXCSECRET", "ARGSECRET", "MSGSECRET", "EXTRASECRET", "OBJSECRET"):
        assert secret not in out, secret
    assert line["creds"]["user"] == "ann" and line["payload"]["items"] == [{"client_secret": R}]


def test_setup_logging_redact_patterns_apply_to_every_line(capsys):
    """setup_logging(redact=[...]) adds patterns to the one engine: extras, not only the event."""
    from lambda_observe import setup_logging

    setup_logging(redact=["^ssn$"], force=True)
    logging.getLogger("p").info("x", extra={"ssn": "123-45", "customer": {"ssn": "678-90"}})
    (line,) = lines(capsys)
    assert line["ssn"] == R and line["customer"] == {"ssn": R}


STDLIB_KEYS = ["message", "msg", "name", "levelname", "asctime", "exc_info", "stack_info", "args", "taskName"]


def test_extra_keys_the_record_already_has_are_kept_not_raised(capsys):
    """extra= with the record's own attribute names (message, msg, name, levelname, asctime,
    exc_info, stack_info, args) used to raise KeyError from Logger.makeRecord into the handler;
    taskName was dropped. Each is now written, under extra_<key> when it collides, for a logger
    from get_logger, a plain logger created before setup, one created after, and the root."""
    from lambda_observe import setup_logging

    early = logging.getLogger("redaction.early")
    setup_logging(force=True)
    late = logging.getLogger("redaction.late")
    extra = {key: f"v-{key}" for key in STDLIB_KEYS}
    with only_our_handler():
        for logger in (get_logger("redaction.ours"), early, late, logging.getLogger()):
            logger.info("hello", extra=extra)
    got = lines(capsys)
    assert len(got) == 4
    for line in got:
        assert line["message"] == "hello" and line["level"] == "INFO"
        for key in STDLIB_KEYS:
            assert f"v-{key}" in (line.get(key), line.get(f"extra_{key}")), (key, line)
        # taskName is a LogRecord attribute from Python 3.12 on (so it collides there), not before.
        assert line["extra_message"] == "v-message"
        assert "v-taskName" in (line.get("taskName"), line.get("extra_taskName"))


@pytest.mark.parametrize("keys", STDLIB_KEYS)
def test_each_colliding_key_alone(capsys, keys):
    """One colliding key at a time (the hostile-record suite's shape): one line, value kept."""
    with only_our_handler():
        get_logger("redaction.one").warning("w", extra={keys: 123})
    (line,) = lines(capsys)
    assert 123 in (line.get(keys), line.get(f"extra_{keys}"))


def test_a_dict_message_key_is_the_message(capsys):
    """log.info({"message": "x", ...}): "x" is the line's message (it used to be "" with the
    text under extra_message); the other keys stay top-level."""
    with only_our_handler():
        get_logger("redaction.dict").info({"message": "x", "order": 7, "token": "DICTSECRET"})
    (line,) = lines(capsys)
    assert line["message"] == "x" and line["order"] == 7 and line["token"] == R
    assert "extra_message" not in line


def test_an_argument_whose_str_raises_still_shows_its_type(capsys):
    """log.error("handler raised %s: %s", exc, exc) with an exception whose __str__ raises: the
    line names the formatting error and shows each argument (its repr, else its type)."""

    class Boom(Exception):
        def __str__(self) -> str:
            raise RuntimeError("nope")

    class Opaque:
        def __str__(self) -> str:
            raise RuntimeError("no str")

        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    with only_our_handler():
        log = get_logger("redaction.render")
        log.error("handler raised %s: %s", Boom(), Boom())
        log.error("value %s", Opaque())
    first, second = lines(capsys)
    assert first["message"].startswith("<message could not be rendered: RuntimeError: nope>")
    assert "handler raised Boom(): Boom()" in first["message"]
    assert "value <unprintable Opaque>" in second["message"]


@pytest.mark.parametrize("name_key", ["name", "Name", "key", "Key"])
def test_a_name_value_pair_given_as_extras_is_hidden(capsys, name_key):
    """``extra={"name": "DB_PASSWORD", "value": ...}``: ``name`` is a LogRecord attribute, so the
    line carries it as ``extra_name``; the value it names is still hidden."""
    from lambda_observe import append_keys

    log = get_logger("pairs")
    log.info("setting", extra={name_key: "DB_PASSWORD", "value": "PAIRSECRET1"})
    with append_keys(**{name_key: "API_TOKEN", "Value": "PAIRSECRET2"}):
        log.info("bound")
    out = capsys.readouterr().out
    assert "PAIRSECRET" not in out
    first, second = [json.loads(x) for x in out.splitlines()]
    assert first["value"] == R and second["Value"] == R
    assert "DB_PASSWORD" in out  # the name itself is not a secret


def test_a_response_with_an_int_too_long_for_decimal_is_still_traced(lambda_env, assert_valid):
    """A handler response holding an int past Python's decimal digit limit: the trace is sent, with
    that value shown as its size, and the handler's response is unchanged."""
    huge = 10**5000

    @traced
    def handler(event, context):
        return {"n": huge, "order_id": 7}

    assert handler({}, LambdaContext())["n"] is huge
    docs = lambda_env.documents()
    assert_valid(docs)
    (doc,) = [d for d in docs if d["name"] == "## handler"]
    (response,) = [ns["handler response"] for ns in doc["metadata"].values()]
    assert response == {"n": "<int of 16610 bits>", "order_id": 7}
