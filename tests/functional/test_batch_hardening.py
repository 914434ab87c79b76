"""lambda_observe.batch under attack (issue 14's review): handler identity for idempotency, return values
never stored, FIFO message groups, BaseExceptions, generators, records changed mid-batch, clear errors."""

from __future__ import annotations

import asyncio
import functools
import io
import json
import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_observe import setup_logging, traced
from lambda_observe.batch import (
    AllRecordsFailedError,
    HandlerIdentityError,
    async_process_partial_response,
    process_partial_response,
)
from lambda_observe.idempotency import InMemoryStore
from lambda_observe.testing import LambdaContext
from tests import batch_events

log = logging.getLogger("consumer")


@pytest.fixture(autouse=True)
def fresh_states():
    from lambda_observe.idempotency import _records

    _records.forget()
    yield
    _records.forget()


def orders(*names: str) -> dict[str, Any]:
    return batch_events.sqs([{"order_id": name} for name in names])


def order_of(record: dict[str, Any]) -> str:
    return str(json.loads(record["body"])["order_id"])


# --- 1. idempotency identity of the record handler ---------------------------------------------------------------

charged: list[tuple[str, str]] = []


def charge_eu(record: dict[str, Any]) -> None:
    charged.append(("eu", order_of(record)))


def charge_us(record: dict[str, Any]) -> None:
    charged.append(("us", order_of(record)))


def charge_in(region: str, record: dict[str, Any]) -> None:
    charged.append((region, order_of(record)))


def test_partials_of_two_functions_do_not_share_keys():
    """partial(charge_eu) and partial(charge_us) are keyed under their functions: both charge order "a"."""
    charged.clear()
    store = InMemoryStore()
    for handler in (functools.partial(charge_eu), functools.partial(charge_us)):
        assert process_partial_response(orders("a"), handler, idempotent_key="body.order_id", store=store) == {
            "batchItemFailures": []
        }
    assert charged == [("eu", "a"), ("us", "a")]


def unnamed_handlers() -> list[Any]:
    class Callable:
        def __call__(self, record: dict[str, Any]) -> None:
            charged.append(("object", order_of(record)))

    return [
        lambda record: charged.append(("lambda", order_of(record))),
        functools.partial(charge_in, "eu"),
        functools.partial(charge_eu, record=None),
        Callable(),
        [].append,
    ]


@pytest.mark.parametrize("index", range(5), ids=["lambda", "partial-args", "partial-keywords", "object", "builtin"])
def test_a_handler_without_a_safe_identity_needs_idempotency_name(index):
    """A lambda, a partial with bound arguments, a callable object or a bound builtin cannot be keyed safely:
    HandlerIdentityError (a TypeError) naming idempotency_name=, before any record runs."""
    charged.clear()
    handler = unnamed_handlers()[index]
    with pytest.raises(HandlerIdentityError, match="idempotency_name=") as caught:
        process_partial_response(orders("a"), handler, idempotent_key="body.order_id", store=InMemoryStore())
    assert isinstance(caught.value, TypeError)
    assert charged == []


def test_idempotency_name_separates_handlers_that_cannot_be_told_apart():
    """Two partials of one function with different bound arguments, each named, are keyed apart."""
    charged.clear()
    store = InMemoryStore()
    for region in ("eu", "us"):
        handler = functools.partial(charge_in, region)
        options: dict[str, Any] = {"idempotent_key": "body.order_id", "store": store}
        process_partial_response(orders("a"), handler, idempotency_name=f"charge-{region}", **options)
        process_partial_response(orders("a"), handler, idempotency_name=f"charge-{region}", **options)
    assert charged == [("eu", "a"), ("us", "a")]


def test_idempotency_name_must_be_a_non_empty_string_and_needs_a_key():
    """idempotency_name="" is a ValueError; idempotency_name without idempotent_key too."""
    with pytest.raises(ValueError, match="idempotency_name"):
        process_partial_response(orders("a"), charge_eu, idempotent_key="body.order_id", idempotency_name="")
    with pytest.raises(ValueError, match="without idempotent_key"):
        process_partial_response(orders("a"), charge_eu, idempotency_name="x")


