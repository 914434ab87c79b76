"""SQS consumer: a batch, a subsegment and idempotency per message, partial batch failure reporting.

Locally (embedded SQLite idempotency store):

    lambda-observe invoke examples/sqs-consumer/app.py:handler --event sqs --times 2
"""

from __future__ import annotations

import json

from lambda_observe import append_keys, get_logger, idempotent_function, subsegment, traced
from lambda_observe.idempotency import AlreadyInProgressError

log = get_logger("sqs-consumer")


@idempotent_function(arg="order", key="order_id", validate="amount")
def fulfil(order: dict) -> dict:
    """Runs once per order id, however often the queue delivers it."""
    if order.get("amount", 0) < 0:
        raise ValueError(f"order {order['order_id']}: negative amount")
    return {"order_id": order["order_id"], "shipped": True}


@traced(service="sqs-consumer")
def handler(event, context):
    failures = []
    for record in event.get("Records", []):
        message_id = record["messageId"]
        with append_keys(message_id=message_id), subsegment("message", message_id=message_id):
            try:
                order = json.loads(record["body"])
                result = fulfil(order)
                log.info("order fulfilled", extra={"order_id": result["order_id"]})
            except AlreadyInProgressError:
                log.warning("order already being fulfilled; retry later")
                failures.append({"itemIdentifier": message_id})
            except Exception as exc:  # one bad message must not fail the whole batch
                log.error("message failed", extra={"reason": str(exc)})
                failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
