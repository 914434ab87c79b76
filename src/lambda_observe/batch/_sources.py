"""Recognising a batch event: its source, its records' identifiers, and whether it is FIFO."""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["SOURCES", "Batch", "read"]

SQS = "aws:sqs"
KINESIS = "aws:kinesis"
DYNAMODB = "aws:dynamodb"
#: Each accepted event source: where a record's identifier is, and the log key / annotation it goes under.
SOURCES: dict[str, tuple[tuple[str, ...], str]] = {
    SQS: (("messageId",), "message_id"),
    KINESIS: (("kinesis", "sequenceNumber"), "sequence_number"),
    DYNAMODB: (("dynamodb", "SequenceNumber"), "sequence_number"),
}
_EXPECTED = (
    "expected a batch event from SQS, Kinesis or DynamoDB Streams: a dict whose 'Records' list holds "
    "records with eventSource 'aws:sqs', 'aws:kinesis' or 'aws:dynamodb'"
)


class Batch(NamedTuple):
    source: str
    records: list[dict[str, Any]]  # a copy of the event's list, taken before any record runs
    ids: list[str]
    id_key: str
    fifo: bool
    groups: list[str | None]  # each FIFO record's MessageGroupId (empty for other batches)


def _what(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _fail(detail: str) -> TypeError:
    return TypeError(f"process_partial_response(): {_EXPECTED}; {detail}")


def _source_of(record: Any, index: int) -> str:
    """The record's eventSource, or a TypeError saying what is wrong with the record."""
    if not isinstance(record, dict):
        raise _fail(f"record {index} is not an object (a dict); got {type(record).__name__} {_what(record)}")
    if "eventSource" not in record:
        if "EventSource" in record:
            raise _fail(
                f"record {index} has 'EventSource' {record['EventSource']!r} (the SNS spelling); SQS, Kinesis "
                "and DynamoDB Streams records have 'eventSource' (lower-case e)"
            )
        raise _fail(f"record {index} has no 'eventSource' key (keys: {sorted(map(str, record))[:10]})")
    source = record["eventSource"]
    if not isinstance(source, str) or source not in SOURCES:
        raise _fail(f"record {index} has eventSource {source!r}")
    return source


def read(event: Any) -> Batch:
    """The batch in ``event``; :class:`TypeError` naming the accepted sources when it is not one.

    The records list is copied, and every identifier read, before any record runs: a record handler
    that changes ``event["Records"]`` changes nothing about the batch being processed.
    """
    if not isinstance(event, dict):
        raise _fail(f"got {type(event).__name__} {_what(event)}")
    if "Records" not in event:
        raise _fail(f"got a dict without 'Records' (keys: {sorted(map(str, event))[:10]})")
    if not isinstance(event["Records"], list):
        raise _fail(f"'Records' must be a list of records; got {type(event['Records']).__name__}")
    records: list[Any] = list(event["Records"])
    if not records:
        return Batch(SQS, [], [], "message_id", False, [])
    source = _source_of(records[0], 0)
    path, id_key = SOURCES[source]
    outer, inner = path[0], path[1] if len(path) > 1 else None
    ids: list[str] = []
    for index, record in enumerate(records):
        if type(record) is not dict or record.get("eventSource") != source:  # the usual record passes here
            other = _source_of(record, index)
            if other != source:
                raise _fail(
                    f"record {index} has eventSource {other!r}, record 0 has {source!r}; a batch comes from one source"
                )
        value: Any = record.get(outer)
        if inner is not None:
            value = value.get(inner) if isinstance(value, dict) else None
        if not isinstance(value, str) or not value:
            raise _fail(
                f"record {index} ({source}) has no {'.'.join(path)}; expected a non-empty string, the identifier "
                "Lambda needs to retry the record"
            )
        ids.append(value)
    arn = records[0].get("eventSourceARN")
    fifo = source == SQS and isinstance(arn, str) and arn.endswith(".fifo")
    groups = [_group(record) for record in records] if fifo else []
    return Batch(source, records, ids, id_key, fifo, groups)


def _group(record: dict[str, Any]) -> str | None:
    attributes = record.get("attributes")
    group = attributes.get("MessageGroupId") if isinstance(attributes, dict) else None
    return group if isinstance(group, str) else None
