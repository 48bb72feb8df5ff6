"""Responses table adapter: one item per outreach and product, updated when the customer changes it.

``pk = <store>#<order>``, ``sk = <outreach id>#<product id or "nps">``. The last 20 answers are kept in
``history`` (``answers`` counts all); the item's own fields are the latest answer. The table's stream
feeds flagging.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.shared import aws, clock
from functions.shared.dynamo import from_item, to_item, to_value
from functions.shared.errors import Conflict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

HISTORY_KEPT = 20
WRITE_ATTEMPTS = 8


@dataclass(frozen=True)
class Answer:
    store_id: str
    order_id: str
    outreach_id: str
    product_id: str | None
    kind: str
    score: int
    comment: str
    locale: str
    token_id: str
    channel: str = "email"
    customer: dict[str, Any] | None = None  # for answers that arrive without an outreach (store reviews)
    product_name: str | None = None

    @property
    def pk(self) -> str:
        return f"{self.store_id}#{self.order_id}"

    @property
    def sk(self) -> str:
        return f"{self.outreach_id}#{self.product_id or 'nps'}"


class ResponseRepository:
    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self.table = table
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()

    def record(self, answer: Answer, at: datetime) -> bool:
        """Save the answer; False when it repeats the current one exactly (a double submit).

        The item keeps the last ``HISTORY_KEPT`` answers in ``history`` and counts all of them in
        ``answers``; each write is conditional on the count it read, so concurrent submits never lose one.
        """
        from botocore.exceptions import ClientError

        for attempt in range(WRITE_ATTEMPTS):
            current = self.get(answer.store_id, answer.order_id, answer.sk)
            if (
                current is not None
                and current.get("score") == answer.score
                and current.get("comment", "") == answer.comment
            ):
                return False
            try:
                self.client.update_item(**self._write(answer, at, current))
            except ClientError as error:
                if aws.error_code(error) != "ConditionalCheckFailedException":
                    raise aws.domain_error(error, "recording an answer") from error
                time.sleep(random.uniform(0, 0.005 * 2**attempt))  # jitter, not security
                continue
            return True
        raise Conflict("the answer kept changing while it was saved; try again")

    def _write(self, answer: Answer, at: datetime, current: dict[str, Any] | None) -> dict[str, Any]:
        now = clock.isoformat(at)
        entry = {"at": now, "score": answer.score, "comment": answer.comment, "token_id": answer.token_id}
        seen = int((current or {}).get("answers", 0))
        history = [*list((current or {}).get("history") or []), entry][-HISTORY_KEPT:]
        values = {
            ":store": answer.store_id,
            ":order": answer.order_id,
            ":outreach": answer.outreach_id,
            ":product": answer.product_id or "",
            ":kind": answer.kind,
            ":score": answer.score,
            ":comment": answer.comment,
            ":locale": answer.locale,
            ":channel": answer.channel,
            ":token": answer.token_id,
            ":now": now,
            ":month": f"{answer.store_id}#{now[:7]}",
            ":key": f"{now}#{answer.outreach_id}",
            ":customer": {k: v for k, v in (answer.customer or {}).items() if v is not None},
            ":pname": answer.product_name or "",
            ":history": history,
            ":count": seen + 1,
        }
        condition = "attribute_not_exists(sk)"
        if current is not None:
            condition = "answers = :seen"
            values[":seen"] = seen
        return {
            "TableName": self.table,
            "Key": to_item({"pk": answer.pk, "sk": answer.sk}),
            "UpdateExpression": (
                "SET store_id = :store, order_id = :order, outreach_id = :outreach, "
                "product_id = :product, kind = :kind, score = :score, #comment = :comment, "
                "locale = :locale, channel = :channel, token_id = :token, responded_at = :now, "
                "store_month = :month, responded_key = :key, "
                "first_responded_at = if_not_exists(first_responded_at, :now), "
                "history = :history, answers = :count, customer = :customer, product_name = :pname"
            ),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#comment": "comment"},
            "ExpressionAttributeValues": {k: to_value(v) for k, v in values.items()},
        }

    def get(self, store_id: str, order_id: str, sk: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            item = self.client.get_item(
                TableName=self.table,
                Key=to_item({"pk": f"{store_id}#{order_id}", "sk": sk}),
                ConsistentRead=True,
            )
        except ClientError as error:
            raise aws.domain_error(error, "reading an answer") from error
        return from_item(item["Item"]) if "Item" in item else None

    def for_order(self, store_id: str, order_id: str) -> list[dict[str, Any]]:
        from botocore.exceptions import ClientError

        try:
            response = self.client.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"{store_id}#{order_id}"}},
                ConsistentRead=True,
            )
        except ClientError as error:
            raise aws.domain_error(error, "reading an order's answers") from error
        return [from_item(item) for item in response.get("Items", [])]

    def by_time(
        self,
        store_id: str,
        start: datetime,
        end: datetime,
        limit: int,
        keep: Callable[[dict[str, Any]], bool] = lambda answer: True,
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` answers of a store between two times that ``keep`` accepts, newest first.

        One index query per month, paged until ``limit`` answers are kept or there are no more: never fewer
        than asked while more exist.
        """
        from botocore.exceptions import ClientError

        months: list[str] = []
        year, month = end.year, end.month
        while (year, month) >= (start.year, start.month) and len(months) < 24:
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        found: list[dict[str, Any]] = []
        for bucket in months:
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": "by_store_time",
                "KeyConditionExpression": "store_month = :m AND responded_key BETWEEN :a AND :b",
                "ExpressionAttributeValues": {
                    ":m": {"S": f"{store_id}#{bucket}"},
                    ":a": {"S": clock.isoformat(start)},
                    ":b": {"S": clock.isoformat(end) + "#\uffff"},
                },
                "ScanIndexForward": False,
            }
            try:
                while len(found) < limit:
                    response = self.client.query(**kwargs)
                    answers = (from_item(item) for item in response.get("Items", []))
                    found.extend(answer for answer in answers if keep(answer))
                    if "LastEvaluatedKey" not in response:
                        break
                    kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
            except ClientError as error:
                raise aws.domain_error(error, "listing answers") from error
            if len(found) >= limit:
                break
        return found[:limit]


def default_repository() -> ResponseRepository:
    from functions.shared.repositories import shared
    from functions.shared.settings import get_settings

    settings = get_settings()
    return shared(ResponseRepository, settings.responses_table)
