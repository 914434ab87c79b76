"""EMF encoding and the checks on metric input: pure logic, no handler."""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_observe.metrics import (
    DimensionError,
    MetricNameError,
    MetricResolutionError,
    MetricsError,
    MetricUnit,
    MetricUnitError,
    MetricValueError,
    NamespaceError,
    _validate,
)
from lambda_observe.metrics._emf import MAX_LINE_BYTES, Metric, encode
from tests.conftest import emf_problems

PRINTABLE = st.characters(min_codepoint=32, max_codepoint=126)
NAMES = st.text(PRINTABLE, min_size=1, max_size=255).filter(lambda s: not s.isspace() and s != "_aws")
DIM_NAMES = NAMES.filter(lambda s: not s.startswith(":"))
DIM_VALUES = st.text(PRINTABLE, min_size=1, max_size=1024).filter(lambda s: not s.isspace())
UNITS = st.sampled_from(sorted(_validate.UNITS))
VALUES = st.one_of(
    st.integers(min_value=-(2**300), max_value=2**300),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda v: v == 0 or 2.0**-360 <= abs(v) <= 2.0**360),
)


def metric(unit: str = "Count", resolution: int = 60, values: list[Any] | None = None) -> Metric:
    m = Metric(unit, resolution)
    m.values.extend(values or [1])
    return m


def decode(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines]


