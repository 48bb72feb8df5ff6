"""Shopify webhooks (order, fulfillment, fulfillment event, refund and product topics) → order facts.

Shopify order line items carry no product type; ``products/create`` and ``products/update`` teach
Aftercare each product's type, which fills the gap at ingest.

Every value read goes through a rule of ``functions.webhooks.parsing``: a required value out of range
raises ``PayloadError`` naming the field; an optional one that is unusable is dropped with a note.
Everything else in Shopify's large payloads is not read, so not checked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from functions.orders import models
from functions.webhooks.parsing import (
    NAME_LENGTH,
    NAME_PART_LENGTH,
    ORDER_NAME_LENGTH,
    PRODUCT_NAME_LENGTH,
    PRODUCT_TYPE_LENGTH,
    REASON_LENGTH,
    PayloadError,
    currency,
    customer_email,
    customer_locale,
    first_name_of,
    ident,
    items,
    money,
    obj,
    optional_obj,
    quantity,
    status,
    text,
    timestamp,
    within_range,
)

ORDER_TOPICS = {
    "orders/create",
    "orders/updated",
    "orders/paid",
    "orders/fulfilled",
    "orders/partially_fulfilled",
    "orders/cancelled",
}
FULFILLMENT_TOPICS = {"fulfillments/create", "fulfillments/update"}
RETURN_TOPIC = "returns/request"
PRODUCT_TOPICS = {"products/create", "products/update"}
HANDLED_TOPICS = (
    {RETURN_TOPIC}
    | ORDER_TOPICS
    | FULFILLMENT_TOPICS
    | PRODUCT_TOPICS
    | {"fulfillment_events/create", "refunds/create"}
)
PAID_STATUSES = {"paid", "partially_refunded", "refunded"}
SUCCEEDED = {None, "success", "open"}  # fulfillment statuses that mean the parcel left
MAX_RETURN_LINES = 200


def _line_items(payload: list[Any], field: str, notes: list[str]) -> list[models.LineItem]:
    result = []
    for index, raw in enumerate(payload):
        where = f"{field}[{index}]"
        line = obj(raw, where)
        product_name = first_name_of(
            [(line.get("name"), f"{where}.name"), (line.get("title"), f"{where}.title")],
            notes,
            PRODUCT_NAME_LENGTH,
        )
        result.append(
            models.LineItem(
                id=ident(line.get("id"), f"{where}.id") or "",
                product_id=ident(line.get("product_id"), f"{where}.product_id", required=False),
                name=product_name or "",
                product_type=_product_type(line.get("product_type")),
                quantity=quantity(line.get("quantity", 1), f"{where}.quantity"),
                price=money(line.get("price"), f"{where}.price"),
            )
        )
    return result


def _product_type(value: Any) -> str | None:
    return (text(value, PRODUCT_TYPE_LENGTH) or "").lower() or None


def customer_of(order: dict[str, Any], notes: list[str]) -> models.Customer:
    """The customer as the order names them; unusable optional values are dropped with a note."""
    customer = optional_obj(order.get("customer"))
    address = optional_obj(order.get("shipping_address")) or optional_obj(order.get("billing_address"))
    first = first_name_of(
        [
            (customer.get("first_name"), "customer.first_name"),
            (address.get("first_name"), "address.first_name"),
        ],
        notes,
        NAME_PART_LENGTH,
    )
    last = first_name_of(
        [(customer.get("last_name"), "customer.last_name"), (address.get("last_name"), "address.last_name")],
        notes,
        NAME_PART_LENGTH,
    )
    full_name = text(" ".join(part for part in (first, last) if part), NAME_LENGTH)
    raw_email = order.get("email") or order.get("contact_email") or customer.get("email")
    return models.Customer(
        email=customer_email(raw_email, notes),
        name=full_name,
        locale=customer_locale(order.get("customer_locale"), notes),
    )


def _refund_lines(raw_lines: Any, field: str) -> dict[str, int]:
    """Line item id → quantity refunded; restock-only lines (quantity 0) refund nothing and are skipped."""
    lines: dict[str, int] = {}
    for index, raw in enumerate(items(raw_lines, field)):
        line = obj(raw, f"{field}[{index}]")
        count = line.get("quantity")
        if type(count) is int and count == 0:
            continue
        line_id = ident(line.get("line_item_id"), f"{field}[{index}].line_item_id") or ""
        lines[line_id] = lines.get(line_id, 0) + quantity(count, f"{field}[{index}].quantity")
    return lines


def _refunds(refunds: list[Any], field: str) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = {}
    for index, raw in enumerate(refunds):
        refund = obj(raw, f"{field}[{index}]")
        refund_id = ident(refund.get("id"), f"{field}[{index}].id") or ""
        lines = _refund_lines(refund.get("refund_line_items"), f"{field}[{index}].refund_line_items")
        if lines:
            result[refund_id] = lines
    return result


def _earliest(values: list[datetime | None]) -> datetime | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _shipping(topic: str, order: dict[str, Any], as_of: datetime) -> tuple[datetime | None, datetime | None]:
    """When the order's successful fulfillments left and were delivered."""
    raw = items(order.get("fulfillments"), "fulfillments")
    fulfillments = [(f"fulfillments[{i}]", obj(f, f"fulfillments[{i}]")) for i, f in enumerate(raw)]
    succeeded = [(where, f) for where, f in fulfillments if status(f.get("status")) in SUCCEEDED]
    fulfilled_at = _earliest(
        [timestamp(f.get("created_at"), f"{where}.created_at") for where, f in succeeded]
    )
    if fulfilled_at is None and (
        topic == "orders/fulfilled" or status(order.get("fulfillment_status")) == "fulfilled"
    ):
        fulfilled_at = as_of
    delivered_at = _earliest(
        [
            timestamp(f.get("updated_at"), f"{where}.updated_at")
            for where, f in succeeded
            if status(f.get("shipment_status")) == "delivered"
        ]
    )
    return fulfilled_at, delivered_at


