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
    if value < 16384:
        return bytes(((value & 0x7F) | 0x80, value >> 7))
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


_MEMO: dict[tuple[bytes, str, type, Any], bytes] = {}
_MEMO_MAX = 2048


def _field(tag: bytes, key: str, value: Any) -> bytes:
    """One ``KeyValue`` field; small scalar pairs (the same every invocation) are encoded once."""
    kind = type(value)
    if kind is bool or kind is int or (kind is str and len(value) <= 32):  # not request ids (36)
        memo = (tag, key, kind, value)
        found = _MEMO.get(memo)
        if found is None:
            found = _ld(tag, _ld(b"\x0a", _text(key)) + _ld(b"\x12", any_value(value)))
            if len(_MEMO) < _MEMO_MAX:
                _MEMO[memo] = found
        return found
    return _ld(tag, _ld(b"\x0a", _text(key)) + _ld(b"\x12", any_value(value)))


def _attributes(tag: bytes, attributes: Mapping[str, Any]) -> bytes:
    return b"".join([_field(tag, k, v) for k, v in attributes.items()])


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


_TIMES = struct.Struct("<BQBQ").pack
_FLAGS = (b"\x85\x01" + _pack_i(FLAG_HAS_IS_REMOTE), b"\x85\x01" + _pack_i(FLAG_HAS_IS_REMOTE | FLAG_IS_REMOTE))
_KIND_FIELDS = [b"", *(b"\x30" + bytes((k,)) for k in range(1, 6))]
_NAMES: dict[str, bytes] = {}


def _name_field(name: str) -> bytes:
    found = _NAMES.get(name)
    if found is None:
        found = _ld(b"\x2a", _text(name))
        if len(_NAMES) < 1024:  # span names are few
            _NAMES[name] = found
    return found


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
    encoded_attributes: bytes = b"",
) -> bytes:
    """A ``Span`` message; ``events`` and ``links`` are already encoded by :func:`event` / :func:`link`.

    ``encoded_attributes``: attribute fields encoded beforehand (by :func:`attribute_fields`),
    appended after ``attributes``: what is the same for every invocation is encoded once.
    """
    if len(trace_id) == 16 and len(span_id) == 8:
        out = b"\x0a\x10" + trace_id + b"\x12\x08" + span_id
    else:
        out = _ld(b"\x0a", trace_id) + _ld(b"\x12", span_id)
    if parent_id:
        out += b"\x22\x08" + parent_id if len(parent_id) == 8 else _ld(b"\x22", parent_id)
    out += _name_field(name)
    if kind:
        out += _KIND_FIELDS[kind] if 0 < kind < 6 else b"\x30" + varint(kind)
    out += _TIMES(0x39, start_ns & _U64, 0x41, end_ns & _U64)
    if attributes:
        memo = _MEMO
        for key, value in attributes.items():
            vtype = type(value)
            small = vtype is bool or vtype is int or (vtype is str and len(value) <= 32)
            found = memo.get((b"\x4a", key, vtype, value)) if small else None
            out += found if found is not None else _field(b"\x4a", key, value)
    out += encoded_attributes
    if events:
        out += b"".join([_ld(b"\x5a", e) for e in events])
    if links:
        out += b"".join([_ld(b"\x6a", lk) for lk in links])
    if status_code or status_message:
        status = (_ld(b"\x12", _text(status_message)) if status_message else b"") + (
            b"\x18" + varint(status_code) if status_code else b""
        )
        out += _ld(b"\x7a", status)
    else:
        out += b"\x7a\x00"  # an empty (UNSET) status, present as the SDK's encoder writes it
    return out + _FLAGS[1 if remote_parent else 0]


def attribute_fields(attributes: Mapping[str, Any]) -> bytes:
    """Span attribute fields encoded now, for :func:`span`'s ``encoded_attributes``."""
    return _attributes(b"\x4a", attributes)


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


def request_one(resource_field: bytes, scope_field: bytes, spans: Iterable[bytes]) -> bytes:
    """An ``ExportTraceServiceRequest`` with one resource and one scope (the common case, fast).

    ``resource_field`` and ``scope_field`` are :func:`field` of the resource and scope messages,
    encoded once per process.
    """
    scoped = scope_field + b"".join([b"\x12" + varint(len(s)) + s for s in spans])
    body = resource_field + b"\x12" + varint(len(scoped)) + scoped
    return b"\x0a" + varint(len(body)) + body


def field(tag: bytes, body: bytes) -> bytes:
    """A length-delimited field (public for callers that encode a part once and reuse it)."""
    return _ld(tag, body)


def request_overhead(resource_msg: bytes, scope_msg: bytes) -> int:
    """Bytes a request spends besides its spans' own (upper bound, for splitting)."""
    return len(resource_msg) + len(scope_msg) + 3 * 10