def values_by_name(docs: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Every value each metric got across the lines, in order."""
    out: dict[str, list[Any]] = {}
    for doc in docs:
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            for m in directive["Metrics"]:
                v = doc[m["Name"]]
                out.setdefault(m["Name"], []).extend(v if isinstance(v, list) else [v])
    return out


def test_one_metric_line_shape(emf_validator):
    """One metric, default dimension: the EMF shape Powertools writes, with the value as a number."""
    (line,) = encode("Orders", {"service": "orders"}, {"Stored": metric()}, 1_700_000_000_000)
    doc = json.loads(line)
    assert doc == {
        "_aws": {
            "Timestamp": 1_700_000_000_000,
            "CloudWatchMetrics": [
                {"Namespace": "Orders", "Dimensions": [["service"]], "Metrics": [{"Name": "Stored", "Unit": "Count"}]}
            ],
        },
        "service": "orders",
        "Stored": 1,
    }
    assert emf_problems(doc, emf_validator) == []


def test_high_resolution_is_marked_and_standard_is_not(emf_validator):
    """StorageResolution 1 appears only on high-resolution metrics (standard is CloudWatch's default)."""
    lines = encode("N", {"service": "s"}, {"Fast": metric(resolution=1), "Slow": metric(resolution=60)}, 1)
    (doc,) = decode(lines)
    defs = {m["Name"]: m for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert defs["Fast"]["StorageResolution"] == 1 and "StorageResolution" not in defs["Slow"]
    assert emf_problems(doc, emf_validator) == []


def test_no_metrics_no_line():
    """An empty set encodes to no line at all."""
    assert encode("N", {"service": "s"}, {}, 1) == []


@pytest.mark.parametrize(("metrics", "values"), [(250, 1), (1, 250), (150, 130), (101, 100)])
def test_limits_make_more_lines_never_fewer_values(emf_validator, metrics, values):
    """Over 100 metrics or 100 values per metric: more lines, each valid, and every value is there once."""
    given_values = {f"m{i}": [i * 1000 + j for j in range(values)] for i in range(metrics)}
    lines = encode("N", {"service": "s"}, {k: metric(values=v) for k, v in given_values.items()}, 1)
    docs = decode(lines)
    for doc in docs:
        assert emf_problems(doc, emf_validator) == []
    assert values_by_name(docs) == given_values
    assert len(docs) == math.ceil(metrics / 100) * math.ceil(values / 100)


def test_the_value_check_fails_without_the_split(emf_validator):
    """The companion of the test above: with the 100-values split switched off (a larger limit
    passed in), the checker rejects the line, so the test above can fail."""
    lines = encode("N", {"service": "s"}, {"m": metric(values=list(range(150)))}, 1, max_values=10_000)
    assert any("150 values" in p for p in emf_problems(json.loads(lines[0]), emf_validator))
    lines = encode("N", {"service": "s"}, {f"m{i}": metric() for i in range(150)}, 1, max_metrics=10_000)
    assert emf_problems(json.loads(lines[0]), emf_validator) != []


def test_a_line_never_outgrows_a_log_event(emf_validator):
    """Long names and many values: the lines are cut by bytes too, and all values survive."""
    names = {("x" * 200) + f"{i:05d}": [1.2345678901234567e-300 * (j + 1) for j in range(100)] for i in range(100)}
    dims = {f"d{i}": "v" * 1024 for i in range(29)} | {"service": "s"}
    lines = encode("N", dims, {k: metric(values=v) for k, v in names.items()}, 1)
    assert len(lines) > 1 and all(len(line.encode()) <= MAX_LINE_BYTES for line in lines)
    docs = decode(lines)
    assert values_by_name(docs) == names
    for doc in docs:
        assert emf_problems(doc, emf_validator) == []


def _metric_sets(values: st.SearchStrategy[list[Any]], min_size: int, max_size: int) -> Any:
    return st.dictionaries(
        NAMES, st.tuples(UNITS, st.sampled_from([1, 60]), values), min_size=min_size, max_size=max_size
    )


def _many_metrics(values: st.SearchStrategy[list[Any]], min_size: int, max_size: int) -> Any:
    """More than 100 metrics: a few drawn names, the rest numbered (drawing 95+ distinct names one
    by one makes Hypothesis reject too many examples)."""
    one = st.tuples(UNITS, st.sampled_from([1, 60]), values)
    numbered = st.lists(one, min_size=min_size, max_size=max_size).map(
        lambda items: {f"metric-{i}": item for i, item in enumerate(items)}
    )
    return st.tuples(_metric_sets(values, 0, 5), numbered).map(lambda t: t[0] | t[1])


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(  # a few metrics, some with more than 100 values; or more than 100 metrics
        _metric_sets(st.lists(VALUES, min_size=1, max_size=5) | st.lists(VALUES, min_size=95, max_size=230), 0, 6),
        _many_metrics(st.lists(VALUES, min_size=1, max_size=3), 95, 130),
    ),
    st.dictionaries(DIM_NAMES, DIM_VALUES, max_size=29),
)
def test_valid_input_always_encodes_to_valid_lines(emf_validator, metrics, dimensions):
    """Any valid names, units, resolutions, values and dimensions: every line validates, the
    dimension set is the one given on every line, and every value arrives exactly once."""
    metrics = {k: v for k, v in metrics.items() if k not in dimensions and k != "service"}
    dimensions = {"service": "svc", **{k: v for k, v in dimensions.items() if k != "service"}}
    built = {
        _validate.metric_name(name): metric(
            _validate.unit(unit), _validate.resolution(res), [_validate.value(v) for v in vals]
        )
        for name, (unit, res, vals) in metrics.items()
    }
    for name, value in dimensions.items():
        assert _validate.dimension(name, value) == (name, value)
    docs = decode(encode(_validate.namespace("Shop/Orders"), dimensions, built, 1))
    for doc in docs:
        assert emf_problems(doc, emf_validator) == []
        assert doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [list(dimensions)]
        assert {k: doc[k] for k in dimensions} == dimensions
    got = values_by_name(docs)
    assert {k: Counter(map(float, v)) for k, v in got.items()} == {
        k: Counter(float(x) for x in vals) for k, (_, _, vals) in metrics.items()
    }


BAD_NAMES = st.one_of(
    st.just(""),
    st.text(" \t", min_size=1, max_size=3).filter(lambda s: s.isprintable()) | st.just("   "),
    st.text(PRINTABLE, min_size=256, max_size=300),
    st.text(min_size=1, max_size=20).filter(lambda s: not (s.isascii() and s.isprintable())),
    st.integers(),
    st.none(),
)


@settings(max_examples=80, deadline=None)
@given(BAD_NAMES)
def test_bad_metric_names_are_typed_errors(name):
    """Empty, blank, too long, non-ASCII or control characters, not a string: MetricNameError naming the rule."""
    with pytest.raises(MetricNameError, match="metric name") as caught:
        _validate.metric_name(name)
    assert "expected" in str(caught.value)


@settings(max_examples=80, deadline=None)
@given(
    st.one_of(
        st.just(float("nan")),
        st.just(float("inf")),
        st.just(float("-inf")),
        st.floats(min_value=2.0**361, allow_infinity=False),
        st.floats(min_value=1e-300, max_value=2.0**-361).filter(lambda v: v > 0),
        st.integers(min_value=2**361, max_value=2**400),
        st.text(max_size=5),
        st.booleans(),
        st.none(),
        st.complex_numbers(),
        st.lists(st.integers(), max_size=2),
    )
)
def test_bad_values_are_typed_errors(value):
    """NaN, infinities, out of CloudWatch's range, strings, bools, None, complex, lists: MetricValueError."""
    with pytest.raises(MetricValueError, match=r"expected a finite number"):
        _validate.value(value)


def test_numbers_of_other_types_are_accepted():
    """Decimal and Fraction values are numbers: taken as floats."""
    import decimal
    import fractions

    assert _validate.value(decimal.Decimal("1.5")) == 1.5
    assert _validate.value(fractions.Fraction(1, 4)) == 0.25
    with pytest.raises(MetricValueError):
        _validate.value(decimal.Decimal("NaN"))


def test_swapped_arguments_get_a_hint():
    """Powertools' order (name, unit, value) passed positionally: the error says the order."""
    with pytest.raises(MetricValueError, match=r"add_metric\(name, value, unit\)"):
        _validate.value("Count")


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.text(max_size=20).filter(lambda s: s not in _validate.UNITS), st.integers(), st.none()))
def test_bad_units_are_typed_errors(unit):
    """Anything but a CloudWatch unit or Powertools' name for one: MetricUnitError listing the units."""
    with pytest.raises(MetricUnitError, match=r"expected one of .*Bytes/Second.*Count"):
        _validate.unit(unit)


