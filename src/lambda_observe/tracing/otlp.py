"""The ``otlp`` backend: OpenTelemetry spans as OTLP protobuf over UDP, without the SDK.

Each span is encoded once, when it ends (:mod:`._otlp_proto`); the invocation's spans travel
together in one datagram when the handler's span ends, framed as AWS's distro frames them
(:mod:`._otlp_emit`). A single span too large for a datagram on its own loses its metadata first,
then its other details, with an attribute that says so. Nothing is dropped silently.

The warm path is kept short: ids are bytes from the start (the trace id is decoded once per
invocation, span ids are drawn as bytes), what is the same for every invocation (the handler's
FaaS and cloud attributes, the resource, the scope, small attribute pairs) is encoded once per
process, and a span is joined from its parts in one step.
"""

from __future__ import annotations

import time
from typing import Any

from . import _otel_map as otel_map
from . import _otlp_proto as proto
from ._otel_base import OtelBase
from ._otlp_emit import MAX_DATAGRAM, MAX_REQUEST, OtlpEmitter
from ._otlp_proto import HEADS, PARENT_TAG, STATUS_UNSET, times
from ._span import (
    _bits,  # lambda_observe's own generator: reseeded after fork and SnapStart restore
    clean_name,
)

__all__ = ["MAX_DATAGRAM", "MAX_REQUEST", "OtlpBackend", "OtlpEmitter", "OtlpRoot", "OtlpSpan"]

TRUNCATED_KEY = "lambda_observe.truncated"
SCOPE = proto.scope("lambda_observe", "0.1.0")
_from_hex = bytes.fromhex
_time_ns = time.time_ns
_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)
_U64 = 0xFFFFFFFFFFFFFFFF
#: Above this size a span is measured against the room it really has in a datagram beside the
#: resource and scope (see ``_fit``): a span this small fits beside any resource under 60 KB.
_LARGE = 4096


def _new_span_id() -> bytes:
    """A random, non-zero 8-byte span id (unique, not secret: no system call needed)."""
    return (_bits(64) or 1).to_bytes(8, "big")


class OtlpRoot:
    """Where an invocation's trace hangs: the ids from the trace header, and its finished spans."""

    __slots__ = ("done", "flushed", "head", "inv", "open", "others", "parent_id", "sampled", "trace_hex", "trace_id")
    type = "segment"

    def __init__(self, trace_id: bytes, parent_id: bytes | None, sampled: bool, inv: Any, trace_hex: str) -> None:
        self.trace_id = trace_id
        self.head = b"\x0a\x10" + trace_id + b"\x12\x08"  # proto.ids_head(): the first fields of each of its spans
        self.trace_hex = trace_hex
        self.parent_id = parent_id
        self.sampled = sampled
        self.inv = inv
        self.open: dict[Any, Any] = {}
        self.done: list[bytes] = []  # encoded spans of lambda_observe's own scope
        self.others: list[tuple[bytes, bytes]] | None = None  # (scope, encoded span) of instrumentations
        self.flushed = False

    @property
    def id(self) -> str:
        return self.parent_id.hex() if self.parent_id else ""


class OtlpSpan:
    """One span, kept small: its attributes are encoded once, when it ends."""

    __slots__ = (
        "annotations",
        "attributes",
        "encoded",
        "end_ns",
        "events",
        "kind",
        "links",
        "name",
        "parent",
        "root",
        "scope",
        "span_id",
        "start_ns",
        "status",
        "status_message",
    )
    type = "subsegment"

    def __init__(self, name: str, parent: Any, root: OtlpRoot, kind: int = otel_map.KIND_INTERNAL) -> None:
        self.span_id = (_bits(64) or 1).to_bytes(8, "big")
        self.name = name
        self.parent = parent
        self.root = root
        self.kind = kind
        self.start_ns = _time_ns()
        self.end_ns = 0
        self.attributes: dict[str, Any] = {}
        self.annotations: tuple[str, ...] = ()
        self.events: list[bytes] | None = None
        self.links: list[bytes] | None = None
        self.status = 0
        self.status_message = ""
        self.scope = SCOPE
        self.encoded = b""  # attributes encoded beforehand (the handler's, the same every invocation)

    @property
    def id(self) -> str:
        return self.span_id.hex()

    @property
    def start_time(self) -> float:
        return self.start_ns / 1e9

    @property
    def parent_bytes(self) -> bytes | None:
        parent = self.parent
        return parent.parent_id if isinstance(parent, OtlpRoot) else parent.span_id

    def encode(self, attributes: dict[str, Any] | None = None, details: bool = True) -> bytes:
        """The ``Span`` message (what :func:`._otlp_proto.span` makes, byte for byte, joined here in one
        step); ``attributes`` instead of the span's own; without ``details``, no events and no
        attributes encoded beforehand."""
        root = self.root
        parent = self.parent
        if parent is not root:
            parts = [root.head, self.span_id, PARENT_TAG, parent.span_id]
            remote = False
        elif root.parent_id is not None:  # the handler's span: its parent is the header's, remote
            parts = [root.head, self.span_id, PARENT_TAG, root.parent_id]
            remote = True
        else:  # a header without Parent: a root span
            parts = [root.head, self.span_id]
            remote = False
        kind = self.kind
        found = HEADS[kind].get(self.name) if 0 <= kind < 6 else None
        parts.append(found if found is not None else proto.head(self.name, kind))
        parts.append(times(0x39, self.start_ns & _U64, 0x41, self.end_ns & _U64))
        if attributes is None:
            attributes = self.attributes
        if attributes:
            parts.append(proto.span_attributes(attributes))
        if details:
            parts.append(self.encoded)
        keys = self.annotations
        if keys:
            parts.append(_KEYS.get(keys) or _annotation_keys(keys))
        if self.status or (details and self.events) or self.links:
            parts.append(
                proto.span_tail(self.events if details else None, self.links, self.status, self.status_message, remote)
            )
        else:
            parts.append(STATUS_UNSET[remote])
        return b"".join(parts)


