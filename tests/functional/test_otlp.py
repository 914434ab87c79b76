"""The ``otlp`` tracer: real UDP datagrams from decorated handlers, decoded with opentelemetry-proto."""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.trace.v1 import trace_pb2

from lambda_observe import add_metadata, annotate, capture, subsegment, traced
from lambda_observe.testing import LambdaContext
from tests.conftest import shared_event
from tests.functional.otlp_helpers import attributes, receive, spans


@pytest.fixture
def otlp_env(lambda_env, monkeypatch):
    monkeypatch.setenv("LAMBDA_OBSERVE_TRACER", "otlp")
    from tests.conftest import reset_library

    reset_library()
    return lambda_env


def by_name(found: list[Any]) -> dict[str, Any]:
    return {s.name: s for s in found}


def test_one_datagram_framed_like_adot_with_ids_and_parentage(otlp_env):
    """A small trace is one datagram: header line, T1S, base64 protobuf; ids follow the X-Ray header."""

    @traced
    def handler(event, context):
        with subsegment("db", table="orders"):
            annotate("rows", 3)
        return {"ok": True}

    assert handler({}, LambdaContext()) == {"ok": True}
    received = receive(otlp_env.collector)
    assert len(received) == 1
    prefix, request = received[0]
    assert prefix == "T1S"
    found = by_name(spans([request]))
    assert set(found) == {"## handler", "db"}
    trace_hex = otlp_env.root[2:10] + otlp_env.root[11:]
    for span in found.values():
        assert span.trace_id.hex() == trace_hex
    top, db = found["## handler"], found["db"]
    assert top.parent_span_id.hex() == otlp_env.parent
    assert db.parent_span_id == top.span_id
    assert top.flags == 0x300 and db.flags == 0x100  # remote parent, local parent
    assert db.kind == trace_pb2.Span.SPAN_KIND_INTERNAL
    assert top.start_time_unix_nano <= db.start_time_unix_nano <= db.end_time_unix_nano <= top.end_time_unix_nano
    db_attrs = attributes(db.attributes)
    assert db_attrs["table"] == "orders" and db_attrs["rows"] == 3
    assert sorted(db_attrs["aws.xray.annotations"]) == ["rows", "table"]
    resource = attributes(request.resource_spans[0].resource.attributes)
    assert resource["service.name"] == "test-fn"
    assert resource["cloud.provider"] == "aws" and resource["cloud.platform"] == "aws_lambda"


def test_unsampled_header_is_sent_as_t1u(otlp_env):
    """``Sampled=0`` still sends the spans, prefixed T1U, as ADOT does for Transaction Search."""
    otlp_env.new_trace(sampled=False)

    @traced
    def handler(event, context):
        return 1

    handler({}, LambdaContext())
    (prefix, request), *_ = receive(otlp_env.collector)
    assert prefix == "T1U"
    assert [s.name for s in spans([request])] == ["## handler"]


@pytest.mark.parametrize(
    ("event_name", "trigger", "kind"),
    [
        ("apiGatewayProxyEvent", "http", trace_pb2.Span.SPAN_KIND_SERVER),
        ("apiGatewayProxyV2Event", "http", trace_pb2.Span.SPAN_KIND_SERVER),
        ("lambdaFunctionUrlEvent", "http", trace_pb2.Span.SPAN_KIND_SERVER),
        ("albEvent", "http", trace_pb2.Span.SPAN_KIND_SERVER),
        ("sqsEvent", "pubsub", trace_pb2.Span.SPAN_KIND_CONSUMER),
        ("snsEvent", "pubsub", trace_pb2.Span.SPAN_KIND_CONSUMER),
        ("kinesisStreamEvent", "pubsub", trace_pb2.Span.SPAN_KIND_CONSUMER),
        ("dynamoStreamEvent", "pubsub", trace_pb2.Span.SPAN_KIND_CONSUMER),
        ("s3Event", "datasource", trace_pb2.Span.SPAN_KIND_SERVER),
    ],
)
def test_handler_kind_and_faas_attributes(otlp_env, event_name, trigger, kind):
    """The handler span's kind follows the trigger; it carries the FaaS and cloud attributes."""

    @traced
    def handler(event, context):
        return None

    context = LambdaContext(function_name="test-fn", aws_request_id="req-1")
    handler(shared_event(event_name + ".json"), context)
    (_, request), *_ = receive(otlp_env.collector)
    (top,) = spans([request])
    assert top.kind == kind
    attrs = attributes(top.attributes)
    assert attrs["faas.trigger"] == trigger
    assert attrs["faas.invocation_id"] == "req-1"
    assert attrs["faas.coldstart"] is True
    assert attrs["faas.name"] == "test-fn"
    assert attrs["faas.version"] == "$LATEST"
    assert attrs["cloud.provider"] == "aws" and attrs["cloud.platform"] == "aws_lambda"
    assert attrs["cloud.region"] == "us-east-1"
    assert attrs["cloud.resource_id"] == context.invoked_function_arn
    assert attrs["cloud.account.id"] == "123456789012"
    assert attrs["ColdStart"] is True and attrs["Service"] == "test-fn"
    assert {"ColdStart", "Service"} <= set(attrs["aws.xray.annotations"])


