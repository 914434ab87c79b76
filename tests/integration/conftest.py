from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.servers import create_idempotency_table


@pytest.fixture(params=["sqlite", "redis", "dynamodb"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(kind, where) for each real store: a SQLite file, our redis-server, moto's DynamoDB."""
    kind = request.param
    if kind == "sqlite":
        return kind, str(tmp_path / "idem.db")
    if kind == "redis":
        return kind, request.getfixturevalue("redis_url")
    endpoint = request.getfixturevalue("moto_endpoint")
    table = f"idem-{uuid.uuid4().hex[:8]}"
    create_idempotency_table(endpoint, table)
    return kind, f"{endpoint}#{table}"