def test_powertools_unit_names_and_enums_map_to_cloudwatch_units():
    """Powertools' member names and its enum members give CloudWatch's unit strings."""
    from aws_lambda_powertools.metrics import MetricResolution as PtResolution
    from aws_lambda_powertools.metrics import MetricUnit as PtUnit

    for member in PtUnit:
        assert _validate.unit(member) == member.value
        assert _validate.unit(member.name) == member.value
        assert getattr(MetricUnit, member.name) == member.value
    assert _validate.resolution(PtResolution.High) == 1 and _validate.resolution(PtResolution.Standard) == 60


@pytest.mark.parametrize("resolution", [0, 2, 30, 59, 61, 60.0, True, "60", None])
def test_bad_resolutions_are_typed_errors(resolution):
    """Only 1 and 60 (ints) are resolutions."""
    with pytest.raises(MetricResolutionError, match=r"expected 60 .* or 1"):
        _validate.resolution(resolution)


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        st.tuples(
            st.one_of(st.just(":x"), st.just(""), st.just(" "), st.text(PRINTABLE, min_size=256), st.just("é")),
            st.just("v"),
        ),
        st.tuples(
            st.just("ok"),
            st.one_of(
                st.just(""), st.just("  "), st.text(PRINTABLE, min_size=1025), st.just("\n"), st.none(), st.booleans()
            ),
        ),
    )
)
def test_bad_dimensions_are_typed_errors(pair):
    """Bad dimension names (':' first, blank, long, non-ASCII) and values (blank, long, control
    characters, not text): DimensionError."""
    with pytest.raises(DimensionError, match="expected"):
        _validate.dimension(*pair)


