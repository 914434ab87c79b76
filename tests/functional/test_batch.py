"""lambda_observe.batch: partial failures for SQS (standard and FIFO), Kinesis and DynamoDB streams."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_observe.batch import AllRecordsFailedError, async_process_partial_response, process_partial_response
from tests import batch_events
from tests.batch_events import ident
from tests.conftest import shared_event


def failing_on(bad: set[str], seen: list[str] | None = None) -> Any:
    def handler(record: dict[str, Any]) -> None:
        if seen is not None:
            seen.append(ident(record))
        if ident(record) in bad:
            raise ValueError(f"bad record {ident(record)}")

    return handler


def test_sqs_sample_reports_the_failed_message_id():
    """On the real SQS sample, the failing record's messageId is the one item reported."""
    event = shared_event("sqsEvent.json")
    bad = event["Records"][0]["messageId"]
    assert process_partial_response(event, failing_on({bad})) == {"batchItemFailures": [{"itemIdentifier": bad}]}


def test_kinesis_sample_reports_sequence_numbers():
    """On the real Kinesis sample, the identifier is kinesis.sequenceNumber; the other record succeeds."""
    event = shared_event("kinesisStreamEvent.json")
    seq = event["Records"][1]["kinesis"]["sequenceNumber"]
    seen: list[str] = []
    result = process_partial_response(event, failing_on({seq}, seen))
    assert seq == "49590338271490256608559692540925702759324208523137515618"
    assert result == {"batchItemFailures": [{"itemIdentifier": seq}]}
    assert len(seen) == 2


def test_dynamodb_sample_reports_sequence_numbers():
    """On the real DynamoDB Streams sample, the identifier is dynamodb.SequenceNumber."""
    event = shared_event("dynamoStreamEvent.json")
    assert process_partial_response(event, failing_on({"111"})) == {"batchItemFailures": [{"itemIdentifier": "111"}]}
    assert process_partial_response(event, failing_on(set())) == {"batchItemFailures": []}


def test_standard_sqs_processes_every_record_after_a_failure():
    """A standard queue's batch runs every record; each failure is reported, in record order."""
    event = batch_events.sqs([{"n": n} for n in range(6)])
    ids = [r["messageId"] for r in event["Records"]]
    seen: list[str] = []
    result = process_partial_response(event, failing_on({ids[1], ids[4]}, seen))
    assert seen == ids
    assert result == {"batchItemFailures": [{"itemIdentifier": ids[1]}, {"itemIdentifier": ids[4]}]}


def test_fifo_stops_at_the_first_failure():
    """A FIFO batch stops at the first failure and reports it and every later record, in order."""
    event = batch_events.sqs([{"n": n} for n in range(6)], fifo=True)
    ids = [r["messageId"] for r in event["Records"]]
    seen: list[str] = []
    result = process_partial_response(event, failing_on({ids[2], ids[4]}, seen))
    assert seen == ids[:3], "nothing after the first failure runs"
    assert result == {"batchItemFailures": [{"itemIdentifier": i} for i in ids[2:]]}


def test_all_records_failing_raises_with_the_count():
    """When every record fails the batch raises AllRecordsFailedError carrying the count and the causes."""
    event = batch_events.sqs([{"n": n} for n in range(3)])
    ids = [r["messageId"] for r in event["Records"]]
    with pytest.raises(AllRecordsFailedError) as caught:
        process_partial_response(event, failing_on(set(ids)))
    assert caught.value.count == 3
    assert [i for i, _ in caught.value.failures] == ids
    assert all(isinstance(e, ValueError) for _, e in caught.value.failures)
    assert "all 3 records" in str(caught.value)


def test_fifo_first_record_failing_fails_the_whole_batch():
    """In a FIFO batch a failing first record reports everything: that is a whole-batch failure."""
    event = batch_events.sqs([{"n": n} for n in range(4)], fifo=True)
    first = event["Records"][0]["messageId"]
    with pytest.raises(AllRecordsFailedError) as caught:
        process_partial_response(event, failing_on({first}))
    assert caught.value.count == 4 and len(caught.value.failures) == 1


