"""A UDP collector standing in for the X-Ray daemon on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

__all__ = ["Collector", "flatten", "parse_datagram"]


def flatten(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every subsegment as its own document: nested ``subsegments`` lifted out, with their parent's id.

    Iterative (a file may nest subsegments deeper than Python's recursion limit); items that are not
    objects are skipped."""
    out: list[dict[str, Any]] = []
    stack: list[tuple[Any, dict[str, Any] | None]] = [(d, None) for d in reversed(documents)]
    while stack:
        doc, parent = stack.pop()
        if not isinstance(doc, dict):
            continue
        flat = {k: v for k, v in doc.items() if k != "subsegments"}
        if parent is not None:
            if "id" in parent:
                flat.setdefault("parent_id", parent["id"])
            if "trace_id" in parent:
                flat.setdefault("trace_id", parent["trace_id"])
            flat.setdefault("type", "subsegment")
        out.append(flat)
        children = doc.get("subsegments")
        if isinstance(children, list):
            stack.extend((child, flat) for child in reversed(children))
    return out


def parse_datagram(data: bytes) -> dict[str, Any]:
    """Split a daemon datagram into its header line and document; check the header."""
    header_raw, sep, body = data.partition(b"\n")
    if not sep:
        raise ValueError("datagram has no header line")
    header = json.loads(header_raw)
    if header != {"format": "json", "version": 1}:
        raise ValueError(f"unexpected header {header!r}")
    doc: dict[str, Any] = json.loads(body)
    return doc


class Collector:
    """Receives segment documents on a free loopback port, on a background thread.

    ``with Collector() as c: os.environ["AWS_XRAY_DAEMON_ADDRESS"] = c.address`` then
    ``c.documents`` (parsed) and ``c.datagrams`` (raw bytes).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self._sock.bind((host, port))
        self._sock.settimeout(0.05)
        self.host, self.port = self._sock.getsockname()[:2]
        self.datagrams: list[bytes] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def documents(self) -> list[dict[str, Any]]:
        """The documents as received (a subsegment may carry its closed children nested)."""
        with self._lock:
            raw = list(self.datagrams)
        return [parse_datagram(d) for d in raw]

    @property
    def spans(self) -> list[dict[str, Any]]:
        """Every subsegment as its own document (see :func:`flatten`)."""
        return flatten(self.documents)

    def start(self) -> Collector:
        self._thread = threading.Thread(target=self._run, name="xray-collector", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.datagrams.append(data)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait until at least ``count`` subsegments arrived (or the timeout passed); return them flat."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            spans = self.spans
            if len(spans) >= count:
                return spans
            time.sleep(0.005)
        return self.spans

    def settle(self, quiet: float = 0.1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait until no datagram arrived for ``quiet`` seconds; return every subsegment, flat."""
        deadline = time.monotonic() + timeout
        last = -1
        while time.monotonic() < deadline:
            with self._lock:
                n = len(self.datagrams)
            if n == last:
                break
            last = n
            time.sleep(quiet)
        return self.spans

    def clear(self) -> None:
        with self._lock:
            self.datagrams.clear()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
        self._sock.close()

    def __enter__(self) -> Collector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
