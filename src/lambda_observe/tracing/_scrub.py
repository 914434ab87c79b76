"""Making documents safe to send: no secrets, names and sizes X-Ray accepts.

The secrets part is :mod:`lambda_observe.redact`; this module applies it to the fields of the
documents the X-Ray SDK's patchers build (ours are redacted as they are built).
"""

from __future__ import annotations

import fnmatch
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .. import redact
from ._span import clean_name

__all__ = ["clean_dsn", "clean_url", "ignored", "scrub", "secret_param"]

REDACTED = redact.REDACTED


def secret_param(name: str) -> bool:
    """Does a query-parameter or key name look like it holds a secret?"""
    return redact.get().secret(name, query=True)


def clean_url(url: str) -> str:
    """``url`` with its user-info password and secret-looking query values hidden, cut to 250."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact.get().text(url)[:250]
    engine = redact.get()
    query = engine.text(f"?{parts.query}")[1:] if parts.query else ""
    netloc = engine.text(f"{parts.scheme}://{parts.netloc}")[len(parts.scheme) + 3 :]
    path = engine.text(parts.path) if ";" in parts.path or "=" in parts.path else parts.path  # ;jsessionid=...
    return urlunsplit((parts.scheme, netloc, path, query, ""))[:250]


def clean_dsn(text: str) -> str:
    """A connection string without its password (URL form or ``key=value`` form)."""
    return redact.get().text(text)


def scrub(doc: dict[str, Any]) -> dict[str, Any]:
    """Fix, in place, what the SDK's patchers may put in a document: secrets, long URLs, names."""
    engine = redact.get()
    name = doc.get("name")
    if isinstance(name, str):
        doc["name"] = clean_name(engine.text(name))
    http = doc.get("http")
    if isinstance(http, dict):
        request = http.get("request")
        if isinstance(request, dict) and isinstance(request.get("url"), str):
            request["url"] = clean_url(request["url"])
    sql = doc.get("sql")
    if isinstance(sql, dict):
        sql.pop("password", None)
        for key, value in list(sql.items()):
            if isinstance(value, str):
                sql[key] = engine.text(value)
    cause = doc.get("cause")
    if isinstance(cause, dict):
        # The error of an SQL call quotes the statement's values (parameters included): hide them.
        message = engine.sql_error if isinstance(sql, dict) else engine.text
        for entry in cause.get("exceptions") or ():
            if isinstance(entry, dict) and isinstance(entry.get("message"), str):
                entry["message"] = message(entry["message"])
    metadata = doc.get("metadata")
    if isinstance(metadata, dict):
        doc["metadata"] = engine(metadata)
    for child in doc.get("subsegments") or ():
        if isinstance(child, dict):
            scrub(child)
    return doc


def ignored(doc: dict[str, Any], patterns: tuple[str, ...]) -> bool:
    """Is this an http call to a host or URL the user asked us to leave out?"""
    if not patterns:
        return False
    http = doc.get("http")
    url = http.get("request", {}).get("url") if isinstance(http, dict) else None
    if not isinstance(url, str):
        return False
    host = urlsplit(url).hostname or ""
    return any(fnmatch.fnmatchcase(host, p) or fnmatch.fnmatchcase(url, p) for p in patterns)
