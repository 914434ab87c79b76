"""Metrics under the attacks of issue 15's second review: threads adding while a flush runs, values
added after the handler returned, the service and the dimensions of metrics added outside a
handler, namespaces CloudWatch rejects, and a stdout that cannot be written."""

from __future__ import annotations

import contextlib
import io
import json
import sys
import threading
from typing import Any

import pytest

from lambda_observe import add_dimension, add_metric, flush_metrics, propagate, setup_logging, traced
from lambda_observe.metrics import NamespaceError
from lambda_observe.testing import LambdaContext


@pytest.fixture
def namespace(lambda_env, monkeypatch):
    monkeypatch.setenv("LAMBDA_OBSERVE_METRICS_NAMESPACE", "Shop")
    return "Shop"


def emf_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"_aws"')]


def values(docs: list[dict[str, Any]], name: str) -> list[Any]:
    out: list[Any] = []
    for doc in docs:
        if name in doc:
            out.extend(doc[name] if isinstance(doc[name], list) else [doc[name]])
    return out


def dimension_sets(docs: list[dict[str, Any]], name: str) -> list[dict[str, str]]:
    found = []
    for doc in docs:
        if name in doc:
            (keys,) = doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
            found.append({k: doc[k] for k in keys})
    return found


def test_no_value_is_lost_while_threads_add_during_flushes(namespace, assert_emf):
    """Four threads add 20,000 values each while the main thread flushes in a loop, switching threads
    every microsecond, in eight rounds: every value added is written exactly once."""
    per_thread, threads, rounds = 20_000, 4, 8
    out = io.StringIO()

    def work() -> None:
        for _ in range(per_thread):
            add_metric("Hit", 1)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with contextlib.redirect_stdout(out):
            for _ in range(rounds):
                workers = [threading.Thread(target=work) for _ in range(threads)]
                for w in workers:
                    w.start()
                while any(w.is_alive() for w in workers):
                    flush_metrics()
                for w in workers:
                    w.join()
            flush_metrics()
    finally:
        sys.setswitchinterval(old)
    docs = emf_lines(out.getvalue())
    assert_emf(docs[:50])
    assert len(values(docs, "Hit")) == per_thread * threads * rounds


def test_values_added_after_the_handler_returned_keep_their_invocation(namespace, capsys, assert_emf):
    """A propagate()d thread still adding after its handler returned: no value is lost, and the late
    values are written with the invocation's own dimensions (not the process's) at the next flush."""
    returned = threading.Event()
    workers: list[threading.Thread] = []

    def work() -> None:
        for _ in range(1000):
            add_metric("Work", 1)
        returned.wait(10)
        for _ in range(1000):
            add_metric("Work", 1)

    @traced(service="orders")
    def handler(event, context):
        add_dimension("order", "a")
        worker = threading.Thread(target=propagate(work))
        workers.append(worker)
        worker.start()
        return "ok"

    assert handler({}, LambdaContext()) == "ok"
    returned.set()
    workers[0].join(10)
    flush_metrics()  # outside any invocation: writes the values that came too late for their own flush
    docs = emf_lines(capsys.readouterr().out)
    assert_emf(docs)
    assert len(values(docs, "Work")) == 2000
    assert all(d == {"service": "orders", "order": "a"} for d in dimension_sets(docs, "Work"))


def test_the_timeout_flush_never_waits_for_the_lock(namespace, capsys):
    """The timeout warning may run in a signal handler while its own thread holds the metrics lock:
    it returns at once, and the metrics it could not take are written as soon as the lock is let go."""
    from lambda_observe import _invocation
    from lambda_observe.metrics import _store

    finished = threading.Event()

    @traced
    def handler(event, context):
        add_metric("Before", 1)
        inv = _invocation.current()

        def interrupted() -> None:  # the lock is held, as by an add_metric the signal interrupted
            with _store._LOCK:
                _store._before_timeout(inv)  # type: ignore[arg-type]
            finished.set()

        thread = threading.Thread(target=propagate(interrupted), daemon=True)
        thread.start()
        assert finished.wait(5), "the timeout flush waited for a lock its own thread holds"
        add_metric("After", 1)  # the next release writes what the timeout flush left behind
        early = emf_lines(capsys.readouterr().out)
        assert values(early, "Before") == [1]
        return "ok"

    assert handler({}, LambdaContext()) == "ok"
    assert values(emf_lines(capsys.readouterr().out), "Before") == []  # written once, not twice


def test_values_added_across_the_timeout_warning_are_all_written(namespace, capsys, monkeypatch):
    """The handler adds in a tight loop while the timeout warning (SIGALRM, main thread) flushes part
    of them: every value is written exactly once, and nothing deadlocks."""
    import time

    monkeypatch.setenv("LAMBDA_OBSERVE_TIMEOUT_WARNING_MS", "900")
    added = [0]

    @traced
    def handler(event, context):
        stop = time.monotonic() + 0.35
        while time.monotonic() < stop:
            for _ in range(100):
                add_metric("Busy", 1)
            added[0] += 100

    handler({}, LambdaContext(timeout_s=1.0))
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert any("from its deadline" in x.get("message", "") for x in rows)  # the timeout flush ran
    assert len(emf_lines("\n".join(json.dumps(x) for x in rows if "_aws" in x))) >= 3  # ColdStart, timeout, end
    assert len(values([x for x in rows if "_aws" in x], "Busy")) == added[0]


