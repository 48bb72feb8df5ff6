"""Customers table adapter: one record per store and customer, shared by review, NPS and return emails.

``pk = <store_id>#<sha256 of the normalised email>``, ``sk = PROFILE``. It holds the suppression
(unsubscribed, bounced, complained) and ``last_contacted_at`` for the frequency cap.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Any

from functions.shared import clock
from functions.shared.adapter import ConditionFailed, DynamoAdapter
from functions.shared.dynamo import from_item, to_item

PROFILE = "PROFILE"


class Suppression(StrEnum):
    """Why no more email goes to a customer (the ``suppressed.reason`` stored on the profile)."""

    UNSUBSCRIBED = "unsubscribed"  # the customer's own choice: the only one they can lift
    BOUNCED = "bounced"
    COMPLAINED = "complained"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def customer_key(email: str) -> str:
    return hashlib.sha256(normalise_email(email).encode("utf-8")).hexdigest()


class CustomerRepository(DynamoAdapter):
    def _key(self, store_id: str, key: str) -> dict[str, Any]:
        return to_item({"pk": f"{store_id}#{key}", "sk": PROFILE})

    def _update(self, what: str, store_id: str, key: str, **request: Any) -> bool:
        """One conditional update of a profile; False when its condition was not met."""
        try:
            with self.calling(what):
                self.client.update_item(TableName=self.table, Key=self._key(store_id, key), **request)
        except ConditionFailed:
            return False
        return True

    def get(self, store_id: str, key: str) -> dict[str, Any] | None:
        with self.calling("reading a customer"):
            item = self.client.get_item(
                TableName=self.table, Key=self._key(store_id, key), ConsistentRead=True
            )
        return from_item(item["Item"]) if "Item" in item else None

    def suppress(self, store_id: str, email: str, reason: str, detail: str = "") -> None:
        """Stop every email to this address from this store (unsubscribe, bounce, complaint)."""
        now = clock.isoformat(clock.now())
        self._update(
            "suppressing a customer",
            store_id,
            customer_key(email),
            UpdateExpression="SET suppressed = :s, email = :e, updated_at = :now",
            ExpressionAttributeValues={
                ":s": {"M": {"reason": {"S": str(reason)}, "at": {"S": now}, "detail": {"S": detail[:500]}}},
                ":e": {"S": normalise_email(email)},
                ":now": {"S": now},
            },
        )

    def suppress_key(self, store_id: str, key: str, reason: str) -> None:
        """Suppress a customer known only by key (an unsubscribe link for a record without an email)."""
        now = clock.isoformat(clock.now())
        self._update(
            "suppressing a customer",
            store_id,
            key,
            UpdateExpression="SET suppressed = :s, updated_at = :now",
            ExpressionAttributeValues={
                ":s": {"M": {"reason": {"S": str(reason)}, "at": {"S": now}}},
                ":now": {"S": now},
            },
        )

    def resubscribe(self, store_id: str, key: str) -> bool:
        """Lift an unsubscribe (never a bounce or complaint); False if there was none to lift."""
        return self._update(
            "resubscribing a customer",
            store_id,
            key,
            UpdateExpression="REMOVE suppressed SET updated_at = :now",
            ConditionExpression="suppressed.reason = :unsubscribed",
            ExpressionAttributeValues={
                ":unsubscribed": {"S": Suppression.UNSUBSCRIBED.value},
                ":now": {"S": clock.isoformat(clock.now())},
            },
        )

    def reserve_contact(self, store_id: str, email: str, at: datetime, not_before: datetime) -> bool:
        """Record that we email this customer now, unless they were emailed after ``not_before``."""
        return self._update(
            "reserving a contact",
            store_id,
            customer_key(email),
            UpdateExpression="SET last_contacted_at = :at, email = :e, previous_contacted_at = "
            "if_not_exists(last_contacted_at, :none) ADD emails_sent :one",
            ConditionExpression="(attribute_not_exists(last_contacted_at) "
            "OR last_contacted_at <= :limit) "
            "AND attribute_not_exists(suppressed)",
            ExpressionAttributeValues={
                ":at": {"S": clock.isoformat(at)},
                ":limit": {"S": clock.isoformat(not_before)},
                ":e": {"S": normalise_email(email)},
                ":none": {"S": ""},
                ":one": {"N": "1"},
            },
        )

    def release_contact(self, store_id: str, email: str, at: datetime) -> None:
        """Undo ``reserve_contact`` after a send that did not happen."""
        self._update(
            "releasing a contact",
            store_id,
            customer_key(email),
            UpdateExpression="SET last_contacted_at = previous_contacted_at ADD emails_sent :minus",
            ConditionExpression="last_contacted_at = :at",
            ExpressionAttributeValues={":at": {"S": clock.isoformat(at)}, ":minus": {"N": "-1"}},
        )
