"""Responses table adapter: one item per outreach and product, updated when the customer changes it.

``pk = <store>#<order>``, ``sk = <outreach id>#<product id or "nps">``. The last 20 answers are kept in
``history`` (``answers`` counts all); the item's own fields are the latest answer. The table's stream
feeds flagging. Every change sets ``expires_at`` (TTL) to the store's ``retention.answers`` from then.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from functions.shared import clock
from functions.shared.adapter import ConditionFailed, DynamoAdapter
from functions.shared.dynamo import from_item, to_item, to_value
from functions.shared.errors import Conflict

HISTORY_KEPT = 20
WRITE_ATTEMPTS = 8


class AnswerKind(StrEnum):
    REVIEW = "review"  # a product's 1-5 rating
    NPS = "nps"  # the 0-10 would-you-recommend score


class Channel(StrEnum):
    EMAIL = "email"  # answered on Aftercare's survey page
    STORE = "store"  # a review the store collected itself


@dataclass(frozen=True)
class Answer:
    store_id: str
    order_id: str
    outreach_id: str
    product_id: str | None
    kind: AnswerKind | str
    score: int
    comment: str
    locale: str
    token_id: str
    channel: Channel | str = Channel.EMAIL
    customer: dict[str, Any] | None = None  # for answers that arrive without an outreach (store reviews)
    product_name: str | None = None

    @property
    def pk(self) -> str:
        return f"{self.store_id}#{self.order_id}"

    @property
    def sk(self) -> str:
        return f"{self.outreach_id}#{self.product_id or 'nps'}"


def _repeats(current: dict[str, Any] | None, answer: Answer) -> bool:
    """The stored answer is this one exactly (a double submit)."""
    return (
        current is not None
        and current.get("score") == answer.score
        and current.get("comment", "") == answer.comment
    )


def _months(start: datetime, end: datetime) -> list[str]:
    """``YYYY-MM`` of every month from ``end`` back to ``start`` (at most 24), newest first."""
    months: list[str] = []
    year, month = end.year, end.month
    while (year, month) >= (start.year, start.month) and len(months) < 24:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def _values(answer: Answer, at: datetime, keep: timedelta, current: dict[str, Any]) -> dict[str, Any]:
    now = clock.isoformat(at)
    entry = {"at": now, "score": answer.score, "comment": answer.comment, "token_id": answer.token_id}
    return {
        ":store": answer.store_id,
        ":order": answer.order_id,
        ":outreach": answer.outreach_id,
        ":product": answer.product_id or "",
        ":kind": str(answer.kind),
        ":score": answer.score,
        ":comment": answer.comment,
        ":locale": answer.locale,
        ":channel": str(answer.channel),
        ":token": answer.token_id,
        ":now": now,
        ":month": f"{answer.store_id}#{now[:7]}",
        ":key": f"{now}#{answer.outreach_id}",
        ":customer": {k: v for k, v in (answer.customer or {}).items() if v is not None},
        ":pname": answer.product_name or "",
        ":history": [*list(current.get("history") or []), entry][-HISTORY_KEPT:],
        ":count": int(current.get("answers", 0)) + 1,
        ":expires": clock.epoch_seconds(at + keep),
    }


def _indexed(answer: Answer, request: dict[str, Any]) -> dict[str, Any]:
    """An answer that names its customer (a store-submitted review) carries ``customer_key``: the store and
    the SHA-256 of the address (index ``by_customer``), so export and erase find it without its order."""
    from functions.customers.store import customer_key

    email = str((answer.customer or {}).get("email") or "").strip()
    if email:
        request["UpdateExpression"] += ", customer_key = :ckey"
        request["ExpressionAttributeValues"][":ckey"] = {"S": f"{answer.store_id}#{customer_key(email)}"}
    return request


class ResponseRepository(DynamoAdapter):
    def record(self, answer: Answer, at: datetime, *, keep: timedelta) -> bool:
        """Save the answer; False when it repeats the current one exactly (a double submit).

        The item keeps the last ``HISTORY_KEPT`` answers in ``history`` and counts all of them in
        ``answers``; each write is conditional on the count it read, so concurrent submits never lose one.
        It expires ``keep`` (the store's ``retention.answers``) after ``at``.
        """
        for attempt in range(WRITE_ATTEMPTS):
            current = self.get(answer.store_id, answer.order_id, answer.sk)
            if _repeats(current, answer):
                return False
            try:
                with self.calling("recording an answer"):
                    self.client.update_item(**self._write(answer, at, keep, current))
            except ConditionFailed:
                time.sleep(random.uniform(0, 0.005 * 2**attempt))  # jitter, not security
                continue
            return True
        raise Conflict("the answer kept changing while it was saved; try again")

    def _write(
        self, answer: Answer, at: datetime, keep: timedelta, current: dict[str, Any] | None
    ) -> dict[str, Any]:
        values = _values(answer, at, keep, current or {})
        condition = "attribute_not_exists(sk)"
        if current is not None:
            condition = "answers = :seen"
            values[":seen"] = int(current.get("answers", 0))
        return _indexed(
            answer,
            {
                "TableName": self.table,
                "Key": to_item({"pk": answer.pk, "sk": answer.sk}),
                "UpdateExpression": (
                    "SET store_id = :store, order_id = :order, outreach_id = :outreach, "
                    "product_id = :product, kind = :kind, score = :score, #comment = :comment, "
                    "locale = :locale, channel = :channel, token_id = :token, responded_at = :now, "
                    "store_month = :month, responded_key = :key, "
                    "first_responded_at = if_not_exists(first_responded_at, :now), "
                    "history = :history, answers = :count, customer = :customer, product_name = :pname, "
                    "expires_at = :expires"
                ),
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#comment": "comment"},
                "ExpressionAttributeValues": {k: to_value(v) for k, v in values.items()},
            },
        )

    def get(self, store_id: str, order_id: str, sk: str) -> dict[str, Any] | None:
        with self.calling("reading an answer"):
            item = self.client.get_item(
                TableName=self.table,
                Key=to_item({"pk": f"{store_id}#{order_id}", "sk": sk}),
                ConsistentRead=True,
            )
        return from_item(item["Item"]) if "Item" in item else None

    def for_order(self, store_id: str, order_id: str) -> list[dict[str, Any]]:
        with self.calling("reading an order's answers"):
            response = self.client.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"{store_id}#{order_id}"}},
                ConsistentRead=True,
            )
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
        found: list[dict[str, Any]] = []
        for bucket in _months(start, end):
            query: dict[str, Any] = {
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
            self._collect(query, keep, limit, found)
            if len(found) >= limit:
                break
        return found[:limit]

    def _collect(
        self,
        query: dict[str, Any],
        keep: Callable[[dict[str, Any]], bool],
        limit: int,
        found: list[dict[str, Any]],
    ) -> None:
        """Page through one month, keeping what ``keep`` accepts until ``found`` holds ``limit``."""
        with self.calling("listing answers"):
            while len(found) < limit:
                response = self.client.query(**query)
                answers = (from_item(item) for item in response.get("Items", []))
                found.extend(answer for answer in answers if keep(answer))
                if "LastEvaluatedKey" not in response:
                    return
                query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # ------------------------------------------------------------------ retention
    def keep_store(self, store_id: str, keep: timedelta) -> int:
        """Put ``keep`` (``retention.answers``) on the store's answers, from each one's last change, for
        ``aftercare store apply-retention``; how many items changed."""
        from functions.shared import retention

        found = retention.store_items(
            self, "begins_with(pk, :prefix)", {":prefix": f"{store_id}#"}, "reading a store's answers"
        )
        changed = 0
        for item in found:
            written = retention.written_at(item, "responded_at")
            if written and retention.keep_until(self, item, written + keep, "keeping an answer"):
                changed += 1
        return changed

    # ------------------------------------------------------------------ export and erasure (privacy)
    def customer_orders(self, store_id: str, email: str) -> list[str]:
        """Orders of the answers that name this address themselves (store-submitted reviews)."""
        from functions.customers.store import customer_key

        return self.order_ids_by_customer(f"{store_id}#{customer_key(email)}", "reading a customer's answers")

    def erase_order(self, store_id: str, order_id: str) -> int:
        """Delete every answer given about the order, their history with them (the counters keep the counts:
        insights ignore removed items)."""
        answers = self.for_order(store_id, order_id)
        with self.calling("erasing answers"):
            for answer in answers:
                self.client.delete_item(
                    TableName=self.table, Key=to_item({"pk": str(answer["pk"]), "sk": str(answer["sk"])})
                )
        return len(answers)
