"""Customers table adapter: one record per store and customer, shared by review, NPS and return emails.

``pk = <store_id>#<sha256 of the normalised email>``, ``sk = PROFILE``. It holds the suppression
(unsubscribed, bounced, complained) and ``last_contacted_at`` for the frequency cap.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.shared import aws, clock
from functions.shared.dynamo import from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PROFILE = "PROFILE"
UNSUBSCRIBED = "unsubscribed"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def customer_key(email: str) -> str:
    return hashlib.sha256(normalise_email(email).encode("utf-8")).hexdigest()


class CustomerRepository:
    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self.table = table
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()

    def _key(self, store_id: str, key: str) -> dict[str, Any]:
        return to_item({"pk": f"{store_id}#{key}", "sk": PROFILE})

    def get(self, store_id: str, key: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            item = self.client.get_item(
                TableName=self.table, Key=self._key(store_id, key), ConsistentRead=True
            )
        except ClientError as error:
            raise aws.domain_error(error, "reading a customer") from error
        return from_item(item["Item"]) if "Item" in item else None

    def suppress(self, store_id: str, email: str, reason: str, detail: str = "") -> None:
        """Stop every email to this address from this store (unsubscribe, bounce, complaint)."""
        from botocore.exceptions import ClientError

        now = clock.isoformat(clock.now())
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(store_id, customer_key(email)),
                UpdateExpression="SET suppressed = :s, email = :e, updated_at = :now",
                ExpressionAttributeValues={
                    ":s": {"M": {"reason": {"S": reason}, "at": {"S": now}, "detail": {"S": detail[:500]}}},
                    ":e": {"S": normalise_email(email)},
                    ":now": {"S": now},
                },
            )
        except ClientError as error:
            raise aws.domain_error(error, "suppressing a customer") from error

    def suppress_key(self, store_id: str, key: str, reason: str) -> None:
        """Suppress a customer known only by key (an unsubscribe link for a record without an email)."""
        from botocore.exceptions import ClientError

        now = clock.isoformat(clock.now())
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(store_id, key),
                UpdateExpression="SET suppressed = :s, updated_at = :now",
                ExpressionAttributeValues={
                    ":s": {"M": {"reason": {"S": reason}, "at": {"S": now}}},
                    ":now": {"S": now},
                },
            )
        except ClientError as error:
            raise aws.domain_error(error, "suppressing a customer") from error

    def resubscribe(self, store_id: str, key: str) -> bool:
        """Lift an unsubscribe (never a bounce or complaint); False if there was none to lift."""
        from botocore.exceptions import ClientError

        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(store_id, key),
                UpdateExpression="REMOVE suppressed SET updated_at = :now",
                ConditionExpression="suppressed.reason = :unsubscribed",
                ExpressionAttributeValues={
                    ":unsubscribed": {"S": UNSUBSCRIBED},
                    ":now": {"S": clock.isoformat(clock.now())},
                },
            )
        except ClientError as error:
            if aws.error_code(error) == "ConditionalCheckFailedException":
                return False
            raise aws.domain_error(error, "resubscribing a customer") from error
        return True

    def reserve_contact(self, store_id: str, email: str, at: datetime, not_before: datetime) -> bool:
        """Record that we email this customer now, unless they were emailed after ``not_before``."""
        from botocore.exceptions import ClientError

        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(store_id, customer_key(email)),
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
        except ClientError as error:
            if aws.error_code(error) == "ConditionalCheckFailedException":
                return False
            raise aws.domain_error(error, "reserving a contact") from error
        return True

    def release_contact(self, store_id: str, email: str, at: datetime) -> None:
        """Undo ``reserve_contact`` after a send that did not happen."""
        from botocore.exceptions import ClientError

        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(store_id, customer_key(email)),
                UpdateExpression="SET last_contacted_at = previous_contacted_at ADD emails_sent :minus",
                ConditionExpression="last_contacted_at = :at",
                ExpressionAttributeValues={":at": {"S": clock.isoformat(at)}, ":minus": {"N": "-1"}},
            )
        except ClientError as error:
            if aws.error_code(error) != "ConditionalCheckFailedException":
                raise aws.domain_error(error, "releasing a contact") from error


def default_repository() -> CustomerRepository:
    from functions.shared.repositories import shared
    from functions.shared.settings import get_settings

    settings = get_settings()
    return shared(CustomerRepository, settings.customers_table)
