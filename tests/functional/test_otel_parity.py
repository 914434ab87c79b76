"""Both OTel modes map the same inputs the same way: headers, metadata keys, aliases, errors, batch links."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lambda_observe import add_metadata, subsegment, traced
from lambda_observe.testing import LambdaContext
from lambda_observe.tracing import _state
from lambda_observe.tracing.otel import OtelBackend
from tests.functional.otlp_helpers import attributes, receive, spans

ROOT = "1-5f8aa8d2-1f0f9b6c1a2b3c4d5e6f7a8b"
TRACE = "5f8aa8d21f0f9b6c1a2b3c4d5e6f7a8b"


class Mode:
    """Runs a handler in one OTel mode and returns its spans as (name, parent hex, trace hex, attributes, events)."""

    def __init__(self, name: str, lambda_env: Any) -> None:
        self.name = name
        self.env = lambda_env
        self.exporter = InMemorySpanExporter()
        if name == "otel":
            provider = TracerProvider()
            provider.add_span_processor(SimpleSpanProcessor(self.exporter))
            _state.use(OtelBackend(provider))
        else:
            _state.use_tracer("otlp")

    def spans(self) -> list[dict[str, Any]]:
        if self.name == "otel":
            return [
                {
                    "name": s.name,
                    "parent": f"{s.parent.span_id:016x}" if s.parent else "",
                    "trace": f"{s.context.trace_id:032x}",
                    "attributes": dict(s.attributes),
                    "events": [(e.name, dict(e.attributes or {})) for e in s.events],
                }
                for s in self.exporter.get_finished_spans()
            ]
        return [
            {
                "name": s.name,
                "parent": s.parent_span_id.hex(),
                "trace": s.trace_id.hex(),
                "attributes": attributes(s.attributes),
                "events": [(e.name, attributes(e.attributes)) for e in s.events],
            }
            for s in spans([r for _, r in receive(self.env.collector, count=1, timeout=0.5)])
        ]


@pytest.fixture(params=["otlp", "otel"])
def mode(request, lambda_env) -> Mode:
    return Mode(request.param, lambda_env)


def _handler() -> Any:
    @traced(logs=False)
    def handler(event: Any, context: Any) -> str:
        with subsegment("child"):
            pass
        return "ok"

    return handler


def test_header_without_parent_gives_a_root_span_in_both_modes(mode, monkeypatch):
    """``Root=...;Sampled=1`` without ``Parent``: the handler span is a root (no invented parent); the child nests."""
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT};Sampled=1")
    assert _handler()({}, LambdaContext()) == "ok"
    found = {s["name"]: s for s in mode.spans()}
    assert set(found) == {"## handler", "child"}
    assert found["## handler"]["parent"] == ""
    assert found["child"]["trace"] == found["## handler"]["trace"]
    if mode.name == "otlp":
        assert found["## handler"]["trace"] == TRACE


@pytest.mark.parametrize(
    "header",
    [
        "Root=1-00000000-000000000000000000000000;Parent=53995c3f42cd8ad8;Sampled=1",
        f"Root={ROOT};Parent=0000000000000000;Sampled=1",
    ],
)
def test_all_zero_ids_are_untraced_in_both_modes(mode, monkeypatch, header):
    """An all-zero Root or Parent is invalid in OpenTelemetry: nothing is traced, the handler runs."""
    monkeypatch.setenv("_X_AMZN_TRACE_ID", header)
    assert _handler()({}, LambdaContext()) == "ok"
    assert mode.spans() == []


def test_metadata_never_overwrites_a_mapping_attribute(mode, caplog):
    """Metadata named like a mapping key (faas.trigger, aws.xray.annotations) is left out with a warning."""

    @traced(logs=False)
    def handler(event: Any, context: Any) -> str:
        add_metadata("trigger", "spoofed", namespace="faas")
        add_metadata("annotations", "spoofed", namespace="aws.xray")
        add_metadata("fine", 1, namespace="faas")
        return "ok"

    with caplog.at_level(logging.WARNING, logger="lambda_observe"):
        assert handler({}, LambdaContext()) == "ok"
    (top,) = mode.spans()
    assert top["attributes"]["faas.trigger"] == "other"
    assert "spoofed" not in list(top["attributes"]["aws.xray.annotations"])  # the handler's own annotation keys
    assert top["attributes"]["faas.fine"] == 1
    assert any("faas.trigger" in r.getMessage() for r in caplog.records)
    if mode.name == "otlp":  # the protobuf itself must not carry the key twice
        (_, request), *_ = receive(mode.env.collector)
        keys = [kv.key for kv in spans([request])[0].attributes]
        assert len(keys) == len(set(keys)), keys


class AliasContext(LambdaContext):
    @property
    def invoked_function_arn(self) -> str:
        return "arn:aws:lambda:us-east-1:123456789012:function:local-function:live"


def test_resource_id_is_the_function_arn_with_the_version_not_the_alias(mode):
    """``cloud.resource_id``: the alias in the invoked ARN is replaced by the version (semantic conventions)."""
    assert _handler()({}, AliasContext(function_version="7")) == "ok"
    top = next(s for s in mode.spans() if s["name"] == "## handler")
    assert top["attributes"]["cloud.resource_id"] == "arn:aws:lambda:us-east-1:123456789012:function:local-function:7"


def test_escaping_exception_is_marked_escaped(mode):
    """The handler's exception propagates, so its exception event says ``exception.escaped=True``."""

    @traced(logs=False)
    def handler(event: Any, context: Any) -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError):
        handler({}, LambdaContext())
    (top,) = mode.spans()
    (event,) = [attrs for name, attrs in top["events"] if name == "exception"]
    assert event["exception.escaped"] is True