def _order_facts(
    topic: str, order: dict[str, Any], occurred_at: datetime, notes: list[str]
) -> models.OrderFacts:
    as_of = timestamp(order.get("updated_at"), "updated_at") or occurred_at
    fulfilled_at, delivered_at = _shipping(topic, order, as_of)
    financial = status(order.get("financial_status"))
    paid_at = None
    if topic == "orders/paid" or financial in PAID_STATUSES:
        paid_at = timestamp(order.get("processed_at"), "processed_at") or as_of
    line_items = _line_items(items(order.get("line_items"), "line_items"), "line_items", notes)
    return models.OrderFacts(
        order_id=ident(order.get("id"), "id") or "",
        name=first_name_of([(order.get("name"), "name")], notes, ORDER_NAME_LENGTH),
        test=order.get("test") is True,
        currency=currency(order.get("currency"), "currency", notes),
        customer=models.CustomerSnapshot(as_of=as_of, customer=customer_of(order, notes)),
        items=models.ItemsSnapshot(as_of=as_of, items=line_items),
        paid_at=paid_at,
        fulfilled_at=fulfilled_at,
        delivered_at=delivered_at,
        cancelled_at=timestamp(order.get("cancelled_at"), "cancelled_at")
        or (as_of if topic == "orders/cancelled" else None),
        fully_refunded_at=as_of if financial == "refunded" else None,
        refunds=_refunds(items(order.get("refunds"), "refunds"), "refunds"),
    )


def _return_line(raw: Any, field: str) -> models.ReturnLine:
    line = obj(raw, field)
    fulfilled = obj(line.get("fulfillment_line_item") or {}, f"{field}.fulfillment_line_item")
    item = obj(fulfilled.get("line_item") or {}, f"{field}.fulfillment_line_item.line_item")
    return models.ReturnLine(
        line_item_id=ident(item.get("id"), f"{field}.fulfillment_line_item.line_item.id") or "",
        quantity=quantity(line.get("quantity", 1), f"{field}.quantity"),
    )


