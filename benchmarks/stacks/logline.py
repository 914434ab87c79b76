"""Cost of one INFO log line with the request context: python -m benchmarks.stacks.logline STACK N BATCHES"""

from __future__ import annotations

import json
import os
import sys
import time

from benchmarks.stacks.common import Context, lambda_environment, plain_json_logger


def lambda_observe():
    from lambda_observe import _invocation, get_logger

    log = get_logger("bench")
    _invocation.begin(Context())
    return lambda: log.info("order stored", extra={"order_id": 42})


def lambda_observe_stdlib_json():
    sys.modules["orjson"] = None  # type: ignore[assignment]
    return lambda_observe()


def powertools():
    from aws_lambda_powertools import Logger

    logger = Logger(service="bench")
    logger.structure_logs(
        append=True,
        **{"function_request_id": "r-1", "cold_start": False, "function_name": "bench-fn", "xray_trace_id": "1-x"},
    )
    return lambda: logger.info("order stored", extra={"order_id": 42})


def python_json_logger():
    log = plain_json_logger("bench-plain")
    extra = {"order_id": 42, "function_request_id": "r-1", "cold_start": False, "function_name": "bench-fn"}
    return lambda: log.info("order stored", extra=extra)


STACKS = {
    "lambda_observe": lambda_observe,
    "lambda_observe_stdlib_json": lambda_observe_stdlib_json,
    "powertools": powertools,
    "python_json_logger": python_json_logger,
}


def main() -> None:
    stack, n, batches = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    lambda_environment("127.0.0.1:9")
    call = STACKS[stack]()
    for _ in range(500):
        call()
    results = []
    for _ in range(batches):
        start = time.perf_counter_ns()
        for _ in range(n):
            call()
        results.append((time.perf_counter_ns() - start) / n / 1000)
    sys.stderr.write(json.dumps({"stack": stack, "batches_us": results}) + "\n")
    os._exit(0)


if __name__ == "__main__":
    main()
