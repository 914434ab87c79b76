"""The ``otlp`` backend: OpenTelemetry spans as OTLP protobuf over UDP, without the SDK.

Spans go to ``AWS_XRAY_DAEMON_ADDRESS`` framed as AWS's distro frames them: the header
``{"format":"json","version":1}``, a newline, ``T1S`` (the trace header says ``Sampled=1``) or
``T1U`` (unsampled: still sent, for CloudWatch Transaction Search), then the base64 of an
``ExportTraceServiceRequest``. Each span is encoded once, when it ends (see
:mod:`._otlp_proto`); the invocation's spans travel together in one datagram when the handler's
span ends. A trace too large for one datagram is split into several, each a complete request;
a single span too large on its own loses its metadata first, then its other details, with an
attribute that says so. Nothing is dropped silently.
"""

from __future__ import annotations

import logging
import socket
import time
from binascii import b2a_base64
from types import TracebackType
from typing import Any

from .. import _warn
from . import _otel_map as otel_map
from . import _otlp_proto as proto
from ._emitter import parse_address
from ._span import (
    _bits,  # lambda_observe's own generator: reseeded after fork and SnapStart restore
    clean_name,
)

__all__ = ["MAX_DATAGRAM", "OtlpBackend", "OtlpEmitter", "OtlpRoot", "OtlpSpan"]

HEADER = b'{"format":"json","version":1}\n'
#: The largest UDP payload over IPv4.
MAX_DATAGRAM = 65507
_ROOM = MAX_DATAGRAM - len(HEADER) - 3  # after the header and T1S / T1U
#: The largest protobuf request whose base64 fits one datagram.
MAX_REQUEST = _ROOM // 4 * 3
TRUNCATED_KEY = "lambda_observe.truncated"
#: Bytes of framing a request of one span adds besides the resource and scope fields: three
#: length-delimited wrappers (request's resource_spans, scope_spans' spans, resource_spans'
#: scope_spans), each a tag byte and a length varint of at most 3 bytes (lengths < 2**21).
_FRAMING = 3 * (1 + 3)
_SCOPE = proto.scope("lambda_observe", "0.1.0")
_from_hex = bytes.fromhex
_LOG = logging.getLogger("lambda_observe")
#: Seconds between two WARNINGs about dropped datagrams (each says how many since the last).
DROP_WARNING_INTERVAL = 60.0


def _new_span_id() -> bytes:
    """A random, non-zero 8-byte span id (unique, not secret: no system call needed)."""
    return (_bits(64) or 1).to_bytes(8, "big")


class OtlpRoot:
    """Where an invocation's trace hangs: the ids from the trace header, and its finished spans."""

    __slots__ = ("done", "flushed", "id", "inv", "open", "parent_id", "sampled", "trace_id")
    type = "segment"

    def __init__(self, trace_id: bytes, parent_id: bytes | None, sampled: bool, inv: Any) -> None:
        self.trace_id = trace_id
        self.parent_id = parent_id
        self.id = parent_id.hex() if parent_id else ""
        self.sampled = sampled
        self.inv = inv
        self.open: dict[str, Any] = {}
        self.done: list[tuple[bytes, bytes]] = []  # (scope, encoded span)
        self.flushed = False


