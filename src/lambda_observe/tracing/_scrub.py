"""Making documents safe to send: no secrets, names and sizes X-Ray accepts."""

from __future__ import annotations

import fnmatch
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ._span import clean_name

__all__ = ["ignored", "scrub", "secret_param"]

_SECRET = re.compile(
    r"(pass(word|wd)?|pwd|secret|token|signature|api[-_]?key|apikey|credential|auth|session|"
    r"x-amz-security-token|x-amz-credential|access[-_]?key|private[-_]?key|client[-_]?secret|sig)$",
    re.IGNORECASE,
)
_USERINFO_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]*@")
_KV_PASSWORD = re.compile(r"(?i)\b(password|passwd|pwd)\s*=\s*('[^']*'|\"[^\"]*\"|[^\s;]*)")
REDACTED = "REDACTED"


def secret_param(name: str) -> bool:
    """Does a query-parameter or key name look like it holds a secret?"""
    return bool(_SECRET.search(name.replace(" ", "")))


def clean_url(url: str) -> str:
    """``url`` with no password in its user info and secret-looking query values replaced."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url[:250]
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}@{host}" if user else host
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(secret_param(k) for k, _ in pairs):
            query = urlencode([(k, REDACTED if secret_param(k) else v) for k, v in pairs], safe="")
    cleaned = urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    return cleaned[:250]


def clean_dsn(text: str) -> str:
    """A connection string without its password (URL form or ``key=value`` form)."""
    text = _USERINFO_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}@", text)
    return _KV_PASSWORD.sub(lambda m: f"{m.group(1)}={REDACTED}", text)


def scrub(doc: dict[str, Any]) -> dict[str, Any]:
    """Fix, in place, what the SDK's patchers may put in a document: secrets, long URLs, names."""
    name = doc.get("name")
    if isinstance(name, str):
        doc["name"] = clean_name(name)
    http = doc.get("http")
    if isinstance(http, dict):
        request = http.get("request")
        if isinstance(request, dict) and isinstance(request.get("url"), str):
            request["url"] = clean_url(request["url"])
    sql = doc.get("sql")
    if isinstance(sql, dict):
        for key in ("url", "connection_string"):
            if isinstance(sql.get(key), str):
                sql[key] = clean_dsn(sql[key])
        sql.pop("password", None)
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
