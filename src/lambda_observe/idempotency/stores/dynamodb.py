"""The DynamoDB store: one conditional ``PutItem``, ``ALL_OLD`` on conflict, TTL on ``expiration``.

The table (see ``docs/idempotency.md`` for SAM/CloudFormation): partition key ``id`` (S),
TimeToLiveSpecification on ``expiration`` (epoch seconds).
"""

from __future__ import annotations

from typing import Any

from .._record import COMPLETED, IN_PROGRESS, Record
from .._secrets import safe_url, secrets_of
from ..errors import StoreError

__all__ = ["DynamoDBStore"]

_PUT_CONDITION = (
    "attribute_not_exists(#id) OR #expiry < :now OR (#status = :in_progress AND #in_progress_expiry < :now_ms)"
)


class DynamoDBStore:
    """Records in a DynamoDB table, through boto3's low-level client."""

    def __init__(
        self,
        table: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        client: Any = None,
        key_attr: str = "id",
    ) -> None:
        if not table:
            raise ValueError("DynamoDBStore needs a table name")
        self.table = table
        self.region = region
        self._endpoint_url = endpoint_url
        self._secrets = secrets_of(endpoint_url)
        self.key_attr = key_attr
        self.name = f"dynamodb://{table}"
        self._client = client

    @property
    def endpoint_url(self) -> str | None:
        """The endpoint without its credentials (the store keeps the real one to itself)."""
        return safe_url(self._endpoint_url) if self._endpoint_url else None

    def __repr__(self) -> str:
        return f"DynamoDBStore({self.table!r}, region={self.region!r}, endpoint_url={self.endpoint_url!r})"

    def _dynamodb(self) -> Any:
        if self._client is None:
            try:
                import boto3
            except ImportError:
                raise StoreError(self.name, "boto3 is not installed: pip install 'lambda-observe[dynamodb]'")
            from botocore.config import Config

            # The store builds every request itself, so botocore's client-side parameter validation only
            # re-checks our own code: without it, a call costs about 8% fewer client instructions.
            try:
                self._client = boto3.client(
                    "dynamodb",
                    region_name=self.region,
                    endpoint_url=self._endpoint_url,
                    config=Config(parameter_validation=False),
                )
            except Exception as exc:  # a bad endpoint or no region: botocore's text may repeat the URL
                raise StoreError(
                    self.name, f"cannot create the client: {type(exc).__name__}: {exc}", self._secrets
                ) from None
        return self._client

    def _call(self, what: str, **kwargs: Any) -> Any:
        client = self._dynamodb()
        try:
            return getattr(client, what)(TableName=self.table, **kwargs)
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
            if code == "ConditionalCheckFailedException":
                raise
            # Not chained: botocore's exception (and its context) may hold the endpoint URL.
            raise StoreError(self.name, f"{what}: {type(exc).__name__}: {exc}", self._secrets) from None

    def _item_to_record(self, key: str, item: dict[str, Any]) -> Record:
        def text(name: str) -> str | None:
            value = item.get(name)
            return value.get("S") if isinstance(value, dict) else None

        def number(name: str) -> float:
            value = item.get(name, {})
            return float(value.get("N", "0")) if isinstance(value, dict) else 0.0

        return Record(
            key=key,
            status=text("status") or IN_PROGRESS,
            expiry=number("expiration"),
            in_progress_expiry=number("in_progress_expiration") / 1000.0,
            payload_hash=text("validation"),
            result=text("data"),
            attempt=text("attempt") or "",
        )

    def put_in_progress(self, record: Record, now: float) -> Record | None:
        item: dict[str, Any] = {
            self.key_attr: {"S": record.key},
            "status": {"S": IN_PROGRESS},
            "expiration": {"N": str(int(record.expiry))},
            "in_progress_expiration": {"N": str(int(record.in_progress_expiry * 1000))},
            "attempt": {"S": record.attempt},
        }
        if record.payload_hash:
            item["validation"] = {"S": record.payload_hash}
        try:
            self._call(
                "put_item",
                Item=item,
                ConditionExpression=_PUT_CONDITION,
                ExpressionAttributeNames={
                    "#id": self.key_attr,
                    "#expiry": "expiration",
                    "#status": "status",
                    "#in_progress_expiry": "in_progress_expiration",
                },
                ExpressionAttributeValues={
                    ":now": {"N": str(int(now))},
                    ":now_ms": {"N": str(int(now * 1000))},
                    ":in_progress": {"S": IN_PROGRESS},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return None
        except StoreError:
            raise
        except Exception as exc:  # ConditionalCheckFailedException: the live record came back with it
            old = getattr(exc, "response", {}).get("Item")
            if old:
                return self._item_to_record(record.key, old)
            existing = self.get(record.key)  # an endpoint that does not return ALL_OLD
            if existing is None:
                raise StoreError(self.name, "conditional put failed but no record exists") from None
            return existing

    def get(self, key: str) -> Record | None:
        answer = self._call("get_item", Key={self.key_attr: {"S": key}}, ConsistentRead=True)
        item = answer.get("Item")
        return None if not item else self._item_to_record(key, item)

    def _if_owner(self, what: str, **kwargs: Any) -> None:
        try:
            self._call(what, ConditionExpression="#attempt = :attempt", **kwargs)
        except StoreError:
            raise
        except Exception:  # the attempt no longer owns the key: a takeover happened; leave it
            return

    def complete(self, key: str, attempt: str, result: str, expiry: float) -> None:
        self._if_owner(
            "update_item",
            Key={self.key_attr: {"S": key}},
            UpdateExpression="SET #status = :completed, #data = :data, #expiry = :expiry",
            ExpressionAttributeNames={
                "#status": "status",
                "#data": "data",
                "#expiry": "expiration",
                "#attempt": "attempt",
            },
            ExpressionAttributeValues={
                ":completed": {"S": COMPLETED},
                ":data": {"S": result},
                ":expiry": {"N": str(int(expiry))},
                ":attempt": {"S": attempt},
            },
        )

    def delete(self, key: str, attempt: str) -> None:
        self._if_owner(
            "delete_item",
            Key={self.key_attr: {"S": key}},
            ExpressionAttributeNames={"#attempt": "attempt"},
            ExpressionAttributeValues={":attempt": {"S": attempt}},
        )
