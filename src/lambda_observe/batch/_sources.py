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
    records: list[dict[str, Any]]
    ids: list[str]
    id_key: str
    fifo: bool


def _what(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def read(event: Any) -> Batch:
    """The batch in ``event``; :class:`TypeError` naming the accepted sources when it is not one."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        if isinstance(event, dict):
            got = f"a dict with keys {sorted(map(str, event))[:10]}"
        else:
            got = f"{type(event).__name__} {_what(event)}"
        raise TypeError(f"process_partial_response(): {_EXPECTED}; got {got}")
    if not records:
        return Batch(SQS, [], [], "message_id", False)
    first = records[0].get("eventSource") if isinstance(records[0], dict) else None
    spec = SOURCES.get(first) if isinstance(first, str) else None
    if spec is None or not isinstance(first, str):
        head = records[0]
        if not isinstance(head, dict):
            raise TypeError(f"process_partial_response(): {_EXPECTED}; got a record that is a {type(head).__name__}")
        seen = head.get("eventSource") or head.get("EventSource")
        raise TypeError(f"process_partial_response(): {_EXPECTED}; got a record with eventSource {seen!r}")
    path, id_key = spec
    source: str = first
    ids: list[str] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict) or record.get("eventSource") != source:
            other = record.get("eventSource") if isinstance(record, dict) else type(record).__name__
            raise TypeError(
                f"process_partial_response(): record {index} has eventSource {other!r}, record 0 has {source!r}; "
                "a batch comes from one source"
            )
        value: Any = record
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if not isinstance(value, str) or not value:
            raise TypeError(
                f"process_partial_response(): record {index} ({source}) has no {'.'.join(path)}; "
                "expected a non-empty string, the identifier Lambda needs to retry the record"
            )
        ids.append(value)
    arn = records[0].get("eventSourceARN")
    fifo = source == SQS and isinstance(arn, str) and arn.endswith(".fifo")
    return Batch(source, records, ids, id_key, fifo)
