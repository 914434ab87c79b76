"""A tiny HTTP server on loopback that answers X-Ray's REST-JSON API with scripted responses.

It stands in where moto cannot: AWS's error responses for an expired token and for throttling, an
invalid filter expression, and paged GetTraceSummaries answers. Each answer is shaped as the real
service sends it (status, ``x-amzn-ErrorType`` header, JSON body), so the real boto3 client parses it
through its normal path. Requests are recorded as (path, JSON body).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# (status, x-amzn-ErrorType, body) as AWS REST-JSON services answer
EXPIRED = (
    403,
    "ExpiredTokenException:http://internal.amazon.com/coral/com.amazon.coral.service/",
    {"message": "The security token included in the request is expired"},
)
THROTTLED = (
    429,
    "ThrottledException:http://internal.amazon.com/coral/com.amazonaws.xray/",
    {"Message": "Rate exceeded"},
)


def invalid(message: str) -> tuple[int, str, dict[str, Any]]:
    return (400, "InvalidRequestException:http://internal.amazon.com/coral/com.amazonaws.xray/", {"Message": message})


class Stub:
    def __init__(self, answers: list[Any]) -> None:
        self.answers = list(answers)  # each: a dict (200 body) or an error tuple; the last one repeats
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.url = ""


@contextmanager
def xray_stub(answers: list[Any]) -> Iterator[Stub]:
    stub = Stub(answers)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            stub.requests.append((self.path, body))
            answer = stub.answers.pop(0) if len(stub.answers) > 1 else stub.answers[0]
            if isinstance(answer, tuple):
                status, error_type, payload = answer
                headers = {"x-amzn-ErrorType": error_type}
            else:
                status, payload, headers = 200, answer, {}
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
