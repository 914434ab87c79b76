"""Idempotency per call on one DynamoDB endpoint: python -m benchmarks.stacks.idem STACK ENDPOINT TABLE N"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid

from benchmarks.stacks.common import Context, lambda_environment


def lambda_observe(endpoint: str, table: str, cache: bool):
    from lambda_observe import idempotent_function
    from lambda_observe.idempotency import DynamoDBStore

    store = DynamoDBStore(table, region="us-east-1", endpoint_url=endpoint)

    @idempotent_function(arg="order", key="id", store=store, local_cache=1024 if cache else 0)
    def charge(order: dict) -> dict:
        return {"charged": order["id"]}

    charge.client = lambda: store._dynamodb()  # type: ignore[attr-defined]
    return charge


def powertools(endpoint: str, table: str, cache: bool):
    import boto3
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=client)
    config = IdempotencyConfig(event_key_jmespath="id", use_local_cache=cache)
    config.register_lambda_context(Context())

    @idempotent_function(data_keyword_argument="order", persistence_store=persistence, config=config)
    def charge(order: dict) -> dict:
        return {"charged": order["id"]}

    charge.client = lambda: client  # type: ignore[attr-defined]
    return charge


def count_only(stack: str, endpoint: str, table: str, n: int, duplicate: bool) -> None:
    """For callgrind: n new keys (or n new keys, then the same n again), nothing timed."""
    lambda_environment("127.0.0.1:9")
    os.environ["LAMBDA_OBSERVE_TRACING"] = "false"
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
    name, _, variant = stack.partition(":")
    charge = {"lambda_observe": lambda_observe, "powertools": powertools}[name](endpoint, table, variant == "cache")
    for _ in range(3):
        charge(order={"id": uuid.uuid4().hex})
    ids = [uuid.uuid4().hex for _ in range(n)]
    for i in ids:
        charge(order={"id": i})
    if duplicate:
        for i in ids:
            charge(order={"id": i})


def main() -> None:
    if sys.argv[1] == "--count":
        count_only(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6] == "dup")
        return
    stack, endpoint, table, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    lambda_environment("127.0.0.1:9")
    os.environ["LAMBDA_OBSERVE_TRACING"] = "false"
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
    name, _, variant = stack.partition(":")
    make = {"lambda_observe": lambda_observe, "powertools": powertools}[name]
    charge = make(endpoint, table, variant == "cache")
    for _ in range(5):  # warm: clients, connections
        charge(order={"id": uuid.uuid4().hex})
    sent = [0]

    def count(**kwargs: object) -> None:
        sent[0] += 1

    charge.client().meta.events.register("before-send.dynamodb", count)
    ids = [uuid.uuid4().hex for _ in range(n)]
    start, cpu = time.perf_counter_ns(), time.process_time_ns()
    for i in ids:
        charge(order={"id": i})
    new_us = (time.perf_counter_ns() - start) / n / 1000
    new_cpu_us = (time.process_time_ns() - cpu) / n / 1000  # this process only: moto's time is not in it
    new_trips, sent[0] = sent[0] / n, 0
    start, cpu = time.perf_counter_ns(), time.process_time_ns()
    for i in ids:
        charge(order={"id": i})
    dup_us = (time.perf_counter_ns() - start) / n / 1000
    dup_cpu_us = (time.process_time_ns() - cpu) / n / 1000
    dup_trips = sent[0] / n
    sys.stderr.write(
        json.dumps(
            {
                "stack": stack,
                "new_us": new_us,
                "duplicate_us": dup_us,
                "new_cpu_us": new_cpu_us,
                "duplicate_cpu_us": dup_cpu_us,
                "new_round_trips": new_trips,
                "duplicate_round_trips": dup_trips,
            }
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
