"""One batch-benchmark stack in its own interpreter: python -m benchmarks.stacks.batch STACK DAEMON ROUNDS

``--count STACK DAEMON N`` runs N 100-record batches untimed (for callgrind: instructions per record);
``--datagrams STACK`` prints how many datagrams one 100-record batch sends (to a socket of its own).

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


def count(stack: str, daemon: str, n: int) -> None:
    """N 100-record batches and nothing else, for instruction counting."""
    lambda_environment(daemon)
    handler = STACKS[stack]()
    event = sqs_event(100)
    headers = [new_header() for _ in range(n)]
    contexts = [Context() for _ in range(n)]
    for header, context in zip(headers, contexts, strict=True):
        os.environ["_X_AMZN_TRACE_ID"] = header
        handler(event, context)


def datagrams(stack: str, n: int = 3) -> None:
    """Datagrams (and bytes) one 100-record batch sends: the kernel's side, which callgrind does not count."""
    import socket

    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    sink.bind(("127.0.0.1", 0))
    sink.settimeout(0.5)
    lambda_environment(f"127.0.0.1:{sink.getsockname()[1]}")
    handler = STACKS[stack]()
    event = sqs_event(100)
    handler(event, Context())  # the cold start's documents are not counted
    received = [0, 0]

    def drain() -> None:
        while True:
            try:
                data = sink.recv(65536)
            except TimeoutError:
                return
            received[0] += 1
            received[1] += len(data)

    drain()
    received[:] = [0, 0]
    for _ in range(n):
        os.environ["_X_AMZN_TRACE_ID"] = new_header()
        handler(event, Context())
    drain()
    sys.stderr.write(json.dumps({"stack": stack, "datagrams": received[0] / n, "bytes": received[1] / n}) + "\n")


def main() -> None:
    if sys.argv[1] == "--count":
        count(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    if sys.argv[1] == "--datagrams":
        datagrams(sys.argv[2])
        return
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
