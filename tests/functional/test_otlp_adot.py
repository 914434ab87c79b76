"""Our otlp datagrams against AWS's own: the same handler through ADOT's ``OTLPUdpSpanExporter``."""

from __future__ import annotations

from typing import Any

import pytest

from lambda_observe import add_metadata, annotate, capture, subsegment, traced
from lambda_observe.testing import LambdaContext
from lambda_observe.tracing import _otel_map, _state
from tests.conftest import shared_event
from tests.functional.otlp_helpers import receive


def normalise(request: Any) -> list[dict[str, Any]]:
    """Every span of a request as a plain structure, span ids replaced by names, times dropped."""
    from google.protobuf.json_format import MessageToDict

    out = []
    for rs in request.resource_spans:
        resource = MessageToDict(rs.resource)
        for ss in rs.scope_spans:
            scope = MessageToDict(ss.scope)
            for span in ss.spans:
                doc = MessageToDict(span)
                for key in ("spanId", "parentSpanId", "startTimeUnixNano", "endTimeUnixNano"):
                    doc.pop(key, None)
                for event in doc.get("events", []):
                    event.pop("timeUnixNano", None)
                doc["attributes"] = sorted(doc.get("attributes", []), key=lambda kv: kv["key"])
                for kv in doc["attributes"]:
                    if kv["key"] == "aws.xray.annotations":
                        kv["value"]["arrayValue"]["values"].sort(key=str)
                doc["resource"] = sorted(resource.get("attributes", []), key=lambda kv: kv["key"])
                doc["scope"] = scope
                out.append(doc)
    return out


def parents(request_spans: list[Any]) -> dict[str, str]:
    ids = {s.span_id: s.name for s in request_spans}
    return {s.name: ids.get(s.parent_span_id, s.parent_span_id.hex()) for s in request_spans}


@pytest.fixture
def handler():
    @capture("pricing")
    def price(n: int) -> int:
        if n < 0:
            raise ValueError("negative")
        return n * 2

    @traced
    def handle(event, context):
        with subsegment("db", table="orders"):
            annotate("rows", 3)
            add_metadata("query", {"sql": "select 1", "args": [1, None]}, namespace="shop")
        price(2)
        try:
            price(-1)
        except ValueError:
            pass
        return {"ok": True}

    return handle


def test_same_structure_as_adots_exporter(lambda_env, handler, monkeypatch):
    """Both decode to the same spans: names, kinds, trace id, parentage, attributes, events, status, flags."""
    from amazon.opentelemetry.distro.otlp_udp_exporter import OTLPUdpSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from lambda_observe import _invocation
    from lambda_observe.tracing.otel import OtelBackend
    from tests.functional.otlp_helpers import decode_datagram, spans

    event = shared_event("sqsEvent.json")
    context = LambdaContext(function_name="test-fn", aws_request_id="req-1")

    _state.use_tracer("otlp")
    assert handler(event, context) == {"ok": True}
    ours = receive(lambda_env.collector)
    assert len(ours) == 1
    raw_ours = lambda_env.collector.datagrams[0]
    lambda_env.collector.clear()

    # The same handler, the same logical spans, through the SDK and AWS's UDP exporter.
    provider = TracerProvider(resource=Resource(_otel_map.resource_attributes("test-fn")))
    provider.add_span_processor(SimpleSpanProcessor(OTLPUdpSpanExporter(endpoint=lambda_env.collector.address)))
    _state.use(OtelBackend(provider))
    _invocation.reset_process()
    assert handler(event, context) == {"ok": True}
    theirs = receive(lambda_env.collector, count=4)
    assert len(theirs) == 4  # ADOT sends one datagram per span with a simple processor

    assert {p for p, _ in ours} == {p for p, _ in theirs} == {"T1S"}
    our_spans = normalise(ours[0][1])
    their_spans = [s for _, r in theirs for s in normalise(r)]
    key = lambda s: s["name"]  # noqa: E731
    for a, b in zip(sorted(our_spans, key=key), sorted(their_spans, key=key), strict=True):
        assert a == b
    assert sorted(our_spans, key=key) == sorted(their_spans, key=key)
    assert parents(spans([ours[0][1]])) == parents(spans([r for _, r in theirs]))
    # The raw datagrams' framing is byte-for-byte ADOT's: header line, then the prefix.
    raw_theirs = lambda_env.collector.datagrams[0]
    assert raw_ours.split(b"\n", 1)[0] == raw_theirs.split(b"\n", 1)[0] == b'{"format":"json","version":1}'
    assert raw_ours.split(b"\n", 1)[1][:3] == raw_theirs.split(b"\n", 1)[1][:3] == b"T1S"
    assert decode_datagram(raw_ours)[0] == decode_datagram(raw_theirs)[0] == "T1S"
