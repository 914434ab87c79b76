"""A small protobuf encoder for the OTLP trace messages lambda_observe sends.

Only what ``ExportTraceServiceRequest`` needs (opentelemetry/proto/trace/v1/trace.proto and
common/v1/common.proto), written by hand so the ``otlp`` mode imports nothing from the
OpenTelemetry SDK or protobuf. Each function returns the encoded bytes of one message; a span
is encoded once, when it ends, and a request is the concatenation of encoded spans under a
resource and a scope that are encoded once per process.

Field numbers (wire type in brackets):

- ExportTraceServiceRequest: resource_spans 1 [LEN]
- ResourceSpans: resource 1 [LEN], scope_spans 2 [LEN]
- Resource: attributes 1 [LEN]
- ScopeSpans: scope 1 [LEN], spans 2 [LEN]
- InstrumentationScope: name 1 [LEN], version 2 [LEN]
- Span: trace_id 1, span_id 2, parent_span_id 4, name 5 [LEN]; kind 6 [VARINT];
  start 7, end 8 [I64]; attributes 9, events 11, links 13, status 15 [LEN]; flags 16 [I32]
- Event: time 1 [I64], name 2 [LEN], attributes 3 [LEN]
- Link: trace_id 1, span_id 2, attributes 4 [LEN], flags 6 [I32]
- Status: message 2 [LEN], code 3 [VARINT]
- KeyValue: key 1 [LEN], value 2 [LEN]; KeyValueList / ArrayValue: values 1 [LEN]
- AnyValue: string 1 [LEN], bool 2 [VARINT], int 3 [VARINT], double 4 [I64], array 5,
  kvlist 6, bytes 7 [LEN]
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "FLAG_HAS_IS_REMOTE",
    "FLAG_IS_REMOTE",
    "any_value",
    "event",
    "key_values",
    "link",
    "request",
    "resource",
    "scope",
    "span",
    "varint",
]

FLAG_HAS_IS_REMOTE = 0x100
FLAG_IS_REMOTE = 0x200
_U64 = 0xFFFFFFFFFFFFFFFF
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_MAX_DEPTH = 16  # nested arrays / maps deeper than this are sent as their text
_pack_d = struct.Struct("<d").pack
_pack_q = struct.Struct("<Q").pack
_pack_i = struct.Struct("<I").pack
_SMALL = [bytes((n,)) for n in range(128)]


def varint(value: int) -> bytes:
    """``value`` (0 <= value < 2**64) as a base-128 varint."""
    if value < 128:
        return _SMALL[value]
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _ld(tag: bytes, body: bytes) -> bytes:
    """A length-delimited field: tag, length, body."""
    n = len(body)
    return tag + (_SMALL[n] if n < 128 else varint(n)) + body


def _text(value: str) -> bytes:
    # Protobuf strings must be UTF-8: a lone surrogate becomes "?" rather than an undecodable message.
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace")


def any_value(value: Any, depth: int = 0) -> bytes:
    """An ``AnyValue`` for a Python value: str, bool, int, float, bytes, sequence, mapping."""
    if isinstance(value, str):
        return _ld(b"\x0a", _text(value))
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, int):
        if _INT64_MIN <= value <= _INT64_MAX:
            return b"\x18" + varint(value & _U64)
        return _ld(b"\x0a", str(value).encode())  # beyond int64: keep the digits as text
    if isinstance(value, float):
        return b"\x21" + _pack_d(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _ld(b"\x3a", bytes(value))
    if depth < _MAX_DEPTH:
        if isinstance(value, Mapping):
            return _ld(b"\x32", key_values(value.items(), depth + 1))
        if isinstance(value, (list, tuple)):
            return _ld(b"\x2a", b"".join(_ld(b"\x0a", any_value(v, depth + 1)) for v in value))
    try:
        text = str(value)
    except Exception:
        text = f"<unprintable {type(value).__name__}>"
    return _ld(b"\x0a", _text(text))


def key_values(items: Iterable[tuple[Any, Any]], depth: int = 0) -> bytes:
    """Repeated ``KeyValue`` fields numbered 1 (attributes of a span, a resource, a kvlist...)."""
    return b"".join(_ld(b"\x0a", _ld(b"\x0a", _text(str(k))) + _ld(b"\x12", any_value(v, depth))) for k, v in items)


def _attributes(tag: bytes, attributes: Mapping[str, Any]) -> bytes:
    return b"".join(_ld(tag, _ld(b"\x0a", _text(k)) + _ld(b"\x12", any_value(v))) for k, v in attributes.items())


def event(time_ns: int, name: str, attributes: Mapping[str, Any]) -> bytes:
    """An ``Event`` message."""
    return b"\x09" + _pack_q(time_ns & _U64) + _ld(b"\x12", _text(name)) + _attributes(b"\x1a", attributes)


def link(trace_id: bytes, span_id: bytes, attributes: Mapping[str, Any] | None = None, remote: bool = True) -> bytes:
    """A ``Link`` message."""
    flags = FLAG_HAS_IS_REMOTE | (FLAG_IS_REMOTE if remote else 0)
    return (
        _ld(b"\x0a", trace_id)
        + _ld(b"\x12", span_id)
        + _attributes(b"\x22", attributes or {})
        + b"\x35"
        + _pack_i(flags)
    )


def span(
    trace_id: bytes,
    span_id: bytes,
    parent_id: bytes | None,
    name: str,
    kind: int,
    start_ns: int,
    end_ns: int,
    attributes: Mapping[str, Any],
    events: Iterable[bytes] = (),
    links: Iterable[bytes] = (),
    status_code: int = 0,
    status_message: str = "",
    remote_parent: bool = False,
) -> bytes:
    """A ``Span`` message; ``events`` and ``links`` are already encoded by :func:`event` / :func:`link`."""
    parts = [_ld(b"\x0a", trace_id), _ld(b"\x12", span_id)]
    if parent_id:
        parts.append(_ld(b"\x22", parent_id))
    parts.append(_ld(b"\x2a", _text(name)))
    if kind:
        parts.append(b"\x30" + varint(kind))
    parts.append(b"\x39" + _pack_q(start_ns & _U64))
    parts.append(b"\x41" + _pack_q(end_ns & _U64))
    if attributes:
        parts.append(_attributes(b"\x4a", attributes))
    parts.extend(_ld(b"\x5a", e) for e in events)
    parts.extend(_ld(b"\x6a", lk) for lk in links)
    if status_code or status_message:
        status = (_ld(b"\x12", _text(status_message)) if status_message else b"") + (
            b"\x18" + varint(status_code) if status_code else b""
        )
        parts.append(_ld(b"\x7a", status))
    else:
        parts.append(b"\x7a\x00")  # an empty (UNSET) status, present as the SDK's encoder writes it
    flags = FLAG_HAS_IS_REMOTE | (FLAG_IS_REMOTE if remote_parent else 0)
    parts.append(b"\x85\x01" + _pack_i(flags))
    return b"".join(parts)


def resource(attributes: Mapping[str, Any]) -> bytes:
    """A ``Resource`` message."""
    return _attributes(b"\x0a", attributes)


def scope(name: str, version: str = "") -> bytes:
    """An ``InstrumentationScope`` message."""
    return _ld(b"\x0a", _text(name)) + (_ld(b"\x12", _text(version)) if version else b"")


def request(resource_msg: bytes, scopes: Iterable[tuple[bytes, Iterable[bytes]]]) -> bytes:
    """An ``ExportTraceServiceRequest`` with one resource and, per scope, its encoded spans."""
    body = _ld(b"\x0a", resource_msg) + b"".join(
        _ld(b"\x12", _ld(b"\x0a", scope_msg) + b"".join(_ld(b"\x12", s) for s in spans)) for scope_msg, spans in scopes
    )
    return _ld(b"\x0a", body)


def request_overhead(resource_msg: bytes, scope_msg: bytes) -> int:
    """Bytes a request spends besides its spans' own (upper bound, for splitting)."""
    return len(resource_msg) + len(scope_msg) + 3 * 10
