"""Authenticate and decode one delivery: the signature over the raw bytes, then JSON, then the payload.

Nothing here writes anything. A platform delivery that is authentic but unusable raises
``Quarantine``; a generic one raises the ``Rejection`` naming what the store's own code got wrong.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.orders.models import Delivery, NormalizedEvent
from functions.orders.store import EventRecord
from functions.shared import clock, signatures
from functions.stores.models import Store
from functions.webhooks import generic, parsing, shopify, woocommerce
from functions.webhooks.errors import Quarantine, Refusal, Rejection

MAX_BODY_BYTES = 1024 * 1024
MAX_EVENT_KEY = 200
PLATFORMS = frozenset({"shopify", "woocommerce"})
KEPT_HEADERS = (
    "x-shopify-topic",
    "x-shopify-event-id",
    "x-shopify-webhook-id",
    "x-shopify-triggered-at",
    "x-shopify-shop-domain",
    "shopify-topic",
    "shopify-event-id",
    "shopify-webhook-id",
    "shopify-triggered-at",
    "shopify-shop-domain",
    "x-wc-webhook-topic",
    "x-wc-webhook-delivery-id",
    "x-wc-webhook-id",
    "x-wc-webhook-source",
    "user-agent",
)


@dataclass
class Incoming:
    store_id: str
    integration: str
    headers: dict[str, str]  # lower-case names
    raw_body: bytes

    @property
    def platform(self) -> bool:
        """Shopify or WooCommerce: an authentic delivery they cannot use is quarantined, not refused."""
        return self.integration in PLATFORMS

    def shopify(self, name: str) -> str | None:
        """A Shopify header: ``X-Shopify-<name>`` for webhooks, ``Shopify-<name>`` for Events webhooks."""
        return self.headers.get(f"x-shopify-{name}") or self.headers.get(f"shopify-{name}")

    def body_hash(self) -> str:
        return hashlib.sha256(self.raw_body).hexdigest()

    def kept_headers(self, limit: int | None = None) -> dict[str, str]:
        return {k: v[:limit] for k, v in self.headers.items() if k in KEPT_HEADERS}


def event_key(value: str) -> str:
    """A de-duplication key that fits a DynamoDB sort key: short printable ids as they are, else a digest."""
    if 0 < len(value) <= MAX_EVENT_KEY and value.isprintable() and value.isascii():
        return value
    return "sha256-" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()


def verify(incoming: Incoming, secrets: list[str]) -> signatures.Verification:
    """The delivery's signature checked against the store's secrets for its integration."""
    body = incoming.raw_body
    if incoming.integration == "shopify":
        return signatures.verify_base64_hmac(
            "shopify-hmac-sha256", body, incoming.shopify("hmac-sha256"), secrets
        )
    if incoming.integration == "woocommerce":
        signature = incoming.headers.get("x-wc-webhook-signature")
        return signatures.verify_base64_hmac("woocommerce-hmac-sha256", body, signature, secrets)
    signature = incoming.headers.get("x-aftercare-signature")
    return signatures.verify_generic(body, signature, secrets, clock.wall_now())


def _payload(incoming: Incoming) -> Any:
    try:
        return json.loads(incoming.raw_body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # ValueError: bad JSON, or a 5000-digit number
        if incoming.platform:
            raise Quarantine("the body is not valid UTF-8 JSON") from None
        raise Rejection(Refusal.NOT_JSON, "The webhook body is not valid UTF-8 JSON.") from None


def _shopify(incoming: Incoming, store: Store, payload: Any, now: datetime) -> NormalizedEvent:
    topic = incoming.shopify("topic") or ""
    if not topic:
        raise Quarantine("the Shopify-Topic header is missing")
    key = event_key(incoming.shopify("event-id") or incoming.shopify("webhook-id") or incoming.body_hash())
    occurred = None
    triggered = incoming.shopify("triggered-at")
    if triggered:
        try:
            occurred = parsing.timestamp(triggered, "X-Shopify-Triggered-At")
        except parsing.PayloadError:
            occurred = None  # an unreadable delivery time is not worth losing the event: use receipt time
    delivery = Delivery(
        store_id=store.id, integration="shopify", topic=topic, event_key=key, occurred_at=occurred or now
    )
    return shopify.normalize(delivery, payload)


def _woocommerce(incoming: Incoming, store: Store, payload: Any, now: datetime) -> NormalizedEvent:
    topic = incoming.headers.get("x-wc-webhook-topic", "")
    if not topic:
        raise Quarantine("the X-WC-Webhook-Topic header is missing")
    known = set(store.config.outreach.product_types)
    key = incoming.body_hash()
    delivery = Delivery(
        store_id=store.id, integration="woocommerce", topic=topic, event_key=key, occurred_at=now
    )
    return woocommerce.normalize(delivery, payload, known)


def _generic(incoming: Incoming, store: Store, payload: Any, now: datetime) -> NormalizedEvent:
    from pydantic import ValidationError

    from functions.shared.http import validation_fields

    try:
        event = generic.GenericEvent.model_validate(payload)
    except ValidationError as error:
        raise Rejection(
            Refusal.INVALID, "The event is missing fields or has invalid ones.", validation_fields(error)
        ) from None
    return generic.normalize(store.id, event)


DECODERS: dict[str, Callable[[Incoming, Store, Any, datetime], NormalizedEvent]] = {
    "shopify": _shopify,
    "woocommerce": _woocommerce,
    "generic": _generic,
}


def decode(incoming: Incoming, store: Store, now: datetime) -> NormalizedEvent:
    """The authenticated delivery as a normalized event (``now`` stands in for a missing event time)."""
    if len(incoming.raw_body) > MAX_BODY_BYTES:
        raise Quarantine(f"the body is larger than {MAX_BODY_BYTES} bytes")  # only platforms get this far
    payload = _payload(incoming)
    try:
        return DECODERS[incoming.integration](incoming, store, payload, now)
    except parsing.PayloadError as error:
        if incoming.platform:
            raise Quarantine(f"{error.field}: {error.problem}", order_id_of(payload)) from None
        raise Rejection.invalid(
            "The webhook payload is missing fields or has invalid ones.", error.field, error.problem
        ) from None


def _plain_id(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**30:
        return str(value)
    if isinstance(value, str) and 0 < len(value) <= 64 and value.isalnum():
        return value
    return None


def order_id_of(payload: Any) -> str | None:
    """The order a quarantined platform payload is about, when it names one plainly."""
    if not isinstance(payload, dict):
        return None
    order = payload.get("order")
    candidates = (
        payload.get("order_id"),
        payload.get("id"),
        order.get("id") if isinstance(order, dict) else None,
    )
    return next((found for value in candidates if (found := _plain_id(value)) is not None), None)


def event_record(
    incoming: Incoming, event: NormalizedEvent, verification: signatures.Verification
) -> EventRecord:
    """What the order's history keeps of an accepted delivery."""
    return EventRecord(
        integration=event.integration,
        topic=event.topic,
        event_key=event.event_key,
        occurred_at=event.occurred_at,
        raw_body=incoming.raw_body,
        verification=verification.audit(),
        headers=incoming.kept_headers(),
        notes=list(event.notes),
    )


def unusable_record(incoming: Incoming, verification: signatures.Verification, now: datetime) -> EventRecord:
    """What the quarantine keeps of an authentic delivery that could not be decoded."""
    shopify_delivery = incoming.integration == "shopify"
    topic = incoming.shopify("topic") if shopify_delivery else incoming.headers.get("x-wc-webhook-topic")
    key = incoming.shopify("event-id") if shopify_delivery else None
    return EventRecord(
        integration=incoming.integration,
        topic=event_key(topic or "unknown"),
        event_key=event_key(key or incoming.body_hash()),
        occurred_at=now,
        raw_body=incoming.raw_body,
        verification=verification.audit(),
        headers=incoming.kept_headers(500),
    )
