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

    return charge


def main() -> None:
    stack, endpoint, table, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    lambda_environment("127.0.0.1:9")
    os.environ["LAMBDA_OBSERVE_TRACING"] = "false"
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
    name, _, variant = stack.partition(":")
    make = {"lambda_observe": lambda_observe, "powertools": powertools}[name]
    charge = make(endpoint, table, variant == "cache")
    for _ in range(5):  # warm: clients, connections
        charge(order={"id": uuid.uuid4().hex})
    ids = [uuid.uuid4().hex for _ in range(n)]
    start = time.perf_counter_ns()
    for i in ids:
        charge(order={"id": i})
    new_us = (time.perf_counter_ns() - start) / n / 1000
    start = time.perf_counter_ns()
    for i in ids:
        charge(order={"id": i})
    dup_us = (time.perf_counter_ns() - start) / n / 1000
    sys.stderr.write(json.dumps({"stack": stack, "new_us": new_us, "duplicate_us": dup_us}) + "\n")


if __name__ == "__main__":
    main()
