"""Batch events for the tests, built from the real samples in ``tests/data/events``."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from tests.conftest import shared_event


def sqs(bodies: list[Any], fifo: bool = False, trace_headers: list[str | None] | None = None) -> dict[str, Any]:
    """An SQS batch, one record per body (a dict body is sent as JSON), on a standard or FIFO queue."""
    template = shared_event("sqsEvent.json")["Records"][1]
    arn = template["eventSourceARN"] + (".fifo" if fifo else "")
    records = []
    for index, body in enumerate(bodies):
        record = copy.deepcopy(template)
        record["messageId"] = str(uuid.uuid4())
        record["body"] = body if isinstance(body, str) else json.dumps(body)
        record["eventSourceARN"] = arn
        if fifo:
            record["attributes"]["MessageGroupId"] = "group-1"
            record["attributes"]["SequenceNumber"] = str(18849496460467696128 + index)
        if trace_headers is not None and trace_headers[index] is not None:
            record["attributes"]["AWSTraceHeader"] = trace_headers[index]
        records.append(record)
    return {"Records": records}


def kinesis(count: int) -> dict[str, Any]:
    template = shared_event("kinesisStreamEvent.json")["Records"][0]
    records = []
    for index in range(count):
        record = copy.deepcopy(template)
        record["kinesis"]["sequenceNumber"] = f"4959033827149025660855969253836157109592157598913658{index:04d}"
        records.append(record)
    return {"Records": records}


def dynamodb(count: int) -> dict[str, Any]:
    template = shared_event("dynamoStreamEvent.json")["Records"][0]
    records = []
    for index in range(count):
        record = copy.deepcopy(template)
        record["dynamodb"]["SequenceNumber"] = str(100 + index)
        record["eventID"] = str(index)
        records.append(record)
    return {"Records": records}


def ident(record: dict[str, Any]) -> str:
    """The identifier Lambda expects back for ``record``."""
    if record["eventSource"] == "aws:sqs":
        return str(record["messageId"])
    if record["eventSource"] == "aws:kinesis":
        return str(record["kinesis"]["sequenceNumber"])
    return str(record["dynamodb"]["SequenceNumber"])
