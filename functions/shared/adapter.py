"""The base every DynamoDB adapter stands on: one table, one client, AWS errors turned into domain errors.

Only adapters talk to AWS. A call goes through ``calling(what)``: a refused condition becomes the
adapter's own answer (``conflict`` given, or ``ConditionFailed`` for the caller to turn into one),
throttling becomes ``Throttled``, an invalid request ``InvalidRequest``, anything else
``DependencyFailed``. Nothing above an adapter sees a botocore exception.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from functions.shared import aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CONDITION_FAILED = "ConditionalCheckFailedException"


class ConditionFailed(Exception):
    """A conditional write was refused: the adapter decides what that means for its callers."""


class DynamoAdapter:
    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self.table = table
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()

    @contextmanager
    def calling(self, what: str, conflict: Exception | None = None) -> Iterator[None]:
        """Translate a failing AWS call made inside the block; ``what`` names it in the error."""
        from botocore.exceptions import ClientError

        try:
            yield
        except ClientError as error:
            if aws.error_code(error) == CONDITION_FAILED:
                raise (conflict or ConditionFailed(what)) from error
            raise aws.domain_error(error, what) from error

    def query_all(self, what: str, **query: Any) -> list[dict[str, Any]]:
        """Every item a query finds, page after page (in DynamoDB's form); ``what`` names it in errors."""
        items: list[dict[str, Any]] = []
        with self.calling(what):
            while True:
                response = self.client.query(**query)
                items.extend(response.get("Items", []))
                if "LastEvaluatedKey" not in response:
                    return items
                query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def order_ids_by_customer(self, customer_key: str, what: str) -> list[str]:
        """The distinct ``order_id`` of every item the table's ``by_customer`` index holds under this key."""
        items = self.query_all(
            what,
            TableName=self.table,
            IndexName="by_customer",
            KeyConditionExpression="customer_key = :c",
            ExpressionAttributeValues={":c": {"S": customer_key}},
            ProjectionExpression="order_id",
        )
        return list(dict.fromkeys(str(item["order_id"]["S"]) for item in items))  # each order once, in order
