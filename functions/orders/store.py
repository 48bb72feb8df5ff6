"""Orders and Outreach tables adapter: the only code that reads or writes orders, events and plans.

Orders table items (see docs/data-model.md):
  ``<store>#<order>`` / ``ORDER``                        the merged order (facts, version)
  ``<store>#<order>`` / ``EVENT#<integration>#<key>``    each verified webhook, raw body gzipped
  ``<store>#product#<product id>`` / ``PRODUCT``       product type learnt from product webhooks
  ``<store>#product#<product id>`` / ``WAITING#<order>``  an order planned without that product's type
  ``<store>#quarantine`` / ``<received at>#<event key>``  an authentic webhook that could not be used
Outreach table items: ``<store>#<order>`` / ``<outreach id>``, with ``due_shard``/``due_key`` while pending.
"""

from __future__ import annotations

import gzip
import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from functions.orders.ledger import Ledger
from functions.orders.models import OrderFacts, PlannedOutreach
from functions.shared import aws, clock
from functions.shared.dynamo import from_item, to_item, to_value
from functions.shared.errors import Conflict, NotFound

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ORDER_SK = "ORDER"
PRODUCT_SK = "PRODUCT"
WAITING_PREFIX = "WAITING#"
PENDING = "pending"
CANCELLED = "cancelled"
SKIPPED = "skipped"
ORDER_RETENTION = timedelta(days=730)
QUARANTINE_RETENTION = timedelta(days=90)
WAITING_RETENTION = timedelta(days=120)
LEDGER_ATTEMPTS = 8


class DuplicateEvent(Exception):
    """This exact event was recorded before (a redelivery)."""


class ConcurrentChange(Exception):
    """Another writer changed the order or its plan since we read it; read again and retry."""


def order_pk(store_id: str, order_id: str) -> str:
    return f"{store_id}#{order_id}"


def due_shard(pk: str, outreach_id: str, shards: int) -> str:
    digest = hashlib.sha256(f"{pk}/{outreach_id}".encode()).digest()
    return str(int.from_bytes(digest[:4], "big") % shards)


def due_key(due_at: datetime, store_id: str, order_id: str, outreach_id: str) -> str:
    return f"{clock.isoformat(due_at)}#{store_id}#{order_id}#{outreach_id}"


def event_item(store_id: str, order_id: str, event: EventRecord, now: datetime) -> dict[str, Any]:
    """The stored form of a received event: who sent what, how it verified, and its raw body (gzipped)."""
    item = to_item(
        {
            "pk": order_pk(store_id, order_id),
            "sk": f"EVENT#{event.integration}#{event.event_key}",
            "notes": event.notes or None,
            "quarantined": event.quarantined,
            "integration": event.integration,
            "topic": event.topic,
            "event_key": event.event_key,
            "occurred_at": clock.isoformat(event.occurred_at),
            "received_at": clock.isoformat(now),
            "verification": event.verification,
            "headers": event.headers,
            "raw_size": len(event.raw_body),
            "raw_sha256": hashlib.sha256(event.raw_body).hexdigest(),
            "expires_at": clock.epoch_seconds(now + ORDER_RETENTION),
        }
    )
    item["raw_gzip"] = {"B": gzip.compress(event.raw_body)[:350_000]}
    return item


@dataclass
class StoredOrder:
    facts: OrderFacts
    version: int
    outreach: list[dict[str, Any]] = field(default_factory=list)
    ledger: Ledger = field(default_factory=Ledger)
    exists: bool = True  # False: only outreach items were found (the order item is gone)


@dataclass
class EventRecord:
    integration: str
    topic: str
    event_key: str
    occurred_at: datetime
    raw_body: bytes
    verification: dict[str, Any]
    headers: dict[str, str]
    notes: list[str] = field(default_factory=list)
    quarantined: str | None = None  # why an authentic delivery could not be used