class Shipper:
    def __init__(self, runs: list[str]) -> None:
        self.runs = runs

    def ship(self, record: dict[str, Any]) -> None:
        self.runs.append(order_of(record))


class Biller:
    def __init__(self, runs: list[str]) -> None:
        self.runs = runs

    def ship(self, record: dict[str, Any]) -> None:
        self.runs.append(order_of(record))


def test_bound_methods_key_on_their_class_and_method():
    """Two instances of one class share keys (documented); another class's method of the same name does not."""
    store = InMemoryStore()
    first: list[str] = []
    second: list[str] = []
    other: list[str] = []
    for handler in (Shipper(first).ship, Shipper(second).ship, Biller(other).ship):
        process_partial_response(orders("a"), handler, idempotent_key="body.order_id", store=store)
    assert (first, second, other) == (["a"], [], ["a"])


# --- 2. the record handler's return value is never stored ---------------------------------------------------------


@pytest.mark.parametrize("value", [object(), b"bytes", float("nan"), {1, 2}], ids=["object", "bytes", "nan", "set"])
def test_a_return_value_that_cannot_be_stored_does_not_fail_the_record(value):
    """With idempotency on, a handler returning something JSON cannot hold: its record succeeds and, across
    three deliveries, its side effect happens once."""
    store = InMemoryStore()
    effects: list[str] = []

    def pay(record: dict[str, Any]) -> Any:
        effects.append(order_of(record))
        return value

    for _ in range(3):
        assert process_partial_response(orders("a", "b"), pay, idempotent_key="body.order_id", store=store) == {
            "batchItemFailures": []
        }
    assert effects == ["a", "b"]


# --- 3. FIFO message groups --------------------------------------------------------------------------------------


def fifo_groups(groups: list[str]) -> dict[str, Any]:
    event = batch_events.sqs([{"n": n, "group": g} for n, g in enumerate(groups)], fifo=True)
    for record, group in zip(event["Records"], groups, strict=True):
        record["attributes"]["MessageGroupId"] = group
    return event


def test_fifo_default_still_stops_at_the_first_failure_across_groups():
    """Without the option, a FIFO failure stops the batch: every later record is reported, whatever its group."""
    event = fifo_groups(["a", "b", "a", "b", "c"])
    ids = [r["messageId"] for r in event["Records"]]
    seen: list[int] = []

    def step(record: dict[str, Any]) -> None:
        seen.append(json.loads(record["body"])["n"])
        if json.loads(record["body"])["n"] == 1:
            raise ValueError("poison")

    assert process_partial_response(event, step) == {"batchItemFailures": [{"itemIdentifier": i} for i in ids[1:]]}
    assert seen == [0, 1]


@pytest.mark.parametrize("use_async", [False, True])
def test_skip_group_on_error_holds_back_only_the_failed_group(use_async):
    """skip_group_on_error=True: the failed record and its group's later records are reported, in order; the
    other groups' records all run and succeed."""
    event = fifo_groups(["a", "b", "a", "c", "b", "a", "c"])
    ids = [r["messageId"] for r in event["Records"]]
    seen: list[int] = []

    def work(record: dict[str, Any]) -> None:
        seen.append(json.loads(record["body"])["n"])
        if json.loads(record["body"])["n"] == 1:  # group b's first record
            raise ValueError("poison")

    async def work_async(record: dict[str, Any]) -> None:
        work(record)

    result = process_partial_response(event, work_async if use_async else work, skip_group_on_error=True)
    assert result == {"batchItemFailures": [{"itemIdentifier": ids[1]}, {"itemIdentifier": ids[4]}]}
    assert seen == [0, 1, 2, 3, 5, 6]


def test_skip_group_on_error_with_every_group_failing_raises():
    """When each group's first record fails, every record is reported: AllRecordsFailedError."""
    event = fifo_groups(["a", "b", "a", "b"])

    def work(record: dict[str, Any]) -> None:
        raise ValueError("down")

    with pytest.raises(AllRecordsFailedError) as caught:
        process_partial_response(event, work, skip_group_on_error=True)
    assert caught.value.count == 4 and len(caught.value.failures) == 2


