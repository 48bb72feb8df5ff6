"""Realistic platform payloads (written from Shopify's, WooCommerce's and our own documented formats)
and signing helpers, shared by the webhook tests, the e2e test and the benchmark."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from functions.shared.signatures import sign_generic

BIG_ORDER_ID = 5678901234567890123  # above 2**53: must survive exactly
BIG_CUSTOMER_ID = 7012345678901234567


def shopify_line(
    line_id: int, product_id: int, title: str, quantity: int = 1, price: str = "49.00"
) -> dict[str, Any]:
    return {
        "id": line_id,
        "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
        "product_id": product_id,
        "variant_id": product_id + 1,
        "title": title,
        "name": f"{title} - Default",
        "variant_title": "Default",
        "sku": f"SKU-{product_id % 10000}",
        "vendor": "Demo Outfitters",
        "quantity": quantity,
        "price": price,
        "requires_shipping": True,
        "taxable": True,
        "fulfillment_status": None,
        "properties": [],
    }


def shopify_order(
    order_id: int = BIG_ORDER_ID,
    lines: list[dict[str, Any]] | None = None,
    *,
    email: str = "ana@example.com",
    locale: str = "en",
    financial_status: str = "paid",
    test: bool = False,
    updated_at: str = "2026-11-01T10:05:00-05:00",
    **overrides: Any,
) -> dict[str, Any]:
    order = {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": "#1001",
        "order_number": 1001,
        "email": email,
        "contact_email": email,
        "created_at": "2026-11-01T10:00:00-05:00",
        "updated_at": updated_at,
        "processed_at": "2026-11-01T10:00:00-05:00",
        "currency": "EUR",
        "presentment_currency": "EUR",
        "total_price": "98.00",
        "financial_status": financial_status,
        "fulfillment_status": None,
        "test": test,
        "cancelled_at": None,
        "cancel_reason": None,
        "customer_locale": locale,
        "tags": "",
        "customer": {
            "id": BIG_CUSTOMER_ID,
            "email": email,
            "first_name": "Ana",
            "last_name": "Lima",
            "accepts_marketing": False,
        },
        "shipping_address": {"first_name": "Ana", "last_name": "Lima", "city": "Porto", "country_code": "PT"},
        "line_items": lines
        if lines is not None
        else [shopify_line(16000000000000000001, 8000000000000000001, "Linen shirt")],
        "fulfillments": [],
        "refunds": [],
    }
    order.update(overrides)
    return order


def shopify_fulfillment(
    order_id: int,
    created_at: str,
    *,
    shipment_status: str | None = None,
    updated_at: str | None = None,
    status: str = "success",
) -> dict[str, Any]:
    return {
        "id": 4000000000000000001,
        "order_id": order_id,
        "status": status,
        "created_at": created_at,
        "updated_at": updated_at or created_at,
        "service": "manual",
        "tracking_company": "DHL",
        "tracking_number": "JD014600003928388911",
        "shipment_status": shipment_status,
        "line_items": [],
    }


def shopify_delivered_event(order_id: int, happened_at: str) -> dict[str, Any]:
    return {
        "id": 9000000000000000001,
        "fulfillment_id": 4000000000000000001,
        "status": "delivered",
        "message": "Delivered to the front door",
        "happened_at": happened_at,
        "city": "Porto",
        "country": "Portugal",
        "created_at": happened_at,
        "order_id": order_id,
        "shop_id": 600000001,
    }


def shopify_refund(order_id: int, refund_id: int, line_item_id: int, quantity: int = 1) -> dict[str, Any]:
    return {
        "id": refund_id,
        "order_id": order_id,
        "created_at": "2026-11-08T12:00:00Z",
        "note": "Customer changed their mind",
        "restock": True,
        "refund_line_items": [
            {
                "id": refund_id + 1,
                "line_item_id": line_item_id,
                "quantity": quantity,
                "restock_type": "return",
                "subtotal": 49.0,
            }
        ],
        "transactions": [{"kind": "refund", "status": "success", "amount": "49.00"}],
    }


def shopify_headers(secret: str, body: bytes, topic: str, event_id: str | None = None) -> dict[str, str]:
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {
        "content-type": "application/json",
        "x-shopify-topic": topic,
        "x-shopify-hmac-sha256": digest,
        "x-shopify-shop-domain": "demo-outfitters.myshopify.com",
        "x-shopify-api-version": "2026-10",
        "x-shopify-webhook-id": str(uuid.uuid4()),
        "x-shopify-event-id": event_id or str(uuid.uuid4()),
        "x-shopify-triggered-at": "2026-11-01T15:05:00.000000Z",
    }


def woo_order(
    order_id: int = 4242,
    *,
    status: str = "completed",
    email: str = "li@example.com",
    lines: list[dict[str, Any]] | None = None,
    meta: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "id": order_id,
        "parent_id": 0,
        "number": str(order_id),
        "status": status,
        "currency": "EUR",
        "date_created_gmt": "2026-11-01T09:00:00",
        "date_modified_gmt": "2026-11-03T09:00:00",
        "date_paid_gmt": "2026-11-01T09:01:00",
        "date_completed_gmt": "2026-11-03T09:00:00" if status == "completed" else None,
        "billing": {"first_name": "Li", "last_name": "Wei", "email": email, "country": "DE"},
        "shipping": {"first_name": "Li", "last_name": "Wei", "country": "DE"},
        "payment_method": "stripe",
        "customer_id": 17,
        "line_items": lines
        if lines is not None
        else [
            {
                "id": 301,
                "name": "Trail headlamp",
                "product_id": 77,
                "variation_id": 0,
                "quantity": 1,
                "price": 35.5,
                "sku": "HL-1",
                "meta_data": [],
            }
        ],
        "meta_data": meta or [],
        "refunds": [],
    }


def woo_headers(secret: str, body: bytes, topic: str) -> dict[str, str]:
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {
        "content-type": "application/json",
        "x-wc-webhook-source": "https://shop.example.com/",
        "x-wc-webhook-topic": topic,
        "x-wc-webhook-resource": topic.split(".")[0],
        "x-wc-webhook-event": topic.split(".")[1],
        "x-wc-webhook-signature": digest,
        "x-wc-webhook-id": "12",
        "x-wc-webhook-delivery-id": str(uuid.uuid4()),
        "user-agent": "WooCommerce/9.4.0 Hookshot (WordPress/6.7)",
    }


def generic_event(
    event_type: str,
    order: dict[str, Any],
    *,
    event_id: str | None = None,
    occurred_at: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A generic event, happening now (on Aftercare's clock) unless ``occurred_at`` says otherwise."""
    from functions.shared import clock

    return {
        "id": event_id or f"evt_{uuid.uuid4().hex}",
        "type": event_type,
        "occurred_at": occurred_at or clock.isoformat(clock.now()),
        "order": order,
        **extra,
    }


def generic_order(
    order_id: str = "A-1001", items: list[tuple[str, str, str]] | None = None, **overrides: Any
) -> dict[str, Any]:
    """``items``: (line id, product id, product type)."""
    lines = items or [("l1", "p-shirt", "clothing")]
    order = {
        "id": order_id,
        "name": f"#{order_id}",
        "currency": "EUR",
        "customer": {"email": "sam@example.com", "name": "Sam Rivera", "locale": "en"},
        "line_items": [
            {
                "id": lid,
                "product_id": pid,
                "name": f"Product {pid}",
                "product_type": ptype,
                "quantity": 1,
                "price": "20.00",
            }
            for lid, pid, ptype in lines
        ],
    }
    order.update(overrides)
    return order


def generic_headers(secrets: list[str], body: bytes, at: int | None = None) -> dict[str, str]:
    at = at if at is not None else int(time.time())
    parts = [sign_generic(secret, body, at) for secret in secrets]
    signature = ",".join([parts[0], *[p.split(",", 1)[1] for p in parts[1:]]])
    return {"content-type": "application/json", "x-aftercare-signature": signature}


def body_of(payload: Any) -> bytes:
    return json.dumps(payload).encode()
