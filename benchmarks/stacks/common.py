"""What every warm-benchmark stack shares: the Lambda-like environment and the timing loop."""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any


class Context:
    function_name = "bench-fn"
    function_version = "$LATEST"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench-fn"
    log_group_name = "/aws/lambda/bench-fn"
    log_stream_name = "2026/11/22/[$LATEST]0123"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.time() + 30

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.time()) * 1000)


class Unbuffered:
    """stdout as the Lambda runtime interface client sets it up: every write is flushed at once."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        written = self._stream.write(text)
        self._stream.flush()
        return int(written)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def lambda_environment(daemon: str) -> None:
    """The Lambda environment variables, and stdout unbuffered as the runtime makes it."""
    import sys

    if not isinstance(sys.stdout, Unbuffered):
        sys.stdout = Unbuffered(sys.stdout)
    os.environ.update(
        {
            "LAMBDA_TASK_ROOT": os.getcwd(),
            "AWS_LAMBDA_FUNCTION_NAME": "bench-fn",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_XRAY_DAEMON_ADDRESS": daemon,
            "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
            "POWERTOOLS_SERVICE_NAME": "bench",
            "LAMBDA_OBSERVE_SERVICE": "bench",
            "_X_AMZN_TRACE_ID": new_header(),
        }
    )


def runtime_imports() -> None:
    """What the Lambda runtime has imported before it loads a handler's module: AWS's Python base images
    run the runtime interface client, awslambdaric, whose bootstrap imports ``logging``, ``json``,
    ``re``, ``traceback``, ``threading`` and others first. Cold starts are timed after this, for every
    stack alike (bare included), so that no stack is charged for modules Lambda has already loaded."""
    import awslambdaric.bootstrap  # noqa: F401


def new_header() -> str:
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=1"


def floor_line(context: Any, trace_id: str, correlation_id: str, cold_start: bool, n: int) -> str:
    """The hand-written floor's log line: the same keys lambda_observe writes, with json.dumps."""
    import json

    now = time.time()
    return (
        json.dumps(
            {
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z",
                "level": "INFO",
                "message": "handled",
                "logger": "bench",
                "location": "warm.handler:0",
                "service": "bench",
                "function_request_id": context.aws_request_id,
                "function_name": context.function_name,
                "function_arn": context.invoked_function_arn,
                "function_memory_size": context.memory_limit_in_mb,
                "cold_start": cold_start,
                "xray_trace_id": trace_id,
                "correlation_id": correlation_id,
                "n": n,
            },
            separators=(",", ":"),
        )
        + "\n"
    )


def plain_json_logger(name: str) -> Any:
    """A stdlib logger writing python-json-logger lines to stdout, as a hand-rolled setup would."""
    import logging
    import sys

    from pythonjsonlogger.json import JsonFormatter

    log = logging.getLogger(name)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    return log


def work() -> int:
    return sum(range(50))


def measure(
    handler: Callable[[Any, Any], Any], invocations: int, batches: int, event: dict[str, Any] | None = None
) -> list[float]:
    """Mean microseconds per invocation for each batch; each invocation gets a fresh header and context,
    as Lambda gives it (preparing them is outside the timed region)."""
    event = event or {"requestContext": {"requestId": "r-1"}, "body": "{}"}
    for _ in range(200):  # warm up: first invocation (cold start) and caches
        os.environ["_X_AMZN_TRACE_ID"] = new_header()
        handler(event, Context())
    results = []
    for _ in range(batches):
        headers = [new_header() for _ in range(invocations)]
        contexts = [Context() for _ in range(invocations)]
        total = 0
        cpu_start = time.process_time_ns()
        for header, context in zip(headers, contexts, strict=False):
            os.environ["_X_AMZN_TRACE_ID"] = header
            start = time.perf_counter_ns()
            handler(event, context)
            total += time.perf_counter_ns() - start
        CPU_US.append((time.process_time_ns() - cpu_start) / invocations / 1000)
        results.append(total / invocations / 1000)
    return results


CPU_US: list[float] = []
"""Per batch: the process's CPU time (user + kernel, from CLOCK_PROCESS_CPUTIME_ID) per invocation,
the whole loop included (setting the header and reading the clock too: the bare stack pays them alike)."""


def median(values: list[float]) -> float:
    return statistics.median(values)
