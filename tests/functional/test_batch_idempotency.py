"""Per-record idempotency in a batch: completed records skipped, in-progress duplicates redelivered."""

from __future__ import annotations

import io
import json
import threading
from typing import Any

import pytest

from lambda_observe import setup_logging, traced
from lambda_observe.batch import process_partial_response
from lambda_observe.idempotency import InMemoryStore
from lambda_observe.testing import LambdaContext
from tests import batch_events


@pytest.fixture(autouse=True)
def fresh_states():
    from lambda_observe.idempotency import _records

    _records.forget()
    yield
    _records.forget()


def orders(*pairs: tuple[str, int]) -> dict[str, Any]:
    return batch_events.sqs([{"order_id": order, "amount": amount} for order, amount in pairs])


def test_a_completed_record_is_skipped_and_counts_as_a_success(lambda_env):
    """Redelivered records already done do not run again; a new one does; none is reported."""
    runs: list[str] = []

    def ship(record: dict[str, Any]) -> dict[str, Any]:
        order = json.loads(record["body"])
        runs.append(order["order_id"])
        return {"shipped": order["order_id"]}

    first = orders(("a", 1), ("b", 2))
    assert process_partial_response(first, ship, idempotent_key="body.order_id", store="memory://") == {
        "batchItemFailures": []
    }
    again = orders(("a", 1), ("c", 3), ("b", 2))  # new message ids, same orders: a redelivery
    assert process_partial_response(again, ship, idempotent_key="body.order_id", store="memory://") == {
        "batchItemFailures": []
    }
    assert runs == ["a", "b", "c"], "one state (and store) per handler and options, reused across batches"


def test_powertools_json_key_on_sqs_records(lambda_env):
    """The Powertools spelling powertools_json(body).order_id keys each record on its JSON body.

    Passes once the idempotency key fix (decoding functions run on the raw record) is merged too.
    """
    store = InMemoryStore()
    runs: list[str] = []

    def ship(record: dict[str, Any]) -> None:
        runs.append(json.loads(record["body"])["order_id"])

    key = "powertools_json(body).order_id"
    process_partial_response(orders(("a", 1), ("b", 2)), ship, idempotent_key=key, store=store)
    process_partial_response(orders(("b", 2), ("a", 1)), ship, idempotent_key=key, store=store)
    assert runs == ["a", "b"]


def test_a_duplicate_in_progress_fails_so_the_queue_redelivers_it(lambda_env):
    """While one consumer holds order "a", a second batch carrying it reports it as failed; the rest succeed."""
    store = InMemoryStore()
    started, release = threading.Event(), threading.Event()
    runs: list[str] = []

    def ship(record: dict[str, Any]) -> None:
        order = json.loads(record["body"])["order_id"]
        runs.append(order)
        if order == "a" and not started.is_set():
            started.set()
            release.wait(10)

    results: list[Any] = []
    first = threading.Thread(
        target=lambda: results.append(
            process_partial_response(orders(("a", 1)), ship, idempotent_key="body.order_id", store=store)
        )
    )
    first.start()
    assert started.wait(10)
    second = orders(("b", 2), ("a", 1))
    try:
        result = process_partial_response(second, ship, idempotent_key="body.order_id", store=store)
    finally:
        release.set()
        first.join(10)
    assert result == {"batchItemFailures": [{"itemIdentifier": second["Records"][1]["messageId"]}]}
    assert results == [{"batchItemFailures": []}]
    assert runs == ["a", "b"]


def test_payload_validation_fails_the_mismatching_record(lambda_env):
    """validate= works per record: same order id with another amount is a failure (PayloadMismatchError)."""
    store = InMemoryStore()
    kwargs: dict[str, Any] = {
        "idempotent_key": "body.order_id",
        "validate": "body.amount",
        "store": store,
        "idempotency_name": "accept",  # a lambda has no name of its own
    }
    process_partial_response(orders(("a", 1)), lambda record: None, **kwargs)
    tampered = orders(("a", 999), ("b", 2))
    result = process_partial_response(tampered, lambda record: None, **kwargs)
    assert result == {"batchItemFailures": [{"itemIdentifier": tampered["Records"][0]["messageId"]}]}


def test_store_down_fails_closed_per_record(lambda_env):
    """A store that cannot be reached runs no record: each fails (here all, so the batch raises)."""
    from lambda_observe.batch import AllRecordsFailedError
    from lambda_observe.idempotency import StoreError

    class Down(InMemoryStore):
        def put_in_progress(self, record: Any, now: float) -> Any:
            raise ConnectionError("store unreachable")

    runs: list[Any] = []
    with pytest.raises(AllRecordsFailedError) as caught:
        process_partial_response(
            orders(("a", 1), ("b", 2)),
            runs.append,
            idempotent_key="body.order_id",
            store=Down(),
            idempotency_name="log",
        )
    assert runs == []
    assert all(isinstance(exc, StoreError) for _, exc in caught.value.failures)


def test_outcomes_are_per_record_in_traces_and_logs(lambda_env):
    """Each record's span is annotated hit or miss; the idempotency log key never outlives its record."""
    store = InMemoryStore()
    import logging

    log = logging.getLogger("consumer")

    def ship(record: dict[str, Any]) -> None:
        log.info("shipping")

    @traced
    def handler(event, context):
        result = process_partial_response(event, ship, idempotent_key="body.order_id", store=store)
        log.info("batch done")
        return result

    stream = io.StringIO()
    setup_logging(stream=stream, force=True)
    handler(orders(("a", 1)), LambdaContext())
    assert len(lambda_env.documents(2)) == 2  # the first invocation's documents are in before clearing
    lambda_env.collector.clear()
    handler(orders(("a", 1), ("b", 2)), LambdaContext())
    spans = [d for d in lambda_env.documents(3) if d["name"] == "## record"]
    assert [s["annotations"]["idempotency"] for s in spans] == ["hit", "miss"]
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    shipping = [line for line in lines if line["message"] == "shipping"]
    assert [line.get("idempotency") for line in shipping] == ["miss", "miss"]
    done = [line for line in lines if line["message"] == "batch done"]
    assert len(done) == 2 and all("idempotency" not in line for line in done)


def test_a_bad_key_expression_is_refused_before_any_record_runs(lambda_env):
    """An invalid JMESPath key is a ValueError from the call itself; no record runs."""
    runs: list[Any] = []
    with pytest.raises(ValueError, match="not valid JMESPath"):
        process_partial_response(
            orders(("a", 1)), runs.append, idempotent_key="body.[", store=InMemoryStore(), idempotency_name="log"
        )
    assert runs == []
