"""Sending segment documents to the X-Ray daemon over UDP.

The wire format is a JSON header line ``{"format":"json","version":1}``, a newline, then
one document. A datagram, header included, must fit the largest UDP payload over IPv4:
65,507 bytes (65,535 minus the IP and UDP headers; a larger one fails with "Message too
long"). A document with nested ``subsegments`` that does not fit is split (:func:`pack`);
a single document still too large has its metadata (then stacks, then strings) cut, with
a marker, rather than be dropped. A datagram the system still refuses is counted in
:attr:`UDPEmitter.dropped` (datagrams) and :attr:`UDPEmitter.dropped_subsegments` (the
subsegments they carried: one datagram may hold a parent and up to 200 nested children each),
and reported at WARNING: once at the end of each invocation that had drops (:meth:`UDPEmitter.report`,
called when the handler's subsegment is sent), with both counts. A drop outside any invocation
is reported at once, at most every :data:`DROP_WARNING_INTERVAL` seconds. Never silently.
"""

from __future__ import annotations

import _socket
import logging
import time
from typing import Any

from .. import _invocation, _json
from ._address import parse_address, resolve_or_warn, udp_socket

__all__ = ["DROP_WARNING_INTERVAL", "MAX_DATAGRAM", "UDPEmitter", "pack", "pack_counted", "parse_address"]

HEADER = b'{"format":"json","version":1}\n'
#: The largest UDP payload over IPv4; the header line counts.
MAX_DATAGRAM = 65_535 - 20 - 8
_LIMIT = MAX_DATAGRAM - len(HEADER)
_MARKER = "lambda_observe"
#: Outside an invocation, seconds between two WARNINGs about dropped documents (each says how many
#: were dropped since the last). Inside one, the drops are reported once, at its end.
DROP_WARNING_INTERVAL = 60.0
_LOG = logging.getLogger("lambda_observe")


class UDPEmitter:
    """Sends documents; never raises. Also usable as the X-Ray SDK recorder's emitter."""

    def __init__(self, address: str, ignore: tuple[str, ...] = ()) -> None:
        self._address: tuple[str, int] | None = None
        self._socket: _socket.socket | None = None
        self.ignore = ignore
        #: Datagrams (documents) that could not be sent (refused by the system, or not encodable), since start.
        self.dropped = 0
        #: Subsegments lost with them (a datagram may carry a parent and its nested children), since start.
        self.dropped_subsegments = 0
        self._pending = [0, 0]  # datagrams, subsegments not yet reported
        self._reason: BaseException | None = None
        self._warned_at: float | None = None
        self.set_daemon_address(address)

    def set_daemon_address(self, address: str | None) -> None:
        if not address:
            return
        self._address = resolve_or_warn(address, "daemon-address", "tracing documents")

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
            payloads = pack_counted(doc)
        except Exception as exc:  # tracing must not hurt
            self._drop(exc, _count(doc))
            return
        for payload, entities in payloads:
            self.send_payload(payload, entities)

    def send_payload(self, payload: bytes, entities: int = 1) -> None:
        """Send one document already encoded (and known to fit one datagram)."""
        if self._address is None:
            return
        try:
            sock = self._socket
            if sock is None:
                sock = self._socket = udp_socket()
            sock.sendto(HEADER + payload, self._address)
        except Exception as exc:  # a full buffer, an unreachable daemon: tracing must not hurt
            self._drop(exc, entities)

    def _drop(self, reason: BaseException, entities: int) -> None:
        """Count a lost datagram and the ``entities`` it carried; report it (see :meth:`report`)."""
        self.dropped += 1
        self.dropped_subsegments += entities
        self._pending[0] += 1
        self._pending[1] += entities
        self._reason = reason
        if _invocation.current() is not None:
            return  # reported once, when the invocation's handler subsegment is sent
        now = time.monotonic()
        if self._warned_at is not None and now - self._warned_at < DROP_WARNING_INTERVAL:
            return
        self._warned_at = now
        self.report()

    def report(self) -> None:
        """Log one WARNING for the drops not yet reported, if any: datagrams, subsegments, totals."""
        datagrams, entities = self._pending
        if not datagrams:
            return
        self._pending = [0, 0]
        reason, self._reason = self._reason, None
        try:
            _LOG.warning(
                "lambda_observe: %d trace datagram(s) carrying %d subsegment(s) were dropped (last reason: %s); "
                "%d datagram(s), %d subsegment(s) in all",
                datagrams,
                entities,
                reason,
                self.dropped,
                self.dropped_subsegments,
            )
        except Exception:  # logging itself failed: the counts are still kept
            pass

    # The X-Ray SDK recorder calls these.
    def send_entity(self, entity: Any) -> None:
        self.send(entity.to_dict(), external=True)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


