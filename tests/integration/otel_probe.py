"""Run one traced handler in an OTel mode with patch(), in a fresh interpreter; print the spans as JSON.

Usage: python -m tests.integration.otel_probe '{"tracer": "otlp", "patch": ["requests"], "calls": [...]}'
The libraries are imported only after patch(), inside the handler, to prove patching is deferred.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def run(spec: dict[str, Any]) -> dict[str, Any]:
    tracer = spec["tracer"]
    os.environ["LAMBDA_OBSERVE_TRACER"] = tracer
    os.environ["_X_AMZN_TRACE_ID"] = "Root=1-5f8aa8d2-1f0f9b6c1a2b3c4d5e6f7a8b;Parent=53995c3f42cd8ad8;Sampled=1"
    exporter = None
    if tracer == "otel":
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
    from lambda_observe import patch, subsegment, traced
    from lambda_observe.testing import collector

    with collector() as udp:
        os.environ["AWS_XRAY_DAEMON_ADDRESS"] = udp.address
        patch(*spec["patch"], ignore=spec.get("ignore", ()))
        before = sorted(m for m in ("botocore", "requests", "httpx", "redis", "urllib3") if m in sys.modules)

        @traced(logs=False)
        def handler(event: Any, context: Any) -> Any:
            with subsegment("calls"):
                for call in spec["calls"]:
                    kind = call["kind"]
                    if kind == "requests":
                        import requests

                        requests.get(call["url"], timeout=5)
                    elif kind == "httpx":
                        import httpx

                        httpx.get(call["url"], timeout=5)
                    elif kind == "urllib3":
                        import urllib3

                        urllib3.PoolManager().request("GET", call["url"])
                    elif kind == "boto3":
                        import boto3

                        client = boto3.client("dynamodb", endpoint_url=call["endpoint"], region_name="us-east-1")
                        client.list_tables()
                    elif kind == "sqlite3":
                        import sqlite3

                        conn = sqlite3.connect(":memory:")
                        conn.cursor().execute("select 1").fetchall()
                    elif kind == "redis":
                        import redis

                        redis.Redis.from_url(call["url"]).set("k", "v")
            return "ok"

        assert handler({}, None) == "ok"
        if exporter is not None:
            spans = [
                {
                    "name": s.name,
                    "kind": s.kind.value + 1,
                    "span_id": f"{s.context.span_id:016x}",
                    "parent_id": f"{s.parent.span_id:016x}" if s.parent else "",
                    "trace_id": f"{s.context.trace_id:032x}",
                    "attributes": {
                        k: v if isinstance(v, (str, int, float, bool)) else list(v) for k, v in s.attributes.items()
                    },
                    "scope": s.instrumentation_scope.name,
                }
                for s in exporter.get_finished_spans()
            ]
            datagrams = 0
        else:
            import time

            time.sleep(0.2)
            from tests.functional.otlp_helpers import attributes, decode_datagram

            spans = []
            datagrams = len(udp.datagrams)
            for data in udp.datagrams:
                _, request = decode_datagram(data)
                for rs in request.resource_spans:
                    for ss in rs.scope_spans:
                        for s in ss.spans:
                            spans.append(
                                {
                                    "name": s.name,
                                    "kind": s.kind,
                                    "span_id": s.span_id.hex(),
                                    "parent_id": s.parent_span_id.hex(),
                                    "trace_id": s.trace_id.hex(),
                                    "attributes": attributes(s.attributes),
                                    "scope": ss.scope.name,
                                }
                            )
    heavy = sorted(m.split(".")[0] for m in sys.modules if m.startswith(("aws_xray_sdk", "opentelemetry.sdk")))
    return {"spans": spans, "before": before, "datagrams": datagrams, "imported": sorted(set(heavy))}


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
