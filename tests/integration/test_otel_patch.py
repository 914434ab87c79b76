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

from tests.conftest import need

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
    out: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    out["stderr"] = proc.stderr
    return out


SEEN_HEADERS: list[dict[str, str]] = []


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    class Ok(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            SEEN_HEADERS.append(dict(self.headers.items()))
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


def _clean_stderr(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert "has no attribute" not in stderr, stderr


def test_redis_through_the_otlp_provider(redis_url):
    """otlp + patch("redis"): redis calls work (the instrumentation reads span.name) and give CLIENT spans."""
    out = probe({"tracer": "otlp", "patch": ["redis"], "calls": [{"kind": "redis", "url": redis_url}]})
    assert out["results"] == ["v"]
    redis_spans = [s for s in out["spans"] if s["scope"].endswith("redis")]
    assert {s["name"] for s in redis_spans} == {"SET", "GET"}, out["spans"]
    assert all(s["kind"] == 3 and by_parent(out["spans"])[s["name"]] == "calls" for s in redis_spans)
    _clean_stderr(out["stderr"])


@pytest.mark.parametrize("tracer", ["otlp", "otel"])
def test_psycopg_through_the_otel_modes(tracer):
    """patch("psycopg") against a real PostgreSQL: the query's result is unchanged, its span is there."""
    import socket

    with socket.socket() as sock:
        sock.settimeout(1)
        up = sock.connect_ex(("127.0.0.1", 5432)) == 0
    need(up, "PostgreSQL on 127.0.0.1:5432 (database test, trust auth)")
    dsn = "host=127.0.0.1 port=5432 dbname=test user=postgres"
    out = probe({"tracer": tracer, "patch": ["psycopg"], "calls": [{"kind": "psycopg", "dsn": dsn}]})
    assert out["results"] == [42]
    sql = [s for s in out["spans"] if s["scope"].endswith("psycopg")]
    assert sql and all(s["kind"] == 3 for s in sql), out["spans"]
    assert by_parent(out["spans"])[sql[0]["name"]] == "calls"
    _clean_stderr(out["stderr"])


@pytest.mark.parametrize("tracer", ["otlp", "otel"])
def test_bedrock_converse_through_the_botocore_instrumentation(tracer):
    """Bedrock converse (stubbed, no network): the reply is unchanged, a gen_ai span is made, nothing logged."""
    response = {
        "output": {"message": {"role": "assistant", "content": [{"text": "hello back"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5},
        "metrics": {"latencyMs": 12},
    }
    out = probe({"tracer": tracer, "patch": ["boto3"], "calls": [{"kind": "bedrock", "response": response}]})
    assert out["results"] == ["hello back"]
    bedrock = [s for s in out["spans"] if "botocore" in s["scope"]]
    assert bedrock, out["spans"]
    assert bedrock[0]["attributes"].get("gen_ai.request.model") == "anthropic.claude-3-haiku-20240307-v1:0"
    _clean_stderr(out["stderr"])


@pytest.mark.parametrize("tracer", ["otlp", "otel"])
def test_secrets_set_after_start_are_scrubbed(tracer):
    """Exception events of a failed call and statements set later carry no password (both OTel modes)."""
    out = probe(
        {
            "tracer": tracer,
            "patch": ["requests", "sqlite3"],
            "calls": [
                {"kind": "requests_fail", "url": "http://127.0.0.1:9/login?password=SECRETPW&page=2"},
                {"kind": "sqlite3", "sql": "select 'password=HUNTER2XY'"},
            ],
        }
    )
    assert out["results"] == ["failed"]
    text = json.dumps(out["spans"])
    failed = [s for s in out["spans"] if s["scope"].endswith("requests")]
    assert failed and any(e["name"] == "exception" for e in failed[0]["events"]), out["spans"]
    assert any(s["scope"].endswith("sqlite3") for s in out["spans"])
    assert "SECRETPW" not in text
    assert "HUNTER2XY" not in text


def test_ignore_patterns_drop_calls_in_otel_mode(http_url):
    """patch(ignore=...) leaves out calls to matching hosts in otel mode too."""
    out = probe(
        {
            "tracer": "otel",
            "patch": ["requests"],
            "ignore": ["127.0.0.1"],
            "calls": [{"kind": "requests", "url": http_url + "/health"}],
        }
    )
    assert [s["name"] for s in out["spans"] if s["kind"] == 3] == []
    assert {s["name"] for s in out["spans"]} == {"## handler", "calls"}


@pytest.mark.parametrize("tracer", ["otlp", "otel"])
def test_http_calls_carry_the_xray_header_too(tracer, http_url):
    """Instrumented HTTP calls send X-Amzn-Trace-Id (the client span as Parent) beside traceparent."""
    SEEN_HEADERS.clear()
    out = probe({"tracer": tracer, "patch": ["requests"], "calls": [{"kind": "requests", "url": http_url + "/x"}]})
    assert len(SEEN_HEADERS) == 1
    headers = {k.lower(): v for k, v in SEEN_HEADERS[0].items()}
    client = next(s for s in out["spans"] if s["kind"] == 3)
    assert headers["x-amzn-trace-id"] == (f"Root=1-{TRACE[:8]}-{TRACE[8:]};Parent={client['span_id']};Sampled=1"), (
        headers
    )
    assert headers["traceparent"].split("-")[1:3] == [TRACE, client["span_id"]]
