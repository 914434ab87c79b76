"""Orders API: API Gateway -> Lambda -> a table, idempotent on the order id.

In AWS (see template.yaml) orders go to DynamoDB (``ORDERS_TABLE``) and idempotency records to
a DynamoDB table (``LAMBDA_OBSERVE_IDEMPOTENCY_STORE=dynamodb://...``). Locally, with neither
set, orders go to a SQLite file and idempotency uses the embedded SQLite store:

    lambda-observe invoke examples/orders/app.py:handler --event apigw-rest --times 2
"""

from __future__ import annotations

import json
import os
import sqlite3
from decimal import Decimal

from lambda_observe import capture, get_logger, idempotent, patch, subsegment, traced

patch("boto3", "sqlite3")  # only these two libraries are traced
log = get_logger("orders")


class InvalidOrder(ValueError):
    pass


@capture
def validate(body: dict) -> dict:
    if not isinstance(body.get("order_id"), str) or not body["order_id"]:
        raise InvalidOrder("order_id: expected a non-empty string")
    amount = body.get("amount")
    if not isinstance(amount, (int, float)) or amount <= 0:
        raise InvalidOrder("amount: expected a positive number")
    return {"order_id": body["order_id"], "amount": amount, "currency": body.get("currency", "EUR")}


def _save_dynamodb(order: dict, table: str) -> None:
    import boto3

    boto3.client("dynamodb").put_item(
        TableName=table,
        Item={
            "order_id": {"S": order["order_id"]},
            "amount": {"N": str(Decimal(str(order["amount"])))},
            "currency": {"S": order["currency"]},
        },
    )


def _save_sqlite(order: dict) -> None:
    path = os.environ.get("ORDERS_DB", os.path.join(".lambda_observe", "orders.db"))
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    conn = sqlite3.connect(path)  # not `with connect() as conn`: that yields the unpatched connection
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS orders (order_id TEXT PRIMARY KEY, amount REAL, currency TEXT)")
        conn.execute(
            "INSERT OR REPLACE INTO orders VALUES (?, ?, ?)", (order["order_id"], order["amount"], order["currency"])
        )
        conn.commit()
    finally:
        conn.close()


@traced(service="orders")
@idempotent(key="body.order_id", validate="body.amount")
def handler(event, context):
    body = json.loads(event.get("body") or "{}")
    try:
        order = validate(body)
    except InvalidOrder as exc:
        log.warning("rejected order", extra={"reason": str(exc)})
        return {"statusCode": 400, "body": json.dumps({"error": str(exc)})}
    with subsegment("store order", order_id=order["order_id"]):
        table = os.environ.get("ORDERS_TABLE")
        _save_dynamodb(order, table) if table else _save_sqlite(order)
    log.info("order stored", extra={"order_id": order["order_id"], "amount": order["amount"]})
    return {"statusCode": 201, "body": json.dumps({"order_id": order["order_id"], "status": "stored"})}
