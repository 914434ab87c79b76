"""Metrics of decorated handlers, read back as EMF lines from stdout."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_observe import add_dimension, add_metric, flush_metrics, propagate, traced
from lambda_observe.metrics import DimensionError, MetricUnitError, NamespaceError
from lambda_observe.testing import LambdaContext
from tests.unit import test_metrics as unit_tests


@pytest.fixture
def namespace(lambda_env, monkeypatch):
    monkeypatch.setenv("LAMBDA_OBSERVE_METRICS_NAMESPACE", "Shop")
    return "Shop"


def emf(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The EMF documents written to stdout, in order (log lines left out)."""
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    return docs


def names(doc: dict[str, Any]) -> list[str]:
    return [m["Name"] for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]]


def dimension_set(doc: dict[str, Any]) -> dict[str, str]:
    (keys,) = doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    return {k: doc[k] for k in keys}


def test_metrics_flushed_at_the_end_of_each_invocation(namespace, capsys, assert_emf):
    """Each invocation writes one line with its metrics and dimensions; ColdStart only on the first,
    in its own line with function_name and service."""

    @traced(service="orders")
    def handler(event, context):
        add_metric("OrderStored", 1)
        add_metric("OrderValue", event["value"], unit="None")
        add_metric("Latency", 12.5, unit="Milliseconds", resolution=1)
        add_dimension("route", "/orders")
        return "ok"

    handler({"value": 30}, LambdaContext(function_name="orders-fn"))
    first = emf(capsys)
    handler({"value": 45}, LambdaContext(function_name="orders-fn"))
    second = emf(capsys)
    assert_emf(first + second)
    cold, line = first
    assert names(cold) == ["ColdStart"] and cold["ColdStart"] == 1
    assert dimension_set(cold) == {"function_name": "orders-fn", "service": "orders"}
    assert cold["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Shop"
    assert names(line) == ["OrderStored", "OrderValue", "Latency"]
    assert dimension_set(line) == {"service": "orders", "route": "/orders"}
    assert (line["OrderStored"], line["OrderValue"], line["Latency"]) == (1, 30, 12.5)
    (warm,) = second
    assert names(warm) == names(line) and warm["OrderValue"] == 45
    from lambda_observe.metrics._store import _State

    assert _State.sets == {}  # no invocation's set outlives it


def test_metrics_flushed_when_the_handler_raises(namespace, capsys, assert_emf):
    """A handler that raises still writes its metrics; the exception reaches the caller unchanged."""

    @traced
    def handler(event, context):
        add_metric("Failed", 1)
        raise KeyError("order")

    with pytest.raises(KeyError, match="order"):
        handler({}, LambdaContext())
    docs = emf(capsys)
    assert_emf(docs)
    assert [names(d) for d in docs] == [["ColdStart"], ["Failed"]]


def test_no_metrics_no_line(namespace, capsys):
    """A warm invocation that adds no metric writes no EMF line."""

    @traced
    def handler(event, context):
        return 1

    handler({}, LambdaContext())
    assert [names(d) for d in emf(capsys)] == [["ColdStart"]]
    handler({}, LambdaContext())
    assert emf(capsys) == []


def test_no_cold_start_metric_under_provisioned_concurrency(namespace, capsys, monkeypatch, assert_emf):
    """Under provisioned concurrency no invocation writes ColdStart."""
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "provisioned-concurrency")

    @traced
    def handler(event, context):
        add_metric("Handled", 1)

    handler({}, LambdaContext())
    handler({}, LambdaContext())
    docs = emf(capsys)
    assert_emf(docs)
    assert [names(d) for d in docs] == [["Handled"], ["Handled"]]


def test_powertools_namespace_variable(lambda_env, capsys, monkeypatch, assert_emf):
    """POWERTOOLS_METRICS_NAMESPACE is used when LAMBDA_OBSERVE_METRICS_NAMESPACE is not set."""
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "FromPowertools")

    @traced
    def handler(event, context):
        add_metric("Handled", 1)

    handler({}, LambdaContext())
    docs = emf(capsys)
    assert_emf(docs)
    assert {d["_aws"]["CloudWatchMetrics"][0]["Namespace"] for d in docs} == {"FromPowertools"}


def test_no_namespace_fails_clearly_at_add_metric(lambda_env, capsys):
    """Without a namespace the first add_metric raises NamespaceError naming the variable; no line is written."""

    @traced
    def handler(event, context):
        add_metric("Handled", 1)

    with pytest.raises(NamespaceError, match="LAMBDA_OBSERVE_METRICS_NAMESPACE"):
        handler({}, LambdaContext())
    assert emf(capsys) == []


