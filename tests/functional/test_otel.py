"""The ``otel`` tracer: spans through the real OpenTelemetry SDK (in-memory and OTLP/HTTP exporters)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from lambda_observe import add_metadata, annotate, capture, subsegment, traced
from lambda_observe.testing import LambdaContext
from lambda_observe.tracing import _state
from lambda_observe.tracing.otel import OtelBackend
from tests.conftest import shared_event
from tests.functional.otlp_helpers import attributes, receive, spans


@pytest.fixture
def memory(lambda_env):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    _state.use(OtelBackend(provider))
    return exporter


def by_name(found: Any) -> dict[str, Any]:
    return {s.name: s for s in found}


def test_spans_continue_the_xray_trace_with_kinds_and_attributes(memory, lambda_env):
    """The handler span's trace and remote parent come from the header; children nest; attributes map."""

    @traced
    def handler(event, context):
        with subsegment("db", table="orders"):
            annotate("rows", 3)
            add_metadata("query", {"sql": "select 1"}, namespace="shop")
        return {"ok": True}

    context = LambdaContext(function_name="test-fn", aws_request_id="req-9")
    assert handler(shared_event("sqsEvent.json"), context) == {"ok": True}
    found = by_name(memory.get_finished_spans())
    assert set(found) == {"## handler", "db"}
    top, db = found["## handler"], found["db"]
    trace_hex = lambda_env.root[2:10] + lambda_env.root[11:]
    assert f"{top.context.trace_id:032x}" == trace_hex == f"{db.context.trace_id:032x}"
    assert f"{top.parent.span_id:016x}" == lambda_env.parent and top.parent.is_remote
    assert db.parent.span_id == top.context.span_id
    assert top.kind == SpanKind.CONSUMER and db.kind == SpanKind.INTERNAL
    attrs = dict(top.attributes)
    assert attrs["faas.trigger"] == "pubsub" and attrs["faas.invocation_id"] == "req-9"
    assert attrs["faas.coldstart"] is True and attrs["cloud.account.id"] == "123456789012"
    assert set(attrs["aws.xray.annotations"]) == {"ColdStart", "Service"}
    assert attrs["test-fn.handler response"] == '{"ok":true}'
    db_attrs = dict(db.attributes)
    assert db_attrs["table"] == "orders" and db_attrs["rows"] == 3
    assert set(db_attrs["aws.xray.annotations"]) == {"table", "rows"}
    assert db_attrs["shop.query"] == '{"sql":"select 1"}'


def test_error_status_and_scrubbed_exception_event(memory):
    """An escaping error sets status ERROR and an ``exception`` event without the password; it re-raises."""

    @capture("connect")
    def connect():
        raise RuntimeError("login to mysql://root:s3cret@db/x failed")

    @traced
    def handler(event, context):
        connect()

    with pytest.raises(RuntimeError, match="s3cret"):
        handler(shared_event("apiGatewayProxyEvent.json"), LambdaContext())
    found = by_name(memory.get_finished_spans())
    assert found["## handler"].kind == SpanKind.SERVER
    for span in found.values():
        assert span.status.status_code == StatusCode.ERROR
        (event,) = [e for e in span.events if e.name == "exception"]
        assert event.attributes["exception.type"] == "RuntimeError"
        assert "mysql://root:***REDACTED***@db/x" in event.attributes["exception.message"]
        assert "s3cret" not in event.attributes["exception.stacktrace"]
        assert "s3cret" not in (span.status.description or "")


def test_unsampled_header_follows_the_providers_sampler(memory, lambda_env):
    """``Sampled=0`` reaches the SDK as an unsampled remote parent: its default sampler records nothing."""
    lambda_env.new_trace(sampled=False)

    @traced
    def handler(event, context):
        with subsegment("x"):
            annotate("k", 1)
        return 5

    assert handler({}, LambdaContext()) == 5
    assert memory.get_finished_spans() == ()


def test_bad_header_and_outside_lambda_trace_nothing(memory, monkeypatch):
    """No or malformed header: no span, the handler's result unchanged."""

    @traced
    def handler(event, context):
        with subsegment("x"):
            pass
        return "r"

    for header in ("", "Root=nope", "Root=1-zz-zz;Parent=1"):
        monkeypatch.setenv("_X_AMZN_TRACE_ID", header)
        assert handler({}, None) == "r"
    assert memory.get_finished_spans() == ()


def test_timeout_warning_ends_open_spans_with_an_event(memory, monkeypatch):
    """The timeout warning ends the open spans with a timeout event; later exits do not end them twice."""
    import time

    monkeypatch.setenv("LAMBDA_OBSERVE_TIMEOUT_WARNING_MS", "950")
    from lambda_observe import config

    config.reset()

    @traced
    def handler(event, context):
        with subsegment("slow"):
            time.sleep(0.3)
        return "late"

    assert handler({}, LambdaContext(timeout_s=1.0)) == "late"
    found = memory.get_finished_spans()
    assert sorted(s.name for s in found) == ["## handler", "slow"]
    for span in found:
        assert [e.name for e in span.events] == ["lambda_observe.timeout"]
        assert span.status.status_code == StatusCode.ERROR
    from opentelemetry import trace

    assert not trace.get_current_span().get_span_context().is_valid, "OTel's context was restored"


