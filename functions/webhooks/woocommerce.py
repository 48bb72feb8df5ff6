"""WooCommerce webhooks (order.* and product.*) → order facts.

WooCommerce has no delivery status and no product type on line items: a line item meta value
``product_type`` (or ``_product_type``) wins, then product webhooks, whose categories are matched
against the store's configured product types. An order meta ``aftercare_delivered_at`` (set by a
shipment-tracking plugin or the store) gives the delivery time; otherwise completion counts as
fulfilment and the store's transit time applies.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from functions.orders import models
from functions.webhooks import parsing

LOCALE_META_KEYS = ("locale", "_locale", "wpml_language", "pll_language", "language")
TYPE_META_KEYS = ("product_type", "_product_type", "aftercare_product_type")
ORDER_TOPICS = {"order.created", "order.updated", "order.restored"}
PRODUCT_TOPICS = {"product.created", "product.updated"}


def _meta(entries: Any) -> dict[str, Any]:
    """``meta_data`` entries as a mapping; entries that are not ``{"key": text, "value": …}`` are ignored."""
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


def _type_label(value: Any) -> str | None:
    return (parsing.text(value, parsing.PRODUCT_TYPE_LENGTH) or "").lower() or None


def _meta_type(meta: dict[str, Any]) -> str | None:
    """The product type a meta value names explicitly (first usable key wins)."""
    return next((label for key in TYPE_META_KEYS if (label := _type_label(meta.get(key)))), None)


def _unit_price(value: Any) -> Any:
    """WooCommerce sends ``price`` as total / quantity, a float such as 16.666666666666668: keep 4 places."""
    if isinstance(value, float) and math.isfinite(value) and abs(value) < 1e12:
        return Decimal(repr(value)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
    return value


def _line_items(payload: list[Any], notes: list[str]) -> list[models.LineItem]:
    result = []
    for index, raw in enumerate(payload):
        field = f"line_items[{index}]"
        line = parsing.obj(raw, field)
        product_id = parsing.ident(line.get("product_id"), f"{field}.product_id", required=False)
        result.append(
            models.LineItem(
                id=parsing.ident(line.get("id"), f"{field}.id") or "",
                product_id=None if product_id == "0" else product_id,
                name=parsing.first_name_of(
                    [(line.get("name"), f"{field}.name")], notes, parsing.PRODUCT_NAME_LENGTH
                )
                or "",
                product_type=_meta_type(_meta(line.get("meta_data"))),
                quantity=parsing.quantity(line.get("quantity", 1), f"{field}.quantity"),
                price=parsing.money(_unit_price(line.get("price")), f"{field}.price"),
            )
        )
    return result


def _customer(order: dict[str, Any], notes: list[str]) -> models.Customer:
    billing = parsing.optional_obj(order.get("billing"))
    meta = _meta(order.get("meta_data"))
    raw_locale = next((meta[key] for key in LOCALE_META_KEYS if meta.get(key)), None)
    parts = [
        parsing.first_name_of([(billing.get(key), f"billing.{key}")], notes, parsing.NAME_PART_LENGTH)
        for key in ("first_name", "last_name")
    ]
    return models.Customer(
        email=parsing.customer_email(billing.get("email"), notes),
        name=parsing.text(" ".join(p for p in parts if p), parsing.NAME_LENGTH),
        locale=parsing.customer_locale(raw_locale, notes),
    )


def _order_facts(order: dict[str, Any], occurred_at: datetime, notes: list[str]) -> models.OrderFacts:
    as_of = parsing.timestamp(order.get("date_modified_gmt"), "date_modified_gmt") or occurred_at
    meta = _meta(order.get("meta_data"))
    state = parsing.status(order.get("status"))
    completed = parsing.timestamp(order.get("date_completed_gmt"), "date_completed_gmt")
    line_items = _line_items(parsing.items(order.get("line_items"), "line_items"), notes)
    return models.OrderFacts(
        order_id=parsing.ident(order.get("id"), "id") or "",
        name=parsing.first_name_of([(order.get("number"), "number")], notes, parsing.ORDER_NAME_LENGTH),
        currency=parsing.currency(order.get("currency"), "currency", notes),
        customer=models.CustomerSnapshot(as_of=as_of, customer=_customer(order, notes)),
        items=models.ItemsSnapshot(as_of=as_of, items=line_items),
        paid_at=parsing.timestamp(order.get("date_paid_gmt"), "date_paid_gmt"),
        fulfilled_at=completed or (as_of if state == "completed" else None),
        delivered_at=parsing.timestamp(
            meta.get("aftercare_delivered_at"), "meta_data.aftercare_delivered_at"
        ),
        cancelled_at=as_of if state == "cancelled" else None,
        fully_refunded_at=as_of if state == "refunded" else None,
    )


def _known(label: str, known_types: set[str]) -> str | None:
    """The store's product type a category label names (``gift-card`` matches ``gift card``)."""
    for candidate in (label, label.replace("-", " ")):
        if candidate in known_types:
            return candidate
    return None


def _product_type(product: dict[str, Any], known_types: set[str]) -> str | None:
    """A meta value naming the type wins; then the first category that is a known type; then the first."""
    explicit = _meta_type(_meta(product.get("meta_data")))
    if explicit:
        return explicit
    categories = [c for c in parsing.items(product.get("categories"), "categories") if isinstance(c, dict)]
    labels = [label for c in categories for k in ("slug", "name") if (label := _type_label(c.get(k)))]
    known = next((found for label in labels if (found := _known(label, known_types))), None)
    return known or next(iter(labels), None)


def normalize(delivery: models.Delivery, payload: Any, known_types: set[str]) -> models.NormalizedEvent:
    """One WooCommerce delivery as order facts or a product's type; other topics are ignored."""
    topic, occurred_at = delivery.topic, delivery.occurred_at
    facts: models.OrderFacts | None = None
    products: list[models.ProductTypeUpdate] = []
    notes: list[str] = []
    if topic in ORDER_TOPICS:
        facts = _order_facts(parsing.obj(payload, "(body)"), occurred_at, notes)
    elif topic in PRODUCT_TOPICS:
        body = parsing.obj(payload, "(body)")
        products = [
            models.ProductTypeUpdate(
                product_id=parsing.ident(body.get("id"), "id") or "",
                product_type=_product_type(body, known_types),
            )
        ]
    return models.NormalizedEvent(**dict(delivery), facts=facts, products=products, notes=notes)