# --- 4 and 5. BaseExceptions end the batch unchanged, without being logged as record failures ---------------------


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("kind", [SystemExit, KeyboardInterrupt, asyncio.CancelledError])
def test_base_exceptions_end_the_batch_unchanged(lambda_env, kind, use_async):
    """SystemExit, KeyboardInterrupt and CancelledError from a record handler propagate as the same object; the
    record's subsegment is closed under the handler's, its log key is gone, later records do not run, and the
    record is not logged as a record failure (only the handler's own error line)."""
    event = batch_events.sqs([{"n": 0}, {"n": 1}, {"n": 2}])
    ids = [r["messageId"] for r in event["Records"]]
    raised = kind("stop")
    ran: list[int] = []
    caught: list[BaseException] = []

    def work(record: dict[str, Any]) -> None:
        n = json.loads(record["body"])["n"]
        ran.append(n)
        log.info("working")
        if n == 1:
            raise raised

    async def work_async(record: dict[str, Any]) -> None:
        work(record)

    @traced
    def handler(event: Any, context: Any) -> Any:
        try:
            return process_partial_response(event, work_async if use_async else work)
        except BaseException as exc:
            caught.append(exc)
            log.info("after the batch")
            raise

    stream = io.StringIO()
    setup_logging(stream=stream, force=True)
    with pytest.raises(kind):
        handler(event, LambdaContext())
    assert caught == [raised] and caught[0] is raised
    assert ran == [0, 1]
    lines = json_lines(stream)
    after = [line for line in lines if line["message"] == "after the batch"]
    assert len(after) == 1 and "message_id" not in after[0]
    assert [line.get("message_id") for line in lines if line["message"] == "working"] == ids[:2]
    assert not [line for line in lines if "record" in line["message"] and "failed" in line["message"]]
    docs = lambda_env.documents(3)
    (top,) = [d for d in docs if d["name"] == "## handler"]
    records = [d for d in docs if d["name"] == "## record"]
    assert [r["annotations"]["message_id"] for r in records] == ids[:2]
    assert all(r["parent_id"] == top["id"] and "end_time" in r for r in records)


def test_base_exception_from_async_variant_is_the_same_object():
    """Inside a running loop, async_process_partial_response lets a record's KeyboardInterrupt out as is."""
    raised = KeyboardInterrupt("stop")

    async def work(record: dict[str, Any]) -> None:
        raise raised

    async def main() -> None:
        await async_process_partial_response(batch_events.sqs([{"n": 0}]), work)

    with pytest.raises(KeyboardInterrupt) as caught:
        asyncio.run(main())
    assert caught.value is raised


# --- 6. generators --------------------------------------------------------------------------------------------------


def test_generator_record_handlers_are_refused_before_any_record_runs():
    """A generator or async generator function as the record handler is a TypeError up front: its body would
    never run, yet its records would be reported as successes."""
    ran: list[Any] = []

    def gen(record: dict[str, Any]) -> Any:
        ran.append(record)
        yield

    async def agen(record: dict[str, Any]) -> Any:
        ran.append(record)
        yield

    for handler in (gen, agen, functools.partial(gen)):
        with pytest.raises(TypeError, match="not yield"):
            process_partial_response(batch_events.sqs([{"n": 0}, {"n": 1}]), handler)
    with pytest.raises(TypeError, match="not yield"):
        asyncio.run(async_process_partial_response(batch_events.sqs([{"n": 0}]), agen))
    assert ran == []