def test_metrics_outside_a_handler_carry_the_processs_service(namespace, capsys, assert_emf):
    """Metrics added at import time and from a plain thread get the service the handler was set up
    with, as the handler's own metrics do; before any invocation, setup_logging's service."""
    setup_logging(service="orders")
    add_metric("Script", 1)
    flush_metrics()
    add_metric("AtImport", 1)

    @traced(service="orders")
    def handler(event, context):
        add_metric("InHandler", 1)
        thread = threading.Thread(target=lambda: add_metric("FromThread", 1))
        thread.start()
        thread.join()

    handler({}, LambdaContext())
    handler({}, LambdaContext())
    docs = emf_lines(capsys.readouterr().out)
    assert_emf(docs)
    for name in ("Script", "AtImport", "InHandler", "FromThread"):
        sets = dimension_sets(docs, name)
        assert sets and all(s["service"] == "orders" for s in sets), (name, sets)


def test_a_dimension_added_outside_a_handler_is_on_every_line(namespace, capsys, assert_emf):
    """add_dimension at import time is a default dimension: the handler's metrics and a plain thread's
    carry it on every invocation, so one metric name never has two dimension sets."""
    add_dimension("env", "prod")

    @traced(service="orders")
    def handler(event, context):
        add_metric("InHandler", 1)
        add_dimension("route", "/orders")
        thread = threading.Thread(target=lambda: add_metric("FromThread", 1))
        thread.start()
        thread.join()

    handler({}, LambdaContext())
    handler({}, LambdaContext())
    docs = emf_lines(capsys.readouterr().out)
    assert_emf(docs)
    assert dimension_sets(docs, "InHandler") == [{"service": "orders", "env": "prod", "route": "/orders"}] * 2
    assert dimension_sets(docs, "FromThread") == [{"service": "orders", "env": "prod"}] * 2
    assert dimension_sets(docs, "ColdStart") == [{"function_name": "local-function", "service": "orders"}]


def test_set_default_dimensions_inside_a_handler_persists(namespace, capsys, assert_emf):
    """set_default_dimensions applies to this invocation and every later one; an invocation's own
    add_dimension of the same name wins for that invocation; a metric of that name is refused."""
    from lambda_observe.metrics import DimensionError, MetricNameError, clear_default_dimensions, set_default_dimensions

    @traced(service="orders")
    def handler(event, context):
        if event["first"]:
            set_default_dimensions(tier="gold")
        else:
            add_dimension("tier", "silver")
        with pytest.raises(MetricNameError, match="already a dimension"):
            add_metric("tier", 1)
        add_metric("Served", 1)

    handler({"first": True}, LambdaContext())
    handler({"first": False}, LambdaContext())
    docs = emf_lines(capsys.readouterr().out)
    assert_emf(docs)
    assert [s["tier"] for s in dimension_sets(docs, "Served")] == ["gold", "silver"]
    with pytest.raises(DimensionError, match="at most 30"):
        set_default_dimensions(**{f"d{i}": "v" for i in range(30)})
    clear_default_dimensions()
    add_metric("Plain", 1)
    flush_metrics()
    assert dimension_sets(emf_lines(capsys.readouterr().out), "Plain") == [{"service": "orders"}]


@pytest.mark.parametrize("bad", ["AWS/Lambda", "Shop!", "Shop{x}", "Shop\u00e9"])
def test_namespaces_cloudwatch_rejects_fail_at_add_metric(lambda_env, monkeypatch, bad):
    """A namespace CloudWatch would reject (AWS/ prefix, characters outside A-Z a-z 0-9 . - _ / # : and
    space) raises NamespaceError at the first add_metric, naming what is allowed."""
    monkeypatch.setenv("LAMBDA_OBSERVE_METRICS_NAMESPACE", bad)
    with pytest.raises(NamespaceError, match=r"AWS/|letters, digits"):
        add_metric("Hit", 1)


def test_accepted_namespaces(lambda_env, monkeypatch, capsys):
    """The characters CloudWatch allows are accepted."""
    monkeypatch.setenv("LAMBDA_OBSERVE_METRICS_NAMESPACE", "Shop/Orders-1.v2_#a:b c")
    add_metric("Hit", 1)
    flush_metrics()
    (doc,) = emf_lines(capsys.readouterr().out)
    assert doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Shop/Orders-1.v2_#a:b c"


class _BrokenStdout:
    def write(self, text: str) -> int:
        raise OSError("stdout is gone")

    def flush(self) -> None:
        raise OSError("stdout is gone")


def test_a_broken_stdout_gives_one_warning_on_stderr_and_no_logging_error(namespace, monkeypatch, capsys):
    """stdout replaced by one whose write raises, logging set up on it: the handler's result is
    unchanged, the metrics failure is said once on stderr, and Python's '--- Logging error ---' never
    appears."""

    @traced
    def handler(event, context):
        add_metric("Handled", 1)
        return {"ok": True}

    capsys.readouterr()
    monkeypatch.setattr("sys.stdout", _BrokenStdout())
    assert handler({}, LambdaContext()) == {"ok": True}
    assert handler({}, LambdaContext()) == {"ok": True}
    err = capsys.readouterr().err
    assert "Logging error" not in err and "Traceback" not in err
    warnings = [json.loads(line) for line in err.splitlines() if "could not write the metrics" in line]
    assert len(warnings) == 1 and warnings[0]["level"] == "WARNING" and "stdout is gone" in warnings[0]["message"]
