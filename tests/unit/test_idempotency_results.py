"""Results: Decimals replay exactly, every JSON-awkward type either replays in its documented form
or takes the one failure path, and no failure leaves an in-progress record."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import json
import math
import uuid
from pathlib import Path
from typing import Any

import pydantic
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from lambda_observe import idempotent
from lambda_observe.idempotency import InMemoryStore, ResultNotSerializableError, SQLiteStore, _serialize
from lambda_observe.idempotency._keys import digest
from lambda_observe.idempotency._record import IN_PROGRESS
from lambda_observe.testing import LambdaContext


@dataclasses.dataclass
class Line:
    sku: str
    price: Any


class Order(pydantic.BaseModel):
    id: int
    total: decimal.Decimal
    when: datetime.date


def _deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def _cyclic() -> Any:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    return loop


# -- what the test expects, written without the library ---------------------------------------------

_UNSTORABLE = object()


def expected_replay(value: Any, depth: int = 0, seen: frozenset[int] = frozenset()) -> Any:
    """The documented replay form of ``value``, or ``_UNSTORABLE`` when it must take the failure path."""
    if depth > 400:
        return _UNSTORABLE
    if isinstance(value, decimal.Decimal):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if abs(value) < 10**4300 else _UNSTORABLE  # 4,300 digits: Python's str limit
    if isinstance(value, float):
        return value if math.isfinite(value) else _UNSTORABLE
    if isinstance(value, (bytes, bytearray)):
        return _UNSTORABLE
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if id(value) in seen:
        return _UNSTORABLE
    seen = seen | {id(value)}
    if isinstance(value, pydantic.BaseModel):
        return json.loads(value.model_dump_json())
    if dataclasses.is_dataclass(value):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, (set, frozenset)):
        try:
            value = sorted(value)
        except TypeError:  # documented: mixed types grouped by type name, then by repr
            value = sorted(value, key=lambda item: (type(item).__name__, repr(item)))
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            # documented: keys keep their type (str, int, float, bool, None, Decimal); any other key fails
            if not isinstance(k, (str, int, float, decimal.Decimal)) and k is not None:
                return _UNSTORABLE
            key = expected_replay(k, depth + 1, seen)
            r = expected_replay(v, depth + 1, seen)
            if r is _UNSTORABLE or key is _UNSTORABLE:
                return _UNSTORABLE
            out[key] = r
        return out
    if isinstance(value, (list, tuple)):
        items = [expected_replay(v, depth + 1, seen) for v in value]
        return _UNSTORABLE if any(i is _UNSTORABLE for i in items) else items
    return _UNSTORABLE


def same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (a Decimal is not a float; NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, decimal.Decimal):
        return str(a) == str(b)
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict):  # the same keys, of the same types, in the same order
        return (
            len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True)) and all(same(a[k], b[k]) for k in a)
        )
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def check_result(store: Any, value: Any) -> None:
    """Run a handler returning ``value`` twice: the replay is the documented form, or the first call
    raises ResultNotSerializableError (carrying the value), no record is left, and the retry runs."""
    runs: list[int] = []

    @idempotent(key="id", store=store)
    def handler(event: dict[str, Any], context: Any) -> Any:
        runs.append(1)
        return value

    event = {"id": f"k-{uuid.uuid4()}"}
    expected = expected_replay(value)
    if expected is _UNSTORABLE:
        for attempt in (1, 2):
            with pytest.raises(ResultNotSerializableError) as caught:
                handler(event, LambdaContext())
            assert caught.value.result is value
            assert len(runs) == attempt, "the retry must run, not be refused as in progress"
        key = f"{handler.idempotency.identity}#{digest(event['id'])}"
        assert store.get(key) is None, "a failed result left a record (in progress until its window passes)"
        return
    first = handler(event, LambdaContext())
    assert first is value
    replay = handler(event, LambdaContext())
    assert runs == [1]
    assert same(replay, expected), f"replayed {replay!r}, expected {expected!r}"


# -- examples ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        decimal.Decimal("12345678901234567890.123456789"),
        decimal.Decimal("1.10"),
        decimal.Decimal("-0"),
        decimal.Decimal("1E+30"),
        decimal.Decimal("Infinity"),
        decimal.Decimal("-Infinity"),
        decimal.Decimal("NaN"),
        decimal.Decimal("sNaN"),
        {"total": decimal.Decimal("0.1"), "ratio": 0.1, "~d": "not a decimal", "~~x": 1},
        {"~d": "1"},
        [decimal.Decimal("2.50"), 2.5, "2.50"],
        Line("a", decimal.Decimal("9.99")),
    ],
    ids=repr,
)
def test_decimals_replay_exactly(value):
    """A stored Decimal replays as the same Decimal (special values too), beside floats and
    strings, and a dict of the user's with a '~d' key is never read back as a Decimal."""
    check_result(InMemoryStore(), value)


@pytest.mark.parametrize(
    "value",
    [
        {1: "a", "1": "b"},
        {True: "a", "true": "b", False: 0, "false": 1},
        {None: 1, "null": 2},
        {1.5: "f", "1.5": "s", decimal.Decimal("2.50"): "d"},
        {"outer": {2: [{3: "deep"}]}, "~m": {"~d": 1}},
        Line("a", {1: "one", "1": "uno"}),
        {(1, 2): "tuple key"},
        {datetime.date(2026, 1, 2): "date key"},
        {float("nan"): 1},
    ],
    ids=repr,
)
def test_non_str_keys_lose_nothing(value):
    """A dict with int, bool, None, float or Decimal keys replays with the same keys of the same types
    (1 and "1" stay apart); a key of any other type takes the one failure path."""
    check_result(InMemoryStore(), value)