class OrderRepository:
    def __init__(
        self, orders_table: str, outreach_table: str, shards: int, client: DynamoDBClient | None = None
    ):
        self.orders_table = orders_table
        self.outreach_table = outreach_table
        self.shards = shards
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()

    # ------------------------------------------------------------------ reads
    def load(self, store_id: str, order_id: str) -> StoredOrder | None:
        from botocore.exceptions import ClientError

        pk = order_pk(store_id, order_id)
        try:
            item = self.client.get_item(
                TableName=self.orders_table, Key=to_item({"pk": pk, "sk": ORDER_SK}), ConsistentRead=True
            ).get("Item")
            outreach = self._query_all(self.outreach_table, pk)
        except ClientError as error:
            raise aws.domain_error(error, "reading an order") from error
        if item is None:
            return StoredOrder(OrderFacts(order_id=order_id), 0, outreach, exists=False) if outreach else None
        return self._stored(from_item(item), outreach)

    @staticmethod
    def _stored(data: dict[str, Any], outreach: list[dict[str, Any]]) -> StoredOrder:
        return StoredOrder(
            OrderFacts.model_validate(data["facts"]),
            int(data["version"]),
            outreach,
            Ledger.from_item(data.get("ledger")),
        )

    def get_order(self, store_id: str, order_id: str) -> StoredOrder | None:
        """The order item alone (facts, version and quantity ledger), without its plan."""
        from botocore.exceptions import ClientError

        try:
            item = self.client.get_item(
                TableName=self.orders_table,
                Key=to_item({"pk": order_pk(store_id, order_id), "sk": ORDER_SK}),
                ConsistentRead=True,
            ).get("Item")
        except ClientError as error:
            raise aws.domain_error(error, "reading an order") from error
        return self._stored(from_item(item), []) if item else None

    def change_ledger(
        self, store_id: str, order_id: str, change: Callable[[OrderFacts, Ledger], Ledger]
    ) -> tuple[OrderFacts, Ledger]:
        """Apply ``change`` to the order's quantity ledger with one conditional write on the order's version.

        ``change`` sees the facts and ledger of one version and may raise a domain error (nothing is
        written then); when another writer got in between, it runs again on the new version.
        """
        from botocore.exceptions import ClientError

        for attempt in range(LEDGER_ATTEMPTS):
            stored = self.get_order(store_id, order_id)
            if stored is None:
                raise NotFound(f"no order {order_id} for this store")
            ledger = change(stored.facts, stored.ledger)
            if ledger == stored.ledger:
                return stored.facts, ledger
            try:
                self.client.update_item(
                    TableName=self.orders_table,
                    Key=to_item({"pk": order_pk(store_id, order_id), "sk": ORDER_SK}),
                    UpdateExpression="SET ledger = :ledger, version = :next, updated_at = :now",
                    ConditionExpression="version = :seen",
                    ExpressionAttributeValues={
                        ":ledger": to_value(ledger.as_item()),
                        ":next": {"N": str(stored.version + 1)},
                        ":seen": {"N": str(stored.version)},
                        ":now": {"S": clock.isoformat(clock.now())},
                    },
                )
            except ClientError as error:
                if aws.error_code(error) != "ConditionalCheckFailedException":
                    raise aws.domain_error(error, "changing an order's ledger") from error
                time.sleep(random.uniform(0, 0.01 * 2**attempt))  # jitter, not security
                continue
            return stored.facts, ledger
        raise Conflict("the order kept changing; try again")

    def _query_all(self, table: str, pk: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ConsistentRead": True,
        }
        while True:
            response = self.client.query(**kwargs)
            items.extend(from_item(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return items
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def events(self, store_id: str, order_id: str) -> list[dict[str, Any]]:
        from botocore.exceptions import ClientError

        try:
            items = self._query_all(self.orders_table, order_pk(store_id, order_id))
        except ClientError as error:
            raise aws.domain_error(error, "reading order events") from error
        return [item for item in items if str(item["sk"]).startswith("EVENT#")]

    def product_types(self, store_id: str, product_ids: list[str]) -> dict[str, str]:
        """Product types learnt from product webhooks, for line items that do not carry one."""
        from botocore.exceptions import ClientError

        wanted = sorted(set(product_ids))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 100):
            keys = [
                to_item({"pk": f"{store_id}#product#{pid}", "sk": PRODUCT_SK})
                for pid in wanted[start : start + 100]
            ]
            request: dict[str, Any] = {
                self.orders_table: {"Keys": keys, "ProjectionExpression": "product_id, product_type"}
            }
            try:
                while request:
                    response = self.client.batch_get_item(RequestItems=request)
                    for item in response.get("Responses", {}).get(self.orders_table, []):
                        data = from_item(item)
                        if data.get("product_type"):
                            found[str(data["product_id"])] = str(data["product_type"])
                    request = response.get("UnprocessedKeys") or {}
            except ClientError as error:
                raise aws.domain_error(error, "reading product types") from error
        return found

    # ------------------------------------------------------------------ writes
    def save_product_types(self, store_id: str, updates: dict[str, str | None]) -> None:
        from botocore.exceptions import ClientError

        now = clock.isoformat(clock.now())
        try:
            for product_id, product_type in updates.items():
                self.client.put_item(
                    TableName=self.orders_table,
                    Item=to_item(
                        {
                            "pk": f"{store_id}#product#{product_id}",
                            "sk": PRODUCT_SK,
                            "product_id": product_id,
                            "product_type": product_type,
                            "updated_at": now,
                        }
                    ),
                )
        except ClientError as error:
            raise aws.domain_error(error, "saving product types") from error

    def record_redelivery(self, store_id: str, order_id: str, integration: str, event_key: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.update_item(
                TableName=self.orders_table,
                Key=to_item({"pk": order_pk(store_id, order_id), "sk": f"EVENT#{integration}#{event_key}"}),
                UpdateExpression="ADD redeliveries :one SET last_redelivered_at = :now",
                ConditionExpression="attribute_exists(sk)",
                ExpressionAttributeValues={":one": {"N": "1"}, ":now": {"S": clock.isoformat(clock.now())}},
            )
        except ClientError as error:
            if aws.error_code(error) != "ConditionalCheckFailedException":
                raise aws.domain_error(error, "counting a redelivery") from error

    def record_event(self, store_id: str, order_id: str, event: EventRecord) -> None:
        """Keep an event that changes no order (a submitted review) in the order's audit trail, once."""
        from botocore.exceptions import ClientError

        item = event_item(store_id, order_id, event, clock.now())
        try:
            self.client.put_item(
                TableName=self.orders_table, Item=item, ConditionExpression="attribute_not_exists(sk)"
            )
        except ClientError as error:
            if aws.error_code(error) == "ConditionalCheckFailedException":
                raise DuplicateEvent() from error
            raise aws.domain_error(error, "recording an event") from error

    def commit(
        self,
        store_id: str,
        order: OrderFacts,
        expected_version: int,
        event: EventRecord,
        changes: list[dict[str, Any]],
        status: dict[str, Any],
        ledger: Ledger | None = None,
    ) -> None:
        """Write the event, the merged order (and its ledger, as read) and every plan change at once."""
        from botocore.exceptions import ClientError

        pk = order_pk(store_id, order.order_id)
        now = clock.now()
        expires = clock.epoch_seconds(now + ORDER_RETENTION)
        event_attributes = event_item(store_id, order.order_id, event, now)
        order_item = to_item(
            {
                "pk": pk,
                "sk": ORDER_SK,
                "store_id": store_id,
                "order_id": order.order_id,
                "facts": order.model_dump(mode="json"),
                "version": expected_version + 1,
                "updated_at": clock.isoformat(now),
                "plan_status": status,
                "ledger": (ledger or Ledger()).as_item(),
                "expires_at": expires,
            }
        )
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.orders_table,
                    "Item": event_attributes,
                    "ConditionExpression": "attribute_not_exists(sk)",
                }
            },
            {
                "Put": {
                    "TableName": self.orders_table,
                    "Item": order_item,
                    "ConditionExpression": "attribute_not_exists(sk) OR version = :v",
                    "ExpressionAttributeValues": {":v": {"N": str(expected_version)}},
                }
            },
        ]
        items.extend(changes)
        try:
            self.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as error:
            if aws.error_code(error) == "TransactionCanceledException":
                reasons = error.response.get("CancellationReasons", [])
                if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                    raise DuplicateEvent() from error
                if any(
                    reason.get("Code") in {"ConditionalCheckFailed", "TransactionConflict"}
                    for reason in reasons
                ):
                    raise ConcurrentChange() from error
            raise aws.domain_error(error, "saving an order") from error

    def waiting_change(self, store_id: str, product_id: str, order_id: str) -> dict[str, Any]:
        """Transaction item: this order was planned without the product's type; re-plan when it is learnt."""
        now = clock.now()
        return {
            "Put": {
                "TableName": self.orders_table,
                "Item": to_item(
                    {
                        "pk": f"{store_id}#product#{product_id}",
                        "sk": f"{WAITING_PREFIX}{order_id}",
                        "order_id": order_id,
                        "since": clock.isoformat(now),
                        "expires_at": clock.epoch_seconds(now + WAITING_RETENTION),
                    }
                ),
            }
        }

    def orders_waiting_for(self, store_id: str, product_id: str, limit: int) -> list[str]:
        """Orders planned without this product's type (oldest first, at most ``limit``)."""
        from botocore.exceptions import ClientError

        try:
            response = self.client.query(
                TableName=self.orders_table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :waiting)",
                ExpressionAttributeValues={
                    ":pk": {"S": f"{store_id}#product#{product_id}"},
                    ":waiting": {"S": WAITING_PREFIX},
                },
                Limit=limit,
            )
        except ClientError as error:
            raise aws.domain_error(error, "reading orders waiting for a product type") from error
        return [str(from_item(item)["order_id"]) for item in response.get("Items", [])]

    def stop_waiting(self, store_id: str, product_id: str, order_id: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.delete_item(
                TableName=self.orders_table,
                Key=to_item({"pk": f"{store_id}#product#{product_id}", "sk": f"{WAITING_PREFIX}{order_id}"}),
            )
        except ClientError as error:
            raise aws.domain_error(error, "clearing a product-type wait") from error

    def quarantine(self, store_id: str, order_id: str | None, event: EventRecord) -> None:
        """Keep an authentic delivery that could not be used, with its reason.

        It is listed for the store (``<store>#quarantine``, newest first) and, when its order is known,
        also shown in that order's event history (once per event key).
        """
        from botocore.exceptions import ClientError

        now = clock.now()
        listed = event_item(store_id, order_id or "-", event, now)
        listed["pk"] = {"S": f"{store_id}#quarantine"}
        listed["sk"] = {"S": f"Q#{clock.isoformat(now)}#{event.integration}#{event.event_key}"}
        listed["expires_at"] = {"N": str(clock.epoch_seconds(now + QUARANTINE_RETENTION))}
        if order_id:
            listed["order_id"] = {"S": order_id}
        try:
            self.client.put_item(TableName=self.orders_table, Item=listed)
            if order_id:
                self.client.put_item(
                    TableName=self.orders_table,
                    Item=event_item(store_id, order_id, event, now),
                    ConditionExpression="attribute_not_exists(sk)",
                )
        except ClientError as error:
            if aws.error_code(error) != "ConditionalCheckFailedException":
                raise aws.domain_error(error, "quarantining an event") from error

    def quarantined(self, store_id: str, limit: int) -> list[dict[str, Any]]:
        """A store's quarantined deliveries, newest first."""
        from botocore.exceptions import ClientError

        try:
            response = self.client.query(
                TableName=self.orders_table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :q)",
                ExpressionAttributeValues={":pk": {"S": f"{store_id}#quarantine"}, ":q": {"S": "Q#"}},
                ScanIndexForward=False,
                Limit=limit,
            )
        except ClientError as error:
            raise aws.domain_error(error, "listing quarantined events") from error
        return [from_item(item) for item in response.get("Items", [])]

    # ------------------------------------------------------------------ plan changes (transaction items)
    def _pending_attributes(self, store_id: str, order_id: str, planned: PlannedOutreach) -> dict[str, Any]:
        pk = order_pk(store_id, order_id)
        return {
            "due_at": clock.isoformat(planned.due_at),
            "first_due_at": clock.isoformat(planned.due_at),
            "due_shard": due_shard(pk, planned.outreach_id, self.shards),
            "due_key": due_key(planned.due_at, store_id, order_id, planned.outreach_id),
            "products": [p.model_dump(mode="json") for p in planned.products],
            "anchor": planned.anchor,
            "reminder_after_seconds": planned.reminder_after_seconds,
        }

    def create_change(
        self,
        store_id: str,
        order_id: str,
        planned: PlannedOutreach,
        customer: dict[str, Any],
        order_name: str | None = None,
        ordered_at: str | None = None,
    ) -> dict[str, Any]:
        now = clock.isoformat(clock.now())
        item = {
            "pk": order_pk(store_id, order_id),
            "sk": planned.outreach_id,
            "store_id": store_id,
            "order_id": order_id,
            "order_name": order_name,
            "ordered_at": ordered_at,
            "outreach_id": planned.outreach_id,
            "kind": planned.kind,
            "status": PENDING,
            "customer": customer,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
            "history": [
                {"at": now, "status": PENDING, "note": f"planned for {clock.isoformat(planned.due_at)}"}
            ],
            "expires_at": clock.epoch_seconds(clock.now() + ORDER_RETENTION),
            **self._pending_attributes(store_id, order_id, planned),
        }
        if planned.skipped:
            item.pop("due_shard")
            item.pop("due_key")
            item.update(status=SKIPPED, reason=planned.skipped)
            item["history"] = [{"at": now, "status": SKIPPED, "note": planned.skipped}]
        return {
            "Put": {
                "TableName": self.outreach_table,
                "Item": to_item(item),
                "ConditionExpression": "attribute_not_exists(sk)",
            }
        }

    def reschedule_change(
        self,
        store_id: str,
        order_id: str,
        planned: PlannedOutreach,
        customer: dict[str, Any],
        previous_status: str,
        note: str,
    ) -> dict[str, Any]:
        now = clock.isoformat(clock.now())
        attributes = {
            **self._pending_attributes(store_id, order_id, planned),
            "customer": customer,
            "updated_at": now,
        }
        present = [name for name, value in attributes.items() if value is not None]
        removes = [name for name, value in attributes.items() if value is None]
        values = {f":v{i}": to_value(attributes[name]) for i, name in enumerate(present)}
        names = {f"#n{i}": name for i, name in enumerate(present)}
        names.update({f"#r{i}": name for i, name in enumerate(removes)})
        expression = "SET " + ", ".join(f"#n{i} = :v{i}" for i in range(len(present)))
        expression += ", #status = :pending, history = list_append(history, :h)"
        if removes:
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes)))
        values[":h"] = to_value([{"at": now, "status": PENDING, "note": note}])
        values[":prev"] = {"S": previous_status}
        values[":pending"] = {"S": PENDING}
        return {
            "Update": {
                "TableName": self.outreach_table,
                "Key": to_item({"pk": order_pk(store_id, order_id), "sk": planned.outreach_id}),
                "UpdateExpression": expression,
                "ConditionExpression": "#status = :prev",
                "ExpressionAttributeNames": {**names, "#status": "status"},
                "ExpressionAttributeValues": values,
            }
        }

    def cancel(self, store_id: str, order_id: str, outreach_id: str, reason: str) -> bool:
        """Cancel one pending outreach now; False if it is no longer pending (the sweep took it)."""
        from botocore.exceptions import ClientError

        try:
            self.client.update_item(**self.cancel_change(store_id, order_id, outreach_id, reason)["Update"])
        except ClientError as error:
            if aws.error_code(error) == "ConditionalCheckFailedException":
                return False
            raise aws.domain_error(error, "cancelling outreach") from error
        return True

    def cancel_change(self, store_id: str, order_id: str, outreach_id: str, reason: str) -> dict[str, Any]:
        now = clock.isoformat(clock.now())
        return {
            "Update": {
                "TableName": self.outreach_table,
                "Key": to_item({"pk": order_pk(store_id, order_id), "sk": outreach_id}),
                "UpdateExpression": "SET #status = :cancelled, cancel_reason = :reason, updated_at = :now, "
                "history = list_append(history, :h) REMOVE due_shard, due_key",
                "ConditionExpression": "#status = :pending",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":cancelled": {"S": CANCELLED},
                    ":pending": {"S": PENDING},
                    ":reason": {"S": reason},
                    ":now": {"S": now},
                    ":h": to_value([{"at": now, "status": CANCELLED, "note": reason}]),
                },
            }
        }


def default_repository() -> OrderRepository:
    from functions.shared.repositories import shared
    from functions.shared.settings import get_settings

    settings = get_settings()
    return shared(OrderRepository, settings.orders_table, settings.outreach_table, settings.due_shards)
