"""Decoding what the otlp backend sends: real datagrams, decoded with opentelemetry-proto."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

HEADER = {"format": "json", "version": 1}


def decode_datagram(data: bytes) -> tuple[str, Any]:
    """Check the framing of one datagram; return its prefix (T1S/T1U) and the decoded request."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    header, sep, body = data.partition(b"\n")
    assert sep, "no header line"
    assert json.loads(header) == HEADER
    prefix, payload = body[:3].decode(), body[3:]
    assert prefix in ("T1S", "T1U"), prefix
    request = ExportTraceServiceRequest()
    request.ParseFromString(base64.b64decode(payload, validate=True))
    return prefix, request


def value(any_value: Any) -> Any:
    """A Python value for an OTLP AnyValue."""
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: value(kv.value) for kv in any_value.kvlist_value.values}
    return getattr(any_value, kind)


def attributes(items: Any) -> dict[str, Any]:
    return {kv.key: value(kv.value) for kv in items}


def spans(requests: list[Any]) -> list[Any]:
    """Every span of every request, in order."""
    return [s for r in requests for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans]


def receive(collector: Any, count: int = 1, timeout: float = 5.0) -> list[tuple[str, Any]]:
    """Wait for at least ``count`` datagrams, then for quiet; decode all of them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(collector.datagrams) < count:
        time.sleep(0.005)
    time.sleep(0.05)
    return [decode_datagram(d) for d in list(collector.datagrams)]
