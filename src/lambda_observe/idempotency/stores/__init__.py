"""Idempotency stores: each module stands alone and is imported only when used."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["DynamoDBStore", "InMemoryStore", "RedisStore", "SQLiteStore", "Store", "from_url"]

_WHERE = {
    "DynamoDBStore": ".dynamodb",
    "InMemoryStore": ".memory",
    "RedisStore": ".redis",
    "SQLiteStore": ".sqlite",
    "Store": ".base",
    "from_url": ".url",
}

if TYPE_CHECKING:
    from .base import Store
    from .dynamodb import DynamoDBStore
    from .memory import InMemoryStore
    from .redis import RedisStore
    from .sqlite import SQLiteStore
    from .url import from_url


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'lambda_observe.idempotency.stores' has no attribute {name!r}")
    return getattr(importlib.import_module(where, __name__), name)
