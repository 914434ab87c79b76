"""Sample events by name, built from templates this package owns.

``lambda-observe invoke app.py:handler --event sqs`` uses these; each call gets fresh ids
and timestamps, as real deliveries would.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["NAMES", "load", "make"]

_ACCOUNT = "123456789012"
_REGION = "us-east-1"


def _now_ms() -> int:
    return int(time.time() * 1000)


def _http_headers() -> dict[str, str]:
    return {
        "accept": "application/json",
        "content-type": "application/json",
        "host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "user-agent": "curl/8.5.0",
        "x-amzn-trace-id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}",
        "x-forwarded-for": "198.51.100.7",
    }


def _body() -> str:
    return json.dumps({"order_id": "order-1001", "amount": 42.5, "currency": "EUR"})


def apigw_rest() -> dict[str, Any]:
    headers = _http_headers()
    return {
        "resource": "/orders",
        "path": "/orders",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": _ACCOUNT,
            "apiId": "abcdef1234",
            "resourceId": "a1b2c3",
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": _now_ms(),
            "httpMethod": "POST",
            "path": "/prod/orders",
            "protocol": "HTTP/1.1",
            "resourcePath": "/orders",
            "identity": {"sourceIp": "198.51.100.7", "userAgent": "curl/8.5.0"},
        },
        "body": _body(),
        "isBase64Encoded": False,
    }


def apigw_http() -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "POST /orders",
        "rawPath": "/orders",
        "rawQueryString": "",
        "headers": _http_headers(),
        "requestContext": {
            "accountId": _ACCOUNT,
            "apiId": "abcdef1234",
            "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "http": {
                "method": "POST",
                "path": "/orders",
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.7",
                "userAgent": "curl/8.5.0",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "POST /orders",
            "stage": "$default",
            "timeEpoch": _now_ms(),
        },
        "body": _body(),
        "isBase64Encoded": False,
    }


def function_url() -> dict[str, Any]:
    event = apigw_http()
    event["routeKey"] = "$default"
    event["requestContext"]["domainName"] = "abcdefghijklmnop.lambda-url.us-east-1.on.aws"
    event["requestContext"]["routeKey"] = "$default"
    return event


def alb() -> dict[str, Any]:
    return {
        "requestContext": {
            "elb": {"targetGroupArn": f"arn:aws:elasticloadbalancing:{_REGION}:{_ACCOUNT}:targetgroup/orders/0123"}
        },
        "httpMethod": "POST",
        "path": "/orders",
        "queryStringParameters": {},
        "headers": _http_headers(),
        "body": _body(),
        "isBase64Encoded": False,
    }


def sqs() -> dict[str, Any]:
    records = []
    for n in range(2):
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": uuid.uuid4().hex,
                "body": json.dumps({"order_id": f"order-{1001 + n}", "amount": 10 + n}),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": str(_now_ms()),
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": str(_now_ms()),
                },
                "messageAttributes": {},
                "md5OfBody": uuid.uuid4().hex,
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{_REGION}:{_ACCOUNT}:orders-queue",
                "awsRegion": _REGION,
            }
        )
    return {"Records": records}


def sns() -> dict[str, Any]:
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"arn:aws:sns:{_REGION}:{_ACCOUNT}:orders:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": f"arn:aws:sns:{_REGION}:{_ACCOUNT}:orders",
                    "Subject": "order placed",
                    "Message": _body(),
                    "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                    "MessageAttributes": {},
                },
            }
        ]
    }


def s3() -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": _REGION,
                "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": "orders-uploads", "arn": "arn:aws:s3:::orders-uploads"},
                    "object": {"key": "incoming/order-1001.json", "size": 1024, "eTag": uuid.uuid4().hex},
                },
            }
        ]
    }


def eventbridge() -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "OrderPlaced",
        "source": "shop.orders",
        "account": _ACCOUNT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": _REGION,
        "resources": [],
        "detail": {"order_id": "order-1001", "amount": 42.5},
    }


def dynamodb_stream() -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventID": uuid.uuid4().hex,
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "awsRegion": _REGION,
                "dynamodb": {
                    "Keys": {"order_id": {"S": "order-1001"}},
                    "NewImage": {"order_id": {"S": "order-1001"}, "amount": {"N": "42.5"}},
                    "SequenceNumber": str(_now_ms()),
                    "StreamViewType": "NEW_IMAGE",
                },
                "eventSourceARN": f"arn:aws:dynamodb:{_REGION}:{_ACCOUNT}:table/orders/stream/2026-01-01T00:00:00.000",
            }
        ]
    }


def kinesis() -> dict[str, Any]:
    import base64

    return {
        "Records": [
            {
                "kinesis": {
                    "partitionKey": "order-1001",
                    "kinesisSchemaVersion": "1.0",
                    "data": base64.b64encode(_body().encode()).decode(),
                    "sequenceNumber": str(_now_ms()),
                    "approximateArrivalTimestamp": time.time(),
                },
                "eventSource": "aws:kinesis",
                "eventID": f"shardId-000000000000:{_now_ms()}",
                "awsRegion": _REGION,
                "eventSourceARN": f"arn:aws:kinesis:{_REGION}:{_ACCOUNT}:stream/orders",
            }
        ]
    }


NAMES: dict[str, Callable[[], dict[str, Any]]] = {
    "alb": alb,
    "apigw-http": apigw_http,
    "apigw-rest": apigw_rest,
    "dynamodb-stream": dynamodb_stream,
    "eventbridge": eventbridge,
    "function-url": function_url,
    "kinesis": kinesis,
    "s3": s3,
    "sns": sns,
    "sqs": sqs,
}


def make(name: str) -> dict[str, Any]:
    """A fresh sample event of the named kind."""
    try:
        return NAMES[name]()
    except KeyError:
        raise ValueError(f"unknown event name {name!r}; known: {', '.join(sorted(NAMES))}, or a path") from None


def load(spec: str | None) -> Any:
    """An event from a name (``sqs``), a JSON file path, or ``None`` (an empty object)."""
    if spec is None:
        return {}
    if spec in NAMES:
        return make(spec)
    path = Path(spec)
    if not path.is_file():
        raise ValueError(f"--event {spec!r}: not a file and not a known name ({', '.join(sorted(NAMES))})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"--event {spec!r}: not valid JSON: {exc}") from None
