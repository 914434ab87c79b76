"""The daemon's UDP address (``AWS_XRAY_DAEMON_ADDRESS``) and the socket both emitters send from.

Both emitters use the ``_socket`` extension directly: the ``socket`` module around it builds its
enums at import, a cost on every cold start for nothing these emitters use (``sendto``,
``setblocking``, ``close`` and ``gethostbyname`` are the extension's own).
"""

from __future__ import annotations

import _socket

from .. import _warn

__all__ = ["parse_address", "resolve", "resolve_or_warn", "udp_socket"]


def parse_address(raw: str) -> tuple[str, int]:
    """The UDP address in ``AWS_XRAY_DAEMON_ADDRESS`` (``host:port`` or ``tcp:h:p udp:h:p``)."""
    text = raw.strip()
    if len(text.split()) > 1:
        for part in text.split():
            if part.startswith("udp:"):
                text = part[4:]
                break
        else:
            raise ValueError(f"AWS_XRAY_DAEMON_ADDRESS={raw!r}: expected 'host:port' or 'tcp:h:p udp:h:p'")
    host, sep, port = text.rpartition(":")
    if not sep or not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise ValueError(f"AWS_XRAY_DAEMON_ADDRESS={raw!r}: expected 'host:port' with a port from 1 to 65535")
    return host, int(port)


def resolve(address: str) -> tuple[str, int]:
    """The IPv4 address and port of ``AWS_XRAY_DAEMON_ADDRESS``.

    An ASCII host is resolved as bytes: a ``str`` would load the IDNA codec (and ``unicodedata``)
    at the first invocation, for an address that on Lambda is a literal IP.
    """
    host, port = parse_address(address)
    try:
        name: str | bytes = host.encode("ascii")
    except UnicodeEncodeError:
        name = host
    return _socket.gethostbyname(name), port  # type: ignore[arg-type]  # bytes are accepted as encoded


def resolve_or_warn(address: str, key: str, what: str) -> tuple[str, int] | None:
    """:func:`resolve`, or ``None`` after one WARNING that ``what`` will not be sent, naming the variable
    and its value (a parse error's message does; a resolver's is given them here)."""
    try:
        return resolve(address)
    except (ValueError, OSError) as exc:
        _warn.once(
            key,
            "lambda_observe: %s will not be sent: %s",
            what,
            exc if isinstance(exc, ValueError) else f"AWS_XRAY_DAEMON_ADDRESS={address!r}: {exc}",
        )
        return None


def udp_socket() -> _socket.socket:
    """A non-blocking IPv4 UDP socket."""
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    sock.setblocking(False)
    return sock
