"""Insights table adapter: the only code that reads or writes the counters.

Items (every key starts with the store id):

* ``pk = <store_id>#week``, ``sk = <Monday, YYYY-MM-DD>``: one item per store and ISO week (store
  timezone) holding every counter of that week as a top-level number (``functions.insights.counting``
  names them; a product's counter name carries its name), ``store_id``, ``week`` and ``expires_at``.
  The report reads a whole range with one query.
* ``pk = <store_id>#event#<stream event id>``, ``sk = event``: the marker of one counted stream record,
  written in the same transaction as its counter update (``attribute_not_exists``), so a redelivered
  record is refused instead of counted twice; it expires (TTL ``expires_at``) after ``MARKER_RETENTION``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from functions.insights.counting import Contribution, WeekChange, WeekCounts, expires_at
from functions.shared import aws, clock
from functions.shared.adapter import DynamoAdapter
from functions.shared.dynamo import to_value
from functions.shared.errors import Conflict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

MARKER_RETENTION = timedelta(days=7)  # stream records live 24 h; retries end long before this
ATTEMPTS = 6  # transactions that collide with another writer of the same week are tried again
FIXED = frozenset({"pk", "sk", "store_id", "week", "expires_at"})


def week_pk(store_id: str) -> str:
    return f"{store_id}#week"


def marker_pk(store_id: str, event_id: str) -> str:
    return f"{store_id}#event#{event_id}"


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """An attribute map with numbers kept as ``Decimal`` (money must not pass through float)."""
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {name: deserializer.deserialize(value) for name, value in item.items()}


def week_counts(item: dict[str, Any]) -> WeekCounts:
    data = _plain(item)
    counts = {
        name: Decimal(value)
        for name, value in data.items()
        if name not in FIXED and isinstance(value, Decimal)
    }
    return WeekCounts(date.fromisoformat(str(data["sk"])), counts)


class InsightsRepository(DynamoAdapter):
    """Weekly counters per store and per product, and the markers that make each count happen once."""

    # ------------------------------------------------------------------ counting
    def _update(self, store_id: str, week: WeekChange) -> TransactWriteItemTypeDef:
        names = {"#store": "store_id", "#week": "week", "#expires": "expires_at"}
        values: dict[str, Any] = {
            ":store": {"S": store_id},
            ":week": {"S": week.start.isoformat()},
            ":expires": {"N": str(expires_at(week.start))},
        }
        sets = ["#store = :store", "#week = :week", "#expires = :expires"]
        adds = []
        for index, (name, amount) in enumerate(sorted(week.counts.items())):
            names[f"#c{index}"], values[f":c{index}"] = name, to_value(amount)
            adds.append(f"#c{index} :c{index}")
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"pk": {"S": week_pk(store_id)}, "sk": {"S": week.start.isoformat()}},
                "UpdateExpression": f"SET {', '.join(sets)} ADD {', '.join(adds)}",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def _marker(self, store_id: str, event_id: str) -> TransactWriteItemTypeDef:
        now = clock.now()
        return {
            "Put": {
                "TableName": self.table,
                "Item": {
                    "pk": {"S": marker_pk(store_id, event_id)},
                    "sk": {"S": "event"},
                    "counted_at": {"S": clock.isoformat(now)},
                    "expires_at": {"N": str(clock.epoch_seconds(now + MARKER_RETENTION))},
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def apply(self, store_id: str, event_id: str, change: Contribution) -> bool:
        """Add ``change`` to the store's weeks and mark ``event_id`` counted, in one transaction.

        False when the marker exists: this record was counted before (a retried batch), nothing changes.
        """
        items = [self._marker(store_id, event_id)]
        items += [self._update(store_id, week) for week in change.weeks().values()]
        for attempt in range(ATTEMPTS):
            outcome = self._transact(items)
            if outcome is not None:
                return outcome
            time.sleep(random.uniform(0, 0.01 * 2**attempt))  # jitter, not security
        raise Conflict("the week's counters kept changing under concurrent updates; the record is retried")

    def _transact(self, items: list[TransactWriteItemTypeDef]) -> bool | None:
        """True when written, False when the marker refused it, None when another write collided."""
        from botocore.exceptions import ClientError

        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if aws.error_code(error) == "TransactionCanceledException":
                codes = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
                if codes and codes[0] == "ConditionalCheckFailed":
                    return False
                if "TransactionConflict" in codes:
                    return None
            if aws.error_code(error) == "TransactionConflictException":
                return None
            raise aws.domain_error(error, "counting insights") from error
        return True

    # ------------------------------------------------------------------ reading
    def weeks(self, store_id: str, first: date, last: date) -> tuple[list[WeekCounts], int]:
        """The stored weeks from ``first`` to ``last`` (Mondays) in one paged query, and items read."""
        query: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
            "ExpressionAttributeValues": {
                ":pk": {"S": week_pk(store_id)},
                ":first": {"S": first.isoformat()},
                ":last": {"S": last.isoformat()},
            },
        }
        found: list[WeekCounts] = []
        read = 0
        with self.calling("reading insights"):
            while True:
                response = self.client.query(**query)
                read += int(response.get("ScannedCount", len(response.get("Items", []))))
                found.extend(week_counts(item) for item in response.get("Items", []))
                if "LastEvaluatedKey" not in response:
                    return found, read
                query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # ------------------------------------------------------------------ rebuilding
    def _stored_weeks(self, store_id: str) -> list[str]:
        query: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": week_pk(store_id)}},
            "ProjectionExpression": "sk",
        }
        found: list[str] = []
        with self.calling("listing insights weeks"):
            while True:
                response = self.client.query(**query)
                found.extend(str(item["sk"]["S"]) for item in response.get("Items", []))
                if "LastEvaluatedKey" not in response:
                    return found
                query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _week_item(self, store_id: str, week: WeekChange) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": {"S": week_pk(store_id)},
            "sk": {"S": week.start.isoformat()},
            "store_id": {"S": store_id},
            "week": {"S": week.start.isoformat()},
            "expires_at": {"N": str(expires_at(week.start))},
        }
        item.update({name: to_value(amount) for name, amount in week.counts.items() if amount})
        return item

    def replace(self, store_id: str, weeks: Iterable[WeekChange], *, since: date) -> int:
        """Make the store's counters from the week of ``since`` on exactly ``weeks``: each week's item is
        written whole, and stored weeks from ``since`` on not among them are deleted; older weeks are left
        as they are. Returns how many items were written or deleted.

        One write per week (at most a few hundred for a store's whole history): an offline operation,
        and week items can be large (one counter per product), so no batch is sent.
        """
        wanted = {week.start.isoformat(): self._week_item(store_id, week) for week in weeks}
        stale = [sk for sk in self._stored_weeks(store_id) if sk >= since.isoformat() and sk not in wanted]
        with self.calling("writing insights"):
            for item in wanted.values():
                self.client.put_item(TableName=self.table, Item=item)
            for sk in stale:
                self.client.delete_item(
                    TableName=self.table, Key={"pk": {"S": week_pk(store_id)}, "sk": {"S": sk}}
                )
        return len(wanted) + len(stale)
