"""A batch under @traced: one ``## record`` subsegment and one log key per record, on real datagrams."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from typing import Any

import pytest

from lambda_observe import add_metadata, annotate, append_keys, get_logger, setup_logging, subsegment, traced
from lambda_observe.batch import AllRecordsFailedError, process_partial_response
from lambda_observe.testing import LambdaContext
from lambda_observe.tracing import _state
from tests import batch_events
from tests.conftest import new_trace_header

log = get_logger("consumer")


def records_of(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d["name"] == "## record"]


def test_each_record_has_its_own_subsegment_under_the_handler(lambda_env, assert_valid):
    """Records nest under the handler; annotated with id and source; only the failing one is faulted."""
    upstream_root, _parent, header = new_trace_header()
    event = batch_events.sqs([{"n": 0}, {"n": 1}, {"n": 2}], trace_headers=[header, None, None])
    ids = [r["messageId"] for r in event["Records"]]

    @traced
    def handler(event, context):
        return process_partial_response(event, lambda r: 1 / (json.loads(r["body"])["n"] - 1))

    assert handler(event, LambdaContext()) == {"batchItemFailures": [{"itemIdentifier": ids[1]}]}
    docs = lambda_env.documents(4)
    assert_valid(docs)
    assert_valid(lambda_env.collector.documents)
    (top,) = [d for d in docs if d["name"] == "## handler"]
    records = records_of(docs)
    assert [r["annotations"]["message_id"] for r in records] == ids
    for record in records:
        assert record["parent_id"] == top["id"] and record["trace_id"] == lambda_env.root
        assert record["annotations"]["event_source"] == "aws:sqs"
    assert records[0]["annotations"]["upstream_trace_id"] == upstream_root
    assert "upstream_trace_id" not in records[1]["annotations"]
    assert [bool(r.get("fault")) for r in records] == [False, True, False]
    assert records[1]["cause"]["exceptions"][0]["type"] == "ZeroDivisionError"
    assert not top.get("fault"), "a record's failure is not the handler's"


@pytest.mark.parametrize("metadata_bytes", [0, 3000])
def test_a_hundred_records_validate_nest_and_split_across_datagrams(lambda_env, assert_valid, metadata_bytes):
    """100 records, bare (the whole trace fits one datagram, and goes in one) or with 3,000 bytes of
    metadata each (it does not: it is split over several datagrams, none over the UDP limit): every
    document validates and every record hangs off the handler."""

    @traced
    def handler(event, context):
        def record_handler(record):
            if metadata_bytes:
                add_metadata("body", record["body"] + "x" * metadata_bytes)

        return process_partial_response(event, record_handler)

    event = batch_events.sqs([{"n": n} for n in range(100)])
    assert handler(event, LambdaContext()) == {"batchItemFailures": []}
    docs = lambda_env.documents(101)
    raw = lambda_env.collector.datagrams
    assert len(raw) == 1 if not metadata_bytes else len(raw) > 1
    assert max(len(d) for d in raw) <= 65507
    assert_valid(docs)
    assert_valid(lambda_env.collector.documents)
    (top,) = [d for d in docs if d["name"] == "## handler"]
    records = records_of(docs)
    assert len(records) == 100
    assert {r["parent_id"] for r in records} == {top["id"]}
    assert sorted(r["annotations"]["message_id"] for r in records) == sorted(r["messageId"] for r in event["Records"])


def test_streams_annotate_the_sequence_number(lambda_env, assert_valid):
    """Kinesis and DynamoDB records carry sequence_number and their event source."""

    @traced
    def handler(event, context):
        return process_partial_response(event, lambda record: None)

    handler(batch_events.kinesis(2), LambdaContext())
    handler(batch_events.dynamodb(2), LambdaContext())
    records = records_of(lambda_env.documents(6))
    assert_valid(records)
    assert sorted(r["annotations"]["event_source"] for r in records) == ["aws:dynamodb"] * 2 + ["aws:kinesis"] * 2
    assert {r["annotations"]["sequence_number"] for r in records} >= {"100", "101"}


def test_without_traced_nothing_is_traced_and_the_report_is_the_same(lambda_env):
    """Outside @traced there is no span to hang records from: no datagram, same report."""
    event = batch_events.sqs([{"n": 1}, {"n": 2}])
    bad = event["Records"][1]["messageId"]
    result = process_partial_response(event, lambda r: 1 / 0 if r["messageId"] == bad else None)
    assert result == {"batchItemFailures": [{"itemIdentifier": bad}]}
    assert lambda_env.documents() == []


class LinkingBackend:
    """The X-Ray backend plus the optional ``add_link`` an OpenTelemetry backend provides."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.links: list[tuple[Any, str, str | None]] = []

    def add_link(self, span: Any, root: str, parent: str | None) -> None:
        self.links.append((span, root, parent))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_backend_with_add_link_gets_a_link_instead_of_the_annotation(lambda_env):
    """When the backend can link spans, the upstream trace becomes a link with its root and parent."""
    linking = LinkingBackend(_state.backend())
    _state.use(linking)
    root, parent, header = new_trace_header()

    @traced
    def handler(event, context):
        return process_partial_response(event, lambda record: None)

    handler(batch_events.sqs([{"n": 1}, {"n": 2}], trace_headers=[header, None]), LambdaContext())
    records = records_of(lambda_env.documents(3))
    assert [(link[1], link[2]) for link in linking.links] == [(root, parent)]
    assert linking.links[0][0].name == "## record"
    assert all("upstream_trace_id" not in r["annotations"] for r in records)