def test_threads_under_propagate_land_in_their_invocation(namespace, capsys, assert_emf):
    """Two invocations running at once, each adding metrics from pool threads through propagate():
    each line holds exactly its own invocation's values."""
    barrier = threading.Barrier(2)

    @traced
    def handler(event, context):
        add_dimension("order", event["order"])
        barrier.wait(timeout=10)  # both invocations are open while the threads add
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(propagate(lambda i: add_metric("Item", event["base"] + i)), range(20)))
        barrier.wait(timeout=10)
        return "ok"

    with ThreadPoolExecutor(2) as outer:
        futures = [
            outer.submit(handler, {"order": "a", "base": 0}, LambdaContext()),
            outer.submit(handler, {"order": "b", "base": 1000}, LambdaContext()),
        ]
        assert [f.result(timeout=30) for f in futures] == ["ok", "ok"]
    docs = [d for d in emf(capsys) if "Item" in names(d)]
    assert_emf(docs)
    by_order = {d["order"]: sorted(d["Item"]) for d in docs}
    assert by_order == {"a": list(range(20)), "b": list(range(1000, 1020))}


def test_outside_a_handler_flush_metrics_writes_the_process_set(namespace, capsys, assert_emf):
    """Code outside a handler adds to the process's set; flush_metrics() writes it once, with the
    configured service as the default dimension."""
    add_metric("Script", 2, unit="Count")
    add_dimension("job", "nightly")
    flush_metrics()
    flush_metrics()  # nothing left: no second line
    (doc,) = emf(capsys)
    assert_emf([doc])
    assert dimension_set(doc) == {"service": "test-fn", "job": "nightly"} and doc["Script"] == 2


def test_init_time_metrics_go_out_with_the_first_invocation(namespace, capsys, assert_emf):
    """A metric added at import time (outside any invocation) is written at the end of the next invocation."""
    add_metric("ModuleLoaded", 1)

    @traced
    def handler(event, context):
        add_metric("Handled", 1)

    handler({}, LambdaContext())
    docs = emf(capsys)
    assert_emf(docs)
    assert [names(d) for d in docs] == [["ColdStart"], ["Handled"], ["ModuleLoaded"]]


def test_thirty_dimensions_and_not_one_more(namespace, capsys, assert_emf):
    """service plus 29 dimensions fit; the 31st raises DimensionError at add_dimension."""

    @traced
    def handler(event, context):
        for i in range(29):
            add_dimension(f"d{i}", str(i))
        add_dimension("d0", "again")  # replacing a value is not a new dimension
        with pytest.raises(DimensionError, match="at most 30 dimensions"):
            add_dimension("one_too_many", "x")
        add_metric("Wide", 1)

    handler({}, LambdaContext())
    docs = emf(capsys)
    assert_emf(docs)
    assert len(dimension_set(docs[-1])) == 30 and docs[-1]["d0"] == "again"


def test_a_metric_keeps_its_unit(namespace, capsys):
    """The same name with another unit in one invocation is an error at the call."""

    @traced
    def handler(event, context):
        add_metric("Size", 1, unit="Bytes")
        with pytest.raises(MetricUnitError, match="one unit per metric"):
            add_metric("Size", 1, unit="Kilobytes")
        add_metric("Size", 2, unit="Bytes")

    handler({}, LambdaContext())
    assert emf(capsys)[-1]["Size"] == [1, 2]


def test_many_values_over_several_lines(namespace, capsys, assert_emf):
    """250 values of one metric and 120 metrics: more lines, each within EMF's limits, no value lost."""

    @traced
    def handler(event, context):
        for i in range(250):
            add_metric("Latency", i, unit="Milliseconds")
        for i in range(120):
            add_metric(f"m{i}", i)

    handler({}, LambdaContext())
    docs = [d for d in emf(capsys) if names(d) != ["ColdStart"]]
    assert_emf(docs)
    latency = [
        v for d in docs if "Latency" in d for v in (d["Latency"] if isinstance(d["Latency"], list) else [d["Latency"]])
    ]
    assert latency == list(range(250))
    assert sorted(n for d in docs for n in names(d) if n != "Latency") == sorted(f"m{i}" for i in range(120))


class _BrokenStdout:
    def write(self, text: str) -> int:
        raise OSError("stdout is gone")

    def flush(self) -> None:
        raise OSError("stdout is gone")


