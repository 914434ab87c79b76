"""patch(): names, aliases, errors, idempotence (no real library traffic here)."""

from __future__ import annotations

import pytest

from lambda_observe import patch
from lambda_observe.tracing import patching


def test_unknown_name_lists_the_supported_ones():
    """An unknown name raises ValueError naming what is supported, and patches nothing."""
    with pytest.raises(ValueError) as caught:
        patch("requests", "boto")
    message = str(caught.value)
    assert "'boto'" in message
    for name in ("boto3", "botocore", "httpx", "psycopg2", "sqlite3", "aioboto3"):
        assert name in message
    assert "requests" not in patching._REQUESTED


def test_aliases():
    """What users type maps onto the SDK's patchers."""
    assert patching._canonical("boto3") == "botocore"
    assert patching._canonical("aioboto3") == "aiobotocore"
    assert patching._canonical("mysql-connector") == "mysql"
    assert patching._canonical("SQLAlchemy") == "sqlalchemy_core"
    assert set(patching.SUPPORTED) == {
        "aiobotocore",
        "botocore",
        "pynamodb",
        "requests",
        "sqlite3",
        "mysql",
        "httplib",
        "pymongo",
        "pymysql",
        "psycopg2",
        "psycopg",
        "pg8000",
        "sqlalchemy_core",
        "httpx",
    }


def test_not_installed_is_reported_once(monkeypatch, caplog):
    """A supported library that is not installed is reported once at WARNING; nothing raises."""
    monkeypatch.setattr(patching.importlib.util, "find_spec", lambda name: None)
    monkeypatch.delitem(patching.sys.modules, "pymongo", raising=False)
    with caplog.at_level("WARNING", logger="lambda_observe"):
        patch("pymongo")
        patch("pymongo")
    warnings = [r for r in caplog.records if "not installed" in r.getMessage()]
    assert len(warnings) == 1 and "pymongo" in warnings[0].getMessage()


def test_bad_ignore_pattern():
    """ignore= takes non-empty strings."""
    with pytest.raises(ValueError, match="patterns as strings"):
        patch("requests", ignore=[""])


def test_patching_twice_wraps_once(lambda_env):
    """patch() twice with overlapping names applies each patcher once."""
    import sqlite3

    patch("sqlite3")
    first = sqlite3.connect
    patch("sqlite3", "sqlite3")
    assert sqlite3.connect is first
    assert not hasattr(getattr(first, "__wrapped__", None), "__wrapped__")
    assert "sqlite3" in patching.patched()


@pytest.mark.parametrize("name", ["redis", "urllib3"])
def test_otel_only_libraries_are_refused_at_patch_time_in_xray_mode(name, monkeypatch):
    """redis and urllib3 have no X-Ray patcher: patch() raises the documented ValueError at once
    when the tracer is X-Ray (the default), saying they are traced only in the OTel modes, and
    registers nothing; with LAMBDA_OBSERVE_TRACER=otlp the same call is accepted."""
    from lambda_observe import config
    from lambda_observe.tracing import _state

    monkeypatch.delenv("LAMBDA_OBSERVE_TRACER", raising=False)
    config.reset()
    _state.reset()
    with pytest.raises(ValueError, match="traced only in the OTel modes") as caught:
        patch("requests", name)
    assert repr(name) in str(caught.value)
    assert name not in patching._REQUESTED and "requests" not in patching._REQUESTED
    monkeypatch.setenv("LAMBDA_OBSERVE_TRACER", "otlp")
    config.reset()
    _state.reset()
    monkeypatch.setattr(patching, "_REQUESTED", set())
    from lambda_observe.tracing import _post_import

    monkeypatch.setattr(_post_import, "when_imported", lambda *a: None)
    patch(name)
    assert name in patching._REQUESTED
    config.reset()
