"""Sending segment documents to the X-Ray daemon over UDP.

The wire format is a JSON header line ``{"format":"json","version":1}``, a newline, then
one document. A document must fit one UDP datagram (64 KiB): larger ones have their
metadata (then stacks, then strings) cut, with a marker, rather than be dropped.
"""

from __future__ import annotations

import socket
from typing import Any

from .. import _json, _warn

__all__ = ["UDPEmitter", "parse_address"]

HEADER = b'{"format":"json","version":1}\n'
MAX_DATAGRAM = 64 * 1024 - 1
_LIMIT = MAX_DATAGRAM - len(HEADER)
_MARKER = "lambda_observe"


def parse_address(raw: str) -> tuple[str, int]:
    """The UDP address in ``AWS_XRAY_DAEMON_ADDRESS`` (``host:port`` or ``tcp:h:p udp:h:p``)."""
    text = raw.strip()
    if " " in text:
        for part in text.split():
            if part.startswith("udp:"):
                text = part[4:]
                break
        else:
            raise ValueError(f"AWS_XRAY_DAEMON_ADDRESS={raw!r}: expected 'host:port' or 'tcp:h:p udp:h:p'")
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"AWS_XRAY_DAEMON_ADDRESS={raw!r}: expected 'host:port' with a port from 1 to 65535")
    return host, int(port)


class UDPEmitter:
    """Sends documents; never raises. Also usable as the X-Ray SDK recorder's emitter."""

    def __init__(self, address: str, ignore: tuple[str, ...] = ()) -> None:
        self._address: tuple[str, int] | None = None
        self._socket: socket.socket | None = None
        self.ignore = ignore
        self.set_daemon_address(address)

    def set_daemon_address(self, address: str | None) -> None:
        if not address:
            return
        try:
            host, port = parse_address(address)
            self._address = (socket.gethostbyname(host), port)
        except (ValueError, OSError) as exc:
            self._address = None
            _warn.once("daemon-address", "lambda_observe: tracing documents will not be sent: %s", exc)

    @property
    def address(self) -> tuple[str, int] | None:
        return self._address

    def send(self, doc: dict[str, Any], external: bool = False) -> None:
        """Serialize and send one document. ``external``: made by the SDK's patchers, scrub it."""
        if self._address is None:
            return
        try:
            if external:
                from ._scrub import ignored, scrub  # SDK-made documents only; urllib.parse stays off the cold path

                scrub(doc)
                if ignored(doc, self.ignore):
                    return
            payload = encode(doc)
        except Exception as exc:  # tracing must not hurt
            _warn.once("daemon-send", "lambda_observe: could not send a trace document: %s", exc)
            return
        self.send_payload(payload)

    def send_payload(self, payload: bytes) -> None:
        """Send one document already encoded (and known to fit one datagram)."""
        if self._address is None:
            return
        try:
            sock = self._socket
            if sock is None:
                sock = self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sock.setblocking(False)
            sock.sendto(HEADER + payload, self._address)
        except Exception as exc:  # a full buffer, an unreachable daemon: tracing must not hurt
            _warn.once("daemon-send", "lambda_observe: could not send a trace document: %s", exc)

    # The X-Ray SDK recorder calls these.
    def send_entity(self, entity: Any) -> None:
        self.send(entity.to_dict(), external=True)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def encode_nested(doc: dict[str, Any]) -> bytes | None:
    """``doc`` encoded if it fits one datagram as it is, else ``None`` (the caller splits it)."""
    payload = _json.dumps_bytes(doc)
    return payload if len(payload) <= _LIMIT else None


def encode(doc: dict[str, Any]) -> bytes:
    """The document as UTF-8 JSON that fits one datagram, cut with a marker when needed."""
    payload = _json.dumps_bytes(doc)
    if len(payload) <= _LIMIT:
        return payload
    original = len(payload)
    note = f"document was {original} bytes, over the 64 KiB UDP limit; metadata removed"
    doc = dict(doc)
    doc["metadata"] = {_MARKER: {"truncated": note}}
    payload = _json.dumps(doc).encode("utf-8")
    if len(payload) <= _LIMIT:
        return payload
    small = _shrink(doc, original)
    payload = _json.dumps(small).encode("utf-8")
    if len(payload) > _LIMIT:  # huge annotations or exception texts: identity and timing only
        for key in ("annotations", "cause"):
            small.pop(key, None)
        payload = _json.dumps(small).encode("utf-8")
    return payload


def _shrink(doc: dict[str, Any], original: int) -> dict[str, Any]:
    """Keep identity, timing, flags and annotations; cut stacks and long strings."""
    keep = (
        "name",
        "id",
        "start_time",
        "end_time",
        "in_progress",
        "trace_id",
        "parent_id",
        "type",
        "namespace",
        "fault",
        "error",
        "throttle",
    )
    small: dict[str, Any] = {k: doc[k] for k in keep if k in doc}
    cause = doc.get("cause")
    if isinstance(cause, dict):
        exceptions = [
            {
                "id": e.get("id"),
                "type": str(e.get("type", ""))[:200],
                "message": str(e.get("message", ""))[:1000],
                "stack": list(e.get("stack", []))[:5],
            }
            for e in cause.get("exceptions", [])[:3]
            if isinstance(e, dict)
        ]
        small["cause"] = {"working_directory": str(cause.get("working_directory", ""))[:500], "exceptions": exceptions}
    elif isinstance(cause, str):
        small["cause"] = cause
    annotations = doc.get("annotations")
    if isinstance(annotations, dict):
        small["annotations"] = dict(list(annotations.items())[:50])
    note = f"document was {original} bytes, over the 64 KiB UDP limit; metadata and details removed"
    small["metadata"] = {_MARKER: {"truncated": note}}
    return small
