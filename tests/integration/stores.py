"""Making each store against its real server, for the integration tests."""

from __future__ import annotations

import uuid
from typing import Any


def make_store(kind: str, where: str) -> Any:
    """``where``: a file path (sqlite), a redis URL, or a DynamoDB endpoint URL (table made by the caller)."""
    if kind == "sqlite":
        from lambda_observe.idempotency import SQLiteStore

        return SQLiteStore(where)
    if kind == "redis":
        from lambda_observe.idempotency import RedisStore

        return RedisStore(where, prefix=f"t{uuid.uuid4().hex[:6]}:")
    if kind == "dynamodb":
        from lambda_observe.idempotency import DynamoDBStore

        endpoint, _, table = where.partition("#")
        return DynamoDBStore(table, region="us-east-1", endpoint_url=endpoint)
    raise ValueError(kind)


def store_url(kind: str, where: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{where}"
    if kind == "redis":
        return where
    endpoint, _, table = where.partition("#")
    return f"dynamodb://{table}?region=us-east-1&endpoint={endpoint}"
