"""Shopify webhooks (order, fulfillment, fulfillment event, refund and product topics) → order facts.

Shopify order line items carry no product type; ``products/create`` and ``products/update`` teach
Aftercare each product's type, which fills the gap at ingest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from functions.orders.models import (
    Customer,
    CustomerSnapshot,
    ItemsSnapshot,
    LineItem,
    NormalizedEvent,
    OrderFacts,
    ProductTypeUpdate,
    ReturnEvent,
    ReturnLine,
)
from functions.webhooks.parsing import PayloadError, ident, items, money, obj, quantity, text, timestamp

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
HANDLED_TOPICS = (
    {RETURN_TOPIC}
    | ORDER_TOPICS
    | FULFILLMENT_TOPICS
    | {"fulfillment_events/create", "refunds/create", "products/create", "products/update"}
)
PAID_STATUSES = {"paid", "partially_refunded", "refunded"}


def _line_items(payload: list[Any], field: str) -> list[LineItem]:
    result = []
    for index, raw in enumerate(payload):
        line = obj(raw, f"{field}[{index}]")
        result.append(
            LineItem(
                id=ident(line.get("id"), f"{field}[{index}].id") or "",
                product_id=ident(line.get("product_id"), f"{field}[{index}].product_id", required=False),
                name=text(line.get("name") or line.get("title"), 200) or "",
                product_type=(text(line.get("product_type"), 64) or "").lower() or None,
                quantity=quantity(line.get("quantity", 1), f"{field}[{index}].quantity"),
                price=money(line.get("price"), f"{field}[{index}].price"),
            )
        )
    return result


def _customer(order: dict[str, Any]) -> Customer:
    customer = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    assert isinstance(customer, dict)
    address = order.get("shipping_address") or order.get("billing_address") or {}
    first = customer.get("first_name") or (address.get("first_name") if isinstance(address, dict) else None)
    last = customer.get("last_name") or (address.get("last_name") if isinstance(address, dict) else None)
    name = " ".join(part for part in (first, last) if part) or None
    email = order.get("email") or order.get("contact_email") or customer.get("email")
    return Customer(
        email=text(email, 254), name=text(name, 120), locale=text(order.get("customer_locale"), 16)
    )


def _refunds(refunds: list[Any], field: str) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = {}
    for index, raw in enumerate(refunds):
        refund = obj(raw, f"{field}[{index}]")
        refund_id = ident(refund.get("id"), f"{field}[{index}].id") or ""
        lines: dict[str, int] = {}
        for line_index, raw_line in enumerate(
            items(refund.get("refund_line_items"), f"{field}[{index}].refund_line_items")
        ):
            line = obj(raw_line, f"{field}[{index}].refund_line_items[{line_index}]")
            line_id = ident(
                line.get("line_item_id"), f"{field}[{index}].refund_line_items[{line_index}].line_item_id"
            )
            lines[line_id or ""] = lines.get(line_id or "", 0) + quantity(
                line.get("quantity", 0), f"{field}[{index}].refund_line_items[{line_index}].quantity"
            )
        if lines:
            result[refund_id] = lines
    return result


def _earliest(values: list[datetime | None]) -> datetime | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _order_facts(topic: str, order: dict[str, Any], occurred_at: datetime) -> OrderFacts:
    as_of = timestamp(order.get("updated_at"), "updated_at") or occurred_at
    fulfillments = [
        obj(f, f"fulfillments[{i}]") for i, f in enumerate(items(order.get("fulfillments"), "fulfillments"))
    ]
    succeeded = [f for f in fulfillments if f.get("status") in (None, "success", "open")]
    fulfilled_at = _earliest([timestamp(f.get("created_at"), "fulfillments.created_at") for f in succeeded])
    if fulfilled_at is None and (
        topic == "orders/fulfilled" or order.get("fulfillment_status") == "fulfilled"
    ):
        fulfilled_at = as_of
    delivered_at = _earliest(
        [
            timestamp(f.get("updated_at"), "fulfillments.updated_at")
            for f in succeeded
            if f.get("shipment_status") == "delivered"
        ]
    )
    financial = order.get("financial_status")
    paid_at = None
    if topic == "orders/paid" or financial in PAID_STATUSES:
        paid_at = timestamp(order.get("processed_at"), "processed_at") or as_of
    return OrderFacts(
        order_id=ident(order.get("id"), "id") or "",
        name=text(order.get("name"), 64),
        test=bool(order.get("test")),
        currency=text(order.get("currency"), 3),
        customer=CustomerSnapshot(as_of=as_of, customer=_customer(order)),
        items=ItemsSnapshot(
            as_of=as_of, items=_line_items(items(order.get("line_items"), "line_items"), "line_items")
        ),
        paid_at=paid_at,
        fulfilled_at=fulfilled_at,
        delivered_at=delivered_at,
        cancelled_at=timestamp(order.get("cancelled_at"), "cancelled_at")
        or (as_of if topic == "orders/cancelled" else None),
        fully_refunded_at=as_of if financial == "refunded" else None,
        refunds=_refunds(items(order.get("refunds"), "refunds"), "refunds"),
    )


def _return_request(
    store_id: str, topic: str, event_key: str, occurred_at: datetime, body: dict[str, Any]
) -> NormalizedEvent:
    """``returns/request``: a return the customer asked for in the Shopify store."""
    order = obj(body.get("order") or {}, "order")
    raw_lines = items(body.get("return_line_items"), "return_line_items")
    lines = []
    for index, raw in enumerate(raw_lines):
        field = f"return_line_items[{index}]"
        line = obj(raw, field)
        fulfilled = obj(line.get("fulfillment_line_item") or {}, f"{field}.fulfillment_line_item")
        item = obj(fulfilled.get("line_item") or {}, f"{field}.fulfillment_line_item.line_item")
        lines.append(
            ReturnLine(
                line_item_id=ident(item.get("id"), f"{field}.fulfillment_line_item.line_item.id") or "",
                quantity=max(1, quantity(line.get("quantity", 1), f"{field}.quantity")),
            )
        )
    if not lines:
        raise PayloadError("return_line_items", "must name at least one item")
    first = obj(raw_lines[0], "return_line_items[0]")
    returned = ReturnEvent(
        kind="requested",
        store_return_id=ident(body.get("id"), "id"),
        order_id=ident(order.get("id"), "order.id"),
        lines=lines,
        reason=text(first.get("return_reason") or first.get("customer_note"), 200) or "",
    )
    return NormalizedEvent(
        store_id=store_id,
        integration="shopify",
        topic=topic,
        event_key=event_key,
        occurred_at=occurred_at,
        return_event=returned,
    )


def normalize(
    store_id: str, topic: str, event_key: str, occurred_at: datetime, payload: Any
) -> NormalizedEvent:
    body = obj(payload, "(body)")
    facts: OrderFacts | None = None
    products: list[ProductTypeUpdate] = []
    if topic in ORDER_TOPICS:
        facts = _order_facts(topic, body, occurred_at)
    elif topic in FULFILLMENT_TOPICS:
        status = body.get("status")
        fulfilled = (
            timestamp(body.get("created_at"), "created_at") if status in (None, "success", "open") else None
        )
        delivered = None
        if status in (None, "success") and body.get("shipment_status") == "delivered":
            delivered = timestamp(body.get("updated_at"), "updated_at") or occurred_at
        facts = OrderFacts(
            order_id=ident(body.get("order_id"), "order_id") or "",
            fulfilled_at=fulfilled,
            delivered_at=delivered,
        )
    elif topic == "fulfillment_events/create":
        delivered = None
        if body.get("status") == "delivered":
            delivered = timestamp(body.get("happened_at"), "happened_at") or occurred_at
        facts = OrderFacts(order_id=ident(body.get("order_id"), "order_id") or "", delivered_at=delivered)
    elif topic == "refunds/create":
        refund_id = ident(body.get("id"), "id") or ""
        lines = _refunds([{"id": refund_id, "refund_line_items": body.get("refund_line_items")}], "refund")
        facts = OrderFacts(order_id=ident(body.get("order_id"), "order_id") or "", refunds=lines)
    elif topic == RETURN_TOPIC:
        return _return_request(store_id, topic, event_key, occurred_at, body)
    elif topic in {"products/create", "products/update"}:
        product_type = (text(body.get("product_type"), 64) or "").lower() or None
        products = [
            ProductTypeUpdate(product_id=ident(body.get("id"), "id") or "", product_type=product_type)
        ]
    if facts is not None and not facts.order_id:
        raise PayloadError("order_id", "is required")
    return NormalizedEvent(
        store_id=store_id,
        integration="shopify",
        topic=topic,
        event_key=event_key,
        occurred_at=occurred_at,
        facts=facts,
        products=products,
    )
