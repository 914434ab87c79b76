"""A small protobuf encoder for the OTLP trace messages lambda_observe sends.

Only what ``ExportTraceServiceRequest`` needs (opentelemetry/proto/trace/v1/trace.proto and
common/v1/common.proto), written by hand so the ``otlp`` mode imports nothing from the
OpenTelemetry SDK or protobuf. Each function returns the encoded bytes of one message; a span
is encoded once, when it ends, and a request is the concatenation of encoded spans under a
resource and a scope that are encoded once per process.

The warm path is made of parts encoded once and joined: the fixed-size ids and times need no
length; a span's name and kind, an attribute's key and small scalar attribute pairs (the same
every invocation) are memoized; a request is joined once, its lengths added up beforehand.
:func:`span` is the general encoder; the ``otlp`` backend joins the same parts itself
(:meth:`lambda_observe.tracing.otlp.OtlpSpan.encode`), and the tests hold the two byte for byte
equal, and both to what ``opentelemetry-proto`` decodes.

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
    "BOOL_FIELDS",
    "FLAG_HAS_IS_REMOTE",
    "FLAG_IS_REMOTE",
    "INT_FIELDS",
    "PARENT_TAG",
    "STATUS_UNSET",
    "STR_FIELDS",
    "any_value",
    "attribute_fields",
    "clear_memos",
    "event",
    "field",
    "head",
    "ids_head",
    "key_values",
    "link",
    "request",
    "request_one",
    "resource",
    "scope",
    "span",
    "span_attributes",
    "span_field",
    "span_tail",
    "string_field",
    "times",
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


#: Strings up to this many characters are memoized as attribute values (request ids, 36, are not).
_MEMO_TEXT = 32
_MEMO_MAX = 2048
#: Span attribute fields (tag 9) of small scalar pairs, keyed by the ``(key, value)`` item: one table
#: per value type, so ``True`` and ``1`` (equal, with equal hashes) never meet. A miss goes to
#: :func:`span_field`, which fills them.
STR_FIELDS: dict[tuple[str, Any], bytes] = {}
BOOL_FIELDS: dict[tuple[str, Any], bytes] = {}
INT_FIELDS: dict[tuple[str, Any], bytes] = {}
_SPAN_MEMOS: dict[type, dict[tuple[str, Any], bytes]] = {str: STR_FIELDS, bool: BOOL_FIELDS, int: INT_FIELDS}
#: ``KeyValue.key`` fields (tag, length, UTF-8), per attribute key: keys are few.
_KEYS: dict[str, bytes] = {}


def _key_field(key: str) -> bytes:
    found = _KEYS.get(key)
    if found is None:
        found = _ld(b"\x0a", _text(key))
        if len(_KEYS) < _MEMO_MAX:
            _KEYS[key] = found
    return found


def _encode_field(tag: bytes, key: str, value: Any) -> bytes:
    """One ``KeyValue`` field (``tag``: 9 for a span's attributes, 1 for a resource's...), in full."""
    key_part = _KEYS.get(key) or _key_field(key)
    if value.__class__ is str:  # the usual attribute: no general dispatch
        data = _text(value)
        n = len(data)
        if n < 126:
            body = len(key_part) + n + 4
            if body < 128:
                return b"".join((tag, _SMALL[body], key_part, b"\x12", _SMALL[n + 2], b"\x0a", _SMALL[n], data))
        return _ld(tag, key_part + _ld(b"\x12", b"\x0a" + varint(n) + data))
    return _ld(tag, key_part + _ld(b"\x12", any_value(value)))


def span_field(item: tuple[str, Any]) -> bytes:
    """A span attribute field (tag 9) for ``(key, value)``; small scalar pairs are kept for next time."""
    key, value = item
    found = _encode_field(b"\x4a", key, value)
    memo = _SPAN_MEMOS.get(value.__class__)
    if memo is not None and len(memo) < _MEMO_MAX and (value.__class__ is not str or len(value) <= _MEMO_TEXT):
        memo[item] = found
    return found


def span_attributes(attributes: Mapping[str, Any]) -> bytes:
    """A span's ``attributes`` fields (tag 9): small scalar pairs from the memo, the rest encoded."""
    out = []
    for item in attributes.items():
        cls = item[1].__class__
        found = (
            STR_FIELDS.get(item)
            if cls is str
            else BOOL_FIELDS.get(item)
            if cls is bool
            else INT_FIELDS.get(item)
            if cls is int
            else None
        )
        out.append(found if found is not None else span_field(item))
    return b"".join(out)


_STRING_HEADS: dict[tuple[str, int], bytes] = {}


def string_field(key: str, value: str) -> bytes:
    """A span attribute field (tag 9) with a string value; what comes before the value is
    memoized per key and length (a request id: the same key and length every invocation)."""
    data = _text(value)
    found = _STRING_HEADS.get((key, len(data)))
    if found is None:
        whole = _encode_field(b"\x4a", key, value)
        found = whole[: len(whole) - len(data)]
        if len(_STRING_HEADS) < _MEMO_MAX:
            _STRING_HEADS[(key, len(data))] = found
        return whole
    return found + data


def _attributes(tag: bytes, attributes: Mapping[str, Any]) -> bytes:
    if tag == b"\x4a":
        return span_attributes(attributes)
    return b"".join([_encode_field(tag, k, v) for k, v in attributes.items()])