def _return_request(body: dict[str, Any], notes: list[str]) -> models.ReturnEvent:
    """``returns/request``: a return the customer asked for in the Shopify store."""
    order = obj(body.get("order") or {}, "order")
    raw_lines = items(body.get("return_line_items"), "return_line_items", limit=MAX_RETURN_LINES)
    lines = [_return_line(raw, f"return_line_items[{index}]") for index, raw in enumerate(raw_lines)]
    if not lines:
        raise PayloadError("return_line_items", "must name at least one item")
    first = obj(raw_lines[0], "return_line_items[0]")
    reason = first_name_of(
        [
            (first.get("return_reason"), "return_line_items[0].return_reason"),
            (first.get("customer_note"), "return_line_items[0].customer_note"),
        ],
        notes,
        REASON_LENGTH,
    )
    return models.ReturnEvent(
        kind="requested",
        store_return_id=ident(body.get("id"), "id"),
        order_id=ident(order.get("id"), "order.id"),
        lines=lines,
        reason=reason or "",
    )


def _fulfillment(body: dict[str, Any], occurred_at: datetime) -> models.OrderFacts:
    state = status(body.get("status"))
    fulfilled = timestamp(body.get("created_at"), "created_at") if state in SUCCEEDED else None
    delivered = None
    if state in (None, "success") and status(body.get("shipment_status")) == "delivered":
        delivered = timestamp(body.get("updated_at"), "updated_at") or occurred_at
    order_id = ident(body.get("order_id"), "order_id") or ""
    return models.OrderFacts(order_id=order_id, fulfilled_at=fulfilled, delivered_at=delivered)


def _fulfillment_event(body: dict[str, Any], occurred_at: datetime) -> models.OrderFacts:
    delivered = None
    if status(body.get("status")) == "delivered":
        delivered = timestamp(body.get("happened_at"), "happened_at") or occurred_at
    return models.OrderFacts(order_id=ident(body.get("order_id"), "order_id") or "", delivered_at=delivered)


def _refund(body: dict[str, Any]) -> models.OrderFacts:
    refund_id = ident(body.get("id"), "id") or ""
    lines = _refund_lines(body.get("refund_line_items"), "refund_line_items")
    return models.OrderFacts(
        order_id=ident(body.get("order_id"), "order_id") or "", refunds={refund_id: lines} if lines else {}
    )


def _product(body: dict[str, Any]) -> models.ProductTypeUpdate:
    return models.ProductTypeUpdate(
        product_id=ident(body.get("id"), "id") or "", product_type=_product_type(body.get("product_type"))
    )


def _facts_of(topic: str, body: dict[str, Any], occurred_at: datetime, notes: list[str]) -> models.OrderFacts:
    if topic in ORDER_TOPICS:
        return _order_facts(topic, body, occurred_at, notes)
    if topic in FULFILLMENT_TOPICS:
        return _fulfillment(body, occurred_at)
    if topic == "fulfillment_events/create":
        return _fulfillment_event(body, occurred_at)
    return _refund(body)


def normalize(delivery: models.Delivery, payload: Any) -> models.NormalizedEvent:
    """One Shopify delivery as order facts, a product's type or a return; unhandled topics are ignored."""
    topic, occurred_at = delivery.topic, within_range(delivery.occurred_at, "X-Shopify-Triggered-At")
    notes: list[str] = []
    facts: models.OrderFacts | None = None
    products: list[models.ProductTypeUpdate] = []
    returned: models.ReturnEvent | None = None
    if topic in HANDLED_TOPICS:  # any other topic is acknowledged and ignored, whatever its body
        body = obj(payload, "(body)")
        if topic == RETURN_TOPIC:
            returned = _return_request(body, notes)
        elif topic in PRODUCT_TOPICS:
            products = [_product(body)]
        else:
            facts = _facts_of(topic, body, occurred_at, notes)
    delivered = {**dict(delivery), "occurred_at": occurred_at}
    return models.NormalizedEvent(
        **delivered, facts=facts, products=products, return_event=returned, notes=notes
    )
