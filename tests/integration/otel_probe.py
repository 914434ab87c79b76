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
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
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

        results: list[Any] = []

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
                        conn.cursor().execute(call.get("sql", "select 1")).fetchall()
                    elif kind == "redis":
                        import redis

                        client = redis.Redis.from_url(call["url"])
                        client.set("k", "v")
                        results.append(client.get("k").decode())
                    elif kind == "psycopg":
                        import psycopg

                        with psycopg.connect(call["dsn"]) as conn:
                            results.append(conn.execute("select 41 + 1").fetchone()[0])
                    elif kind == "requests_fail":
                        import requests

                        try:
                            requests.get(call["url"], timeout=2)
                        except requests.RequestException:
                            results.append("failed")
                    elif kind == "bedrock":
                        import boto3
                        from botocore.stub import Stubber

                        client = boto3.client("bedrock-runtime", region_name="us-east-1")
                        with Stubber(client) as stub:
                            stub.add_response("converse", call["response"])
                            out = client.converse(
                                modelId="anthropic.claude-3-haiku-20240307-v1:0",
                                messages=[{"role": "user", "content": [{"text": "hi"}]}],
                            )
                        results.append(out["output"]["message"]["content"][0]["text"])
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
                    "events": [
                        {"name": e.name, "attributes": {k: str(v) for k, v in (e.attributes or {}).items()}}
                        for e in s.events
                    ],
                    "status": s.status.description or "",
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
                                    "events": [
                                        {"name": e.name, "attributes": attributes(e.attributes)} for e in s.events
                                    ],
                                    "status": s.status.message,
                                }
                            )
    heavy = sorted(m.split(".")[0] for m in sys.modules if m.startswith(("aws_xray_sdk", "opentelemetry.sdk")))
    return {
        "spans": spans,
        "before": before,
        "datagrams": datagrams,
        "imported": sorted(set(heavy)),
        "results": results,
    }


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