def test_metadata_is_namespaced_and_json_encoded(otlp_env):
    """``add_metadata`` becomes ``<namespace>.<key>``; non-scalar and unserializable values as JSON text."""

    class Odd:
        def __repr__(self) -> str:
            return "<odd>"

    @traced
    def handler(event, context):
        add_metadata("order", {"id": 7, "items": [1, 2]}, namespace="shop")
        add_metadata("count", 5)
        add_metadata("odd", Odd())
        return {"r": [1]}

    handler({}, LambdaContext())
    (_, request), *_ = receive(otlp_env.collector)
    attrs = attributes(spans([request])[0].attributes)
    assert attrs["shop.order"] == '{"id":7,"items":[1,2]}'
    assert attrs["test-fn.count"] == 5
    assert attrs["test-fn.odd"] == '"<odd>"'
    assert attrs["test-fn.handler response"] == '{"r":[1]}'
    assert "shop.order" not in attrs["aws.xray.annotations"]


def test_error_gives_status_and_scrubbed_exception_event(otlp_env):
    """An escaping error: status ERROR, an ``exception`` event, no password; the handler's error is unchanged."""

    @capture
    def connect():
        raise ConnectionError("cannot reach postgresql://app:hunter2@db:5432/orders")

    @traced
    def handler(event, context):
        connect()

    with pytest.raises(ConnectionError, match="hunter2"):
        handler({}, LambdaContext())
    (_, request), *_ = receive(otlp_env.collector)
    found = by_name(spans([request]))
    assert set(found) == {"## handler", "## test_error_gives_status_and_scrubbed_exception_event.connect"}
    for span in found.values():
        assert span.status.code == trace_pb2.Status.STATUS_CODE_ERROR
        (event,) = [e for e in span.events if e.name == "exception"]
        attrs = attributes(event.attributes)
        assert attrs["exception.type"] == "ConnectionError"
        assert "postgresql://app:***REDACTED***@db:5432/orders" in attrs["exception.message"]
        assert "connect()" in attrs["exception.stacktrace"] or "connect" in attrs["exception.stacktrace"]
        assert "hunter2" not in span.SerializeToString().decode("latin-1")


def test_large_trace_is_split_into_datagrams_that_each_fit(otlp_env):
    """Many spans with big metadata: several datagrams, each under 65,507 bytes, no span lost."""

    @traced
    def handler(event, context):
        for i in range(60):
            with subsegment(f"step-{i}"):
                add_metadata("blob", "x" * 3000)
        return None

    handler({}, LambdaContext())
    received = receive(otlp_env.collector, count=3)
    assert len(received) >= 3
    assert all(len(d) <= 65507 for d in otlp_env.collector.datagrams)
    names = [s.name for s in spans([r for _, r in received])]
    assert sorted(names) == sorted(["## handler", *(f"step-{i}" for i in range(60))])
    assert len(set(names)) == len(names)


def test_oversize_span_is_cut_with_a_marker_not_dropped(otlp_env):
    """One span bigger than a datagram loses its metadata, keeps its annotations, and says so."""

    @traced
    def handler(event, context):
        annotate("order", "o-1")
        add_metadata("huge", "y" * 200_000)
        return None

    handler({}, LambdaContext())
    (_, request), *_ = receive(otlp_env.collector)
    attrs = attributes(spans([request])[0].attributes)
    assert "test-fn.huge" not in attrs
    assert attrs["order"] == "o-1"
    assert "over the UDP datagram limit" in attrs["lambda_observe.truncated"]
    assert len(otlp_env.collector.datagrams[0]) <= 65507


