"""Documents on real UDP datagrams: the IPv4 size limit, counted drops, and linear splitting."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lambda_observe import _json
from lambda_observe.testing import collector
from lambda_observe.tracing import _emitter
from lambda_observe.tracing._emitter import HEADER, MAX_DATAGRAM, UDPEmitter, pack
from lambda_observe.tracing._span import Root
from lambda_observe.tracing.xray import XRayBackend

TRACE = "1-5759e988-bd862e3fe1be46a994272793"
IPV4_MAX_PAYLOAD = 65_507  # 65,535 minus the 20-byte IP header and the 8-byte UDP header


@pytest.fixture(scope="module")
def daemon():
    with collector() as c:
        yield c


def doc_of_size(size: int) -> dict[str, Any]:
    """A valid subsegment document whose compact JSON is exactly ``size`` bytes."""
    doc: dict[str, Any] = {
        "name": "sized",
        "id": "a" * 16,
        "start_time": 1.0,
        "end_time": 2.0,
        "trace_id": TRACE,
        "parent_id": "b" * 16,
        "type": "subsegment",
        "metadata": {"svc": {"pad": ""}},
    }
    base = len(_json.dumps_bytes(doc))
    doc["metadata"]["svc"]["pad"] = "x" * (size - base)
    assert len(_json.dumps_bytes(doc)) == size
    return doc


def test_the_limit_is_the_largest_ipv4_udp_payload():
    """The datagram limit, header included, is 65,507 bytes."""
    assert MAX_DATAGRAM == IPV4_MAX_PAYLOAD
    assert len(HEADER) == len(b'{"format":"json","version":1}\n')


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(IPV4_MAX_PAYLOAD - 200, 65_600))
@example(size=IPV4_MAX_PAYLOAD - len(HEADER))  # the largest that fits as it is
@example(size=IPV4_MAX_PAYLOAD - len(HEADER) + 1)  # the smallest that must be cut
@example(size=65_535 - len(HEADER))  # fitted the old 65,535 limit, yet never arrived
@example(size=65_535)
def test_every_document_arrives_on_real_udp(daemon, xray_validator, size):
    """Documents around the boundary all arrive, each datagram within the IPv4 limit, none dropped."""
    daemon.clear()
    emitter = UDPEmitter(daemon.address)
    try:
        emitter.send(doc_of_size(size))
        docs = daemon.wait_for(1, timeout=5)
        assert emitter.dropped == 0
    finally:
        emitter.close()
    assert len(docs) == 1, f"a {size}-byte document never arrived"
    assert all(len(d) <= IPV4_MAX_PAYLOAD for d in daemon.datagrams)
    (doc,) = docs
    assert doc["id"] == "a" * 16 and not list(xray_validator.iter_errors(doc))
    if len(HEADER) + size > IPV4_MAX_PAYLOAD:
        assert "truncated" in doc["metadata"]["lambda_observe"]
    else:
        assert len(doc["metadata"]["svc"]["pad"]) > 0


def test_drops_are_counted_and_reported(daemon, caplog, monkeypatch):
    """A datagram the system refuses is counted (testing.dropped_documents() reads the count); a
    WARNING says so, rate-limited, with the count of drops since the last warning: never silent."""
    from lambda_observe import testing
    from lambda_observe.tracing import _state

    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", daemon.address)
    testing.reset()
    emitter = _state.backend().emitter  # type: ignore[attr-defined]
    assert testing.dropped_documents() == 0
    too_big = b"{" + b" " * IPV4_MAX_PAYLOAD + b"}"  # past the encoder's cut: the kernel refuses it
    try:
        with caplog.at_level(logging.WARNING, logger="lambda_observe"):
            for _ in range(3):
                emitter.send_payload(too_big)
            assert emitter.dropped == 3
            first = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
            assert len(first) == 1, first  # the first drop is reported at once; the next two wait
            monkeypatch.setattr(_emitter, "DROP_WARNING_INTERVAL", 0.0)
            emitter.send_payload(too_big)
            said = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
        assert len(said) == 2 and "3 trace datagram(s) carrying 3 subsegment(s)" in said[1], said
        assert "4 datagram(s), 4 subsegment(s) in all" in said[1], said
        assert testing.dropped_documents() == 4
    finally:
        emitter.close()


class RefusingSocket:
    """Stands in for the emitter's socket: every sendto fails as a full send buffer does."""

    def sendto(self, data: bytes, address: Any) -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    def close(self) -> None:
        pass