def test_same_mapping_as_otlp_mode(memory, lambda_env, monkeypatch):
    """One handler, both OTel modes: same names, kinds, parentage and attributes (ids and times aside)."""

    @traced
    def handler(event, context):
        with subsegment("db", table="t"):
            add_metadata("m", [1, 2])
        return None

    event = shared_event("apiGatewayProxyV2Event.json")
    context = LambdaContext(aws_request_id="same")
    handler(event, context)
    sdk = {s.name: (s.kind.value + 1, dict(s.attributes)) for s in memory.get_finished_spans()}
    _state.use_tracer("otlp")
    from lambda_observe import _invocation

    _invocation.reset_process()
    handler(event, context)
    (_, request), *_ = receive(lambda_env.collector)
    ours = {s.name: (s.kind, attributes(s.attributes)) for s in spans([request])}
    for found in (sdk, ours):
        for _, attrs in found.values():
            attrs["aws.xray.annotations"] = sorted(attrs.get("aws.xray.annotations", []))
    assert set(sdk) == {"## handler", "db"} and len(sdk["## handler"][1]) > 10
    assert ours == sdk


def test_global_provider_and_otlp_http_exporter_against_a_local_receiver(tmp_path):
    """``LAMBDA_OBSERVE_TRACER=otel`` with the SDK's OTLP/HTTP exporter: a local receiver decodes the spans."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    bodies: list[bytes] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app = tmp_path / "app.py"
    app.write_text(
        textwrap.dedent(
            f"""
            import os, sys
            os.environ["LAMBDA_OBSERVE_TRACER"] = "otel"
            os.environ["_X_AMZN_TRACE_ID"] = (
                "Root=1-5f8aa8d2-1f0f9b6c1a2b3c4d5e6f7a8b;Parent=53995c3f42cd8ad8;Sampled=1"
            )
            from opentelemetry import trace
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            provider = TracerProvider(resource=Resource.create({{"service.name": "orders"}}))
            exporter = OTLPSpanExporter(endpoint="http://127.0.0.1:{server.server_port}/v1/traces")
            provider.add_span_processor(BatchSpanProcessor(exporter))
            trace.set_tracer_provider(provider)
            from lambda_observe import traced, subsegment
            @traced
            def handler(event, context):
                with subsegment("work"):
                    pass
                return "done"
            assert handler({{}}, None) == "done"
            assert "aws_xray_sdk" not in sys.modules
            """
        )
    )
    try:
        subprocess.run([sys.executable, str(app)], check=True, capture_output=True, timeout=60, cwd=tmp_path)
    finally:
        server.shutdown()
    requests = []
    for body in bodies:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        requests.append(request)
    found = {s.name: s for s in spans(requests)}
    assert set(found) == {"## handler", "work"}
    assert found["## handler"].trace_id.hex() == "5f8aa8d21f0f9b6c1a2b3c4d5e6f7a8b"
    assert found["## handler"].parent_span_id.hex() == "53995c3f42cd8ad8"
    assert found["work"].parent_span_id == found["## handler"].span_id
    assert attributes(requests[0].resource_spans[0].resource.attributes)["service.name"] == "orders"


def test_otel_mode_without_opentelemetry_installed_leaves_the_handler_alone(tmp_path):
    """If opentelemetry cannot be imported, otel mode logs one error, traces nothing, the handler runs."""
    code = textwrap.dedent(
        """
        import os, sys
        sys.modules["opentelemetry"] = None  # as if not installed
        os.environ["LAMBDA_OBSERVE_TRACER"] = "otel"
        os.environ["_X_AMZN_TRACE_ID"] = "Root=1-5f8aa8d2-1f0f9b6c1a2b3c4d5e6f7a8b;Parent=53995c3f42cd8ad8;Sampled=1"
        from lambda_observe import traced
        @traced
        def handler(event, context):
            return 3
        print(handler({}, None))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip().splitlines()[-1] == "3"
    assert "tracer 'otel' is unavailable" in out.stdout + out.stderr


def test_otel_mode_without_a_provider_warns_once_and_the_handler_runs(lambda_env, monkeypatch, caplog):
    """otel mode with OpenTelemetry's default (proxy) provider: one WARNING saying spans go nowhere."""
    import logging

    from opentelemetry import trace

    from tests.conftest import need

    need(isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider), "a global provider was set before")
    monkeypatch.setenv("LAMBDA_OBSERVE_TRACER", "otel")
    from tests.conftest import reset_library

    reset_library()

    @traced(logs=False)
    def handler(event, context):
        with subsegment("x"):
            annotate("k", 1)
        return 7

    with caplog.at_level(logging.WARNING, logger="lambda_observe"):
        assert handler({}, LambdaContext()) == 7
        assert handler({}, LambdaContext()) == 7
    said = [r.getMessage() for r in caplog.records if "no OpenTelemetry TracerProvider" in r.getMessage()]
    assert len(said) == 1


def test_otel_mode_without_a_provider_writes_no_span_ids(lambda_env, monkeypatch, capsys):
    """Without a recording provider there is no span of ours: a line carries no ``span_id`` (before, it
    carried the header's Parent, the caller's span, as if it were the handler's) and no ``trace_id``."""
    import json
    import logging

    from opentelemetry import trace

    from tests.conftest import need, reset_library

    need(isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider), "a global provider was set before")
    monkeypatch.setenv("LAMBDA_OBSERVE_TRACER", "otel")
    reset_library()
    log = logging.getLogger("app.otel.noprovider")

    @traced
    def handler(event, context):
        log.info("inside")
        return 7

    assert handler({}, LambdaContext()) == 7
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    (line,) = [x for x in lines if x.get("message") == "inside"]
    assert "span_id" not in line and "trace_id" not in line, line
    assert line["xray_trace_id"]
