"""Keeping store credentials out of every message, repr, log line and trace document.

A store URL is read the way a person writes it, not only the way ``urlsplit`` does: its user info
runs from ``scheme://`` to the LAST ``@``, so a password holding an unencoded ``/``, ``?``, ``#``
or ``@`` is still taken whole (``urlsplit`` would end it at the first ``/`` and hand the rest to
the port or the path). Two defences follow:

- the known secrets of a store URL (the whole user info, its user name and its password,
  secret-looking query values, the same inside a nested ``endpoint=`` URL) are cut out of any
  text, raw and percent-encoded;
- a URL is only ever shown as ``scheme://***@host:port/path?...``: the user info as ``***``
  whole (a user name can be a token), the query's names and values never. When an ``@`` comes
  after a ``?`` or ``#`` nobody can tell a host from a piece of a password, so only
  ``scheme://***`` is shown.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

from ..tracing._scrub import clean_dsn, secret_param

__all__ = ["HIDDEN", "REDACTED", "clean", "safe_url", "secrets_of", "split_userinfo", "userinfo_is_plain"]

REDACTED = "REDACTED"
HIDDEN = "***"
_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://")
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
_MIN_USER = 4  # a user name this short is no token; cutting it out of every text would only garble it


def split_userinfo(url: str) -> tuple[str, str | None, str]:
    """``(scheme://, user info or None, the rest)``, the user info running to the last ``@``.

    ``sqlite:`` URLs have no user info (their path may hold an ``@``).
    """
    match = _SCHEME.match(url)
    if match is None:
        return "", None, url
    prefix, after = match.group(0), url[match.end() :]
    if prefix.lower() == "sqlite://" or "@" not in after:
        return prefix, None, after
    userinfo, _, rest = after.rpartition("@")
    return prefix, userinfo, rest


def userinfo_is_plain(url: str) -> bool:
    """Do ``urlsplit`` (and so redis-py and botocore) see the same user info as :func:`split_userinfo`?

    Not when the password holds an unencoded ``/``, ``?`` or ``#`` (or an ``@`` sits in the path or
    query): a client would then take a piece of the password for the port, the path or the query.
    """
    _, userinfo, _ = split_userinfo(url)
    if userinfo is None:
        return True
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return False
    return "@" in netloc and netloc.rpartition("@")[0] == userinfo


def _query_pairs(url: str) -> list[tuple[str, str]]:
    """The name/value pairs after the first ``?`` and after the first ``?`` past the last ``@``."""
    pairs: list[tuple[str, str]] = []
    for text in (url, url.rpartition("@")[2]):
        query = text.partition("?")[2]
        if query:
            pairs += parse_qsl(query, keep_blank_values=True)  # decoded ('+' is a space)...
            pairs += [(n, v) for n, _, v in (p.partition("=") for p in query.split("&"))]  # ...and as written
    return pairs


def secrets_of(url: str | None, _depth: int = 0) -> tuple[str, ...]:
    """The secret parts of ``url`` (user info, user name, password, secret query values; nested URLs
    too), each in its raw and percent-encoded forms, longest first."""
    if not url or _depth > 3:
        return ()
    found: list[str] = []
    _, userinfo, _ = split_userinfo(url)
    if userinfo:
        user, colon, password = userinfo.partition(":")
        found.append(userinfo)
        if password or colon:
            found.append(password)
        if len(user) >= _MIN_USER or not colon:  # a lone user name is the credential (a token)
            found.append(user)
    for name, value in _query_pairs(url):
        if value and secret_param(name):
            found.append(value)
        if "://" in value:
            found.extend(secrets_of(value, _depth + 1))
    out: set[str] = set()
    for secret in found:
        for raw in (secret, unquote(secret)):
            out.update((raw, quote(raw, safe=""), quote(raw), quote_plus(raw)))
    out.discard("")
    return tuple(sorted(out, key=len, reverse=True))


def _shown(url: str) -> str:
    """``url`` as it may be shown: ``scheme://***@host:port/path?...`` (see the module doc)."""
    prefix, userinfo, rest = split_userinfo(url)
    if not prefix:
        return url
    if userinfo is not None:
        if "?" in userinfo or "#" in userinfo:  # the '@' may be inside a query: the host may be a secret
            return f"{prefix}{HIDDEN}"
        rest = f"{HIDDEN}@{rest}"
    base, query = re.split(r"[?#]", rest, maxsplit=1)[0], re.search(r"[?#]", rest)
    host, slash, path = base.partition("/")
    port = host.rpartition("]")[2].rpartition(":")[2] if ":" in host.rpartition("]")[2] else ""
    if not port.isdigit() and port:  # "host:abc" is no port but a piece of a password that lost its '@'
        host = f"{host.rpartition('@')[0]}@{HIDDEN}" if "@" in host else HIDDEN
    return prefix + host + slash + path + ("?..." if query else "")


def _cut(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every character of every occurrence of every secret replaced (runs merged).

    Replacing one secret after another would let a long secret swallow the start of a shorter one
    it overlaps and leave that one's tail behind; marking the union first cannot.
    """
    covered = bytearray(len(text))
    for secret in secrets:
        start = text.find(secret)
        while start != -1:
            covered[start : start + len(secret)] = b"\1" * len(secret)
            start = text.find(secret, start + 1)
    if not any(covered):
        return text
    out, i = [], 0
    while i < len(text):
        if covered[i]:
            while i < len(text) and covered[i]:
                i += 1
            out.append(REDACTED)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def clean(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with the known ``secrets`` cut out, every URL in it shown safely, DSN passwords cut."""
    text = _URL.sub(_shown_token, _cut(text, secrets))
    return clean_dsn(text)


def _shown_token(match: re.Match[str]) -> str:
    url = match.group(0)
    prefix, userinfo, rest = split_userinfo(url)
    if REDACTED in rest or (REDACTED in url and userinfo is None):
        # a secret was cut out of it past the user info (maybe a '?' or '@'): its shape is not to be trusted
        return prefix + HIDDEN
    return _shown(url)


def safe_url(url: str) -> str:
    """A store URL fit for a message: ``scheme://***@host:port/path?...``, no secret anywhere.

    The shape is read from the URL as given (the whole string: quotes or spaces in it end nothing),
    then any known secret left in what is shown is cut too.
    """
    return _cut(_shown(url), secrets_of(url))
