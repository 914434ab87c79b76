"""Making a store from a URL: ``sqlite:///path``, ``redis://host:port/db``, ``dynamodb://table?...``.

Error messages name the URL only in its scrubbed form (no password, no secret query values).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from .._secrets import safe_url, userinfo_is_plain
from ..errors import ConfigError

__all__ = ["ACCEPTED", "from_url", "require_plain_userinfo"]

ACCEPTED = "sqlite:///path, redis://user:password@host:port/db, dynamodb://table?region=...&endpoint=..., or memory://"


def require_plain_userinfo(url: str, what: str) -> None:
    """Refuse a URL whose user info a client would misread (an unencoded '/', '?' or '#' in it)."""
    if not userinfo_is_plain(url):
        raise ConfigError(
            f"{what} {safe_url(url)!r}: everything between '://' and the last '@' is the user info, and it holds "
            "a '/', '?' or '#' that a client would read as the end of the host (or an '@' sits in the path or "
            "options); expected the user name and password percent-encoded: quote(password, safe='')"
        )


def from_url(url: str) -> Any:
    """A store for ``url``; raises :class:`ConfigError` (a ValueError) saying which forms are accepted."""
    if not isinstance(url, str) or "://" not in url:
        shown = f"of type {type(url).__name__}" if not isinstance(url, str) else f"of {len(url)} characters"
        raise ConfigError(f"idempotency store {shown}: expected a URL: {ACCEPTED}")
    shown = safe_url(url)
    try:
        parts: Any = urlsplit(url)
    except ValueError:  # its message quotes the host part, which may hold a piece of the password
        parts = None
    if parts is None:  # raised here, not in the except block: no __context__ carries that message
        raise ConfigError(
            f"idempotency store {shown!r}: not a valid URL (its host part cannot be read: '[' or ']' outside an "
            f"IPv6 address, or a bad port); expected {ACCEPTED}"
        )
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        from .sqlite import SQLiteStore

        path = url.split("://", 1)[1]
        path = path[1:] if path.startswith("/") else path  # sqlite:///rel/path, sqlite:////abs/path
        if "?" in path or "#" in path:
            raise ConfigError(
                f"idempotency store {shown!r}: sqlite URLs take no options; expected sqlite:///path/to/file.db"
            )
        if not path:
            raise ConfigError(f"idempotency store {shown!r}: expected a file path after sqlite:///")
        return SQLiteStore(path)
    if scheme in ("redis", "rediss", "unix"):
        from .redis import RedisStore

        return RedisStore(url)
    if scheme == "dynamodb":
        from .dynamodb import DynamoDBStore

        # The options run to the end: a '#' is no fragment here but part of a value (a password's).
        query = {k: v[-1] for k, v in parse_qs(url.partition("?")[2], keep_blank_values=True).items()}
        unknown = set(query) - {"region", "endpoint", "key_attr"}
        if unknown:  # not named: with an unencoded '&' in a value, a "name" can be a piece of a password
            raise ConfigError(
                f"idempotency store {shown!r}: {len(unknown)} unknown option(s); known: region, endpoint, key_attr"
            )
        if parts.username is not None or parts.password is not None:
            raise ConfigError(
                f"idempotency store {shown!r}: a dynamodb URL takes no user or password (boto3 finds the "
                "credentials); expected dynamodb://table?region=...&endpoint=..."
            )
        table = parts.netloc or parts.path.lstrip("/")
        return DynamoDBStore(
            table,
            region=query.get("region") or None,
            endpoint_url=query.get("endpoint") or None,
            key_attr=query.get("key_attr") or "id",
        )
    if scheme == "memory":
        from .memory import InMemoryStore

        return InMemoryStore()
    raise ConfigError(f"idempotency store {shown!r}: unknown scheme {scheme!r}; expected {ACCEPTED}")