_KEYS: dict[tuple[str, ...], bytes] = {}


def _annotation_keys(keys: tuple[str, ...]) -> bytes:
    """The ``aws.xray.annotations`` attribute for these keys (encoded once per set of keys)."""
    found = _KEYS.get(keys)
    if found is None:
        found = proto.attribute_fields({otel_map.ANNOTATIONS_KEY: list(keys)})
        if len(_KEYS) < 256:
            _KEYS[keys] = found
    return found


#: Span names as :func:`._span.clean_name` makes them (a look-up here saves the call).
_CLEAN: dict[Any, str] = {}


def _clean(name: Any) -> str:
    cleaned = clean_name(name)
    if len(_CLEAN) < 1024 and isinstance(name, str):
        _CLEAN[name] = cleaned
    return cleaned


#: The ``faas.invocation_id`` field up to its value, per length of the request id (in UTF-8).
_RID_HEADS: dict[int, bytes] = {}


def _rid_head(size: int) -> bytes:
    head = proto.string_field("faas.invocation_id", "x" * size)[: -size or None]
    if len(_RID_HEADS) < 64:
        _RID_HEADS[size] = head
    return head


_HANDLER_STATIC: dict[tuple[str, str, str, str], tuple[bytes, bytes]] = {}


def _handler_static(key: tuple[str, str, str, str], inv: Any, faas_trigger: str) -> tuple[bytes, bytes]:
    """The handler span's attributes but its request id, encoded (warm, cold): the same every invocation."""
    fixed = otel_map.handler_attributes(inv, faas_trigger)
    del fixed["faas.invocation_id"]
    static = (
        proto.attribute_fields({**fixed, "faas.coldstart": False}),
        proto.attribute_fields({**fixed, "faas.coldstart": True}),
    )
    if len(_HANDLER_STATIC) < 64:
        _HANDLER_STATIC[key] = static
    return static


def _fit(span: OtlpSpan, room: int) -> bytes:
    """``span`` encoded to fit ``room`` bytes: whole; without metadata; then identity only."""
    data = span.encode()
    if len(data) <= room:
        return data
    size = len(data)
    keep = {
        k: (v[:1000] if isinstance(v, str) else v)
        for k, v in span.attributes.items()
        if k.startswith(("faas.", "cloud.")) or (span.annotations and k in span.annotations)
    }
    keep[TRUNCATED_KEY] = f"span was {size} bytes, over the UDP datagram limit; metadata removed"
    data = span.encode(keep)
    if len(data) <= room:
        return data
    span.annotations = ()
    note = {TRUNCATED_KEY: f"span was {size} bytes, over the UDP datagram limit; attributes and events removed"}
    return span.encode(note, details=False)