def test_empty_batch_reports_nothing():
    """An empty Records list is a batch with nothing to report."""
    assert process_partial_response({"Records": []}, failing_on(set())) == {"batchItemFailures": []}


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        "Records",
        {"foo": 1},
        {"Records": "x"},
        {"Records": ["x"]},
        "s3Event.json",
        "snsEvent.json",
        "apiGatewayProxyEvent.json",
    ],
)
def test_not_a_batch_is_a_type_error_naming_the_sources(event):
    """Anything but an SQS, Kinesis or DynamoDB batch is a TypeError naming the sources accepted."""
    if isinstance(event, str) and event.endswith(".json"):
        event = shared_event(event)
    ran: list[Any] = []
    with pytest.raises(TypeError) as caught:
        process_partial_response(event, ran.append)
    message = str(caught.value)
    assert "SQS" in message and "Kinesis" in message and "DynamoDB" in message
    assert "'aws:sqs'" in message and "'aws:kinesis'" in message and "'aws:dynamodb'" in message
    assert ran == []


def test_records_without_identifier_or_mixed_sources_are_type_errors():
    """A record without its identifier, or from another source than the first, is refused before any runs."""
    event = batch_events.sqs([{"n": 1}, {"n": 2}])
    del event["Records"][1]["messageId"]
    ran: list[Any] = []
    with pytest.raises(TypeError, match=r"record 1 \(aws:sqs\) has no messageId"):
        process_partial_response(event, ran.append)
    mixed = {"Records": [*batch_events.sqs([{"n": 1}])["Records"], *batch_events.kinesis(1)["Records"]]}
    with pytest.raises(TypeError, match="a batch comes from one source"):
        process_partial_response(mixed, ran.append)
    assert ran == []


def test_async_record_handler_runs_records_in_order_in_one_loop():
    """An async handler's records are awaited one after another in a single event loop."""
    event = batch_events.sqs([{"n": n} for n in range(5)], fifo=True)
    ids = [r["messageId"] for r in event["Records"]]
    loops: set[int] = set()
    order: list[str] = []

    async def handler(record: dict[str, Any]) -> None:
        loops.add(id(asyncio.get_running_loop()))
        await asyncio.sleep(0.001 * (5 - len(order)))  # later records would overtake if run concurrently
        order.append(record["messageId"])
        if record["messageId"] == ids[3]:
            raise RuntimeError("boom")

    result = process_partial_response(event, handler)
    assert order == ids[:4]
    assert len(loops) == 1
    assert result == {"batchItemFailures": [{"itemIdentifier": ids[3]}, {"itemIdentifier": ids[4]}]}


def test_async_variant_inside_a_running_loop():
    """Inside a running loop the sync entry point says to await async_process_partial_response, which works."""
    event = batch_events.sqs([{"n": 1}, {"n": 2}])
    bad = event["Records"][0]["messageId"]

    async def handler(record: dict[str, Any]) -> None:
        if record["messageId"] == bad:
            raise ValueError("no")

    async def main() -> Any:
        with pytest.raises(RuntimeError, match="async_process_partial_response"):
            process_partial_response(event, handler)
        return await async_process_partial_response(event, handler)

    assert asyncio.run(main()) == {"batchItemFailures": [{"itemIdentifier": bad}]}


def test_a_plain_function_returning_a_coroutine_fails_its_record():
    """A handler that returns an awaitable without being async def fails clearly rather than silently passing."""
    event = batch_events.sqs([{"n": 1}, {"n": 2}])

    async def work(record: dict[str, Any]) -> None:
        return None

    def handler(record: dict[str, Any]) -> Any:
        return work(record) if record["body"] == '{"n": 1}' else None

    result = process_partial_response(event, handler)
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


