"""Contract test for ``aftercare.devstack.mototx`` (it patches moto's ``transact_write_items``).

With the patch, a transaction is still all or nothing and a cancelled one leaves no stream record, as in
real DynamoDB; what changes is that no table is copied whole (the cost the local stack could not
afford once it held weeks of demo data), and that stream readers keep reading after a cancelled
transaction (moto swapped in a copy of the table and its stream shard, orphaning every iterator).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from aftercare.devstack import motolock, mototx

pytestmark = pytest.mark.integration

TABLE = "ledger"


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }.items():
        monkeypatch.setenv(name, value)
    motolock.serialize_dynamodb()  # as `aftercare dev` installs it, first
    mototx.cheap_transaction_backups()
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        yield client, boto3.client("dynamodbstreams")
    mototx.uninstall()


def put(pk: str, sk: str, balance: int) -> dict[str, Any]:
    return {"Put": {"TableName": TABLE, "Item": {"pk": {"S": pk}, "sk": {"S": sk}, "n": {"N": str(balance)}}}}


def add(pk: str, sk: str, amount: int, *, at_least: int | None = None) -> dict[str, Any]:
    update: dict[str, Any] = {
        "TableName": TABLE,
        "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
        "UpdateExpression": "ADD n :a",
        "ExpressionAttributeValues": {":a": {"N": str(amount)}},
    }
    if at_least is not None:
        update["ConditionExpression"] = "n >= :min"
        update["ExpressionAttributeValues"][":min"] = {"N": str(at_least)}
    return {"Update": update}


def balance(client: Any, pk: str, sk: str) -> int | None:
    item = client.get_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": sk}}).get("Item")
    return int(item["n"]["N"]) if item else None


def reader(streams: Any) -> Any:
    """A stream reader that, like the local stack's pump, keeps its shard iterator between reads."""
    arn = streams.list_streams(TableName=TABLE)["Streams"][0]["StreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    state = {
        "iterator": streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
    }

    def read() -> list[tuple[str, str]]:
        response = streams.get_records(ShardIterator=state["iterator"])
        state["iterator"] = response["NextShardIterator"]
        return [(r["eventName"], r["dynamodb"]["Keys"]["sk"]["S"]) for r in response["Records"]]

    return read


def test_a_transaction_applies_everything_and_streams_it(dynamodb: tuple[Any, Any]) -> None:
    client, streams = dynamodb
    client.put_item(TableName=TABLE, Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "10"}})
    read = reader(streams)
    assert read() == [("INSERT", "1")]

    client.transact_write_items(TransactItems=[put("a", "2", 5), add("a", "1", -3, at_least=3)])

    assert (balance(client, "a", "1"), balance(client, "a", "2")) == (7, 5)
    assert read() == [("INSERT", "2"), ("MODIFY", "1")]


def test_a_cancelled_transaction_changes_nothing_and_streams_nothing(
    dynamodb: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models.table import Table

    client, streams = dynamodb
    client.put_item(TableName=TABLE, Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "10"}})
    client.put_item(TableName=TABLE, Item={"pk": {"S": "b"}, "sk": {"S": "1"}, "n": {"N": "1"}})
    read = reader(streams)
    assert len(read()) == 2

    def refuse(self: Any, memo: Any) -> Any:
        raise AssertionError("a whole table was copied for a transaction")

    monkeypatch.setattr(Table, "__deepcopy__", refuse, raising=False)  # what moto did for every transaction

    # When a transaction adds an item, changes one in place and then fails its last condition
    with pytest.raises(ClientError) as refused:
        client.transact_write_items(
            TransactItems=[put("a", "new", 5), add("a", "1", -4), add("b", "1", -2, at_least=2)]
        )

    # Then it is cancelled as a whole: nothing was added, nothing changed, nothing was streamed
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert balance(client, "a", "new") is None
    assert balance(client, "a", "1") == 10
    assert balance(client, "b", "1") == 1
    assert read() == []

    # And the stream reader that was reading before goes on seeing what happens next
    client.put_item(TableName=TABLE, Item={"pk": {"S": "c"}, "sk": {"S": "1"}, "n": {"N": "3"}})
    client.transact_write_items(TransactItems=[add("a", "1", 1)])
    assert read() == [("INSERT", "1"), ("MODIFY", "1")]
    assert balance(client, "a", "1") == 11


def test_a_malformed_transaction_is_refused_as_moto_refuses_it(dynamodb: tuple[Any, Any]) -> None:
    client, _ = dynamodb
    client.put_item(TableName=TABLE, Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "10"}})

    with pytest.raises(ClientError):
        client.transact_write_items(TransactItems=[put("a", "1", 1), add("a", "1", 1)])  # one item twice

    assert balance(client, "a", "1") == 10


def test_installing_twice_is_harmless_and_uninstall_restores_moto() -> None:
    import moto.dynamodb.models as models

    mototx.uninstall()
    original, copy_module = models.DynamoDBBackend.transact_write_items, getattr(models, mototx.COPY_MODULE)
    mototx.cheap_transaction_backups()
    mototx.cheap_transaction_backups()
    assert mototx.is_installed()

    mototx.uninstall()

    assert not mototx.is_installed()
    assert models.DynamoDBBackend.transact_write_items is original
    assert getattr(models, mototx.COPY_MODULE) is copy_module