_SUBS = b',"subsegments":['
#: Up to this nesting, a trace is first encoded whole (one call; an encoder's own depth limits are
#: far away). Deeper ones go straight to the per-entity assembly.
_SHALLOW = 8


def pack(doc: dict[str, Any]) -> list[bytes]:
    """``doc`` as payloads that each fit one datagram, children before parents (:func:`pack_counted`)."""
    return [payload for payload, _ in pack_counted(doc)]


def _count(doc: Any) -> int:
    """The entities in ``doc``: itself and its nested subsegments (iteratively: nesting may be deep)."""
    count, todo = 0, [doc]
    while todo:
        node = todo.pop()
        count += 1
        if isinstance(node, dict):
            todo.extend(c for c in node.get("subsegments") or () if isinstance(c, dict))
    return count


def pack_counted(doc: dict[str, Any]) -> list[tuple[bytes, int]]:
    """``doc`` as (payload, entities in it) pairs; each payload fits one datagram, children first.

    A shallow trace is first encoded whole; if that fits, it is the one payload. Otherwise each
    entity's own fields are encoded once; nested documents are assembled from those
    bytes, so the work is linear in the size of the trace however deep it nests (no recursion
    either). A child whose subtree does not fit in its parent's payload is sent on its own (it
    carries its ``parent_id``); every entity is sent exactly once.
    """
    children = doc.get("subsegments")
    if not children:
        return [(encode(doc), 1)]
    if type(children) is list and all(type(c) is dict and not c.get("subsegments") for c in children):
        whole = _json.dumps_bytes(doc)  # the usual trace: the handler's subsegment and its blocks
        if len(whole) <= _LIMIT:
            return [(whole, 1 + len(children))]
    # Pre-order walk without recursion: nodes[i] = (document, index of its parent).
    nodes: list[tuple[dict[str, Any], int]] = [(doc, -1)]
    depth = [0]
    i = 0
    while i < len(nodes):
        for child in nodes[i][0].get("subsegments") or ():
            if isinstance(child, dict):
                nodes.append((child, i))
                depth.append(depth[i] + 1)
        i += 1
    if max(depth) <= _SHALLOW:  # the usual trace: one encoding of the whole, if it fits
        whole = _json.dumps_bytes(doc)
        if len(whole) <= _LIMIT:
            return [(whole, len(nodes))]
    kids: list[list[int]] = [[] for _ in nodes]
    for index in range(1, len(nodes)):
        kids[nodes[index][1]].append(index)
    parts: list[list[Any]] = [[] for _ in nodes]  # a tree of byte strings, joined once when sent
    sizes = [0] * len(nodes)
    counts = [1] * len(nodes)  # entities in each part
    out: list[tuple[bytes, int]] = []
    for index in range(len(nodes) - 1, -1, -1):  # children before their parent
        node = nodes[index][0]
        own = encode({k: v for k, v in node.items() if k != "subsegments"} if "subsegments" in node else node)
        size = len(own)
        nested: list[Any] = []
        for child in kids[index]:
            extra = sizes[child] + (len(_SUBS) + 1 if not nested else 1)  # the list's opening or a comma
            if size + extra <= _LIMIT:
                nested.append(parts[child])
                size += extra
                counts[index] += counts[child]
            else:  # does not fit here: on its own, under its parent's id
                out.append((_join(parts[child]), counts[child]))
            parts[child] = []
        if nested:
            items: list[Any] = [own[:-1], _SUBS]
            for n, child_parts in enumerate(nested):
                if n:
                    items.append(b",")
                items.append(child_parts)
            items.append(b"]}")
            parts[index] = items
        else:
            parts[index] = [own]
        sizes[index] = size
    out.append((_join(parts[0]), counts[0]))
    return out


def _join(tree: list[Any]) -> bytes:
    """Flatten a tree of byte strings (iteratively: nesting may be deep) into one."""
    chunks: list[bytes] = []
    stack: list[Any] = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, bytes):
            chunks.append(item)
        else:
            stack.extend(reversed(item))
    return b"".join(chunks)


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
