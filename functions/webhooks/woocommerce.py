"""WooCommerce webhooks (order.* and product.*) → order facts.

WooCommerce has no delivery status and no product type on line items: a line item meta value
``product_type`` (or ``_product_type``) wins, then product webhooks, whose categories are matched
against the store's configured product types. An order meta ``aftercare_delivered_at`` (set by a
shipment-tracking plugin or the store) gives the delivery time; otherwise completion counts as
fulfilment and the store's transit time applies.
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
)
from functions.webhooks.parsing import PayloadError, ident, items, money, obj, quantity, text, timestamp

LOCALE_META_KEYS = ("locale", "_locale", "wpml_language", "pll_language", "language")
TYPE_META_KEYS = ("product_type", "_product_type", "aftercare_product_type")


def _meta(entries: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("key"), str):
                result[entry["key"]] = entry.get("value")
    return result


def is_ping(raw_body: bytes, content_type: str) -> bool:
    """WooCommerce's unsigned first delivery: ``webhook_id=<n>`` as a form body."""
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return False
    key, _, value = raw_body.decode("ascii", "replace").strip().partition("=")
    return key == "webhook_id" and value.isdigit() and len(value) < 20


def _line_items(payload: list[Any]) -> list[LineItem]:
    result = []
    for index, raw in enumerate(payload):
        field = f"line_items[{index}]"
        line = obj(raw, field)
        meta = _meta(line.get("meta_data"))
        product_type = next((str(meta[key]) for key in TYPE_META_KEYS if meta.get(key)), None)
        product_id = ident(line.get("product_id"), f"{field}.product_id", required=False)
        result.append(
            LineItem(
                id=ident(line.get("id"), f"{field}.id") or "",
                product_id=None if product_id == "0" else product_id,
                name=text(line.get("name"), 200) or "",
                product_type=(text(product_type, 64) or "").lower() or None,
                quantity=quantity(line.get("quantity", 1), f"{field}.quantity"),
                price=money(line.get("price"), f"{field}.price"),
            )
        )
    return result


def _order_facts(order: dict[str, Any], occurred_at: datetime) -> OrderFacts:
    as_of = timestamp(order.get("date_modified_gmt"), "date_modified_gmt") or occurred_at
    billing = order.get("billing") if isinstance(order.get("billing"), dict) else {}
    assert isinstance(billing, dict)
    meta = _meta(order.get("meta_data"))
    locale = next((str(meta[key]) for key in LOCALE_META_KEYS if meta.get(key)), None)
    name = " ".join(part for part in (billing.get("first_name"), billing.get("last_name")) if part) or None
    status = order.get("status")
    completed = timestamp(order.get("date_completed_gmt"), "date_completed_gmt")
    return OrderFacts(
        order_id=ident(order.get("id"), "id") or "",
        name=text(order.get("number"), 64),
        currency=text(order.get("currency"), 3),
        customer=CustomerSnapshot(
            as_of=as_of,
            customer=Customer(
                email=text(billing.get("email"), 254), name=text(name, 120), locale=text(locale, 16)
            ),
        ),
        items=ItemsSnapshot(as_of=as_of, items=_line_items(items(order.get("line_items"), "line_items"))),
        paid_at=timestamp(order.get("date_paid_gmt"), "date_paid_gmt"),
        fulfilled_at=completed or (as_of if status == "completed" else None),
        delivered_at=timestamp(meta.get("aftercare_delivered_at"), "meta_data.aftercare_delivered_at"),
        cancelled_at=as_of if status == "cancelled" else None,
        fully_refunded_at=as_of if status == "refunded" else None,
    )


def _product_type(product: dict[str, Any], known_types: set[str]) -> str | None:
    meta = _meta(product.get("meta_data"))
    explicit = next((str(meta[key]) for key in TYPE_META_KEYS if meta.get(key)), None)
    if explicit:
        return explicit.lower()
    categories = [c for c in items(product.get("categories"), "categories") if isinstance(c, dict)]
    names = [str(c.get(k, "")).lower() for c in categories for k in ("slug", "name") if c.get(k)]
    for name in names:
        if name in known_types or name.replace("-", " ") in known_types:
            return name if name in known_types else name.replace("-", " ")
    return names[0] if names else None


def normalize(
    store_id: str, topic: str, event_key: str, occurred_at: datetime, payload: Any, known_types: set[str]
) -> NormalizedEvent:
    body = obj(payload, "(body)")
    facts: OrderFacts | None = None
    products: list[ProductTypeUpdate] = []
    if topic in {"order.created", "order.updated", "order.restored"}:
        facts = _order_facts(body, occurred_at)
        if not facts.order_id:
            raise PayloadError("id", "is required")
    elif topic in {"product.created", "product.updated"}:
        products = [
            ProductTypeUpdate(
                product_id=ident(body.get("id"), "id") or "", product_type=_product_type(body, known_types)
            )
        ]
    return NormalizedEvent(
        store_id=store_id,
        integration="woocommerce",
        topic=topic,
        event_key=event_key,
        occurred_at=occurred_at,
        facts=facts,
        products=products,
    )
