"""The public surface: exactly the exported names, and an import that does no work."""

from __future__ import annotations

import json
import subprocess
import sys

import lambda_observe


def test_all_is_sorted_and_exact():
    """__all__ is sorted, every name resolves, and nothing else public is exported."""
    assert lambda_observe.__all__ == sorted(lambda_observe.__all__)
    assert set(lambda_observe.__all__) == {
        "add_dimension",
        "add_metadata",
        "add_metric",
        "annotate",
        "append_keys",
        "capture",
        "flush_metrics",
        "get_logger",
        "idempotent",
        "idempotent_function",
        "is_cold_start",
        "patch",
        "propagate",
        "setup_logging",
        "subsegment",
        "traced",
    }
    for name in lambda_observe.__all__:
        assert callable(getattr(lambda_observe, name)), name


def test_import_does_no_work():
    """import lambda_observe imports no SDK, boto3, logging formatter or wrapt; adds no handler; patches nothing."""
    code = (
        "import sys, logging, json\n"
        "before = set(sys.modules)\n"
        "handlers = list(logging.getLogger().handlers)\n"
        "import lambda_observe\n"
        "new = sorted(set(sys.modules) - before)\n"
        "print(json.dumps({'new': new, 'handlers': len(logging.getLogger().handlers) - len(handlers)}))\n"
    )
    out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    heavy = [
        m
        for m in out["new"]
        if m.split(".")[0]
        in ("aws_xray_sdk", "boto3", "botocore", "pythonjsonlogger", "wrapt", "jmespath", "redis", "orjson", "socket")
    ]
    assert heavy == []
    assert out["handlers"] == 0
    assert [m for m in out["new"] if m.startswith("lambda_observe")] == ["lambda_observe"]


def test_unknown_attribute():
    """A misspelt name is an AttributeError naming it."""
    try:
        lambda_observe.trace  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "'trace'" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_idempotency_exports():
    """Errors and stores live in lambda_observe.idempotency; the error tree is as documented."""
    from lambda_observe import idempotency as idem

    for name in (
        "AlreadyInProgressError",
        "PayloadMismatchError",
        "KeyMissingError",
        "StoreError",
        "ResultNotSerializableError",
    ):
        assert issubclass(getattr(idem, name), idem.IdempotencyError)
    for name in ("InMemoryStore", "SQLiteStore", "DynamoDBStore", "RedisStore"):
        assert isinstance(getattr(idem, name), type)