@pytest.mark.parametrize("header", ["garbage", "Root=1-bad;Parent=zz", ""])
def test_malformed_or_missing_header_traces_nothing_and_handler_is_unaffected(otlp_env, monkeypatch, header):
    """A bad trace header: nothing sent, no exception, the handler's result unchanged (as in xray mode)."""
    monkeypatch.setenv("_X_AMZN_TRACE_ID", header)

    @traced
    def handler(event, context):
        with subsegment("x"):
            annotate("k", 1)
        return 42

    assert handler({}, LambdaContext()) == 42
    assert receive(otlp_env.collector, count=1, timeout=0.2) == []


def test_daemon_down_changes_nothing(otlp_env, monkeypatch):
    """Nothing listening on the daemon port: the handler's result is unchanged, nothing raises."""
    import socket

    free = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", f"127.0.0.1:{port}")
    from tests.conftest import reset_library

    reset_library()

    @traced
    def handler(event, context):
        with subsegment("x"):
            pass
        return "ok"

    assert handler({}, LambdaContext()) == "ok"
    assert handler({}, LambdaContext()) == "ok"


def test_outside_lambda_nothing_breaks(monkeypatch):
    """No trace header, no daemon, no Lambda variables: a traced handler just runs."""
    monkeypatch.setenv("LAMBDA_OBSERVE_TRACER", "otlp")

    @traced
    def handler(event, context):
        with subsegment("x"):
            add_metadata("k", object())
        return event

    assert handler({"a": 1}, None) == {"a": 1}


def test_unknown_tracer_logs_the_valid_values_and_tracing_is_off(lambda_env, monkeypatch, caplog):
    """``LAMBDA_OBSERVE_TRACER=zipkin``: one ERROR naming xray, otlp, otel; no spans; handler unaffected."""
    monkeypatch.setenv("LAMBDA_OBSERVE_TRACER", "zipkin")
    from tests.conftest import reset_library

    reset_library()

    @traced(logs=False)
    def handler(event, context):
        with subsegment("x"):
            pass
        return "ok"

    with caplog.at_level(logging.ERROR, logger="lambda_observe"):
        assert handler({}, LambdaContext()) == "ok"
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("'zipkin'" in m and "xray, otlp, otel" in m for m in errors), errors
    assert receive(lambda_env.collector, count=1, timeout=0.2) == []


def test_use_tracer_switches_in_code_and_rejects_unknown_names(lambda_env):
    """``use_tracer("otlp")`` does what the variable does; an unknown name is a ValueError."""
    from lambda_observe.tracing import _state

    with pytest.raises(ValueError, match="xray, otlp, otel"):
        _state.use_tracer("jaeger")
    _state.use_tracer("otlp")

    @traced
    def handler(event, context):
        return 1

    handler({}, LambdaContext())
    (prefix, request), *_ = receive(lambda_env.collector)
    assert prefix == "T1S" and spans([request])[0].name == "## handler"


def test_timeout_warning_ends_open_spans_with_an_event(otlp_env, monkeypatch):
    """Near the deadline the open spans are sent ended, with a timeout event and status ERROR."""
    import time

    monkeypatch.setenv("LAMBDA_OBSERVE_TIMEOUT_WARNING_MS", "950")
    from tests.conftest import reset_library

    reset_library()

    @traced
    def handler(event, context):
        with subsegment("slow"):
            time.sleep(0.3)
        return "late"

    assert handler({}, LambdaContext(timeout_s=1.0)) == "late"
    received = receive(otlp_env.collector)
    found = by_name(spans([r for _, r in received]))
    assert set(found) == {"## handler", "slow"}
    for span in found.values():
        assert [e.name for e in span.events] == ["lambda_observe.timeout"]
        assert span.status.code == trace_pb2.Status.STATUS_CODE_ERROR


def _hello_line_and_top_span(otlp_env, capsys, extra=None):
    """Run a handler that logs "hello" (with ``extra``): that line, and the top span it sent."""
    import json

    log = logging.getLogger("app.otlp")

    @traced
    def handler(event, context):
        log.info("hello", extra=extra)
        return None

    handler({}, LambdaContext())
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    (line,) = [x for x in lines if x.get("message") == "hello"]
    (_, request), *_ = receive(otlp_env.collector)
    return line, spans([request])[0]


def test_log_lines_carry_otel_trace_and_span_ids(otlp_env, capsys):
    """In otlp mode each log line has ``trace_id`` and ``span_id`` in OTel hex form."""
    line, top = _hello_line_and_top_span(otlp_env, capsys)
    assert line["trace_id"] == top.trace_id.hex() and len(line["trace_id"]) == 32
    assert line["span_id"] == top.span_id.hex() and len(line["span_id"]) == 16