def test_a_failing_tracer_changes_nothing(lambda_env, caplog):
    """A backend that fails to open spans: records still run and the report is right; one WARNING."""

    class Broken:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def start(self, name: str, parent: Any, namespace: str | None = None) -> Any:
            if name == "## record":
                raise OSError("tracing broke")
            return self.inner.start(name, parent, namespace)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    _state.use(Broken(_state.backend()))
    event = batch_events.sqs([{"n": n} for n in range(3)])
    bad = event["Records"][2]["messageId"]
    ran: list[str] = []

    @traced
    def handler(event, context):
        def record_handler(record):
            ran.append(record["messageId"])
            if record["messageId"] == bad:
                raise ValueError("bad")

        return process_partial_response(event, record_handler)

    with caplog.at_level(logging.WARNING, logger="lambda_observe"):
        assert handler(event, LambdaContext()) == {"batchItemFailures": [{"itemIdentifier": bad}]}
    assert len(ran) == 3
    assert sum("tracing a batch record failed" in r.getMessage() for r in caplog.records) == 1


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_log_lines_carry_the_record_id_only_while_it_runs(lambda_env, use_async):
    """Lines written during a record carry its message_id; the key is gone after it, even after a failure;
    a failing record is logged once, with its id."""
    event = batch_events.sqs([{"n": 0}, {"n": 1}, {"n": 2}])
    ids = [r["messageId"] for r in event["Records"]]

    def work(record: dict[str, Any]) -> None:
        log.info("working", extra={"n": json.loads(record["body"])["n"]})
        if record["messageId"] == ids[1]:
            raise KeyError("missing field")

    async def async_work(record: dict[str, Any]) -> None:
        await asyncio.sleep(0)
        work(record)

    @traced
    def handler(event, context):
        log.info("batch start")
        result = process_partial_response(event, async_work if use_async else work)
        log.info("batch end")
        return result

    stream = io.StringIO()
    setup_logging(stream=stream, force=True)
    assert handler(event, LambdaContext()) == {"batchItemFailures": [{"itemIdentifier": ids[1]}]}
    lines = json_lines(stream)
    working = [line for line in lines if line["message"] == "working"]
    assert [(line["n"], line["message_id"]) for line in working] == list(enumerate(ids))
    failed = [line for line in lines if line["level"] == "ERROR"]
    assert len(failed) == 1
    assert failed[0]["message_id"] == ids[1] and failed[0]["exception"]["type"] == "KeyError"
    for edge in ("batch start", "batch end"):
        (line,) = [line for line in lines if line["message"] == edge]
        assert "message_id" not in line


def test_all_failed_batch_still_reaches_the_handler_error_path(lambda_env):
    """When every record fails, @traced sees AllRecordsFailedError and records it on the handler."""

    @traced
    def handler(event, context):
        return process_partial_response(event, lambda record: 1 / 0)

    with pytest.raises(AllRecordsFailedError):
        handler(batch_events.sqs([{"n": 1}, {"n": 2}]), LambdaContext())
    docs = lambda_env.documents(3)
    (top,) = [d for d in docs if d["name"] == "## handler"]
    assert top["fault"] is True
    assert top["cause"]["exceptions"][0]["type"] == "AllRecordsFailedError"


def test_what_a_record_handler_leaves_bound_ends_with_its_record(lambda_env):
    """A record handler that binds a log key and opens a subsegment without ever closing them: the next record
    still sees only its own message_id and still hangs off the handler, and nothing is left after the batch."""
    event = batch_events.sqs([{"n": 0}, {"n": 1}, {"n": 2}])
    ids = [r["messageId"] for r in event["Records"]]

    def leaky(record: dict[str, Any]) -> None:
        log.info("working")
        append_keys(leaked=record["messageId"]).__enter__()
        subsegment("leaked").__enter__()

    @traced
    def handler(event, context):
        result = process_partial_response(event, leaky)
        log.info("batch end")
        annotate("after_batch", True)  # lands on the handler's subsegment: the current span again
        return result

    stream = io.StringIO()
    setup_logging(stream=stream, force=True)
    assert handler(event, LambdaContext()) == {"batchItemFailures": []}
    lines = json_lines(stream)
    working = [line for line in lines if line["message"] == "working"]
    assert [line["message_id"] for line in working] == ids
    assert all("leaked" not in line for line in working)
    (end,) = [line for line in lines if line["message"] == "batch end"]
    assert "message_id" not in end and "leaked" not in end
    docs = lambda_env.documents(4)
    (top,) = [d for d in docs if d["name"] == "## handler"]
    assert [r["parent_id"] for r in records_of(docs)] == [top["id"]] * 3
    assert top["annotations"]["after_batch"] is True
