"""A fresh interpreter for tests/integration/test_patch_findings.py: patch() with an ``ignore=``
string, a BaseException out of a traced requests call, a botocore parameter of the wrong type.
Prints the documents received, as JSON, on its last line."""

from __future__ import annotations

import json
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sink.bind(("127.0.0.1", 0))
sink.settimeout(2.0)
os.environ.update(
    AWS_LAMBDA_FUNCTION_NAME="fn",
    LAMBDA_TASK_ROOT="/tmp",
    AWS_REGION="us-east-1",
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_XRAY_DAEMON_ADDRESS=f"127.0.0.1:{sink.getsockname()[1]}",
    _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
)

from lambda_observe import patch, subsegment, traced  # noqa: E402
from lambda_observe.testing import LambdaContext  # noqa: E402

patch("requests", "boto3", ignore="*.internal")  # a single pattern as a plain string

import boto3  # noqa: E402
import requests  # noqa: E402


class Quiet(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


server = HTTPServer(("127.0.0.1", 0), Quiet)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}"


class Deadline(BaseException):
    """A deadline exception that is not an Exception (gevent.Timeout, KeyboardInterrupt...)."""


def stop(response: Any, *args: Any, **kwargs: Any) -> None:
    raise Deadline()


@traced
def handler(event: Any, context: Any) -> str:
    requests.get(url + "/first", timeout=5)
    try:
        requests.get(url + "/deadline", hooks={"response": stop}, timeout=5)
    except Deadline:
        pass
    requests.get(url + "/second", timeout=5)
    with subsegment("after"):
        pass
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
    try:
        client.get_item(TableName=5, Key={})  # refused by botocore's own validation
    except Exception:
        pass
    return "ok"


handler({}, LambdaContext())
docs = []
try:
    while True:
        raw = sink.recv(70000)
        docs.append(json.loads(raw.split(b"\n", 1)[1]))
except TimeoutError:
    pass
print(json.dumps(docs))