def test_namespace_rules():
    """No namespace, or one CloudWatch rejects: NamespaceError naming the variables to set."""
    with pytest.raises(NamespaceError, match=r"LAMBDA_OBSERVE_METRICS_NAMESPACE.*POWERTOOLS_METRICS_NAMESPACE"):
        _validate.namespace(None)
    for bad in (":x", " ", "x" * 256, "Ordérs", "AWS/Lambda", "Shop!", "Shop{x}", "a\tb"):
        with pytest.raises(NamespaceError, match="expected 1-255 characters among letters, digits"):
            _validate.namespace(bad)
    for good in ("Shop", "Shop/Orders", "a.b-c_d/e#f:g h", "x" * 255, "AWSome"):
        assert _validate.namespace(good) == good
    assert issubclass(NamespaceError, MetricsError) and issubclass(MetricsError, ValueError)


def test_numbers_too_small_for_cloudwatch_are_errors_not_zero():
    """A Decimal or Fraction nonzero but under 2**-360 in magnitude is a MetricValueError, not a silent 0.0;
    zero itself is fine."""
    import decimal
    import fractions

    for tiny in (decimal.Decimal("1E-400"), fractions.Fraction(1, 10**400), decimal.Decimal("-1E-400")):
        with pytest.raises(MetricValueError, match=r"2\*\*-360 to 2\*\*360, or 0"):
            _validate.value(tiny)
    assert _validate.value(decimal.Decimal(0)) == 0.0


def test_large_ints_are_written_as_floats(emf_validator):
    """Ints past 2**53 become floats (CloudWatch stores doubles), so no 90-digit literal is written;
    smaller ints stay ints."""
    big = 2**300 - 1
    assert type(_validate.value(big)) is float and _validate.value(big) == float(big)
    assert _validate.value(2**53) == 2**53 and type(_validate.value(2**53)) is int
    (line,) = encode("N", {"service": "s"}, {"Big": metric(values=[_validate.value(big)])}, 1)
    assert len(line) < 200 and json.loads(line)["Big"] == float(big)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 1.5, True, None, b"x", ["a"]])
def test_dimension_values_are_strings_or_ints(bad):
    """A dimension value is a string, or an int turned into one; a float (NaN included), bool, bytes or
    list is a DimensionError that says so."""
    with pytest.raises(DimensionError, match=r"expected a string \(an int is turned into one\)"):
        _validate.dimension("k", bad)
    assert _validate.dimension("k", 42) == ("k", "42")


def test_the_emf_checker_catches_what_the_schema_does_not(emf_validator):
    """The tests' EMF checker flags a dimension value that is not a string and a metric value that is not
    a number (the schema checks only _aws), so the tests that use it can fail."""
    (line,) = encode("N", {"service": "s"}, {"M": metric(values=[1, 2])}, 1)
    good = json.loads(line)
    assert emf_problems(good, emf_validator) == []
    for change, problem in (
        ({"service": 3}, "no string value"),
        ({"service": None}, "no string value"),
        ({"M": "1"}, "not a finite number"),
        ({"M": [1, "2"]}, "not a finite number"),
        ({"M": True}, "not a finite number"),
        ({"M": []}, "0 values"),
    ):
        assert any(problem in p for p in emf_problems({**good, **change}, emf_validator)), change
    directive = good["_aws"]["CloudWatchMetrics"][0]
    for change, problem in (
        ({"Namespace": "AWS/Lambda"}, "namespace"),
        ({"Namespace": "Shop!"}, "namespace"),
    ):
        bad = dict(good)
        bad["_aws"] = {**good["_aws"], "CloudWatchMetrics": [{**directive, **change}]}
        assert any(problem in p for p in emf_problems(bad, emf_validator)), change
