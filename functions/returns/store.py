"""Returns table adapter: a request item (``sk = RETURN``) and its audit steps (``sk = STEP#<time>#<n>``).

A request waiting for someone (staff approval, the parcel) carries ``wait_shard``/``wait_deadline``
(sparse index ``waiting``), so the timeout schedule reads only what is overdue.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.shared import aws, clock
from functions.shared.dynamo import from_item, to_item, to_value

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RETURN = "RETURN"
SHARDS = 4


class Conflict(Exception):
    """The request is not in the state the caller expected (already decided, already refunded...)."""


class ReturnRepository:
    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self.table = table
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()

    @staticmethod
    def pk(store_id: str, return_id: str) -> str:
        return f"{store_id}#{return_id}"

    def create(self, request: dict[str, Any]) -> bool:
        """Store a new request; False if this return id exists already (the same request again)."""
        from botocore.exceptions import ClientError

        item = {
            **request,
            "pk": self.pk(request["store_id"], request["return_id"]),
            "sk": RETURN,
            "order_key": f"{request['store_id']}#{request['order_id']}",
        }
        try:
            self.client.put_item(
                TableName=self.table, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as error:
            if aws.error_code(error) == "ConditionalCheckFailedException":
                return False
            raise aws.domain_error(error, "recording a return") from error
        return True

    def get(self, store_id: str, return_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The request and its audit steps, oldest first, in one query."""
        from botocore.exceptions import ClientError

        try:
            response = self.client.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": self.pk(store_id, return_id)}},
                ConsistentRead=True,
            )
        except ClientError as error:
            raise aws.domain_error(error, "reading a return") from error
        items = [from_item(item) for item in response.get("Items", [])]
        request = next((i for i in items if i["sk"] == RETURN), None)
        steps = sorted((i for i in items if str(i["sk"]).startswith("STEP#")), key=lambda s: str(s["sk"]))
        return request, steps

    def step(
        self, store_id: str, return_id: str, actor: str, step: str, outcome: str, **details: Any
    ) -> None:
        """Append one audit step: who did what, when, with what result."""
        from botocore.exceptions import ClientError

        now = clock.isoformat(clock.now())
        item = {
            "pk": self.pk(store_id, return_id),
            "sk": f"STEP#{now}#{time.time_ns():020d}{secrets.token_hex(2)}",  # ns: order within a second
            "at": now,
            "actor": actor,
            "step": step,
            "outcome": outcome,
            **{k: v for k, v in details.items() if v is not None},
        }
        try:
            self.client.put_item(TableName=self.table, Item=to_item(item))
        except ClientError as error:
            raise aws.domain_error(error, "recording a return step") from error

    def update(
        self,
        store_id: str,
        return_id: str,
        fields: dict[str, Any],
        *,
        condition: str | None = None,
        values: dict[str, Any] | None = None,
        remove: tuple[str, ...] = (),
        names: dict[str, str] | None = None,
    ) -> None:
        """Set ``fields`` (and remove ``remove``) if ``condition`` holds; ``Conflict`` otherwise."""
        from botocore.exceptions import ClientError

        names = {**(names or {}), **{f"#f{i}": name for i, name in enumerate(fields)}}
        expression = "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields)))
        if remove:
            names.update({f"#r{i}": name for i, name in enumerate(remove)})
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(remove)))
        all_values = {f":f{i}": to_value(value) for i, value in enumerate(fields.values())}
        all_values.update({k: to_value(v) for k, v in (values or {}).items()})
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Key": to_item({"pk": self.pk(store_id, return_id), "sk": RETURN}),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": all_values,
            "ConditionExpression": condition or "attribute_exists(pk)",
        }
        try:
            self.client.update_item(**kwargs)
        except ClientError as error:
            if aws.error_code(error) == "ConditionalCheckFailedException":
                raise Conflict(f"return {return_id} changed") from error
            raise aws.domain_error(error, "updating a return") from error

    def wait(self, store_id: str, return_id: str, kind: str, token: str, deadline: datetime) -> None:
        """Park the request: ``kind`` is what it waits for; the task token resumes the workflow."""
        self.update(
            store_id,
            return_id,
            {
                "waiting_for": kind,
                "task_token": token,
                "wait_deadline": clock.isoformat(deadline),
                "wait_shard": str(int(return_id[-4:], 16) % SHARDS) if return_id[-4:].isalnum() else "0",
            },
        )

    def resume(self, store_id: str, return_id: str, kind: str) -> str:
        """Take the task token of a request waiting for ``kind`` (once: a second caller gets ``Conflict``)."""
        request, _ = self.get(store_id, return_id)
        if request is None or request.get("waiting_for") != kind or not request.get("task_token"):
            raise Conflict(f"return {return_id} is not waiting for {kind}")
        self.update(
            store_id,
            return_id,
            {"resumed_at": clock.isoformat(clock.now())},
            condition="waiting_for = :kind AND task_token = :token",
            values={":kind": kind, ":token": request["task_token"]},
            remove=("waiting_for", "task_token", "wait_deadline", "wait_shard"),
        )
        return str(request["task_token"])

    def overdue(self, shard: int, now: datetime) -> list[dict[str, Any]]:
        from botocore.exceptions import ClientError

        try:
            response = self.client.query(
                TableName=self.table,
                IndexName="waiting",
                KeyConditionExpression="wait_shard = :s AND wait_deadline <= :now",
                ExpressionAttributeValues={":s": {"S": str(shard)}, ":now": {"S": clock.isoformat(now)}},
                Limit=100,
            )
        except ClientError as error:
            raise aws.domain_error(error, "reading waiting returns") from error
        return [from_item(item) for item in response.get("Items", [])]


def default_repository() -> ReturnRepository:
    from functions.shared.repositories import shared
    from functions.shared.settings import get_settings

    settings = get_settings()
    return shared(ReturnRepository, settings.returns_table)