def test_idempotency_options_without_a_key_are_refused():
    """store= without idempotent_key is a ValueError saying a key expression is needed."""
    with pytest.raises(ValueError, match="without idempotent_key"):
        process_partial_response(batch_events.sqs([{"n": 1}]), failing_on(set()), store="memory://")


# --- property: the reported failures are exactly the right ones, for every source -------------------------------

KINDS = ("sqs", "fifo", "kinesis", "dynamodb")


def make(kind: str, count: int) -> dict[str, Any]:
    if kind in ("sqs", "fifo"):
        return batch_events.sqs([{"n": n} for n in range(count)], fifo=kind == "fifo")
    return batch_events.kinesis(count) if kind == "kinesis" else batch_events.dynamodb(count)


def expected(kind: str, ids: list[str], bad: set[int]) -> list[str]:
    """The oracle: every failed id, or for FIFO the first failure and everything after it."""
    if kind == "fifo":
        first = min(bad, default=None)
        return [] if first is None else ids[first:]
    return [ids[i] for i in sorted(bad)]


def check(kind: str, count: int, bad: set[int]) -> None:
    event = make(kind, count)
    ids = [ident(r) for r in event["Records"]]
    want = expected(kind, ids, bad)
    handler = failing_on({ids[i] for i in bad})
    if count and len(want) == count:
        with pytest.raises(AllRecordsFailedError) as caught:
            process_partial_response(event, handler)
        assert caught.value.count == count
        return
    result = process_partial_response(event, handler)
    assert result == {"batchItemFailures": [{"itemIdentifier": i} for i in want]}


@st.composite
def batches(draw: Any) -> tuple[str, int, set[int]]:
    kind = draw(st.sampled_from(KINDS))
    count = draw(st.integers(min_value=0, max_value=12))
    bad = draw(st.sets(st.integers(min_value=0, max_value=max(count - 1, 0)), max_size=count)) if count else set()
    return kind, count, bad


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches())
def test_reported_failures_are_exactly_the_failed_records(case):
    """Random batches from every source with random failures: the report matches the oracle exactly."""
    check(*case)


def test_the_property_catches_a_fifo_batch_run_as_standard(monkeypatch):
    """Companion: with the FIFO stop switched off, the same check fails (the property can fail)."""
    from lambda_observe.batch import _sources

    real = _sources.read
    monkeypatch.setattr("lambda_observe.batch.read", lambda event: real(event)._replace(fifo=False))
    with pytest.raises(AssertionError):
        check("fifo", 6, {1, 3})


def test_async_record_errors_carry_no_context_of_ours():
    """An async record's exception reaches the report unchanged: no lambda_observe exception chained to it."""
    event = batch_events.sqs([{"n": 1}])

    async def handler(record: dict[str, Any]) -> None:
        raise LookupError("not found")

    with pytest.raises(AllRecordsFailedError) as caught:
        process_partial_response(event, handler)
    ((_, exc),) = caught.value.failures
    assert isinstance(exc, LookupError) and exc.__context__ is None and exc.__cause__ is None


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"store": "memory://"}, "store given without idempotent_key"),
        ({"idempotent_key": "body", "idempotency_name": " "}, "idempotency_name=' '"),
        ({"record_handler": 42}, "record_handler must be a function"),
    ],
)
def test_both_entry_points_refuse_the_same_way_and_name_themselves(options, says):
    """The sync and async entry points share their checks; each error names the function that was called."""

    async def work(record: dict[str, Any]) -> None:
        return None

    handler = options.pop("record_handler", work)
    event = batch_events.sqs([{"n": 1}])
    for name, call in (
        ("process_partial_response()", lambda: process_partial_response(event, handler, **options)),
        (
            "async_process_partial_response()",
            lambda: asyncio.run(async_process_partial_response(event, handler, **options)),
        ),
    ):
        with pytest.raises((TypeError, ValueError)) as caught:
            call()
        assert str(caught.value).startswith(f"{name}: ") and says in str(caught.value)
