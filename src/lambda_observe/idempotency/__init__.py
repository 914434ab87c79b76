"""Idempotency for at-least-once delivery: ``idempotent`` and ``idempotent_function``.

The same event runs once; a retry gets the stored result; a concurrent duplicate is refused
with :class:`AlreadyInProgressError`; an attempt that crashed can be taken over once its
in-progress expiry passes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    AlreadyInProgressError,
    ConfigError,
    IdempotencyError,
    KeyExpressionError,
    KeyMissingError,
    NoKeyError,
    PayloadMismatchError,
    ReplayError,
    ResultNotSerializableError,
    StoreError,
)

__all__ = [
    "AlreadyInProgressError",
    "ConfigError",
    "DynamoDBStore",
    "IdempotencyError",
    "InMemoryStore",
    "KeyExpressionError",
    "KeyMissingError",
    "NoKeyError",
    "PayloadMismatchError",
    "RedisStore",
    "ReplayError",
    "ResultNotSerializableError",
    "SQLiteStore",
    "StoreError",
    "idempotent",
    "idempotent_function",
]

if TYPE_CHECKING:
    from ._decorators import idempotent, idempotent_function
    from .stores.dynamodb import DynamoDBStore
    from .stores.memory import InMemoryStore
    from .stores.redis import RedisStore
    from .stores.sqlite import SQLiteStore

_WHERE = {
    "idempotent": "._decorators",
    "idempotent_function": "._decorators",
    "DynamoDBStore": ".stores.dynamodb",
    "InMemoryStore": ".stores.memory",
    "RedisStore": ".stores.redis",
    "SQLiteStore": ".stores.sqlite",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'lambda_observe.idempotency' has no attribute {name!r}")
    return getattr(importlib.import_module(where, __name__), name)