def test_a_handler_returning_a_generator_fails_its_record():
    """A plain function that returns a generator (not detectable up front) fails that record with a TypeError."""
    event = batch_events.sqs([{"n": 0}, {"n": 1}])
    ran: list[int] = []

    def lazy(n: int) -> Any:
        ran.append(n)
        yield

    async def lazy_async(n: int) -> Any:
        ran.append(n)
        yield

    def handler(record: dict[str, Any]) -> Any:
        n = json.loads(record["body"])["n"]
        return (lazy if n == 0 else lazy_async)(n)

    with pytest.raises(AllRecordsFailedError) as caught:
        process_partial_response(event, handler)
    assert [type(exc) for _, exc in caught.value.failures] == [TypeError, TypeError]
    assert "yield" in str(caught.value.failures[0][1])
    assert ran == []


# --- 7. the Records list changed while the batch runs ----------------------------------------------------------


@pytest.mark.parametrize("change", ["shrink", "extend", "clear"])
def test_a_handler_changing_records_does_not_change_the_batch(change):
    """The batch runs over the records as they were at the call: each runs once and failures keep their ids."""
    event = batch_events.sqs([{"n": n} for n in range(4)])
    ids = [r["messageId"] for r in event["Records"]]
    extra = batch_events.sqs([{"n": 9}])["Records"][0]
    seen: list[str] = []

    def work(record: dict[str, Any]) -> None:
        seen.append(record["messageId"])
        if change == "shrink":
            event["Records"].pop(0)
        elif change == "extend":
            event["Records"].append(extra)
        else:
            event["Records"].clear()
        if record["messageId"] in (ids[1], ids[3]):
            raise ValueError("bad")

    result = process_partial_response(event, work)
    assert seen == ids
    assert result == {"batchItemFailures": [{"itemIdentifier": ids[1]}, {"itemIdentifier": ids[3]}]}


# --- 8 and 9. clear errors before any record runs -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "says"),
    [
        ({"Records": "x"}, "'Records' must be a list"),
        ({"Records": {"a": 1}}, "'Records' must be a list"),
        ({"Records": None}, "'Records' must be a list"),
        ("records-2-none", "record 2 is not an object"),
        ({"Records": [None]}, "record 0 is not an object"),
        ({"Records": [{"EventSource": "aws:sqs", "messageId": "m"}]}, "'eventSource' (lower-case e)"),
        ({"Records": [{"messageId": "m"}]}, "record 0 has no 'eventSource'"),
    ],
)
def test_malformed_batches_say_what_was_expected(event, says):
    """Each malformed batch is a TypeError that names what is wrong, and still lists the sources accepted."""
    if event == "records-2-none":
        event = batch_events.sqs([{"n": 0}, {"n": 1}])
        event["Records"].append(None)
    ran: list[Any] = []
    with pytest.raises(TypeError) as caught:
        process_partial_response(event, ran.append)
    assert says in str(caught.value)
    assert "'aws:sqs'" in str(caught.value)
    assert ran == []


@pytest.mark.parametrize("store", [{"x": 1}, 42, object()], ids=["dict", "int", "object"])
def test_a_store_that_is_not_one_is_refused_before_any_record_runs(store):
    """store= must be a URL or a store object: anything else is a TypeError naming what is accepted."""
    ran: list[Any] = []
    with pytest.raises(TypeError, match="store=") as caught:
        process_partial_response(orders("a"), charge_eu, idempotent_key="body.order_id", store=store)
    assert "put_in_progress" in str(caught.value) and "URL" in str(caught.value)
    assert ran == []


# --- properties ------------------------------------------------------------------------------------------------


@st.composite
def group_batches(draw: Any) -> tuple[list[str], set[int]]:
    count = draw(st.integers(min_value=1, max_value=10))
    groups = draw(st.lists(st.sampled_from("abc"), min_size=count, max_size=count))
    bad = draw(st.sets(st.integers(min_value=0, max_value=count - 1), max_size=count))
    return groups, bad


def skip_group_oracle(groups: list[str], bad: set[int]) -> tuple[list[int], list[int]]:
    """(records run, records reported) when a failed record holds back only its own group's later records."""
    ran: list[int] = []
    reported: list[int] = []
    failed: set[str] = set()
    for index, group in enumerate(groups):
        if group in failed:
            reported.append(index)
            continue
        ran.append(index)
        if index in bad:
            reported.append(index)
            failed.add(group)
    return ran, reported


