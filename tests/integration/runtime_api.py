"""A small Lambda Runtime API on 127.0.0.1 that drives the real awslambdaric client."""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/2018-06-01/runtime"


@dataclass
class Invocation:
    event: Any
    timeout_ms: int = 30_000
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    trace_root: str = field(default_factory=lambda: f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}")
    parent: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    deadline_ms: int = 0
    response: Any = None
    error: dict[str, Any] | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def trace_header(self) -> str:
        return f"Root={self.trace_root};Parent={self.parent};Sampled=1"


class RuntimeAPI:
    """Hands out queued invocations on /invocation/next and records responses and errors."""

    def __init__(self) -> None:
        self.pending: queue.Queue[Invocation] = queue.Queue()
        self.by_id: dict[str, Invocation] = {}
        self.init_error: dict[str, Any] | None = None
        self.init_failed = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(code)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    self._reply(404)
                    return
                inv = api.pending.get()
                inv.deadline_ms = int(time.time() * 1000) + inv.timeout_ms
                api.by_id[inv.request_id] = inv
                body = json.dumps(inv.event).encode()
                self._reply(
                    200,
                    body,
                    {
                        "Lambda-Runtime-Aws-Request-Id": inv.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
                        "Lambda-Runtime-Trace-Id": inv.trace_header,
                        "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:rt-test",
                        "Lambda-Runtime-Client-Context": "",
                        "Lambda-Runtime-Cognito-Identity": "",
                        "Content-Type": "application/json",
                    },
                )

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = self.path[len(PREFIX) :].strip("/").split("/")
                if parts == ["init", "error"]:
                    api.init_error = json.loads(raw or b"{}")
                    api.init_failed.set()
                elif len(parts) == 3 and parts[0] == "invocation":
                    inv = api.by_id[parts[1]]
                    if parts[2] == "response":
                        inv.response = json.loads(raw) if raw else None
                    else:
                        inv.error = json.loads(raw)
                    inv.done.set()
                self._reply(202)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the runtime is killed mid-request at the end of each test: expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def invoke(self, event: Any, timeout_ms: int = 30_000) -> Invocation:
        inv = Invocation(event=event, timeout_ms=timeout_ms)
        self.pending.put(inv)
        return inv

    def __enter__(self) -> RuntimeAPI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