class OtlpSpan:
    """One span, kept small: its attributes are encoded once, when it ends."""

    __slots__ = (
        "annotations",
        "attributes",
        "encoded",
        "end_ns",
        "events",
        "id",
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
        self.span_id = _new_span_id()
        self.id = self.span_id.hex()
        self.name = name
        self.parent = parent
        self.root = root
        self.kind = kind
        self.start_ns = time.time_ns()
        self.end_ns = 0
        self.attributes: dict[str, Any] = {}
        self.annotations: list[str] | None = None
        self.events: list[bytes] | None = None
        self.links: list[bytes] | None = None
        self.status = 0
        self.status_message = ""
        self.scope = _SCOPE
        self.encoded = b""  # attributes encoded beforehand (the handler's, the same every invocation)

    @property
    def start_time(self) -> float:
        return self.start_ns / 1e9

    @property
    def parent_bytes(self) -> bytes | None:
        parent = self.parent
        return parent.parent_id if isinstance(parent, OtlpRoot) else parent.span_id

    def encode(self, attributes: dict[str, Any] | None = None, events: bool = True) -> bytes:
        attrs = self.attributes if attributes is None else attributes
        keys = self.annotations
        encoded = self.encoded if events else b""
        if keys:
            encoded += _annotation_keys(tuple(keys))
        parent = self.parent
        remote = parent.__class__ is OtlpRoot
        if remote and parent.parent_id is None:  # a root span: no parent, remote or not
            remote = False
            parent = None
        return proto.span(
            self.root.trace_id,
            self.span_id,
            None if parent is None else parent.parent_id if remote else parent.span_id,
            self.name,
            self.kind,
            self.start_ns,
            self.end_ns,
            attrs,
            (self.events or ()) if events else (),
            self.links or (),
            self.status,
            self.status_message,
            remote,
            encoded,
        )


_KEYS: dict[tuple[str, ...], bytes] = {}


def _annotation_keys(keys: tuple[str, ...]) -> bytes:
    """The ``aws.xray.annotations`` attribute for these keys (encoded once per set of keys)."""
    found = _KEYS.get(keys)
    if found is None:
        found = proto.attribute_fields({otel_map.ANNOTATIONS_KEY: list(keys)})
        if len(_KEYS) < 256:
            _KEYS[keys] = found
    return found


_HANDLER_STATIC: dict[tuple[str, str, str, str], bytes] = {}


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
    span.annotations = None
    note = {TRUNCATED_KEY: f"span was {size} bytes, over the UDP datagram limit; attributes and events removed"}
    return span.encode(note, events=False)


class OtlpEmitter:
    """Frames and sends OTLP requests over UDP; never raises."""

    def __init__(self, address: str, ignore: tuple[str, ...] = ()) -> None:
        self._address: tuple[str, int] | None = None
        self._socket: socket.socket | None = None
        self._resources: dict[str, bytes] = {}
        self._fields: dict[tuple[str, bytes], tuple[bytes, bytes]] = {}
        self._rooms: dict[tuple[str, bytes], int] = {}
        self.ignore = ignore  # host or URL patterns whose calls are not sent (patch(ignore=...))
        #: Datagrams that could not be sent (too large, refused by the system), since start.
        self.dropped = 0
        self._unreported = 0
        self._warned_at: float | None = None
        try:
            host, port = parse_address(address)
            self._address = (socket.gethostbyname(host), port)
        except (ValueError, OSError) as exc:
            _warn.once("otlp-address", "lambda_observe: OTLP spans will not be sent: %s", exc)

    @property
    def address(self) -> tuple[str, int] | None:
        return self._address

    def resource(self, service: str) -> bytes:
        """The encoded resource for ``service`` (once per process and service)."""
        found = self._resources.get(service)
        if found is None:
            found = self._resources[service] = proto.resource(otel_map.resource_attributes(service))
        return found

    def _request_fields(self, service: str, scope: bytes) -> tuple[bytes, bytes]:
        """The resource and scope, encoded as the request's fields (once per service and scope)."""
        fields = self._fields.get((service, scope))
        if fields is None:
            resource = self._resources.get(service) or self.resource(service)
            fields = self._fields[(service, scope)] = (proto.field(b"\x0a", resource), proto.field(b"\x0a", scope))
        return fields

    def span_room(self, service: str, scope: bytes) -> int:
        """The largest encoded span that fits, alone, one request (and so one datagram) for ``service``."""
        room = self._rooms.get((service, scope))
        if room is None:
            fields = self._request_fields(service, scope)
            room = self._rooms[(service, scope)] = MAX_REQUEST - len(fields[0]) - len(fields[1]) - _FRAMING
        return room

    def send(self, spans: list[tuple[bytes, bytes]], sampled: bool, service: str) -> None:
        """Send encoded spans as few requests as fit, each in its own datagram."""
        if self._address is None or not spans:
            return
        try:
            resource = self._resources.get(service) or self.resource(service)
            prefix = b"T1S" if sampled else b"T1U"
            scope = spans[0][0]
            total = len(resource) + len(scope) + 16
            for item in spans:
                total += len(item[1]) + 4
                if item[0] is not scope:
                    total = MAX_REQUEST + 1  # several scopes: the general path below
                    break
            if total <= MAX_REQUEST:  # one scope and it fits: one request, one datagram
                fields = self._fields.get((service, scope)) or self._request_fields(service, scope)
                payload = proto.request_one(fields[0], fields[1], [item[1] for item in spans])
                self.send_datagram(HEADER + prefix + b2a_base64(payload, newline=False))
                return
            for group in self._groups(spans, resource):
                scopes: dict[bytes, list[bytes]] = {}
                for scope, data in group:
                    scopes.setdefault(scope, []).append(data)
                payload = proto.request(resource, scopes.items())
                self.send_datagram(HEADER + prefix + b2a_base64(payload, newline=False))
        except Exception as exc:  # tracing must not hurt
            self._drop(exc)

    @staticmethod
    def _groups(spans: list[tuple[bytes, bytes]], resource: bytes) -> list[list[tuple[bytes, bytes]]]:
        overhead = len(resource) + 32
        groups: list[list[tuple[bytes, bytes]]] = []
        current: list[tuple[bytes, bytes]] = []
        size = overhead
        scopes: set[bytes] = set()
        for item in spans:
            scope, data = item
            cost = len(data) + 6 + (len(scope) + 12 if scope not in scopes else 0)
            if current and size + cost > MAX_REQUEST:
                groups.append(current)
                current, size, scopes = [], overhead, set()
                cost = len(data) + 6 + len(scope) + 12
            current.append(item)
            scopes.add(scope)
            size += cost
        if current:
            groups.append(current)
        return groups

    def send_datagram(self, datagram: bytes) -> None:
        if len(datagram) > MAX_DATAGRAM:  # cannot happen by construction; counted rather than refused silently
            self._drop(ValueError(f"a datagram of {len(datagram)} bytes is over the {MAX_DATAGRAM}-byte UDP limit"))
            return
        try:
            sock = self._socket
            if sock is None:
                sock = self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sock.setblocking(False)
            sock.sendto(datagram, self._address)  # type: ignore[arg-type]
        except Exception as exc:  # a full buffer, an unreachable daemon: tracing must not hurt
            self._drop(exc)

    def _drop(self, reason: BaseException) -> None:
        """Count a lost datagram; say so at once, then at most every DROP_WARNING_INTERVAL seconds."""
        self.dropped += 1
        self._unreported += 1
        now = time.monotonic()
        if self._warned_at is not None and now - self._warned_at < DROP_WARNING_INTERVAL:
            return
        try:
            _LOG.warning(
                "lambda_observe: OTLP spans were dropped (%s); %d datagrams since the last warning, %d in all",
                reason,
                self._unreported,
                self.dropped,
            )
        except Exception:  # logging itself failed: the count is still kept
            pass
        self._unreported = 0
        self._warned_at = now

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


class OtlpBackend:
    """Builds OTel spans from the public API and sends them with :class:`OtlpEmitter`."""

    name = "otlp"

    def __init__(self, emitter: OtlpEmitter) -> None:
        self.emitter = emitter

    def root(self, invocation: Any) -> OtlpRoot | None:
        trace = invocation.trace
        if trace is None:
            return None
        ids = otel_map.trace_ids(trace.root, trace.parent)
        if ids is None:  # an all-zero Root or Parent: untraced, as a malformed header is
            return None
        trace_id, parent = ids
        return OtlpRoot(_from_hex(trace_id), _from_hex(parent) if parent else None, trace.sampled, invocation)

    def start(self, name: str, parent: Any, namespace: str | None = None) -> OtlpSpan:
        root = parent if isinstance(parent, OtlpRoot) else parent.root
        span = OtlpSpan(clean_name(name), parent, root)
        root.open[span.id] = span
        return span

    def start_handler(self, name: str, root: OtlpRoot, inv: Any, event: Any) -> OtlpSpan:
        """The handler's span: its kind and FaaS attributes from the event; its ids on the log lines."""
        faas_trigger, kind = otel_map.trigger(event)
        span = self.start(name, root)
        span.kind = kind
        key = (faas_trigger, inv.function_arn, inv.function_name, inv.function_version)
        static = _HANDLER_STATIC.get(key)
        if static is None:
            fixed = otel_map.handler_attributes(inv, faas_trigger)
            del fixed["faas.invocation_id"], fixed["faas.coldstart"]
            static = proto.attribute_fields(fixed)
            if len(_HANDLER_STATIC) < 64:
                _HANDLER_STATIC[key] = static
        span.encoded = static
        attributes = span.attributes
        attributes["faas.invocation_id"] = inv.request_id
        attributes["faas.coldstart"] = inv.cold_start
        inv.keys["trace_id"] = root.trace_id.hex()
        inv.keys["span_id"] = span.id
        return span

    def finish(self, span: OtlpSpan, end_ns: int = 0) -> None:
        if span.end_ns:  # already ended (by the timeout warning)
            return
        span.end_ns = end_ns or time.time_ns()
        root = span.root
        root.open.pop(span.id, None)
        data = span.encode()
        if len(data) > 32768:  # a large span: measure the room it really has beside the resource and scope
            inv = root.inv
            room = self.emitter.span_room(inv.service if inv is not None else "service_undefined", span.scope)
            if len(data) > room:
                data = _fit(span, room)
        root.done.append((span.scope, data))
        if span.parent is root or root.flushed:
            self.flush(root)

    def drop(self, span: OtlpSpan) -> None:
        """Forget an open span without sending it (a call to an ignored host)."""
        span.end_ns = span.end_ns or time.time_ns()
        span.root.open.pop(span.id, None)

    def instrument(self, name: str) -> None:
        """``patch(name)`` in otlp mode: the OpenTelemetry instrumentation, on a minimal provider."""
        from ._otel_instrument import instrument

        instrument(name)

    def flush(self, root: OtlpRoot) -> None:
        """Send the invocation's finished spans now."""
        done, root.done = root.done, []
        root.flushed = True
        inv = root.inv
        self.emitter.send(done, root.sampled, inv.service if inv is not None else "service_undefined")

    def annotate(self, span: Any, key: str, value: str | float | bool) -> None:
        span.attributes[key] = value
        keys = span.annotations
        if keys is None:
            span.annotations = [key]
        elif key not in keys:
            keys.append(key)

    def add_metadata(self, span: Any, namespace: str, key: str, value: Any) -> None:
        name = otel_map.metadata_key(namespace, key)
        if name is not None:
            span.attributes[name] = otel_map.metadata_value(key, value)

    def record_exception(self, span: Any, exc: BaseException, tb: TracebackType | None) -> None:
        attributes = otel_map.exception_attributes(exc, tb)
        span.status = 2
        span.status_message = f"{attributes['exception.type']}: {attributes['exception.message']}"[:1024]
        self._event(span, "exception", attributes)

    def mark_timeout(self, span: Any, message: str) -> None:
        self._event(span, otel_map.TIMEOUT_EVENT, {"message": message})
        span.status = 2
        span.status_message = message
        self.finish(span)

    def add_link(self, span: Any, root: str, parent: str | None) -> None:
        """Link ``span`` to an upstream trace (an SQS record's, say), given in X-Ray form.

        A link needs a span id: without ``Parent`` the upstream trace id is an annotation instead,
        as in X-Ray mode (``upstream_trace_id``).
        """
        if len(root) != 35:
            return
        ids = otel_map.trace_ids(root, parent) if not parent or len(parent) == 16 else None
        if ids is not None and ids[1] is None:
            self.annotate(span, "upstream_trace_id", root)
            return
        try:
            link = proto.link(_from_hex(ids[0]), _from_hex(ids[1])) if ids is not None and ids[1] else None
        except ValueError:
            return
        if link is None:
            return
        if span.links is None:
            span.links = [link]
        else:
            span.links.append(link)

    @staticmethod
    def _event(span: Any, name: str, attributes: dict[str, Any]) -> None:
        data = proto.event(time.time_ns(), name, attributes)
        if span.events is None:
            span.events = [data]
        else:
            span.events.append(data)
