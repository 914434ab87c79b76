"""SQS consumer: one subsegment, one log key and idempotency per message; partial batch failures.

Locally (embedded SQLite idempotency store):

    lambda-observe invoke examples/sqs-consumer/app.py:handler --event sqs --times 2

The second invocation carries the same orders under new message ids, as a redelivery would:
each order is fulfilled once, and the duplicates count as successes.
"""

from __future__ import annotations

import json

from lambda_observe import get_logger, subsegment, traced
from lambda_observe.batch import process_partial_response

log = get_logger("sqs-consumer")


def fulfil(record: dict) -> dict:
    """One message. Raising fails this message only: the queue delivers it again, then to the DLQ."""
    order = json.loads(record["body"])
    if order.get("amount", 0) < 0:
        raise ValueError(f"order {order['order_id']}: negative amount")
    with subsegment("ship", order_id=str(order["order_id"])):
        pass  # call the warehouse here
    log.info("order fulfilled", extra={"order_id": order["order_id"]})  # carries this message's message_id
    return {"order_id": order["order_id"], "shipped": True}


@traced(service="sqs-consumer")
def handler(event, context):
    return process_partial_response(
        event,
        fulfil,
        idempotent_key="body.order_id",  # once per order, however often it is delivered (JSON body parsed)
        validate="body.amount",  # the same order id with another amount: that message fails
    )
