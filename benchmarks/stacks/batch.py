"""One batch-benchmark stack in its own interpreter: python -m benchmarks.stacks.batch STACK DAEMON ROUNDS

Workload: an SQS batch of 10 and of 100 records; each record's work is decoding its JSON body and a
small sum. The instrumented stacks give each record its own subsegment and write one INFO line per
record carrying its message id, as a consumer traced per record does; the bare loop does the work
only. Segments go over real UDP to a sink process; log lines go to stdout (redirected to /dev/null).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from typing import Any

from benchmarks.stacks.common import CPU_US, Context, lambda_environment, new_header, work

SIZES = (10, 100)


def sqs_event(count: int) -> dict[str, Any]:
    arn = "arn:aws:sqs:us-east-1:123456789012:bench-queue"
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": uuid.uuid4().hex,
                "body": json.dumps({"order_id": f"order-{n}", "amount": n}),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183"},
                "messageAttributes": {},
                "md5OfBody": uuid.uuid4().hex,
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-1",
            }
            for n in range(count)
        ]
    }


def job(body: str) -> int:
    return work() + int(json.loads(body)["amount"])


def bare():
    def handler(event, context):
        failures = []
        for record in event["Records"]:
            try:
                job(record["body"])
            except Exception:
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    return handler


def lambda_observe():
    from lambda_observe import get_logger, traced
    from lambda_observe.batch import process_partial_response

    log = get_logger("bench")

    def record_handler(record):
        n = job(record["body"])
        log.info("record done", extra={"n": n})  # carries message_id: the batch binds it per record

    @traced
    def handler(event, context):
        return process_partial_response(event, record_handler)

    return handler


def powertools():
    from aws_lambda_powertools import Logger, Tracer
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    tracer = Tracer(service="bench")
    logger = Logger(service="bench")
    processor = BatchProcessor(event_type=EventType.SQS)

    @tracer.capture_method(capture_response=False)  # a subsegment per record, no response metadata (as ours)
    def record_handler(record):
        logger.append_keys(message_id=record.message_id)
        try:
            n = job(record.body)
            logger.info("record done", extra={"n": n})
        finally:
            logger.remove_keys(["message_id"])

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    def handler(event, context):
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return handler


STACKS = {"bare": bare, "lambda_observe": lambda_observe, "powertools": powertools}


def measure(handler: Any, size: int, invocations: int) -> float:
    """Mean microseconds per invocation of ``invocations`` batches of ``size`` records."""
    event = sqs_event(size)
    headers = [new_header() for _ in range(invocations)]
    contexts = [Context() for _ in range(invocations)]
    total = 0
    cpu = time.process_time_ns()
    for header, context in zip(headers, contexts, strict=True):
        os.environ["_X_AMZN_TRACE_ID"] = header
        start = time.perf_counter_ns()
        result = handler(event, context)
        total += time.perf_counter_ns() - start
        assert result == {"batchItemFailures": []}, result
    CPU_US.append((time.process_time_ns() - cpu) / invocations / 1000)
    return total / invocations / 1000


def main() -> None:
    stack, daemon, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    lambda_environment(daemon)
    handler = STACKS[stack]()
    for size in SIZES:  # warm up: the cold start and caches
        measure(handler, size, 20)
    CPU_US.clear()
    out: dict[str, Any] = {"stack": stack}
    for size in SIZES:
        invocations = max(2000 // size, 10)
        out[f"us_{size}"] = [measure(handler, size, invocations) for _ in range(rounds)]
        out[f"cpu_us_{size}"] = CPU_US[-rounds:]
    sys.stderr.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
