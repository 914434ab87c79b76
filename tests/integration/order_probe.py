"""Runs in a fresh interpreter: ``patch()`` some libraries, import them in a given order (inside
or outside the Lambda environment), make one real call with each inside a traced handler, and
print the captured documents and the log output as JSON.

python -m tests.integration.order_probe '{"patch": [...], "order": [...], "lambda": true, ...}'
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import sys
import threading
from typing import Any

HEADERS: list[str] = []


def _serve() -> Any:
    """A local HTTP server answering 200 (http.server imports http.client: only after the probe's imports)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            HEADERS.append(self.headers.get("X-Amzn-Trace-Id", ""))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _import_in_threads(names: list[str]) -> list[str]:
    """Import each module in its own thread, all released at once; the errors they raised."""
    barrier = threading.Barrier(len(names))
    errors: list[str] = []

    def run(name: str) -> None:
        try:
            barrier.wait(timeout=30)
            importlib.import_module(name)
        except BaseException as exc:
            errors.append(f"{name}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=run, args=(n,)) for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    errors.extend(f"{t.name}: still importing" for t in threads if t.is_alive())
    return errors


def main() -> None:
    spec = json.loads(sys.argv[1])
    log = io.StringIO()
    logging.getLogger("lambda_observe").addHandler(logging.StreamHandler(log))
    from lambda_observe import patch, traced
    from lambda_observe.testing import LambdaContext, collector, trace_header
    from lambda_observe.tracing.patching import patched

    with collector() as c:
        os.environ.update(
            {
                "AWS_XRAY_DAEMON_ADDRESS": c.address,
                "_X_AMZN_TRACE_ID": trace_header(),
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
            }
        )
        if spec["lambda"]:
            os.environ.update({"LAMBDA_TASK_ROOT": os.getcwd(), "AWS_LAMBDA_FUNCTION_NAME": "order-probe"})
        early = sorted(m for m in spec["order"] if m in sys.modules)
        patch(*spec["patch"])
        errors = _import_in_threads(spec["threads"]) if spec.get("threads") else []
        for name in spec["order"]:
            importlib.import_module(name)
        server = _serve()
        url = f"http://127.0.0.1:{server.server_address[1]}/ok"

        @traced(logs=False)
        def handler(event: dict[str, Any], context: Any) -> str:
            for name in spec["order"]:
                CALLS[name](spec, url)
            return "done"

        result = handler({}, LambdaContext())
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("aws_xray_sdk", "wrapt"))
        docs = c.settle(quiet=0.2)
        server.shutdown()
    print(
        json.dumps(
            {
                "result": result,
                "docs": docs,
                "log": log.getvalue(),
                "url": url,
                "early": early,
                "headers": HEADERS,
                "heavy": heavy,
                "import_errors": errors,
                "patched": sorted(patched()),
            }
        )
    )


def _boto3(spec: dict[str, Any], url: str) -> None:
    import boto3

    client = boto3.client("dynamodb", endpoint_url=spec["moto"], region_name="us-east-1")
    client.list_tables()
    if spec.get("missing"):
        try:
            client.get_item(TableName="no-such-table", Key={"id": {"S": "1"}})
        except client.exceptions.ResourceNotFoundException:
            pass


def _requests(spec: dict[str, Any], url: str) -> None:
    import requests

    requests.get(url, timeout=5)


def _http_client(spec: dict[str, Any], url: str) -> None:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    conn.request("GET", parts.path)
    conn.getresponse().read()
    conn.close()


def _sqlite3(spec: dict[str, Any], url: str) -> None:
    import sqlite3

    conn = sqlite3.connect(":memory:")
    conn.execute("SELECT 1")
    conn.close()


CALLS = {"boto3": _boto3, "requests": _requests, "http.client": _http_client, "sqlite3": _sqlite3}

if __name__ == "__main__":
    main()
