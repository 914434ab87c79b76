"""Sending OTLP requests over UDP, framed as AWS's distro frames them (the ``otlp`` backend's emitter).

A datagram is the header ``{"format":"json","version":1}``, a newline, ``T1S`` (the trace header
says ``Sampled=1``) or ``T1U`` (unsampled: still sent, for CloudWatch Transaction Search), then
the base64 of an ``ExportTraceServiceRequest``. :meth:`OtlpEmitter.send` takes an invocation's
encoded spans: one request in one datagram when they fit (the usual case, assembled in one join
under the resource and scope encoded once per process), otherwise as few requests as fit, each
complete on its own. A datagram that cannot be sent is counted in :attr:`OtlpEmitter.dropped` and
reported at WARNING, at once and then at most every :data:`DROP_WARNING_INTERVAL` seconds: never
silently.
"""

from __future__ import annotations

import _socket
import logging
import time
from binascii import b2a_base64

from . import _otel_map as otel_map
from . import _otlp_proto as proto
from ._address import resolve_or_warn, udp_socket

__all__ = ["DROP_WARNING_INTERVAL", "HEADER", "MAX_DATAGRAM", "MAX_REQUEST", "OtlpEmitter"]

HEADER = b'{"format":"json","version":1}\n'
_PREFIXES = (HEADER + b"T1U", HEADER + b"T1S")
#: The largest UDP payload over IPv4.
MAX_DATAGRAM = 65507
#: The largest protobuf request whose base64 fits one datagram after the header and T1S / T1U.
MAX_REQUEST = (MAX_DATAGRAM - len(HEADER) - 3) // 4 * 3
#: Bytes of framing a request of one span adds besides the resource and scope fields: three
#: length-delimited wrappers (request's resource_spans, scope_spans' spans, resource_spans'
#: scope_spans), each a tag byte and a length varint of at most 3 bytes (lengths < 2**21).
_FRAMING = 3 * (1 + 3)
#: Seconds between two WARNINGs about dropped datagrams (each says how many since the last).
DROP_WARNING_INTERVAL = 60.0
_LOG = logging.getLogger("lambda_observe")


class _Template:
    """What every request for one service and scope starts with, encoded once.

    A request is ``0a L`` (its one ``resource_spans`` field and that field's length) followed by the
    resource field, then ``12`` (the ``scope_spans`` tag). When ``L`` takes two bytes (a request of
    130 to 16,385 bytes: nearly every invocation's), the request's first 3 bytes depend on its length
    alone and the next ones are the resource's, the same for every request: base64 encodes each 3
    bytes on their own, so the base64 of the first :attr:`aligned` bytes (3 plus as much of the
    resource field and the tag as fills whole groups of 3) is kept per request length in
    :attr:`starts`, framing included, and only the rest is encoded at each invocation.
    """

    __slots__ = ("aligned", "resource", "room", "scope", "starts")

    def __init__(self, resource: bytes, scope: bytes) -> None:
        self.resource = proto.field(b"\x0a", resource)
        self.scope = proto.field(b"\x0a", scope)
        self.aligned = 3 + (len(self.resource) + 1) // 3 * 3
        #: Per sampling decision (T1U, T1S), per request length: the datagram's first bytes.
        self.starts: tuple[dict[int, bytes], dict[int, bytes]] = ({}, {})
        #: The largest encoded span that fits, alone, one request (and so one datagram).
        self.room = MAX_REQUEST - len(self.resource) - len(self.scope) - _FRAMING

    def start(self, payload: bytes, sampled: bool) -> bytes:
        """The datagram's start for a request of this length (``payload``, of this template): the
        framing and the base64 of its first :attr:`aligned` bytes; kept for the next request."""
        starts = self.starts[sampled]
        if len(starts) >= _STARTS_MAX:
            starts.clear()
        found = starts[len(payload)] = _PREFIXES[sampled] + b2a_base64(payload[: self.aligned], newline=False)
        return found


#: Request lengths remembered per template and sampling decision (each start is some 400 bytes).
_STARTS_MAX = 256


class OtlpEmitter:
    """Frames and sends OTLP requests over UDP; never raises."""

    def __init__(self, address: str, ignore: tuple[str, ...] = ()) -> None:
        self._address: tuple[str, int] | None = None
        self._socket: _socket.socket | None = None
        self._resources: dict[str, bytes] = {}
        self._templates: dict[tuple[str, bytes], _Template] = {}
        self.ignore = ignore  # host or URL patterns whose calls are not sent (patch(ignore=...))
        #: Datagrams that could not be sent (too large, refused by the system), since start.
        self.dropped = 0
        self._unreported = 0
        self._warned_at: float | None = None
        self._address = resolve_or_warn(address, "otlp-address", "OTLP spans")

    @property
    def address(self) -> tuple[str, int] | None:
        return self._address

    def resource(self, service: str) -> bytes:
        """The encoded resource for ``service`` (once per process and service)."""
        found = self._resources.get(service)
        if found is None:
            found = self._resources[service] = proto.resource(otel_map.resource_attributes(service))
        return found

    def _template(self, service: str, scope: bytes) -> _Template:
        """The request's resource and scope, encoded (once per service and scope)."""
        found = self._templates.get((service, scope))
        if found is None:
            found = self._templates[(service, scope)] = _Template(self.resource(service), scope)
        return found

    def span_room(self, service: str, scope: bytes) -> int:
        """The largest encoded span that fits, alone, one request (and so one datagram) for ``service``."""
        return self._template(service, scope).room

    def send(
        self,
        scope: bytes,
        spans: list[bytes],
        sampled: bool,
        service: str,
        others: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """Send encoded ``spans`` of ``scope``, and ``others`` (``(scope, span)`` pairs of other scopes),
        as few requests as fit, each in its own datagram."""
        if self._address is None or not (spans or others):
            return
        try:
            if not others:
                template = self._templates.get((service, scope)) or self._template(service, scope)
                payload = proto.request_one(template.resource, template.scope, spans)
                size = len(payload)
                if size <= MAX_REQUEST:  # the usual case: one request, one datagram (so it fits)
                    if payload[2] < 0x80 <= payload[1]:  # a two-byte length: the start depends on it alone
                        datagram = (template.starts[sampled].get(size) or template.start(payload, sampled)) + (
                            b2a_base64(payload[template.aligned :], newline=False)
                        )
                    else:
                        datagram = _PREFIXES[sampled] + b2a_base64(payload, newline=False)
                    (self._socket or self._open()).sendto(datagram, self._address)
                    return
            resource = self._resources.get(service) or self.resource(service)
            for group in self._groups([(scope, data) for data in spans] + (others or []), resource):
                scopes: dict[bytes, list[bytes]] = {}
                for item_scope, data in group:
                    scopes.setdefault(item_scope, []).append(data)
                payload = proto.request(resource, scopes.items())
                self.send_datagram(_PREFIXES[sampled] + b2a_base64(payload, newline=False))
        except Exception as exc:  # tracing must not hurt
            self._drop(exc)

    @staticmethod
    def _groups(spans: list[tuple[bytes, bytes]], resource: bytes) -> list[list[tuple[bytes, bytes]]]:
        """``spans`` in consecutive groups that each fit one request (a span fits one alone: see ``span_room``)."""
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
            (self._socket or self._open()).sendto(datagram, self._address)  # type: ignore[arg-type]
        except Exception as exc:  # a full buffer, an unreachable daemon: tracing must not hurt
            self._drop(exc)

    def _open(self) -> _socket.socket:
        sock = self._socket = udp_socket()
        return sock

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
