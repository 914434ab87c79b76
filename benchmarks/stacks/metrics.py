"""Metrics and log buffering per invocation: python -m benchmarks.stacks.metrics STACK N BATCHES

Metrics (one metric added, then the end-of-invocation flush writing its EMF line):
- ``lambda_observe``: what ``@traced`` runs for metrics in an invocation: the metrics start hook,
  ``add_metric``, the end hook (flush). The invocation context itself (``_invocation.begin``) is set
  up outside the timed call, as it is shared with tracing and logs.
- ``powertools``: a handler under ``Metrics.log_metrics`` that adds one metric (the decorator flushes).

Log buffering (five DEBUG records per invocation, nothing to flush):
- ``buffered``: ``LAMBDA_OBSERVE_LOG_BUFFER=DEBUG`` at level INFO: the buffer's start hook, five
  records held, the end hook dropping them.
- ``direct``: level DEBUG, no buffer: the same five records written to stdout.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable

from benchmarks.stacks.common import Context, lambda_environment

RECORDS = 5


def _invocation_hooks() -> Callable[[Callable[[], None]], None]:
    """Run ``work`` inside an invocation's hooks, as ``_handler._invoke`` does (the context set up before)."""
    from lambda_observe import _invocation
    from lambda_observe._hooks import END_HOOKS, INVOCATION_HOOKS

    event: dict[str, str] = {}

    def run(work: Callable[[], None]) -> None:
        for hook in INVOCATION_HOOKS:
            hook(inv, event)
        work()
        for end_hook in END_HOOKS:
            end_hook(inv, None)

    inv, token = _invocation.begin(Context())
    run(lambda: None)  # the first invocation is the cold start (ColdStart written once)
    _invocation.end(token)
    inv, _ = _invocation.begin(Context())  # warm from here on
    return run


def lambda_observe() -> Callable[[], None]:
    os.environ["LAMBDA_OBSERVE_METRICS_NAMESPACE"] = "Bench"
    from lambda_observe import add_metric
    from lambda_observe.metrics._store import install

    install()
    run = _invocation_hooks()

    def work() -> None:
        add_metric("OrderStored", 1)

    return lambda: run(work)


def powertools() -> Callable[[], None]:
    os.environ["POWERTOOLS_METRICS_NAMESPACE"] = "Bench"
    from aws_lambda_powertools import Metrics

    metrics = Metrics()

    @metrics.log_metrics
    def handler(event: object, context: object) -> None:
        metrics.add_metric(name="OrderStored", unit="Count", value=1)

    event: dict[str, str] = {}
    context = Context()
    return lambda: handler(event, context)


def _debug_records(buffer: bool) -> Callable[[], None]:
    if buffer:
        os.environ["LAMBDA_OBSERVE_LOG_BUFFER"] = "DEBUG"
        os.environ["LAMBDA_OBSERVE_LOG_LEVEL"] = "INFO"
    else:
        os.environ["LAMBDA_OBSERVE_LOG_LEVEL"] = "DEBUG"
    from lambda_observe import setup_logging

    setup_logging()
    run = _invocation_hooks()
    log = logging.getLogger("bench")

    def work() -> None:
        for i in range(RECORDS):
            log.debug("cache lookup %s", i, extra={"key": "order-42"})

    return lambda: run(work)


STACKS = {
    "lambda_observe": lambda_observe,
    "powertools": powertools,
    "buffered": lambda: _debug_records(True),
    "direct": lambda: _debug_records(False),
}


def main() -> None:
    stack, n, batches = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    lambda_environment("127.0.0.1:9")
    call = STACKS[stack]()
    for _ in range(300):
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
