"""patch() in the OTel modes: OpenTelemetry's instrumentations, real traffic, a fresh interpreter per case."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRACE = "5f8aa8d21f0f9b6c1a2b3c4d5e6f7a8b"


def probe(spec: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.integration.otel_probe", json.dumps(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("LAMBDA_OBSERVE_")},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    class Ok(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def by_parent(spans: list[dict[str, Any]]) -> dict[str, str]:
    names = {s["span_id"]: s["name"] for s in spans}
    return {s["name"]: names.get(s["parent_id"], s["parent_id"]) for s in spans}


@pytest.mark.parametrize("tracer", ["otlp", "otel"])
def test_requests_and_httpx_spans_nest_and_are_scrubbed(tracer, http_url):
    """HTTP client spans are CLIENT children of the current subsegment; no password or token leaves."""
    url = http_url.replace("http://", "http://user:pw1234@") + "/items?token=tok5678&page=2"
    out = probe(
        {
            "tracer": tracer,
            "patch": ["requests", "httpx"],
            "calls": [{"kind": "requests", "url": url}, {"kind": "httpx", "url": url}],
        }
    )
    assert out["before"] == [], "patch() imported the library itself"
    clients = [s for s in out["spans"] if s["kind"] == 3]
    assert {s["scope"] for s in clients} >= {
        "opentelemetry.instrumentation.requests",
        "opentelemetry.instrumentation.httpx",
    }, out["spans"]
    parents = by_parent(out["spans"])
    for span in clients:
        assert span["trace_id"] == TRACE
        assert parents[span["name"]] == "calls"
    text = json.dumps(out["spans"])
    assert "pw1234" not in text and "tok5678" not in text
    assert "page=2" in text
    if tracer == "otlp":
        assert out["datagrams"] == 1, "instrumentation spans travel in the invocation's datagram"
        assert out["imported"] == [], "otlp mode imported the OTel SDK or the X-Ray SDK"
    else:
        assert "aws_xray_sdk" not in out["imported"]


@pytest.mark.parametrize("tracer", ["otlp", "otel"])
def test_boto3_and_sqlite3_spans(tracer, moto_endpoint):
    """botocore and sqlite3 spans come from OpenTelemetry's instrumentations, under the subsegment."""
    out = probe(
        {
            "tracer": tracer,
            "patch": ["boto3", "sqlite3"],
            "calls": [{"kind": "boto3", "endpoint": moto_endpoint}, {"kind": "sqlite3"}],
        }
    )
    assert out["before"] == []
    names = {s["name"]: s for s in out["spans"]}
    assert "DynamoDB.ListTables" in names, list(names)
    aws = names["DynamoDB.ListTables"]
    assert aws["kind"] == 3 and aws["attributes"]["rpc.service"] == "DynamoDB"
    sql = [s for s in out["spans"] if s["scope"].endswith("sqlite3")]
    assert sql, list(names)
    parents = by_parent(out["spans"])
    assert parents["DynamoDB.ListTables"] == "calls"
    assert all(parents[s["name"]] == "calls" for s in sql)
    assert "aws_xray_sdk" not in out["imported"]


def test_ignore_patterns_drop_calls_in_otlp_mode(http_url):
    """patch(ignore=...) leaves out calls to matching hosts in otlp mode, as in xray mode."""
    out = probe(
        {
            "tracer": "otlp",
            "patch": ["requests"],
            "ignore": ["127.0.0.1"],
            "calls": [{"kind": "requests", "url": http_url + "/health"}],
        }
    )
    assert [s["name"] for s in out["spans"] if s["kind"] == 3] == []
    assert {s["name"] for s in out["spans"]} == {"## handler", "calls"}