@settings(max_examples=120, deadline=None)
@given(group_batches())
def test_skip_group_on_error_matches_the_oracle(case):
    """Random FIFO batches over three groups with random failures: exactly the oracle's records run and are
    reported, in record order (or AllRecordsFailedError when every record is reported)."""
    groups, bad = case
    event = fifo_groups(groups)
    ids = [r["messageId"] for r in event["Records"]]
    ran: list[int] = []

    def work(record: dict[str, Any]) -> None:
        n = json.loads(record["body"])["n"]
        ran.append(n)
        if n in bad:
            raise ValueError("bad")

    want_ran, want_reported = skip_group_oracle(groups, bad)
    if len(want_reported) == len(groups):
        with pytest.raises(AllRecordsFailedError):
            process_partial_response(event, work, skip_group_on_error=True)
    else:
        result = process_partial_response(event, work, skip_group_on_error=True)
        assert result == {"batchItemFailures": [{"itemIdentifier": ids[i]} for i in want_reported]}
    assert ran == want_ran


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(json_values, st.dictionaries(st.just("Records"), json_values, min_size=1)))
def test_anything_but_a_batch_is_a_type_error_naming_the_sources(event):
    """Random JSON values as the event or as its Records: never another exception, and never a record run."""
    ran: list[Any] = []
    try:
        process_partial_response(event, ran.append)
    except TypeError as exc:
        assert "'aws:sqs'" in str(exc) or "a batch comes from one source" in str(exc) or "has no" in str(exc)
        assert ran == []
    else:
        assert isinstance(event, dict) and event["Records"] == []


# --- a tester's findings --------------------------------------------------------------------------------------------


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ exploded")


def test_every_record_failing_with_an_unprintable_exception_is_still_the_typed_error():
    def broken(record: dict[str, Any]) -> None:
        raise _Unprintable()

    with pytest.raises(AllRecordsFailedError) as raised:
        process_partial_response(orders("a", "b"), broken)
    assert raised.value.count == 2 and "<unprintable _Unprintable>" in str(raised.value)


@pytest.mark.parametrize(
    "event",
    [
        {"Records": [{**orders("a")["Records"][0], "messageId": ""}]},
        {"Records": [{k: v for k, v in orders("a")["Records"][0].items() if k != "messageId"}]},
        {"Records": [{**batch_events.kinesis(1)["Records"][0], "kinesis": {}}]},
        {"Records": [orders("a")["Records"][0], batch_events.kinesis(1)["Records"][0]]},
    ],
    ids=["empty-message-id", "no-message-id", "no-sequence-number", "mixed-sources"],
)
def test_every_refused_batch_names_the_sources_accepted(event):
    with pytest.raises(TypeError) as raised:
        process_partial_response(event, lambda record: None)
    message = str(raised.value)
    assert all(source in message for source in ("aws:sqs", "aws:kinesis", "aws:dynamodb")), message


def test_the_failure_line_of_a_record_carries_its_idempotency_outcome(capsys):
    """The library's own ERROR line for a failed record, and its WARNING for a duplicate in
    progress, carry the record's idempotency outcome as the lines written during it do."""
    from lambda_observe.idempotency.errors import AlreadyInProgressError

    setup_logging(force=True)
    store = InMemoryStore()

    def handler(record: dict[str, Any]) -> None:
        if order_of(record) == "bad":
            raise ValueError("refused")
        if order_of(record) == "busy":
            raise AlreadyInProgressError("elsewhere")

    @traced
    def entry(event, context):
        return process_partial_response(event, handler, idempotent_key="powertools_json(body).order_id", store=store)

    capsys.readouterr()
    entry(orders("ok", "bad", "busy"), LambdaContext())
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    (failed,) = [x for x in lines if x["level"] == "ERROR" and x["message"].startswith("record")]
    (busy,) = [x for x in lines if x["level"] == "WARNING" and "in progress" in x["message"]]
    assert failed["idempotency"] == "miss" and "refused" in failed["message"]
    assert busy["idempotency"] == "miss"