def test_a_users_trace_id_key_does_not_replace_the_otel_ids(otlp_env, capsys):
    """The line's ``trace_id`` and ``span_id`` are the span's, whatever the user passes in ``extra=``
    (the user's values are kept under ``extra_trace_id`` / ``extra_span_id``)."""
    line, top = _hello_line_and_top_span(otlp_env, capsys, {"trace_id": "mine", "span_id": "also-mine"})
    assert (line["trace_id"], line["span_id"]) == (top.trace_id.hex(), top.span_id.hex())
    assert (line["extra_trace_id"], line["extra_span_id"]) == ("mine", "also-mine")


def test_span_links_from_add_link(otlp_env):
    """``add_link`` records an upstream X-Ray trace as an OTLP link on the span."""
    from lambda_observe.tracing import _context, _state

    upstream = "1-5f8aa8d2-1f0f9b6c1a2b3c4d5e6f7a8b"

    @traced
    def handler(event, context):
        _state.backend().add_link(_context.current(), upstream, "53995c3f42cd8ad8")  # type: ignore[attr-defined]

    handler({}, LambdaContext())
    (_, request), *_ = receive(otlp_env.collector)
    (link,) = spans([request])[0].links
    assert link.trace_id.hex() == "5f8aa8d21f0f9b6c1a2b3c4d5e6f7a8b"
    assert link.span_id.hex() == "53995c3f42cd8ad8"


def test_otlp_mode_imports_neither_the_xray_sdk_nor_opentelemetry(tmp_path):
    """A traced invocation in otlp mode imports no aws_xray_sdk, opentelemetry or google.protobuf; nor,
    for its cold start, the X-Ray emitter or the ``socket`` module (the ``_socket`` extension is enough)."""
    code = (
        "import os, sys\n"
        "os.environ['LAMBDA_OBSERVE_TRACER'] = 'otlp'\n"
        "os.environ['_X_AMZN_TRACE_ID'] = "
        "'Root=1-5f8aa8d2-1f0f9b6c1a2b3c4d5e6f7a8b;Parent=53995c3f42cd8ad8;Sampled=1'\n"
        "from lambda_observe import traced, subsegment\n"
        "@traced\n"
        "def h(e, c):\n"
        "    with subsegment('x'):\n"
        "        pass\n"
        "    return 1\n"
        "assert h({}, None) == 1\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('aws_xray_sdk', 'opentelemetry', 'google', 'socket')]\n"
        "bad += [m for m in ('lambda_observe.tracing._emitter', 'lambda_observe.tracing.xray') if m in sys.modules]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    annotations=st.dictionaries(st.text(max_size=20), st.text(max_size=40) | st.integers() | st.floats(), max_size=4),
    metadata=st.dictionaries(st.text(max_size=20), json_values | st.sets(st.integers(), max_size=3), max_size=4),
    result=json_values,
)
def test_any_annotations_and_metadata_decode_and_leave_the_result_alone(otlp_env, annotations, metadata, result):
    """Arbitrary annotation and metadata keys and values: the handler's result is unchanged, the datagram
    decodes, and every annotation key (as annotate() cleans it) is listed in aws.xray.annotations."""
    otlp_env.collector.clear()

    @traced(logs=False)
    def handler(event, context):
        for key, value in annotations.items():
            annotate(key, value)
        for key, value in metadata.items():
            add_metadata(key, value)
        return result

    assert handler({}, LambdaContext()) is result
    (_, request), *_ = receive(otlp_env.collector)
    (top,) = spans([request])
    attrs = attributes(top.attributes)
    from lambda_observe.tracing.api import _key

    assert {_key(k) for k in annotations} <= set(attrs["aws.xray.annotations"])


def test_metadata_is_redacted_as_in_xray_mode(otlp_env):
    """add_metadata in otlp mode hides secret-looking keys at any depth and secrets inside text, as X-Ray mode does."""

    @traced
    def handler(event, context):
        add_metadata("db", {"host": "db-host", "password": "CANARY-otlp-1"})
        add_metadata("api_token", "CANARY-otlp-2")
        add_metadata("url", "https://h/x?access_token=CANARY-otlp-3")
        return "ok"

    assert handler({}, LambdaContext()) == "ok"
    (_, request), *_ = receive(otlp_env.collector)
    attrs = attributes(spans([request])[0].attributes)
    assert "db-host" in attrs["test-fn.db"]  # the metadata arrived
    text = repr(attrs)
    for canary in ("CANARY-otlp-1", "CANARY-otlp-2", "CANARY-otlp-3"):
        assert canary not in text


