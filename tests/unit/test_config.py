"""Configuration from the environment, read once."""

from __future__ import annotations

import pytest

from lambda_observe import config


def test_defaults(monkeypatch):
    """With nothing set: tracing on, INFO, no patching, idempotency on."""
    for key in ("AWS_LAMBDA_FUNCTION_NAME", "LAMBDA_TASK_ROOT"):
        monkeypatch.delenv(key, raising=False)
    cfg = config.Config.from_env()
    assert cfg.tracing and cfg.capture_response and cfg.idempotency
    assert cfg.log_level == "INFO" and cfg.patch == () and not cfg.in_lambda


def test_switches_and_lists(monkeypatch):
    """Flags accept false/0/no/off; lists accept commas and semicolons."""
    monkeypatch.setenv("LAMBDA_OBSERVE_TRACING", "off")
    monkeypatch.setenv("LAMBDA_OBSERVE_PATCH", "boto3, requests;httpx")
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "provisioned-concurrency")
    cfg = config.Config.from_env()
    assert not cfg.tracing and cfg.patch == ("boto3", "requests", "httpx") and cfg.provisioned


def test_bad_number(monkeypatch):
    """A number that is not one says which variable and what was expected."""
    monkeypatch.setenv("LAMBDA_OBSERVE_DEBUG_SAMPLE_RATE", "lots")
    with pytest.raises(ValueError, match="LAMBDA_OBSERVE_DEBUG_SAMPLE_RATE='lots': expected a number"):
        config.Config.from_env()


@pytest.mark.parametrize("raw", ["nan", "NaN", " -nan "])
def test_nan_is_not_a_number(monkeypatch, raw):
    """NaN compares false with everything, so it would switch the timeout warning off unseen: refused."""
    monkeypatch.setenv("LAMBDA_OBSERVE_TIMEOUT_WARNING_MS", raw)
    with pytest.raises(ValueError, match=r"LAMBDA_OBSERVE_TIMEOUT_WARNING_MS=.*: expected a number"):
        config.Config.from_env()


def test_read_once_until_reset(monkeypatch):
    """get() snapshots the environment; reset() makes it read again."""
    config.reset()
    first = config.get()
    monkeypatch.setenv("LAMBDA_OBSERVE_SERVICE", "changed")
    assert config.get() is first
    config.reset()
    assert config.get().service == "changed"