def test_every_drop_of_an_invocation_is_reported_at_its_end(lambda_env, caplog):
    """An invocation whose 71 datagrams are all refused gives one WARNING at its end with both
    counts; the clean invocations after it give none, and nothing waits for a later drop."""
    from lambda_observe import subsegment, testing, traced
    from lambda_observe.testing import LambdaContext
    from lambda_observe.tracing import _state
    from lambda_observe.tracing.xray import MAX_BUFFERED

    total = MAX_BUFFERED + 71  # the handler's subsegment and its children

    @traced
    def handler(event, context):
        for n in range(total - 1):
            with subsegment(f"s{n}"):
                pass
        return "ok"

    emitter = _state.backend().emitter  # type: ignore[attr-defined]
    with caplog.at_level(logging.WARNING, logger="lambda_observe"):
        emitter._socket = RefusingSocket()
        try:
            assert handler({}, LambdaContext()) == "ok"
        finally:
            emitter._socket = None
        for _ in range(3):
            assert handler({}, LambdaContext()) == "ok"
    said = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    # MAX_BUFFERED children ride in the handler's document; the 70 others go alone: 71 datagrams
    assert testing.dropped_documents() == 71
    assert emitter.dropped_subsegments == total
    assert len(said) == 1, said
    assert f"71 trace datagram(s) carrying {total} subsegment(s)" in said[0], said
    assert "Resource temporarily unavailable" in said[0]
    assert len(lambda_env.documents(3 * total)) == 3 * total  # the clean invocations arrived whole


def test_a_dropped_nested_document_counts_its_subsegments(daemon):
    """A refused datagram that carries a parent and its nested children counts every one of them,
    for a shallow trace (encoded whole) and a deep one (assembled per entity)."""
    emitter = UDPEmitter(daemon.address)
    emitter._socket = RefusingSocket()  # type: ignore[assignment]
    root = Root(TRACE, "c" * 16)
    backend = XRayBackend(emitter)
    parent = backend.start("parent", root)
    for n in range(5):
        backend.finish(backend.start(f"child{n}", parent))
    backend.send(parent.to_dict())
    assert emitter.dropped == 1 and emitter.dropped_subsegments == 6

    # deeper than the one-piece encoding goes: the per-entity assembly counts what it nests, too
    top = backend.start("top", root)
    spans = [top]
    for n in range(12):
        spans.append(backend.start(f"level{n}", spans[-1]))
    for span in reversed(spans[1:]):
        backend.finish(span)
    backend.send(top.to_dict())
    assert emitter.dropped == 2 and emitter.dropped_subsegments == 6 + 13