def test_a_database_drivers_quoted_values_leave_the_exception_event(otlp_env):
    """A driver error quoting a parameter value back (PostgreSQL's "invalid input syntax"): the
    exception event carries no quoted literal, as X-Ray causes carry none."""
    psycopg = pytest.importorskip("psycopg")
    from tests.conftest import need

    try:
        # The class method, not psycopg.connect: an earlier test in this process may have left the X-Ray
        # SDK's patcher on the module function, which this otlp-mode test must not go through.
        conn = psycopg.Connection.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=3)
    except Exception as exc:
        need(False, f"PostgreSQL on 127.0.0.1:5432 is not reachable: {exc}")
        return

    @traced
    def handler(event, context):
        conn.execute("select %s::int", ("CANARY-sql-literal",))

    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        handler({}, LambdaContext())
    conn.close()
    (_, request), *_ = receive(otlp_env.collector)
    text = repr(request)
    assert "InvalidTextRepresentation" in text  # the event arrived
    assert "CANARY-sql-literal" not in text


# --- a tester's findings ---------------------------------------------------------------------------------------------


def test_a_mid_sized_span_beside_a_large_resource_is_cut_not_dropped(otlp_env, monkeypatch):
    """A 30 KB span with a ~20 KB service name (so the resource leaves it less room than usual):
    measured against its real room, it loses its metadata instead of the datagram being dropped."""
    from lambda_observe import testing

    monkeypatch.setenv("LAMBDA_OBSERVE_SERVICE", "s" * 20_000)
    testing.reset()

    @traced
    def handler(event, context):
        with subsegment("mid"):
            add_metadata("blob", "y" * 30_000)
        return None

    handler({}, LambdaContext())
    found = by_name(spans([request for _, request in receive(otlp_env.collector, 2)]))
    assert {"mid", "## handler"} <= set(found)
    assert "lambda_observe.truncated" in attributes(found["mid"].attributes)
    assert testing.dropped_documents() == 0


def test_log_trace_id_is_lower_case_hex_whatever_the_header(otlp_env, monkeypatch, capsys):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5F8AA8D2-1F0F9B6C1A2B3C4D5E6F7A8B;Parent=53995C3F42CD8AD8;Sampled=1")

    @traced
    def handler(event, context):
        logging.getLogger("app").info("hello")

    capsys.readouterr()
    handler({}, LambdaContext())
    line = next(x for x in capsys.readouterr().out.splitlines() if '"hello"' in x)
    (_, request), *_ = receive(otlp_env.collector)
    assert f'"trace_id":"{spans([request])[0].trace_id.hex()}"' in line
    assert '"trace_id":"5f8aa8d21f0f9b6c1a2b3c4d5e6f7a8b"' in line


def test_an_unhashable_span_name_is_traced_as_text(otlp_env):
    @traced
    def handler(event, context):
        with subsegment(["list"]):  # type: ignore[arg-type]
            pass

    handler({}, LambdaContext())
    names = set(by_name(spans([request for _, request in receive(otlp_env.collector)])))
    assert len(names) == 2 and "## handler" in names


@pytest.mark.parametrize("bad", ["str-raises", "property-raises", "int-raises"])
def test_a_hostile_context_object_does_not_stop_the_handler(otlp_env, bad):
    """A test double whose attributes raise, or whose values cannot be shown: the handler runs and
    returns what it returns; the fields that cannot be read are left empty."""

    class Unshowable:
        def __str__(self) -> str:
            raise RuntimeError("no text")

        def __int__(self) -> int:
            raise OverflowError("no number")

    class Context:
        function_name = "fn"
        memory_limit_in_mb: Any = Unshowable() if bad == "int-raises" else 128
        invoked_function_arn: Any = Unshowable() if bad == "str-raises" else "arn:aws:lambda:us-east-1:1:function:fn"

        @property
        def aws_request_id(self) -> str:
            if bad == "property-raises":
                raise RuntimeError("no id")
            return "req-1"

    @traced
    def handler(event, context):
        return "R"

    assert handler({}, Context()) == "R"


def test_the_handler_raised_line_survives_an_unprintable_exception(otlp_env, caplog):
    class Weird(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no text")

    @traced(logs=False)
    def handler(event, context):
        raise Weird()

    with caplog.at_level(logging.ERROR, logger="lambda_observe"), pytest.raises(Weird):
        handler({}, LambdaContext())
    assert any(r.getMessage() == "handler raised Weird: <unprintable Weird>" for r in caplog.records)
