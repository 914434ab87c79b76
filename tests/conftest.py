"""Shared fixtures: a Lambda-like environment with a real UDP collector, the X-Ray schema,
the real event samples in ``tests/data``, and clean library state for every test."""

from __future__ import annotations

import json
import logging
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: Python 3.10 keeps the standard findCaller: the tests of the 3.11+ walk have nothing to test there
#: (tests/unit/test_caller.py checks, on every version, which lookup is in place).
collect_ignore = ["unit/test_caller_walk.py"] if sys.version_info < (3, 11) else []

DATA = Path(__file__).resolve().parent / "data"  # everything the tests read is in the repository
SCHEMA_PATH = DATA / "schemas" / "xray-segmentdocument-schema-v1.0.0.json"
EMF_SCHEMA_PATH = DATA / "schemas" / "cloudwatch-emf-schema.json"
EVENTS = DATA / "events"
IN_CI = os.environ.get("CI", "").lower() == "true"

#: LAMBDA_OBSERVE_TEST_NO_ORJSON=1 runs the suite as if orjson were not installed: a stand-in that
#: fails to import comes first on sys.path here and on PYTHONPATH for every subprocess. It must act
#: before anything imports lambda_observe (this module is loaded before the tests are collected).
NO_ORJSON = os.environ.get("LAMBDA_OBSERVE_TEST_NO_ORJSON", "") == "1"
if NO_ORJSON:
    if "orjson" in sys.modules or "lambda_observe" in sys.modules:
        raise RuntimeError("LAMBDA_OBSERVE_TEST_NO_ORJSON=1: orjson or lambda_observe was imported before conftest")
    _STAND_IN = str(Path(__file__).resolve().parent / "no_orjson")
    sys.path.insert(0, _STAND_IN)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_STAND_IN, os.environ.get("PYTHONPATH", "")) if p)


def pytest_report_header() -> str:
    return f"lambda_observe JSON path: {'the standard library (orjson hidden)' if NO_ORJSON else 'orjson if installed'}"


def need(condition: bool, reason: str) -> None:
    """Skip with ``reason`` when ``condition`` is false, except in CI, where it fails."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def xray_validator() -> Any:
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text())
    return jsonschema.Draft4Validator(schema)


@pytest.fixture
def assert_valid(xray_validator: Any) -> Any:
    def check(docs: list[dict[str, Any]]) -> None:
        """Each document validates; a flat list is checked, and so is each nested document as sent."""
        assert docs, "no documents to validate"
        for doc in docs:
            errors = sorted(xray_validator.iter_errors(doc), key=str)
            assert not errors, f"{doc.get('name')}: {[e.message for e in errors]}"

    return check


@pytest.fixture(scope="session")
def emf_validator() -> Any:
    import jsonschema

    return jsonschema.Draft7Validator(json.loads(EMF_SCHEMA_PATH.read_text()))


_NAMESPACE_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_/#: ")


def emf_problems(doc: dict[str, Any], validator: Any) -> list[str]:
    """What is wrong with one EMF document: the schema, and what the schema does not state (a string
    root member for each dimension, a finite number or list of them for each metric, 100 values per
    metric, CloudWatch's namespace characters, one event's size)."""
    problems = [e.message for e in validator.iter_errors(doc)]
    if problems:
        return problems
    for directive in doc["_aws"]["CloudWatchMetrics"]:
        namespace = directive["Namespace"]
        if namespace.startswith("AWS/") or not set(namespace) <= _NAMESPACE_CHARS:
            problems.append(f"namespace {namespace!r} is one CloudWatch rejects")
        for names in directive["Dimensions"]:
            problems += [f"dimension {n!r} has no string value" for n in names if not isinstance(doc.get(n), str)]
        for metric in directive["Metrics"]:
            value = doc.get(metric["Name"])
            values = value if isinstance(value, list) else [value]
            if not 0 < len(values) <= 100:
                problems.append(f"metric {metric['Name']!r} has {len(values)} values in one line")
            if not all(type(v) in (int, float) and v == v and abs(v) != float("inf") for v in values):
                problems.append(f"metric {metric['Name']!r} has a value that is not a finite number")
    if len(json.dumps(doc, separators=(",", ":"))) > 256 * 1024 - 26:
        problems.append("larger than a CloudWatch Logs event")
    return problems


@pytest.fixture
def assert_emf(emf_validator: Any) -> Any:
    def check(docs: list[dict[str, Any]]) -> None:
        """Each EMF document validates against the schema and keeps the limits it does not state."""
        assert docs, "no EMF documents to validate"
        for doc in docs:
            problems = emf_problems(doc, emf_validator)
            assert not problems, f"{doc}: {problems}"

    return check


def shared_event(name: str) -> dict[str, Any]:
    """A real event sample from ``tests/data/events`` (a missing file is an error, never a skip)."""
    path = EVENTS / name
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def reset_library() -> None:
    from lambda_observe import _invocation, _warn, config, redact
    from lambda_observe._hooks import END_HOOKS, INVOCATION_HOOKS, TIMEOUT_HOOKS
    from lambda_observe.logs import _buffer, _Setup
    from lambda_observe.metrics import _store
    from lambda_observe.tracing import _state

    config.reset()
    redact.reset()
    _state.reset()
    _invocation.reset_process()
    _warn.forget()
    _Setup.done = False
    _Setup.service = None
    INVOCATION_HOOKS.clear()
    END_HOOKS.clear()
    TIMEOUT_HOOKS.clear()
    _buffer.reset()
    _store.reset()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_lambda_observe_handler", False):
            root.removeHandler(handler)


def new_trace_header(sampled: bool = True) -> tuple[str, str, str]:
    import time

    root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    parent = uuid.uuid4().hex[:16]
    return root, parent, f"Root={root};Parent={parent};Sampled={1 if sampled else 0}"


class LambdaEnv:
    """The environment of a test: its collector and its trace header."""

    def __init__(self, collector: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.collector = collector
        self.monkeypatch = monkeypatch
        self.new_trace()

    def new_trace(self, sampled: bool = True) -> str:
        self.root, self.parent, header = new_trace_header(sampled)
        self.monkeypatch.setenv("_X_AMZN_TRACE_ID", header)
        return header

    def documents(self, count: int | None = None) -> list[dict[str, Any]]:
        """Every subsegment received, flat (nested children lifted out with their parent's id)."""
        if count is None:
            self.collector.settle(quiet=0.05)
            return self.collector.spans
        return self.collector.wait_for(count)


@pytest.fixture(autouse=True)
def clean_library(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in list(os.environ):
        if key.startswith("LAMBDA_OBSERVE_") or key in (
            "_X_AMZN_TRACE_ID",
            "AWS_LAMBDA_LOG_FORMAT",
            "AWS_LAMBDA_LOG_LEVEL",
            "LOG_LEVEL",
            "AWS_LAMBDA_INITIALIZATION_TYPE",
            "AWS_XRAY_SDK_ENABLED",
            "POWERTOOLS_METRICS_NAMESPACE",
        ):
            monkeypatch.delenv(key, raising=False)
    reset_library()
    yield
    reset_library()


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[LambdaEnv]:
    from lambda_observe.testing import collector as make_collector

    with make_collector() as collector:
        monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "test-fn")
        monkeypatch.setenv("AWS_REGION", "us-east-1")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", collector.address)
        monkeypatch.setenv("LAMBDA_OBSERVE_IDEMPOTENCY_STORE", "memory://")
        reset_library()
        yield LambdaEnv(collector, monkeypatch)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    from tests.servers import redis_server

    with redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    from tests.servers import moto_server

    with moto_server() as endpoint:
        yield endpoint
