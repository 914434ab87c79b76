"""The UDP emitter and the size limit."""

from __future__ import annotations

import json

import pytest

from lambda_observe.tracing._emitter import HEADER, MAX_DATAGRAM, UDPEmitter, encode, parse_address
from lambda_observe.tracing._span import Root, Span
from lambda_observe.tracing.xray import MAX_BUFFERED, XRayBackend

TRACE = "1-5759e988-bd862e3fe1be46a994272793"


def test_addresses():
    """host:port and the 'tcp:... udp:...' form; bad ones say what was expected."""
    assert parse_address("127.0.0.1:2000") == ("127.0.0.1", 2000)
    assert parse_address("tcp:127.0.0.1:2000 udp:127.0.0.2:2001") == ("127.0.0.2", 2001)
    assert parse_address("tcp:127.0.0.1:2000\tudp:127.0.0.2:2001") == ("127.0.0.2", 2001)
    # "²" and full-width digits pass str.isdigit() but are no port: refused naming the variable
    for bad in ("nohost", "host:", ":2000", "h:99999", "tcp:a:1 tcp:b:2", "127.0.0.1:\u00b2", "127.0.0.1:\uff12\uff10"):
        with pytest.raises(ValueError, match="AWS_XRAY_DAEMON_ADDRESS"):
            parse_address(bad)


def test_oversized_single_document_keeps_identity_and_marks_the_cut():
    """Metadata is replaced by a marker; identity, timing, flags and annotations stay."""
    doc = {
        "name": "x",
        "id": "a" * 16,
        "start_time": 1.0,
        "end_time": 2.0,
        "trace_id": TRACE,
        "fault": True,
        "annotations": {"k": "v"},
        "metadata": {"svc": {"big": "y" * 100_000}},
    }
    payload = encode(doc)
    assert len(HEADER) + len(payload) <= MAX_DATAGRAM
    out = json.loads(payload)
    assert out["fault"] is True and out["annotations"] == {"k": "v"}
    assert "truncated" in out["metadata"]["lambda_observe"]


def test_huge_annotations_and_causes_still_fit():
    """Even when what is kept is too large, a valid document of identity and timing is sent."""
    doc = {
        "name": "x",
        "id": "a" * 16,
        "start_time": 1.0,
        "trace_id": TRACE,
        "annotations": {f"k{i}": "v" * 1000 for i in range(200)},
        "cause": {"exceptions": [{"id": "b" * 16, "message": "m" * 200_000, "stack": []}]},
    }
    payload = encode(doc)
    assert len(HEADER) + len(payload) <= MAX_DATAGRAM
    out = json.loads(payload)
    assert out["id"] == "a" * 16 and out["start_time"] == 1.0 and out["trace_id"] == TRACE
    assert len(out.get("annotations", {})) <= 50
    assert all(len(e["message"]) <= 1000 for e in out.get("cause", {}).get("exceptions", []))
    assert "truncated" in out["metadata"]["lambda_observe"]


class Sent(UDPEmitter):
    def __init__(self) -> None:
        super().__init__("127.0.0.1:9")
        self.docs: list[dict] = []
        self.payloads: list[bytes] = []

    def send_payload(
        self, payload: bytes, entities: int = 1
    ) -> None:  # each datagram's document, as split by the emitter
        self.payloads.append(payload)
        self.docs.append(json.loads(payload))


def test_children_nest_and_overflow():
    """Closed children ride in their parent's document, up to MAX_BUFFERED; the rest go on their own."""
    emitter = Sent()
    backend = XRayBackend(emitter)
    root = Root(TRACE, "c" * 16)
    parent = backend.start("parent", root)
    for i in range(MAX_BUFFERED + 3):
        backend.finish(backend.start(f"child {i}", parent))
    assert len(emitter.docs) == 3  # the overflow, sent at once
    backend.finish(parent)
    top = emitter.docs[-1]
    assert top["name"] == "parent" and len(top["subsegments"]) == MAX_BUFFERED
    assert all(c["parent_id"] == parent.id for c in top["subsegments"] + emitter.docs[:3])


def test_parent_too_large_for_one_datagram_is_split():
    """When nested children would not fit one datagram, they are sent on their own first."""
    emitter = Sent()
    backend = XRayBackend(emitter)
    root = Root(TRACE, "c" * 16)
    parent = backend.start("parent", root)
    for i in range(5):
        child = backend.start(f"child {i}", parent)
        backend.add_metadata(child, "svc", "blob", "z" * 20_000)
        backend.finish(child)
    backend.finish(parent)
    assert len(emitter.docs) > 1, "100 KB of children cannot travel in one datagram"
    assert all(len(HEADER) + len(p) <= MAX_DATAGRAM for p in emitter.payloads)
    assert emitter.docs[-1]["name"] == "parent"
    nested = [c["name"] for c in emitter.docs[-1].get("subsegments", [])]
    alone = [d["name"] for d in emitter.docs[:-1]]
    assert sorted(nested + alone) == [f"child {i}" for i in range(5)], "each child exactly once"
    assert all(d["parent_id"] == parent.id for d in emitter.docs[:-1])


def test_span_document_shape():
    """A span's document has what the schema requires and only what is set."""
    root = Root(TRACE, "c" * 16)
    span = Span("## handler", root, root)
    doc = span.to_dict()
    assert doc["in_progress"] is True and "end_time" not in doc
    assert set(doc) == {"name", "id", "start_time", "trace_id", "parent_id", "type", "in_progress"}
