"""Keeping store credentials out of every message, repr, log line and trace document.

The one place where idempotency calls the URL scrubbers. Two defences: the known secrets of a
store's URL (its password, secret-looking query values, the same inside a nested endpoint URL)
are cut out of any text, in their raw and percent-encoded forms; then anything that still looks
like a URL or a DSN is cleaned by the shared scrubber.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from ..tracing._scrub import clean_dsn, clean_url, secret_param

__all__ = ["REDACTED", "clean", "safe_url", "secrets_of"]

REDACTED = "REDACTED"
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def secrets_of(url: str | None, _depth: int = 0) -> tuple[str, ...]:
    """The secret parts of ``url``: user-info password and secret-looking query values, nested too."""
    if not url or _depth > 3:
        return ()
    found: list[str] = []
    try:
        parts = urlsplit(url)
        password = parts.password
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:  # not a URL we can take apart: everything after the scheme is suspect
        rest = url.split("://", 1)[-1]
        return (rest,) if rest else ()
    if "@" in parts.netloc:
        userinfo = parts.netloc.rpartition("@")[0]
        if ":" in userinfo:
            found.append(userinfo.split(":", 1)[1])
    if password:
        found.append(password)
    for name, value in query:
        if value and secret_param(name):
            found.append(value)
        if "://" in value:
            found.extend(secrets_of(value, _depth + 1))
    out: set[str] = set()
    for secret in found:
        for form in (secret, unquote(secret), quote(secret, safe=""), quote(unquote(secret), safe="")):
            if form:
                out.add(form)
    return tuple(sorted(out, key=len, reverse=True))


def clean(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with the known ``secrets`` cut out and any URL or DSN in it scrubbed."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    text = _URL.sub(lambda m: _clean_url(m.group(0)), text)
    return clean_dsn(text)


def _clean_url(url: str) -> str:
    """``url`` scrubbed when it holds a password or a secret query value, else as it was."""
    try:
        parts = urlsplit(url)
        risky = ":" in parts.netloc.rpartition("@")[0] or any(
            secret_param(k) for k, _ in parse_qsl(parts.query, keep_blank_values=True)
        )
    except ValueError:
        return url.split("://", 1)[0] + "://" + REDACTED
    return clean_url(url) if risky else url


def safe_url(url: str) -> str:
    """A store URL fit for a message: no password, no secret query values (nested URLs too)."""
    return clean(url, secrets_of(url))
