"""Orders table adapter: the only code that reads or writes orders, events, product types and waits.

Orders table items (see docs/data-model.md):
  ``<store>#<order>`` / ``ORDER``                        the merged order (facts, version)
  ``<store>#<order>`` / ``EVENT#<integration>#<key>``    each verified webhook, raw body gzipped
  ``<store>#product#<product id>`` / ``PRODUCT``       product type learnt from product webhooks
  ``<store>#product#<product id>`` / ``WAITING#<order>``  an order planned without that product's type
  ``<store>#quarantine`` / ``<received at>#<event key>``  an authentic webhook that could not be used
An order's outreach items live in the Outreach table, owned by ``functions.outreach.store``: this adapter
asks that owner for them and writes the plan diff's transaction items it gets from it, in the same
transaction as the order, so an order and its plan never disagree.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from functions.orders.ledger import Ledger
from functions.orders.models import OrderFacts
from functions.shared import aws, clock
from functions.shared.adapter import ConditionFailed, DynamoAdapter
from functions.shared.dynamo import from_item, to_item, to_value
from functions.shared.errors import Conflict, NotFound

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from functions.outreach.models import PlanDiff
    from functions.outreach.store import OutreachQueue

ORDER_SK = "ORDER"
PRODUCT_SK = "PRODUCT"
WAITING_PREFIX = "WAITING#"
QUARANTINE_RETENTION = timedelta(days=90)
WAITING_RETENTION = timedelta(days=120)
LEDGER_ATTEMPTS = 8
BATCH_KEYS = 100  # BatchGetItem's limit per request


class DuplicateEvent(Exception):
    """This exact event was recorded before (a redelivery)."""


class ConcurrentChange(Exception):
    """Another writer changed the order or its plan since we read it; read again and retry."""


def order_pk(store_id: str, order_id: str) -> str:
    return f"{store_id}#{order_id}"


def event_item(
    store_id: str, order_id: str, event: EventRecord, now: datetime, keep: timedelta
) -> dict[str, Any]:
    """The stored form of a received event: who sent what, how it verified, and its raw body (gzipped).

    It expires (TTL ``expires_at``) ``keep`` after it was received: the store's ``retention.orders``.
    """
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
            "expires_at": clock.epoch_seconds(now + keep),
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


@dataclass(frozen=True)
class OrderWrite:
    """One applied event: the event itself, the merged order as of the version read, and its plan status.

    ``keep`` is the store's ``retention.orders``: the event and the order expire that long after this write.
    """

    store_id: str
    order: OrderFacts
    expected_version: int
    event: EventRecord
    status: dict[str, Any]
    keep: timedelta
    ledger: Ledger | None = None


class OrderRepository(DynamoAdapter):
    """The Orders table, and an order's plan through the Outreach table's owner."""

    def __init__(self, orders_table: str, outreach: OutreachQueue, client: DynamoDBClient | None = None):
        super().__init__(orders_table, client)
        self.outreach = outreach

    @property
    def orders_table(self) -> str:
        return self.table

    # ------------------------------------------------------------------ reads
    def load(self, store_id: str, order_id: str) -> StoredOrder | None:
        """The order and its stored outreach plan (both read consistently)."""
        with self.calling("reading an order"):
            item = self.client.get_item(
                TableName=self.table, Key=self._order_key(store_id, order_id), ConsistentRead=True
            ).get("Item")
        return self._loaded(order_id, item, self.outreach.for_order(store_id, order_id))

    def load_for_planning(
        self, store_id: str, order_id: str, product_ids: list[str], *, plan_without_order: bool = True
    ) -> tuple[StoredOrder | None, dict[str, str]]:
        """The order and its plan as ``load`` reads them, and the learnt types of ``product_ids``.

        The order item and the product items share the Orders table, so one consistent
        ``BatchGetItem`` reads them together (a ``GetItem`` when no type is asked for). With
        ``plan_without_order`` false, an order that has no item is taken to have no plan either and the
        plan's query is skipped: outreach is created only in its order's transaction, with a condition
        that it does not exist yet, so a plan that outlived its order item (past the order's TTL) makes
        that transaction fail as a concurrent change, and the caller reads again with the default.
        """
        wanted = sorted(set(product_ids))
        first, rest = wanted[: BATCH_KEYS - 1], wanted[BATCH_KEYS - 1 :]
        order_item, types = self._order_and_types(store_id, order_id, first)
        if rest:
            types.update(self.product_types(store_id, rest))
        if order_item is None and not plan_without_order:
            return None, types
        outreach = self.outreach.for_order(store_id, order_id)
        return self._loaded(order_id, order_item, outreach), types

    def _order_and_types(
        self, store_id: str, order_id: str, product_ids: list[str]
    ) -> tuple[dict[str, Any] | None, dict[str, str]]:
        order_key = self._order_key(store_id, order_id)
        if not product_ids:
            with self.calling("reading an order"):
                found = self.client.get_item(TableName=self.table, Key=order_key, ConsistentRead=True)
            return found.get("Item"), {}
        keys = [order_key, *(self._product_key(store_id, pid) for pid in product_ids)]
        request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
        order_item: dict[str, Any] | None = None
        types: dict[str, str] = {}
        with self.calling("reading an order"):
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table, []):
                    if item["sk"]["S"] == ORDER_SK:
                        order_item = item
                    elif product_type := item.get("product_type", {}).get("S"):
                        types[item["product_id"]["S"]] = product_type
                request = response.get("UnprocessedKeys") or {}
        return order_item, types

    @staticmethod
    def _product_key(store_id: str, product_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"{store_id}#product#{product_id}"}, "sk": {"S": PRODUCT_SK}}

    @classmethod
    def _loaded(
        cls, order_id: str, item: dict[str, Any] | None, outreach: list[dict[str, Any]]
    ) -> StoredOrder | None:
        if item is None:
            return StoredOrder(OrderFacts(order_id=order_id), 0, outreach, exists=False) if outreach else None
        return cls._stored(from_item(item), outreach)

    @staticmethod
    def _order_key(store_id: str, order_id: str) -> dict[str, Any]:
        return to_item({"pk": order_pk(store_id, order_id), "sk": ORDER_SK})

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
        with self.calling("reading an order"):
            item = self.client.get_item(
                TableName=self.table, Key=self._order_key(store_id, order_id), ConsistentRead=True
            ).get("Item")
        return self._stored(from_item(item), []) if item else None

    def change_ledger(
        self, store_id: str, order_id: str, change: Callable[[OrderFacts, Ledger], Ledger]
    ) -> tuple[OrderFacts, Ledger]:
        """Apply ``change`` to the order's quantity ledger with one conditional write on the order's version.

        ``change`` sees the facts and ledger of one version and may raise a domain error (nothing is
        written then); when another writer got in between, it runs again on the new version.
        """
        for attempt in range(LEDGER_ATTEMPTS):
            stored = self.get_order(store_id, order_id)
            if stored is None:
                raise NotFound(f"no order {order_id} for this store")
            ledger = change(stored.facts, stored.ledger)
            if ledger == stored.ledger:
                return stored.facts, ledger
            try:
                self._write_ledger(store_id, order_id, stored.version, ledger)
            except ConditionFailed:
                time.sleep(random.uniform(0, 0.01 * 2**attempt))  # jitter, not security
                continue
            return stored.facts, ledger
        raise Conflict("the order kept changing; try again")

    def _write_ledger(self, store_id: str, order_id: str, seen: int, ledger: Ledger) -> None:
        with self.calling("changing an order's ledger"):
            self.client.update_item(
                TableName=self.table,
                Key=self._order_key(store_id, order_id),
                UpdateExpression="SET ledger = :ledger, version = :next, updated_at = :now",
                ConditionExpression="version = :seen",
                ExpressionAttributeValues={
                    ":ledger": to_value(ledger.as_item()),
                    ":next": {"N": str(seen + 1)},
                    ":seen": {"N": str(seen)},
                    ":now": {"S": clock.isoformat(clock.now())},
                },
            )

    def events(self, store_id: str, order_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": order_pk(store_id, order_id)}},
            "ConsistentRead": True,
        }
        with self.calling("reading order events"):
            while True:
                response = self.client.query(**kwargs)
                items.extend(from_item(item) for item in response.get("Items", []))
                if "LastEvaluatedKey" not in response:
                    break
                kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return [item for item in items if str(item["sk"]).startswith("EVENT#")]

    def product_types(self, store_id: str, product_ids: list[str]) -> dict[str, str]:
        """Product types learnt from product webhooks, for line items that do not carry one."""
        wanted = sorted(set(product_ids))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 100):
            keys = [
                to_item({"pk": f"{store_id}#product#{pid}", "sk": PRODUCT_SK})
                for pid in wanted[start : start + 100]
            ]
            request: dict[str, Any] = {
                self.table: {"Keys": keys, "ProjectionExpression": "product_id, product_type"}
            }
            with self.calling("reading product types"):
                while request:
                    response = self.client.batch_get_item(RequestItems=request)
                    for item in response.get("Responses", {}).get(self.table, []):
                        data = from_item(item)
                        if data.get("product_type"):
                            found[str(data["product_id"])] = str(data["product_type"])
                    request = response.get("UnprocessedKeys") or {}
        return found

    # ------------------------------------------------------------------ writes
    def save_product_types(self, store_id: str, updates: dict[str, str | None]) -> None:
        now = clock.isoformat(clock.now())
        with self.calling("saving product types"):
            for product_id, product_type in updates.items():
                self.client.put_item(
                    TableName=self.table,
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

    def record_redelivery(self, store_id: str, order_id: str, integration: str, event_key: str) -> None:
        with contextlib.suppress(ConditionFailed), self.calling("counting a redelivery"):
            self.client.update_item(
                TableName=self.table,
                Key=to_item({"pk": order_pk(store_id, order_id), "sk": f"EVENT#{integration}#{event_key}"}),
                UpdateExpression="ADD redeliveries :one SET last_redelivered_at = :now",
                ConditionExpression="attribute_exists(sk)",
                ExpressionAttributeValues={":one": {"N": "1"}, ":now": {"S": clock.isoformat(clock.now())}},
            )

    def record_event(self, store_id: str, order_id: str, event: EventRecord, *, keep: timedelta) -> None:
        """Keep an event that changes no order (a submitted review) in the order's audit trail, once
        (for ``keep``, the store's ``retention.orders``)."""
        item = event_item(store_id, order_id, event, clock.now(), keep)
        with self.calling("recording an event", conflict=DuplicateEvent()):
            self.client.put_item(
                TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(sk)"
            )

    def commit(self, write: OrderWrite, plan: PlanDiff, waiting: list[str]) -> None:
        """Write the event, the merged order (and its ledger, as read) and every plan change at once.

        ``plan`` becomes the Outreach table's owner's transaction items; ``waiting`` lists product ids
        whose type is unknown, so the order is re-planned when a product webhook teaches it.
        """
        now = clock.now()
        order_id = write.order.order_id
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": event_item(write.store_id, order_id, write.event, now, write.keep),
                    "ConditionExpression": "attribute_not_exists(sk)",
                }
            },
            self._order_put(write, now),
            *self.outreach.plan_writes(plan),
            *(self._waiting_put(write, product_id, now) for product_id in waiting),
        ]
        self._transact(items)

    def _order_put(self, write: OrderWrite, now: datetime) -> dict[str, Any]:
        item = {
            "pk": order_pk(write.store_id, write.order.order_id),
            "sk": ORDER_SK,
            "store_id": write.store_id,
            "order_id": write.order.order_id,
            "customer_key": _customer_index(write),
            "facts": write.order.model_dump(mode="json"),
            "version": write.expected_version + 1,
            "updated_at": clock.isoformat(now),
            "plan_status": write.status,
            "ledger": (write.ledger or Ledger()).as_item(),
            "expires_at": clock.epoch_seconds(now + write.keep),
        }
        return {
            "Put": {
                "TableName": self.table,
                "Item": to_item(item),
                "ConditionExpression": "attribute_not_exists(sk) OR version = :v",
                "ExpressionAttributeValues": {":v": {"N": str(write.expected_version)}},
            }
        }

    def _transact(self, items: list[dict[str, Any]]) -> None:
        """One transaction; the event's put comes first, so its refusal means a redelivery."""
        from botocore.exceptions import ClientError

        try:
            self.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as error:
            if aws.error_code(error) == "TransactionCanceledException":
                codes = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
                if codes and codes[0] == "ConditionalCheckFailed":
                    raise DuplicateEvent() from error
                if any(code in {"ConditionalCheckFailed", "TransactionConflict"} for code in codes):
                    raise ConcurrentChange() from error
            raise aws.domain_error(error, "saving an order") from error

    def _waiting_put(self, write: OrderWrite, product_id: str, now: datetime) -> dict[str, Any]:
        """This order was planned without the product's type; re-plan it when the type is learnt. The marker
        names the order, so it never outlives the order's own retention."""
        order_id = write.order.order_id
        item = {
            "pk": f"{write.store_id}#product#{product_id}",
            "sk": f"{WAITING_PREFIX}{order_id}",
            "order_id": order_id,
            "since": clock.isoformat(now),
            "expires_at": clock.epoch_seconds(now + min(WAITING_RETENTION, write.keep)),
        }
        return {"Put": {"TableName": self.table, "Item": to_item(item)}}

    def orders_waiting_for(self, store_id: str, product_id: str, limit: int) -> list[str]:
        """Orders planned without this product's type (oldest first, at most ``limit``)."""
        with self.calling("reading orders waiting for a product type"):
            response = self.client.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :waiting)",
                ExpressionAttributeValues={
                    ":pk": {"S": f"{store_id}#product#{product_id}"},
                    ":waiting": {"S": WAITING_PREFIX},
                },
                Limit=limit,
            )
        return [str(from_item(item)["order_id"]) for item in response.get("Items", [])]

    def stop_waiting(self, store_id: str, product_id: str, order_id: str) -> None:
        with self.calling("clearing a product-type wait"):
            self.client.delete_item(
                TableName=self.table,
                Key=to_item({"pk": f"{store_id}#product#{product_id}", "sk": f"{WAITING_PREFIX}{order_id}"}),
            )

    def quarantine(self, store_id: str, order_id: str | None, event: EventRecord, *, keep: timedelta) -> None:
        """Keep an authentic delivery that could not be used, with its reason.

        It is listed for the store (``<store>#quarantine``, newest first, for ``QUARANTINE_RETENTION``)
        and, when its order is known, also shown in that order's event history (once per event key, for
        ``keep``: the store's ``retention.orders``).
        """
        now = clock.now()
        listed = event_item(store_id, order_id or "-", event, now, keep)
        listed["pk"] = {"S": f"{store_id}#quarantine"}
        listed["sk"] = {"S": f"Q#{clock.isoformat(now)}#{event.integration}#{event.event_key}"}
        listed["expires_at"] = {"N": str(clock.epoch_seconds(now + QUARANTINE_RETENTION))}
        if order_id:
            listed["order_id"] = {"S": order_id}
        with contextlib.suppress(ConditionFailed), self.calling("quarantining an event"):
            self.client.put_item(TableName=self.table, Item=listed)
            if order_id:
                self.client.put_item(
                    TableName=self.table,
                    Item=event_item(store_id, order_id, event, now, keep),
                    ConditionExpression="attribute_not_exists(sk)",
                )

    def keep_store(self, store_id: str, keep: timedelta) -> int:
        """Put ``keep`` (``retention.orders``) on the store's orders and events, from when each was last
        written (``aftercare store apply-retention``); how many items changed."""
        from functions.shared import retention

        found = retention.store_items(
            self,
            "begins_with(pk, :prefix) AND (sk = :order OR begins_with(sk, :event))",
            {":prefix": f"{store_id}#", ":order": ORDER_SK, ":event": "EVENT#"},
            "reading a store's orders",
        )
        changed = 0
        for item in found:
            written = retention.written_at(item, "updated_at", "received_at")
            if written and retention.keep_until(self, item, written + keep, "keeping an order"):
                changed += 1
        return changed

    def quarantined(self, store_id: str, limit: int) -> list[dict[str, Any]]:
        """A store's quarantined deliveries, newest first."""
        with self.calling("listing quarantined events"):
            response = self.client.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :q)",
                ExpressionAttributeValues={":pk": {"S": f"{store_id}#quarantine"}, ":q": {"S": "Q#"}},
                ScanIndexForward=False,
                Limit=limit,
            )
        return [from_item(item) for item in response.get("Items", [])]

    # ------------------------------------------------------------------ export and erasure (privacy)
    def customer_orders(self, store_id: str, email: str) -> list[str]:
        """Ids of the orders whose customer is this address, from the sparse ``by_customer`` index."""
        from functions.customers.store import customer_key

        return self.order_ids_by_customer(f"{store_id}#{customer_key(email)}", "reading a customer's orders")

    def _partition(self, pk: str) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ConsistentRead": True,
        }
        return [from_item(item) for item in self.query_all("reading an order", **kwargs)]

    def export_order(self, store_id: str, order_id: str) -> dict[str, Any] | None:
        """The order (facts, quantity ledger, plan status) and every event received for it, with bodies."""
        items = self._partition(order_pk(store_id, order_id))
        order = next((item for item in items if item["sk"] == ORDER_SK), None)
        events = [_exported_event(item) for item in items if str(item["sk"]).startswith("EVENT#")]
        if order is None and not events:
            return None
        found: dict[str, Any] = {"order_id": order_id, "events": events}
        if order is not None:
            found.update(
                facts=order.get("facts"),
                ledger=order.get("ledger"),
                plan_status=order.get("plan_status"),
                updated_at=order.get("updated_at"),
            )
        return found

    def order_events(self, store_id: str, order_id: str) -> list[tuple[str, str]]:
        """(integration, event key) of every event received for the order: what identified its deliveries."""
        return [
            (str(item.get("integration", "")), str(item.get("event_key", "")))
            for item in self._partition(order_pk(store_id, order_id))
            if str(item["sk"]).startswith("EVENT#")
        ]

    def _delete(self, pk: str, sk: str) -> None:
        with self.calling("erasing an order"):
            self.client.delete_item(TableName=self.table, Key=to_item({"pk": pk, "sk": sk}))

    def erase_order(self, store_id: str, order_id: str) -> dict[str, int]:
        """Delete the order, its events and the product-type waits naming it; the order item goes last, so
        an erasure that stops half-way still finds the order (through ``by_customer``) next time."""
        pk = order_pk(store_id, order_id)
        items = self._partition(pk)
        order = next((item for item in items if item["sk"] == ORDER_SK), None)
        products = {
            str(line.get("product_id"))
            for line in (((order or {}).get("facts") or {}).get("items") or {}).get("items") or []
            if line.get("product_id")
        }
        for product_id in sorted(products):
            self._delete(f"{store_id}#product#{product_id}", f"{WAITING_PREFIX}{order_id}")
        events = [item for item in items if item["sk"] != ORDER_SK]
        for item in events:
            self._delete(pk, str(item["sk"]))
        if order is not None:
            self._delete(pk, ORDER_SK)
        return {"orders": 1 if order else 0, "order events": len(events)}

    def _quarantine_of(self, store_id: str, order_ids: set[str], email: str) -> list[dict[str, Any]]:
        """A store's quarantined deliveries about these orders or naming this address (90 days at most)."""
        address = email.strip().lower()
        return [
            item
            for item in self._partition(f"{store_id}#quarantine")
            if str(item.get("order_id", "")) in order_ids or address in _body_text(item).lower()
        ]

    def quarantined_for(self, store_id: str, order_ids: set[str], email: str) -> list[dict[str, Any]]:
        return [_exported_event(item) for item in self._quarantine_of(store_id, order_ids, email)]

    def erase_quarantined(self, store_id: str, order_ids: set[str], email: str) -> int:
        """Delete those deliveries, and the copy each keeps in its order's events when its order is known
        (an order that may not be the customer's: only the delivery that names them goes)."""
        found = self._quarantine_of(store_id, order_ids, email)
        for item in found:
            if item.get("order_id"):
                event = f"EVENT#{item.get('integration', '')}#{item.get('event_key', '')}"
                self._delete(order_pk(store_id, str(item["order_id"])), event)
            self._delete(f"{store_id}#quarantine", str(item["sk"]))
        return len(found)


def _customer_index(write: OrderWrite) -> str | None:
    """The ``by_customer`` key of an order: its store and the SHA-256 of its address (never the address)."""
    from functions.customers.store import customer_key

    email = write.order.customer.customer.email if write.order.customer else None
    return f"{write.store_id}#{customer_key(email)}" if email and email.strip() else None


def _body_text(item: dict[str, Any]) -> str:
    """An event's raw body as text (it is kept gzipped; a body cut at the size limit shows what it can)."""
    import zlib

    raw = item.get("raw_gzip")
    raw = getattr(raw, "value", raw)  # boto3 reads binary attributes as ``Binary``
    if not isinstance(raw, bytes | bytearray):
        return ""
    try:
        data = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(bytes(raw))
    except zlib.error:
        return ""
    return data.decode("utf-8", "replace")


def _exported_event(item: dict[str, Any]) -> dict[str, Any]:
    import json

    text = _body_text(item)
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text
    shown = ("integration", "topic", "event_key", "occurred_at", "received_at", "verification", "notes")
    return {
        **{name: item[name] for name in shown if name in item},
        "quarantined": item.get("quarantined"),
        "body": body,
    }