def test_batch_record_header_without_parent_is_an_upstream_annotation(mode):
    """An SQS record's AWSTraceHeader without Parent cannot be a link: it becomes ``upstream_trace_id``."""
    from lambda_observe.batch import process_partial_response

    event = {
        "Records": [
            {
                "messageId": "m-1",
                "body": "{}",
                "eventSource": "aws:sqs",
                "attributes": {"AWSTraceHeader": f"Root={ROOT};Sampled=1"},
            }
        ]
    }

    @traced(logs=False)
    def handler(event: Any, context: Any) -> Any:
        return process_partial_response(event, lambda record: None)

    assert handler(event, LambdaContext()) == {"batchItemFailures": []}
    record = next(s for s in mode.spans() if s["name"] != "## handler")
    assert record["attributes"]["upstream_trace_id"] == ROOT


def test_otel_after_the_timeout_warning_sets_nothing_on_ended_spans(lambda_env, monkeypatch, caplog):
    """The response metadata arrives after the timeout warning ended the span: no 'ended span' warning."""
    import time

    from lambda_observe import config

    monkeypatch.setenv("LAMBDA_OBSERVE_TIMEOUT_WARNING_MS", "950")
    config.reset()
    Mode("otel", lambda_env)

    @traced(logs=False, capture_response=True)
    def handler(event: Any, context: Any) -> str:
        time.sleep(0.3)
        return "late"

    with caplog.at_level(logging.WARNING):
        assert handler({}, LambdaContext(timeout_s=1.0)) == "late"
    assert not [r for r in caplog.records if "ended span" in r.getMessage()], caplog.records


@pytest.mark.parametrize("name", ["OTLP", " otlp ", "Otel\n"])
def test_use_tracer_reads_names_as_the_variable_does(lambda_env, name):
    """``use_tracer`` accepts what ``LAMBDA_OBSERVE_TRACER`` accepts: any case, surrounding spaces."""
    _state.use_tracer(name)
    assert _state.tracer_name() == name.strip().lower()


def test_invalid_tracer_patches_nothing_and_logs_at_the_first_invocation(tmp_path):
    """``LAMBDA_OBSERVE_TRACER=zipkin`` + patch(): no X-Ray SDK patching; the ERROR comes at the first invocation."""
    script = textwrap.dedent(
        """
        import logging, os, sys
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stdout)
        os.environ["LAMBDA_OBSERVE_TRACER"] = "zipkin"
        os.environ["_X_AMZN_TRACE_ID"] = "Root=1-5f8aa8d2-1f0f9b6c1a2b3c4d5e6f7a8b;Parent=53995c3f42cd8ad8;Sampled=1"
        from lambda_observe import patch, traced
        from lambda_observe.tracing.patching import patched
        patch("requests", "sqlite3")
        import requests, sqlite3
        print("MARK imported", sorted(patched()), "aws_xray_sdk" in sys.modules)

        @traced(logs=False)
        def handler(event, context):
            return "ok"

        print("MARK result", handler({}, None))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    imported = lines.index("MARK imported [] False")
    result = lines.index("MARK result ok")
    errors = [i for i, line in enumerate(lines) if line.startswith("ERROR") and "zipkin" in line]
    assert errors and all(imported < i < result for i in errors), proc.stdout