class CountingEncoder:
    """Wraps the JSON encoder to count the bytes it produces (the work of splitting)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bytes = 0
        self.calls = 0
        real = _json.dumps_bytes

        def counting(obj: Any) -> bytes:
            out = real(obj)
            self.calls += 1
            self.bytes += len(out)
            return out

        monkeypatch.setattr(_json, "dumps_bytes", counting)


def deep_chain(backend: XRayBackend, depth: int) -> list[str]:
    """Open ``depth`` nested spans (each with 1 KB of metadata), close them innermost first."""
    root = Root(TRACE, "c" * 16)
    spans = []
    parent: Any = root
    for i in range(depth):
        span = backend.start(f"level {i}", parent)
        backend.add_metadata(span, "svc", "blob", "m" * 1000)
        spans.append(span)
        parent = span
    for span in reversed(spans):
        backend.finish(span)
    return [s.id for s in spans]


@pytest.mark.parametrize("depth", [100, 200, 400])
def test_splitting_a_deep_document_is_linear_and_complete(daemon, monkeypatch, xray_validator, depth):
    """A deeply nested oversized trace: the bytes encoded stay within a small multiple of the bytes
    sent (linear work, not quadratic), and every subsegment arrives exactly once, with the right
    parent, in datagrams within the limit, each valid."""
    daemon.clear()
    counter = CountingEncoder(monkeypatch)
    emitter = UDPEmitter(daemon.address)
    try:
        ids = deep_chain(XRayBackend(emitter), depth)
        spans = daemon.wait_for(depth, timeout=10)
        assert emitter.dropped == 0
    finally:
        emitter.close()
    sent = sum(len(d) for d in daemon.datagrams)
    assert sent > 64 * 1024, "the trace must need splitting"
    assert counter.bytes <= 2 * sent, f"encoded {counter.bytes} bytes to send {sent}: not linear"
    assert all(len(d) <= IPV4_MAX_PAYLOAD for d in daemon.datagrams)
    assert sorted(s["id"] for s in spans) == sorted(ids), "each subsegment exactly once"
    parents = {s["id"]: s["parent_id"] for s in spans}
    assert parents[ids[0]] == "c" * 16
    assert all(parents[ids[i]] == ids[i - 1] for i in range(1, depth))
    for raw in daemon.datagrams:
        sent_doc = json.loads(raw.partition(b"\n")[2])
        assert not list(xray_validator.iter_errors(sent_doc))
    assert all(s["metadata"]["svc"]["blob"] == "m" * 1000 for s in spans), "nothing cut"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 30_000)), min_size=1, max_size=40))
def test_any_tree_is_packed_once_within_the_limit(xray_validator, shape):
    """Any tree of subsegments, any sizes: each payload fits a datagram and validates, each entity
    is in exactly one payload, and each keeps its true parent (nested or by parent_id)."""
    docs = []
    for i, (pick, pad) in enumerate(shape):
        parent = docs[pick % i] if i else None
        doc = {
            "name": f"n{i}",
            "id": f"{i:016x}",
            "start_time": 1.0,
            "end_time": 2.0,
            "trace_id": TRACE,
            "parent_id": parent["id"] if parent else "f" * 16,
            "type": "subsegment",
            "metadata": {"svc": {"pad": "p" * pad}},
        }
        if parent is not None:
            parent.setdefault("subsegments", []).append(doc)
        docs.append(doc)
    true_parent = {d["id"]: d["parent_id"] for d in docs}
    payloads = pack(docs[0])
    seen: list[str] = []
    for payload in payloads:
        assert len(HEADER) + len(payload) <= MAX_DATAGRAM
        sent = json.loads(payload)
        assert not list(xray_validator.iter_errors(sent))
        stack = [(sent, None)]
        while stack:
            node, nested_in = stack.pop()
            seen.append(node["id"])
            assert node["parent_id"] == true_parent[node["id"]]
            assert nested_in is None or nested_in == node["parent_id"]
            stack.extend((child, node["id"]) for child in node.get("subsegments", []))
    assert sorted(seen) == sorted(true_parent)


@pytest.mark.parametrize("address", ["no-such-host.invalid:2000", "not an address"])
@pytest.mark.parametrize("mode", ["xray", "otlp"])
def test_a_bad_daemon_address_warning_names_the_variable_and_value(caplog, address, mode):
    """An unresolvable (or malformed) daemon address is reported naming AWS_XRAY_DAEMON_ADDRESS and
    its value, by either emitter; nothing is sent and nothing raises."""
    from lambda_observe import _warn
    from lambda_observe.tracing._otlp_emit import OtlpEmitter

    _warn.forget()
    with caplog.at_level(logging.WARNING, logger="lambda_observe"):
        emitter: Any = UDPEmitter(address) if mode == "xray" else OtlpEmitter(address)
    said = [r.getMessage() for r in caplog.records if "will not be sent" in r.getMessage()]
    assert len(said) == 1 and f"AWS_XRAY_DAEMON_ADDRESS={address!r}" in said[0], said
    assert emitter.address is None
    if mode == "xray":
        emitter.send({"name": "x", "id": "a" * 16, "start_time": 1.0, "end_time": 2.0, "trace_id": TRACE})
