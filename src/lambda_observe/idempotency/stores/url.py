"""Making a store from a URL: ``sqlite:///path``, ``redis://host:port/db``, ``dynamodb://table?...``.

Error messages name the URL only in its scrubbed form (no password, no secret query values).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from .._secrets import safe_url

__all__ = ["from_url"]


def _shown(url: str) -> str:
    """The URL for an error message: no user info, and the query's values left out entirely."""
    base, mark, query = url.partition("?")
    names = ",".join(sorted({pair.split("=", 1)[0] for pair in query.split("&") if pair}))
    return safe_url(base) + (f"?{names}=..." if mark else "")


def from_url(url: str) -> Any:
    """A store for ``url``; raises :class:`ValueError` saying which forms are accepted."""
    if not isinstance(url, str) or "://" not in url:
        shown = repr(url) if not isinstance(url, str) else f"of {len(url)} characters"
        raise ValueError(
            f"idempotency store {shown}: expected a URL: sqlite:///path, redis://host:port/db, "
            "dynamodb://table?region=...&endpoint=..., or memory://"
        )
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ValueError(f"idempotency store {safe_url(url)!r}: not a valid URL ({exc})") from None
    shown = _shown(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        from .sqlite import SQLiteStore

        path = url.split("://", 1)[1]
        path = path[1:] if path.startswith("/") else path  # sqlite:///rel/path, sqlite:////abs/path
        if "?" in path or "#" in path:
            raise ValueError(
                f"idempotency store {shown!r}: sqlite URLs take no options; expected sqlite:///path/to/file.db"
            )
        if not path:
            raise ValueError(f"idempotency store {shown!r}: expected a file path after sqlite:///")
        return SQLiteStore(path)
    if scheme in ("redis", "rediss", "unix"):
        from .redis import RedisStore

        return RedisStore(url)
    if scheme == "dynamodb":
        from .dynamodb import DynamoDBStore

        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(query) - {"region", "endpoint", "key_attr"}
        if unknown:
            raise ValueError(
                f"idempotency store {shown!r}: unknown option(s) {sorted(unknown)}; known: region, endpoint, key_attr"
            )
        if parts.username is not None or parts.password is not None:
            raise ValueError(
                f"idempotency store {shown!r}: a dynamodb URL takes no user or password (boto3 finds the "
                "credentials); expected dynamodb://table?region=...&endpoint=..."
            )
        table = parts.netloc or parts.path.lstrip("/")
        return DynamoDBStore(
            table, region=query.get("region"), endpoint_url=query.get("endpoint"), key_attr=query.get("key_attr", "id")
        )
    if scheme == "memory":
        from .memory import InMemoryStore

        return InMemoryStore()
    raise ValueError(f"idempotency store {shown!r}: unknown scheme {scheme!r}; known: sqlite, redis, dynamodb, memory")
