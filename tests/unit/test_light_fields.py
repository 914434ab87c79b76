"""The light botocore patcher records the parameters the X-Ray SDK's table names (pure logic;
the real calls are in tests/integration/test_patch*.py)."""

from __future__ import annotations

from lambda_observe.tracing import _light


def test_request_and_response_parameters_and_descriptors():
    """Named parameters become snake_case keys; get_keys descriptors list a map's keys and
    get_count descriptors count a list, under the SDK's rename_to names."""
    meta: dict = {}
    _light._aws_fields(
        "sqs",
        "ReceiveMessage",
        {"QueueUrl": "https://sqs/q", "MaxNumberOfMessages": 3, "Unlisted": 1},
        {"Messages": [{}, {}]},
        meta,
    )
    assert meta == {"queue_url": "https://sqs/q", "max_number_of_messages": 3, "message_count": 2}
    meta = {}
    _light._aws_fields("dynamodb", "BatchGetItem", {"RequestItems": {"a": {}, "b": {}}}, None, meta)
    assert meta == {"table_names": ["a", "b"]}


def test_unknown_services_and_operations_add_nothing():
    """A service or operation the table does not name adds no fields."""
    meta: dict = {}
    _light._aws_fields("nosuchservice", "Op", {"TableName": "t"}, None, meta)
    _light._aws_fields("dynamodb", "NoSuchOp", {"TableName": "t"}, None, meta)
    assert meta == {}


def test_snake_case():
    """Parameter names turn into the SDK's snake_case keys."""
    assert _light._snake("TableName") == "table_name"
    assert _light._snake("MessageAttributeNames") == "message_attribute_names"
    assert _light._snake("QueueURL") == "queue_url"
