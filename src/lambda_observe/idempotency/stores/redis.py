"""The Redis store: ``SET NX`` with a TTL; takeover and updates in Lua, atomically."""

from __future__ import annotations

import json
import math
from typing import Any

from .._record import Record
from .._secrets import safe_url, secrets_of
from ..errors import ConfigError, StoreError

__all__ = ["RedisStore"]

_MARGIN_MS = 60_000  # the key outlives its logical expiry a little; the logic never reads past it

# KEYS[1] record key; ARGV: new record JSON, now, ttl ms. Returns nil when written, else the record.
_TAKEOVER = """
local raw = redis.call('GET', KEYS[1])
if raw then
  local cur = cjson.decode(raw)
  local now = tonumber(ARGV[2])
  local expired = tonumber(cur['expiry']) < now
  local crashed = cur['status'] == 'INPROGRESS' and tonumber(cur['ipexp']) < now
  if not expired and not crashed then return raw end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return false
"""
# KEYS[1]; ARGV: attempt, completed JSON (or '' to delete), ttl ms.
_IF_OWNER = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local cur = cjson.decode(raw)
if cur['attempt'] ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
"""


class RedisStore:
    """Records as JSON strings under ``prefix + key``."""

    def __init__(self, url: str | None = None, client: Any = None, prefix: str = "idempotency:") -> None:
        if client is None and not url:
            raise ConfigError("RedisStore needs a url ('redis://host:port/db') or a redis client")
        if url:
            from .url import require_plain_userinfo

            require_plain_userinfo(url, "RedisStore")
        self._url = url
        self._secrets = secrets_of(url)
        self.name = safe_url(url) if url else "redis"
        self.prefix = prefix
        self._client = client
        self._takeover: Any = None
        self._if_owner: Any = None

    @property
    def url(self) -> str | None:
        """The URL without its credentials (the store keeps the real one to itself)."""
        return self.name if self._url else None

    def __repr__(self) -> str:
        return f"RedisStore({self.name!r}, prefix={self.prefix!r})"

    def _redis(self) -> Any:
        if self._client is None:
            try:
                import redis
            except ImportError:
                raise StoreError(self.name, "the redis package is not installed: pip install 'lambda-observe[redis]'")
            refused, client = "", None
            try:
                client = redis.Redis.from_url(str(self._url), socket_timeout=5, socket_connect_timeout=5)
            except Exception as exc:  # its text quotes pieces of the URL (a port that is half a password...)
                refused = type(exc).__name__
            if client is None:  # raised here, outside the except block: the client's exception is not its context
                raise StoreError(
                    self.name,
                    f"redis-py cannot use this URL ({refused}; its message is left out, as it may quote the URL); "
                    "expected redis://user:password@host:port/db with the user name and password percent-encoded",
                )
            self._client = client
        if self._takeover is None:
            self._takeover = self._client.register_script(_TAKEOVER)
            self._if_owner = self._client.register_script(_IF_OWNER)
        return self._client

    def _call(self, what: str, fn: Any) -> Any:
        try:
            return fn()
        except StoreError:
            raise
        except Exception as exc:  # redis.exceptions.* and socket errors
            error = StoreError(self.name, f"{what}: {type(exc).__name__}: {exc}", self._secrets)
        # Raised outside the except block, so neither __cause__ nor __context__ holds the client's
        # exception, whose text and traceback may hold the URL.
        raise error

    @staticmethod
    def _ttl_ms(record: Record, now: float) -> int:
        return max(math.ceil((max(record.expiry, record.in_progress_expiry) - now) * 1000), 1) + _MARGIN_MS

    def put_in_progress(self, record: Record, now: float) -> Record | None:
        client = self._redis()
        name = self.prefix + record.key
        payload = json.dumps(record.to_json())
        ttl = self._ttl_ms(record, now)
        if self._call("SET NX", lambda: client.set(name, payload, nx=True, px=ttl)):
            return None
        raw = self._call("takeover", lambda: self._takeover(keys=[name], args=[payload, repr(now), ttl]))
        if raw is None:
            return None
        return Record.from_json(record.key, json.loads(raw))

    def get(self, key: str) -> Record | None:
        client = self._redis()
        raw = self._call("GET", lambda: client.get(self.prefix + key))
        return None if raw is None else Record.from_json(key, json.loads(raw))

    def complete(self, key: str, attempt: str, result: str, expiry: float) -> None:
        current = self.get(key)
        if current is None or current.attempt != attempt:
            return
        current.status, current.result, current.expiry = "COMPLETED", result, expiry
        import time

        ttl = self._ttl_ms(current, time.time())
        self._call(
            "complete",
            lambda: self._if_owner(keys=[self.prefix + key], args=[attempt, json.dumps(current.to_json()), ttl]),
        )

    def delete(self, key: str, attempt: str) -> None:
        self._redis()
        self._call("delete", lambda: self._if_owner(keys=[self.prefix + key], args=[attempt, "", 0]))