class OtlpBackend(OtelBase):
    """Builds OTel spans from the public API and sends them with :class:`OtlpEmitter`."""

    name = "otlp"

    def __init__(self, emitter: OtlpEmitter) -> None:
        self.emitter = emitter

    def root(self, invocation: Any) -> OtlpRoot | None:
        trace = invocation.trace
        if trace is None:
            return None
        header_root = trace.root  # 1-5f8aa8d2-1f0f...: validated by the header's parser
        trace_hex = (header_root[2:10] + header_root[11:]).lower()  # as OTel writes ids, whatever the header's case
        trace_id = _from_hex(trace_hex)
        parent = trace.parent
        parent_id = _from_hex(parent) if parent else None
        if trace_id == _ZERO_TRACE or parent_id == _ZERO_SPAN:  # invalid in OTel: untraced, as a malformed header
            return None
        return OtlpRoot(trace_id, parent_id, trace.sampled, invocation, trace_hex)

    def start(self, name: str, parent: Any, namespace: str | None = None) -> OtlpSpan:
        root = parent if parent.__class__ is OtlpRoot else parent.root
        span = OtlpSpan((type(name) is str and _CLEAN.get(name)) or _clean(name), parent, root)
        root.open[span] = span
        return span

    def start_handler(self, name: str, root: OtlpRoot, inv: Any, event: Any) -> OtlpSpan:
        """The handler's span: its kind and FaaS attributes from the event; its ids on the log lines.

        Its FaaS and cloud attributes are encoded once per process (cold and warm), its request id
        after the same memoized key and length each time.
        """
        faas_trigger, kind = otel_map.trigger(event)
        span = OtlpSpan((type(name) is str and _CLEAN.get(name)) or _clean(name), root, root, kind)
        root.open[span] = span
        key = (faas_trigger, inv.function_arn, inv.function_name, inv.function_version)
        static = _HANDLER_STATIC.get(key) or _handler_static(key, inv, faas_trigger)
        try:
            data = inv.request_id.encode()
        except UnicodeEncodeError:  # a lone surrogate: replaced, as any text is (proto._text)
            field = proto.string_field("faas.invocation_id", inv.request_id)
        else:
            field = (_RID_HEADS.get(len(data)) or _rid_head(len(data))) + data
        span.encoded = static[inv.cold_start] + field
        inv.ids = (root.trace_hex, span.span_id.hex())
        return span

    def finish(self, span: OtlpSpan, end_ns: int = 0) -> None:
        """:meth:`OtelBase.finish`, with ``_close`` in line for the usual small span of our scope."""
        if span.end_ns:
            return
        span.end_ns = end_ns or _time_ns()
        data = span.encode()
        root = span.root
        if len(data) <= _LARGE and span.scope is SCOPE:
            root.done.append(data)
        else:
            self._keep(span, data)
        root.open.pop(span, None)
        if span.parent is root or root.flushed:
            self.flush(root)

    def _close(self, span: OtlpSpan, end_ns: int) -> None:
        span.end_ns = end_ns or _time_ns()
        self._keep(span, span.encode())

    def _keep(self, span: OtlpSpan, data: bytes) -> None:
        """Hold the encoded span until the flush; a large one is first measured against its real room."""
        root = span.root
        if len(data) > _LARGE:  # a large span: measure the room it really has beside the resource and scope
            inv = root.inv
            room = self.emitter.span_room(inv.service if inv is not None else "service_undefined", span.scope)
            if len(data) > room:
                data = _fit(span, room)
        if span.scope is SCOPE:
            root.done.append(data)
        elif root.others is None:
            root.others = [(span.scope, data)]
        else:
            root.others.append((span.scope, data))

    def drop(self, span: OtlpSpan) -> None:
        """Forget an open span without sending it (a call to an ignored host)."""
        span.end_ns = span.end_ns or _time_ns()
        span.root.open.pop(span, None)

    def instrument(self, name: str) -> None:
        """``patch(name)`` in otlp mode: the OpenTelemetry instrumentation, on a minimal provider."""
        from ._otel_instrument import instrument

        instrument(name)

    def flush(self, root: OtlpRoot) -> None:
        """Send the invocation's finished spans now."""
        done, others = root.done, root.others
        root.done, root.others, root.flushed = [], None, True
        inv = root.inv
        self.emitter.send(SCOPE, done, root.sampled, inv.service if inv is not None else "service_undefined", others)

    def annotate(self, span: Any, key: str, value: str | float | bool) -> None:
        span.attributes[key] = value
        if key not in span.annotations:
            span.annotations += (key,)

    def _set_attribute(self, span: Any, key: str, value: Any) -> None:
        span.attributes[key] = value

    def _set_error(self, span: Any, message: str) -> None:
        span.status = 2
        span.status_message = message

    def _add_event(self, span: Any, name: str, attributes: dict[str, Any]) -> None:
        data = proto.event(_time_ns(), name, attributes)
        if span.events is None:
            span.events = [data]
        else:
            span.events.append(data)

    def _add_link(self, span: Any, trace_id: bytes, span_id: bytes) -> None:
        link = proto.link(trace_id, span_id)
        if span.links is None:
            span.links = [link]
        else:
            span.links.append(link)