def test_nothing_on_the_flush_path_raises_into_the_handler(namespace, monkeypatch, capsys):
    """A stdout that fails on write: the handler's result is unchanged, one WARNING per failure is
    written to stderr (not through logging, whose handler writes to the same broken stdout)."""

    @traced(logs=False)
    def handler(event, context):
        add_metric("Handled", 1)
        return {"ok": True}

    monkeypatch.setattr("sys.stdout", _BrokenStdout())
    assert handler({}, LambdaContext()) == {"ok": True}
    assert handler({}, LambdaContext()) == {"ok": True}
    warnings = [json.loads(line) for line in capsys.readouterr().err.splitlines() if "metric" in line]
    assert len(warnings) == 2  # the ColdStart line, and the flush: each said once per process
    assert all(w["level"] == "WARNING" and "stdout is gone" in w["message"] for w in warnings)


def test_metrics_flushed_before_the_timeout_warning(namespace, capsys, monkeypatch, assert_emf):
    """Near the deadline, the invocation's metrics are written before the timeout warning."""
    import time

    monkeypatch.setenv("LAMBDA_OBSERVE_TIMEOUT_WARNING_MS", "900")

    @traced
    def handler(event, context):
        add_metric("BeforeSleep", 1)
        time.sleep(0.4)

    handler({}, LambdaContext(timeout_s=1.0))
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = ["emf:" + names(x)[0] if "_aws" in x else x["level"] for x in out]
    assert kinds == ["emf:ColdStart", "emf:BeforeSleep", "WARNING"]
    assert_emf([x for x in out if "_aws" in x])


def _public_api_lines(calls: list[tuple[str, Any, str, int]], dims: dict[str, str]) -> list[dict[str, Any]]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for name, value in dims.items():
            add_dimension(name, value)
        for name, value, unit, resolution in calls:
            add_metric(name, value, unit=unit, resolution=resolution)
        flush_metrics()
    return [json.loads(line) for line in out.getvalue().splitlines()]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    calls=st.lists(
        st.tuples(unit_tests.NAMES, unit_tests.VALUES, unit_tests.UNITS, st.sampled_from([1, 60])), max_size=40
    ),
    dims=st.dictionaries(unit_tests.DIM_NAMES, unit_tests.DIM_VALUES, max_size=10),
)
def test_any_valid_calls_write_valid_lines_with_every_value(namespace, emf_validator, calls, dims):
    """Through the public functions: any valid names, values, units, resolutions and dimensions give
    lines that validate, carry the dimensions given, and hold every value once."""
    from tests.conftest import emf_problems, reset_library

    reset_library()
    first: dict[str, tuple[str, int]] = {}
    calls = [(n, v, *first.setdefault(n, (u, r))) for n, v, u, r in calls if n not in dims and n != "service"]
    docs = _public_api_lines(calls, dims)
    if not calls:
        assert docs == []
        return
    for doc in docs:
        assert emf_problems(doc, emf_validator) == []
        assert dimension_set(doc) == {"service": "test-fn", **dims}
    assert unit_tests.values_by_name(docs) == {  # ints past 2**53 are written as floats
        n: [float(v) if type(v) is int and abs(v) > 2**53 else v for m, v, _, _ in calls if m == n]
        for n in dict.fromkeys(c[0] for c in calls)
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    bad=st.one_of(
        st.tuples(st.just("name"), unit_tests.BAD_NAMES),
        st.tuples(
            st.just("value"),
            st.sampled_from([float("nan"), float("inf"), -float("inf"), True, None, "1", 2.0**400, 1e-200]),
        ),
        st.tuples(st.just("unit"), st.sampled_from(["Millis", "count", "", None, 5])),
        st.tuples(st.just("resolution"), st.sampled_from([0, 5, 60.0, True, "1"])),
    )
)
def test_bad_calls_raise_typed_errors_and_add_nothing(namespace, bad):
    """Through add_metric (and its fast paths): each kind of bad input raises its own error and adds nothing."""
    from lambda_observe.metrics import MetricNameError, MetricResolutionError, MetricValueError
    from lambda_observe.metrics._store import _State

    add_metric("Good", 1)  # a name seen before takes the fast path; the bad calls below must not
    kind, value = bad
    args: dict[str, Any] = {"name": "Good", "value": 1, "unit": "Count", "resolution": 60, kind: value}
    error = {
        "name": MetricNameError,
        "value": MetricValueError,
        "unit": MetricUnitError,
        "resolution": MetricResolutionError,
    }
    with pytest.raises(error[kind]):
        add_metric(**args)
    assert _State.process.metrics["Good"].values == [1]
    _State.process.take()
