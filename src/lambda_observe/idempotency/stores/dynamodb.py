"""The DynamoDB store: one conditional ``PutItem``, ``ALL_OLD`` on conflict, TTL on ``expiration``.

The table (see ``docs/idempotency.md`` for SAM/CloudFormation): partition key ``id`` (S),
TimeToLiveSpecification on ``expiration`` (epoch seconds).
"""

from __future__ import annotations

from typing import Any

from .._record import COMPLETED, IN_PROGRESS, Record
from .._secrets import safe_url, secrets_of
from ..errors import ConfigError, IdempotencyError, ResultNotSerializableError, StoreError

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
            raise ConfigError("DynamoDBStore needs a table name")
        if endpoint_url:
            from .url import require_plain_userinfo

            require_plain_userinfo(endpoint_url, "DynamoDBStore endpoint_url")
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
            error: StoreError | None = None
            try:
                self._client = boto3.client(
                    "dynamodb",
                    region_name=self.region,
                    endpoint_url=self._endpoint_url,
                    config=Config(parameter_validation=False),
                )
            except Exception as exc:  # a bad endpoint or no region: botocore's text may repeat the URL
                error = StoreError(self.name, f"cannot create the client: {type(exc).__name__}: {exc}", self._secrets)
            if error is not None:  # raised outside the except block: botocore's exception is not its context
                raise error
        return self._client

    def _call(self, what: str, **kwargs: Any) -> Any:
        client = self._dynamodb()
        try:
            return getattr(client, what)(TableName=self.table, **kwargs)
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
            if code == "ConditionalCheckFailedException":
                raise
            message = f"{type(exc).__name__}: {exc}"
            if code == "ValidationException" and what == "update_item" and "size" in str(exc):
                error: IdempotencyError = ResultNotSerializableError(
                    f"the store refused the result ({StoreError(self.name, message, self._secrets).reason}); "
                    "expected a result that fits in one DynamoDB item (400 KB)"
                )
            else:
                error = StoreError(self.name, f"{what}: {message}", self._secrets)
        # Raised outside the except block, so neither __cause__ nor __context__ holds botocore's
        # exception, whose text and traceback may hold the endpoint URL.
        raise error

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
        conflict: Any = None
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
        except IdempotencyError:
            raise
        except Exception as exc:  # ConditionalCheckFailedException: the live record came back with it
            conflict = getattr(exc, "response", {}).get("Item") or {}
        if conflict:
            return self._item_to_record(record.key, conflict)
        existing = self.get(record.key)  # an endpoint that does not return ALL_OLD
        if existing is None:
            raise StoreError(self.name, "conditional put failed but no record exists")
        return existing

    def get(self, key: str) -> Record | None:
        answer = self._call("get_item", Key={self.key_attr: {"S": key}}, ConsistentRead=True)
        item = answer.get("Item")
        return None if not item else self._item_to_record(key, item)

    def _if_owner(self, what: str, **kwargs: Any) -> None:
        try:
            self._call(what, ConditionExpression="#attempt = :attempt", **kwargs)
        except IdempotencyError:
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