def test_pydantic_decimal_replays_through_output_type():
    """A pydantic model with a Decimal field is rebuilt exactly with output_type."""
    store = InMemoryStore()

    @idempotent(key="id", store=store, output_type=Order)
    def handler(event, context):
        return Order(id=1, total=decimal.Decimal("12345678901234567890.123456789"), when=datetime.date(2026, 1, 2))

    first = handler({"id": 1}, LambdaContext())
    assert handler({"id": 1}, LambdaContext()) == first


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), b"raw", {"a": b"x"}, 10**5000, _deep(5000), _cyclic(), object(), [1, {2, b"x"}]],
    ids=["nan", "inf", "bytes", "nested-bytes", "huge-int", "5000-deep", "cycle", "object", "set-with-bytes"],
)
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_unstorable_results_take_one_path(value, kind, tmp_path):
    """NaN/inf floats, bytes, ints past 4,300 digits, 5,000-deep dicts, cycles, unknown objects:
    ResultNotSerializableError with the value on .result, no record left, the retry runs."""
    store = InMemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "r.db")
    check_result(store, value)


def test_old_records_still_replay():
    """A record stored before this change (plain JSON) replays unchanged."""
    assert _serialize.loads('{"total":1.5,"~d":"x"}') == {"total": 1.5, "~d": "x"}


# -- hostile input: generated results -----------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(4301, 4400).map(lambda digits: -(10**digits))
    | st.floats()
    | st.decimals()
    | st.sampled_from([decimal.Decimal("sNaN"), decimal.Decimal("-sNaN"), decimal.Decimal("-Infinity")])
    | st.text(max_size=8)
    | st.binary(max_size=4)
    | st.dates()
    | st.datetimes()
)


# Dict keys of every kind json.dumps would turn into strings (1 and "1" collide there), and some it refuses.
_keys = (
    st.text(max_size=3)
    | st.sampled_from(["1", "true", "false", "null", "1.5", "~m"])
    | st.integers(-3, 3)
    | st.integers()
    | st.booleans()
    | st.none()
    | st.floats(allow_nan=False)
    | st.just(float("inf"))
    | st.decimals(allow_nan=False, places=2)
    | st.tuples(st.integers(0, 2))
    | st.dates()
)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return (
        st.lists(inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.frozensets(st.integers() | st.text(max_size=3), max_size=3)
        | st.sets(st.decimals(allow_nan=False), max_size=3)
        | st.dictionaries(
            st.text(max_size=4) | st.sampled_from(["~d", "~", "~~d", "~m", "1", "true", "null"]), inner, max_size=3
        )
        | st.dictionaries(_keys, inner, max_size=4)
        | st.builds(Line, st.text(max_size=3), inner)
    )


shallow_results = st.recursive(_scalars, _containers, max_leaves=10)
results = shallow_results | st.sampled_from(["deep", "cycle", "model"]).map(
    lambda kind: {
        "deep": lambda: _deep(5000),
        "cycle": _cyclic,
        "model": lambda: Order(id=1, total="1.5", when="2026-01-02"),
    }[kind]()
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@given(value=results)
@FAST
def test_generated_results_memory(value):
    """Hypothesis, in-memory store: every generated result replays in its documented form or takes
    the one failure path, never leaving an in-progress record."""
    check_result(InMemoryStore(), value)


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> SQLiteStore:
    return SQLiteStore(Path(tmp_path_factory.mktemp("results")) / "r.db")


@given(value=results)
@FAST
def test_generated_results_sqlite(sqlite_store, value):
    """Hypothesis, SQLite store: the same property on a real file."""
    check_result(sqlite_store, value)


def _old_dumps(value: Any) -> str:  # the serializer before the fix: only TypeError/ValueError caught
    def default(obj: Any) -> Any:
        if isinstance(obj, decimal.Decimal):
            return int(obj) if obj == obj.to_integral_value() else float(obj)
        return _serialize._convert(obj)

    try:
        return json.dumps(value, default=default, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ResultNotSerializableError(f"the result cannot be stored as JSON ({exc})") from exc


def test_companion_fails_with_the_old_serializer(monkeypatch):
    """Companion: with the old serializer (narrow except, Decimal as float) the property fails:
    an in-progress record is left behind or a Decimal comes back as a float. (Shallow values only:
    hypothesis cannot print a 5,000-deep falsifying example.)"""
    monkeypatch.setattr(_serialize, "dumps", _old_dumps)
    probe = settings(FAST, database=None, report_multiple_bugs=False, phases=[Phase.explicit, Phase.generate])
    # A Decimal that comes back as a float is given explicitly, and tried first: the search cannot miss
    # it by chance, nor stop first on another way the old serializer fails.
    with pytest.raises((AssertionError, ArithmeticError)):  # ArithmeticError: Overflow, InvalidOperation escaping
        given(value=shallow_results)(
            example(value=decimal.Decimal("1.1"))(probe(lambda value: check_result(InMemoryStore(), value)))
        )()


def test_no_in_progress_record_after_a_failure(monkeypatch):
    """The record of a failed serialization is released through the store, not just hidden."""
    store = InMemoryStore()
    statuses = []
    original = store.delete

    def delete(key, attempt):
        statuses.append(store._records[key].status)
        original(key, attempt)

    store.delete = delete  # type: ignore[method-assign]

    @idempotent(key="id", store=store)
    def handler(event, context):
        return decimal.Decimal("sNaN") if event["id"] == 1 else float("inf")

    assert str(handler({"id": 1}, LambdaContext())) == "sNaN"
    with pytest.raises(ResultNotSerializableError):
        handler({"id": 2}, LambdaContext())
    assert statuses == [IN_PROGRESS] and len(store._records) == 1