def attribute_fields(attributes: Mapping[str, Any]) -> bytes:
    """Span attribute fields encoded now, for :func:`span`'s ``encoded_attributes``."""
    return span_attributes(attributes)


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


#: The start and end time fields of a span: ``times(0x39, start_ns, 0x41, end_ns)``.
times = struct.Struct("<BQBQ").pack
#: The tag and length of an 8-byte ``parent_span_id``.
PARENT_TAG = b"\x22\x08"
_FLAGS = (b"\x85\x01" + _pack_i(FLAG_HAS_IS_REMOTE), b"\x85\x01" + _pack_i(FLAG_HAS_IS_REMOTE | FLAG_IS_REMOTE))
#: A span's last fields when its status is UNSET: the empty status (present, as the SDK's encoder
#: writes it), then the flags; indexed by whether the parent is remote.
STATUS_UNSET = (b"\x7a\x00" + _FLAGS[0], b"\x7a\x00" + _FLAGS[1])
#: The name and kind fields of a span, per kind (0-5), per name: names are few.
HEADS: list[dict[str, bytes]] = [{} for _ in range(6)]


def ids_head(trace_id: bytes) -> bytes:
    """A span's first fields up to its span id's value: trace id (16 bytes), then the span id's tag."""
    return b"\x0a\x10" + trace_id + b"\x12\x08"


def head(name: str, kind: int) -> bytes:
    """The ``name`` and ``kind`` fields (memoized for the usual kinds, 0-5: span names are few)."""
    table = HEADS[kind] if 0 <= kind < 6 else None
    found = table.get(name) if table is not None else None
    if found is None:
        found = _ld(b"\x2a", _text(name)) + (b"\x30" + varint(kind) if kind else b"")
        if table is not None and len(table) < 1024:
            table[name] = found
    return found


def span_tail(
    events: Iterable[bytes] | None,
    links: Iterable[bytes] | None,
    status_code: int,
    status_message: str,
    remote_parent: bool,
) -> bytes:
    """A span's fields after its attributes: events, links, status, flags."""
    parts = [_ld(b"\x5a", e) for e in events or ()]
    parts.extend([_ld(b"\x6a", lk) for lk in links or ()])
    if status_code or status_message:
        status = (_ld(b"\x12", _text(status_message)) if status_message else b"") + (
            b"\x18" + varint(status_code) if status_code else b""
        )
        parts.append(_ld(b"\x7a", status))
        parts.append(_FLAGS[1 if remote_parent else 0])
    else:
        parts.append(STATUS_UNSET[1 if remote_parent else 0])
    return b"".join(parts)


def span(
    trace_id: bytes,
    span_id: bytes,
    parent_id: bytes | None,
    name: str,
    kind: int,
    start_ns: int,
    end_ns: int,
    attributes: Mapping[str, Any],
    events: Iterable[bytes] | None = (),
    links: Iterable[bytes] | None = (),
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
        parts = [ids_head(trace_id), span_id]
    else:
        parts = [_ld(b"\x0a", trace_id), _ld(b"\x12", span_id)]
    if parent_id:
        parts.append(PARENT_TAG + parent_id if len(parent_id) == 8 else _ld(b"\x22", parent_id))
    parts.append(head(name, kind))
    parts.append(times(0x39, start_ns & _U64, 0x41, end_ns & _U64))
    if attributes:
        parts.append(span_attributes(attributes))
    parts.append(encoded_attributes)
    parts.append(span_tail(events, links, status_code, status_message, remote_parent))
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


#: ``b"\x12"`` + varint(n) and ``b"\x0a"`` + varint(n), per length n: lengths repeat from one
#: invocation to the next (the same spans), and a dictionary look-up is cheaper than the arithmetic.
_TAGS_12: dict[int, bytes] = {}
_TAGS_0A: dict[int, bytes] = {}


def _length_tag(table: dict[int, bytes], tag: bytes, n: int) -> bytes:
    found = table[n] = tag + varint(n)
    if len(table) > _MEMO_MAX:
        table.clear()
    return found


def request_one(resource_field: bytes, scope_field: bytes, spans: Iterable[bytes]) -> bytes:
    """An ``ExportTraceServiceRequest`` with one resource and one scope (the common case, fast).

    ``resource_field`` and ``scope_field`` are :func:`field` of the resource and scope messages,
    encoded once per process. The lengths are added up first, so the request is joined once.
    """
    tags = _TAGS_12
    parts = [b"", resource_field, b"", scope_field]
    size = len(scope_field)
    for data in spans:
        n = len(data)
        tag = tags.get(n) or _length_tag(tags, b"\x12", n)
        parts.append(tag)
        parts.append(data)
        size += n + len(tag)
    scoped = parts[2] = tags.get(size) or _length_tag(tags, b"\x12", size)
    size += len(resource_field) + len(scoped)
    parts[0] = _TAGS_0A.get(size) or _length_tag(_TAGS_0A, b"\x0a", size)
    return b"".join(parts)


def field(tag: bytes, body: bytes) -> bytes:
    """A length-delimited field (public for callers that encode a part once and reuse it)."""
    return _ld(tag, body)


def clear_memos() -> None:
    """Forget every memoized encoding (for tests that change the encoder)."""
    for memo in _SPAN_MEMOS.values():
        memo.clear()
    _KEYS.clear()
    _STRING_HEADS.clear()
    _TAGS_12.clear()
    _TAGS_0A.clear()
    for table in HEADS:
        table.clear()
