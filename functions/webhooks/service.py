"""Receive a store's webhook: authenticate it, decode it, and apply it exactly once.

Order of checks: store (404), integration enabled (404), WooCommerce ping (200), size (413, generic),
signature over the raw bytes (401), JSON (400), payload shape (422). Nothing is stored before the
signature is verified, and everything the event changes is written in one transaction.

Shopify and WooCommerce retry any error and then disable the webhook, so an authentic (correctly
signed) delivery Aftercare cannot use is answered 200 and *quarantined*: kept with its reason, listed
for the store and shown in its order's history, counted as a metric. Only a forged delivery is
refused, and a transient AWS failure answers 503 so the platform retries. The generic integration is
the store's own code: it gets a 4xx naming each bad field.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from functions.orders import service as orders
from functions.orders.models import NormalizedEvent
from functions.orders.store import EventRecord, OrderRepository
from functions.shared import clock
from functions.shared.errors import Conflict, DependencyFailed, Throttled
from functions.shared.observability import logger, metrics
from functions.stores.models import Store
from functions.stores.store import StoreRepository
from functions.webhooks import generic, shopify, signatures, woocommerce
from functions.webhooks.parsing import PayloadError

MAX_BODY_BYTES = 1024 * 1024
MAX_EVENT_KEY = 200
PLATFORMS = frozenset({"shopify", "woocommerce"})
IDEMPOTENCY_SECONDS = 3 * 24 * 3600  # Shopify retries for up to 48 hours
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
class Rejection(Exception):
    status: int
    code: str
    message: str
    fields: list[dict[str, str]] | None = None


class Quarantine(Exception):
    """An authentic platform delivery that cannot be used; kept with ``reason`` and answered 200."""

    def __init__(self, reason: str, order_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.order_id = order_id


@dataclass
class Incoming:
    store_id: str
    integration: str
    headers: dict[str, str]  # lower-case names
    raw_body: bytes

    def shopify(self, name: str) -> str | None:
        """A Shopify header: ``X-Shopify-<name>`` for webhooks, ``Shopify-<name>`` for Events webhooks."""
        return self.headers.get(f"x-shopify-{name}") or self.headers.get(f"shopify-{name}")


def event_key(value: str) -> str:
    """A de-duplication key that fits a DynamoDB sort key: short printable ids as they are, else a digest."""
    if 0 < len(value) <= MAX_EVENT_KEY and value.isprintable() and value.isascii():
        return value
    return "sha256-" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()


def _verify(incoming: Incoming, secrets: list[str]) -> signatures.Verification:
    if incoming.integration == "shopify":
        return signatures.verify_base64_hmac(
            "shopify-hmac-sha256", incoming.raw_body, incoming.shopify("hmac-sha256"), secrets
        )
    if incoming.integration == "woocommerce":
        return signatures.verify_base64_hmac(
            "woocommerce-hmac-sha256",
            incoming.raw_body,
            incoming.headers.get("x-wc-webhook-signature"),
            secrets,
        )
    return signatures.verify_generic(
        incoming.raw_body, incoming.headers.get("x-aftercare-signature"), secrets, clock.wall_now()
    )


def _payload(incoming: Incoming) -> Any:
    try:
        return json.loads(incoming.raw_body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # ValueError: bad JSON, or a 5000-digit number
        if incoming.integration in PLATFORMS:
            raise Quarantine("the body is not valid UTF-8 JSON") from None
        raise Rejection(400, "invalid_json", "The webhook body is not valid UTF-8 JSON.") from None


def _shopify(incoming: Incoming, store: Store, payload: Any, body_hash: str) -> NormalizedEvent:
    from functions.webhooks.parsing import timestamp

    topic = incoming.shopify("topic") or ""
    if not topic:
        raise Quarantine("the Shopify-Topic header is missing")
    key = event_key(incoming.shopify("event-id") or incoming.shopify("webhook-id") or body_hash)
    occurred = None
    triggered = incoming.shopify("triggered-at")
    if triggered:
        try:
            occurred = timestamp(triggered, "X-Shopify-Triggered-At")
        except PayloadError:
            occurred = None  # an unreadable delivery time is not worth losing the event: use receipt time
    return shopify.normalize(store.id, topic, key, occurred or clock.now(), payload)


def _decode(incoming: Incoming, store: Store) -> NormalizedEvent:
    payload = _payload(incoming)
    body_hash = hashlib.sha256(incoming.raw_body).hexdigest()
    try:
        if incoming.integration == "shopify":
            return _shopify(incoming, store, payload, body_hash)
        if incoming.integration == "woocommerce":
            topic = incoming.headers.get("x-wc-webhook-topic", "")
            if not topic:
                raise Quarantine("the X-WC-Webhook-Topic header is missing")
            known = set(store.config.outreach.product_types)
            return woocommerce.normalize(store.id, topic, body_hash, clock.now(), payload, known)
        return _generic(store, payload)
    except PayloadError as error:
        if incoming.integration in PLATFORMS:
            raise Quarantine(f"{error.field}: {error.problem}", _order_id_of(payload)) from None
        raise Rejection(
            422,
            "validation_failed",
            "The webhook payload is missing fields or has invalid ones.",
            [{"field": error.field, "problem": error.problem}],
        ) from None


def _generic(store: Store, payload: Any) -> NormalizedEvent:
    from pydantic import ValidationError

    from functions.shared.http import validation_fields

    try:
        event = generic.GenericEvent.model_validate(payload)
    except ValidationError as error:
        raise Rejection(
            422,
            "validation_failed",
            "The event is missing fields or has invalid ones.",
            validation_fields(error),
        ) from None
    return generic.normalize(store.id, event)


def _order_id_of(payload: Any) -> str | None:
    """The order a quarantined platform payload is about, when it names one plainly."""
    if not isinstance(payload, dict):
        return None
    for value in (
        payload.get("order_id"),
        payload.get("id"),
        (payload.get("order") or {}).get("id") if isinstance(payload.get("order"), dict) else None,
    ):
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**30:
            return str(value)
        if isinstance(value, str) and 0 < len(value) <= 64 and value.isalnum():
            return value
    return None


def _idempotent_apply() -> Any:
    """``orders.apply_event`` wrapped in Powertools idempotency, built once the settings are known."""
    cached = _state.get("apply")
    if cached is not None:
        return cached
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    from functions.shared import aws
    from functions.shared.settings import get_settings

    def mark_replayed(response: Any, idempotent_data: Any) -> Any:
        if isinstance(response, dict):
            return {**response, "duplicate": True, "status": "duplicate"}
        return response

    persistence = DynamoDBPersistenceLayer(
        table_name=get_settings().idempotency_table, boto3_client=aws.dynamodb()
    )
    config = IdempotencyConfig(
        event_key_jmespath="[store_id, integration, event_key]",
        expires_after_seconds=IDEMPOTENCY_SECONDS,
        response_hook=mark_replayed,
    )

    def apply_once(
        *, event: dict[str, Any], record: EventRecord, store: Store, repository: OrderRepository
    ) -> Any:
        normalized = NormalizedEvent.model_validate(event)
        if normalized.review is not None:
            return record_submitted_review(normalized, record, store, repository)
        if normalized.return_event is not None:
            return apply_return_event(normalized, record, store, repository)
        return orders.apply_event(normalized, record, store.config, repository)

    decorate = idempotent_function(
        data_keyword_argument="event", persistence_store=persistence, config=config, key_prefix="webhook"
    )
    apply = cast(Callable[..., dict[str, Any]], decorate(apply_once))

    _state["apply"] = apply
    _state["config"] = config
    return apply


def record_submitted_review(
    event: NormalizedEvent, record: EventRecord, store: Store, repository: OrderRepository
) -> dict[str, Any]:
    """A review the store collected: keep the event, save it as an answer (flagging follows from there)."""
    from functions.orders.store import DuplicateEvent
    from functions.responses.store import Answer, default_repository

    review = event.review
    assert review is not None
    try:
        repository.record_event(store.id, review.order_id, record)
    except DuplicateEvent:
        return {"status": "duplicate", "order_id": review.order_id, "duplicate": True}
    comment = "\n".join(part for part in (review.title.strip(), review.body.strip()) if part)
    answer = Answer(
        store_id=store.id,
        order_id=review.order_id,
        outreach_id="store-review",
        product_id=review.product_id,
        kind="review",
        score=review.rating,
        comment=comment,
        locale=review.customer.locale or store.config.default_locale,
        token_id=review.review_id,
        channel="store",
        customer=review.customer.model_dump(),
        product_name=review.product_name,
    )
    default_repository().record(answer, clock.now())
    return {
        "status": "accepted",
        "order_id": review.order_id,
        "duplicate": False,
        "review_id": review.review_id,
    }


def apply_return_event(
    event: NormalizedEvent, record: EventRecord, store: Store, repository: OrderRepository
) -> dict[str, Any]:
    """A store's return event, through the returns service (and so the order's quantity ledger)."""
    from functions.orders.store import DuplicateEvent
    from functions.returns import service as returns
    from functions.returns.store import default_repository as return_repository

    returned = event.return_event
    assert returned is not None
    try:
        result = returns.store_return_event(store, returned, return_repository(), repository)
    except returns.UnusableReturn as unusable:
        if event.integration in PLATFORMS:
            return _quarantine(
                store, returned.order_id, record, f"{unusable.field}: {unusable.problem}", repository
            )
        raise Rejection(
            422,
            "validation_failed",
            "The return cannot be applied.",
            [{"field": unusable.field, "problem": unusable.problem}],
        ) from None
    with contextlib.suppress(DuplicateEvent):  # the return itself is idempotent; the audit keeps the first
        repository.record_event(store.id, str(result["order_id"]), record)
    return result


def _quarantine(
    store: Store, order_id: str | None, record: EventRecord, reason: str, repository: OrderRepository
) -> dict[str, Any]:
    record.quarantined = reason[:500]
    repository.quarantine(store.id, order_id, record)
    metrics.add_metric(name="WebhookQuarantined", unit="Count", value=1)
    logger.warning(
        "Authentic webhook quarantined",
        extra={
            "store_id": store.id,
            "integration": record.integration,
            "topic": record.topic,
            "reason": reason,
        },
    )
    return {"status": "quarantined", "reason": record.quarantined, "order_id": order_id, "duplicate": False}


_state: dict[str, Any] = {}


def reset() -> None:
    _state.clear()


def receive(
    incoming: Incoming, stores: StoreRepository, repository: OrderRepository, lambda_context: Any = None
) -> dict[str, Any]:
    """Authenticate, decode and apply one delivery; raise ``Rejection`` with the status to answer."""
    platform = incoming.integration in PLATFORMS
    if len(incoming.raw_body) > MAX_BODY_BYTES and not platform:
        raise Rejection(413, "body_too_large", f"Webhook bodies are limited to {MAX_BODY_BYTES} bytes.")
    store = stores.get(incoming.store_id, cached=True)  # NotFound → 404
    integration = store.config.integrations.get(incoming.integration)  # type: ignore[call-overload]
    if integration is None or not integration.enabled:
        raise Rejection(404, "not_found", f"This store has no {incoming.integration} integration enabled.")
    content_type = incoming.headers.get("content-type", "")
    if incoming.integration == "woocommerce" and woocommerce.is_ping(incoming.raw_body, content_type):
        return {"status": "pong"}
    secrets = stores.get_secrets(store.id).webhook.get(incoming.integration, [])
    verification = _verify(incoming, secrets)
    if not verification.valid:
        metrics.add_metric(name="WebhookRejected", unit="Count", value=1)
        logger.warning(
            "Webhook signature rejected",
            extra={"store_id": store.id, "integration": incoming.integration, "reason": verification.reason},
        )
        raise Rejection(401, "invalid_signature", f"Webhook rejected: {verification.reason}.")
    try:
        if len(incoming.raw_body) > MAX_BODY_BYTES:
            raise Quarantine(f"the body is larger than {MAX_BODY_BYTES} bytes")
        event = _decode(incoming, store)
    except Quarantine as unusable:
        return _quarantine(
            store, unusable.order_id, _unusable_record(incoming, verification), unusable.reason, repository
        )
    if event.ignored:
        return {"status": "ignored", "topic": event.topic}
    record = EventRecord(
        integration=event.integration,
        topic=event.topic,
        event_key=event.event_key,
        occurred_at=event.occurred_at,
        raw_body=incoming.raw_body,
        verification=verification.audit(),
        headers={k: v for k, v in incoming.headers.items() if k in KEPT_HEADERS},
        notes=list(event.notes),
    )
    result = _apply(event, record, store, repository, lambda_context)
    order_id = (
        event.facts.order_id
        if event.facts
        else event.review.order_id
        if event.review
        else event.return_event.order_id
        if event.return_event
        else None
    )
    if result.get("duplicate") and order_id is not None:
        repository.record_redelivery(store.id, order_id, event.integration, event.event_key)
    if result.get("status") != "quarantined":
        metrics.add_metric(
            name="WebhookDuplicate" if result.get("duplicate") else "WebhookAccepted", unit="Count", value=1
        )
    return result


TRANSIENT = (Rejection, Throttled, DependencyFailed, Conflict)


def _apply(
    event: NormalizedEvent,
    record: EventRecord,
    store: Store,
    repository: OrderRepository,
    lambda_context: Any,
) -> dict[str, Any]:
    """Apply once (Powertools idempotency). A platform event that fails for a reason a retry will not fix
    is quarantined instead of answered with an error the platform would retry and then disable on."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

    apply = _idempotent_apply()
    if lambda_context is not None:
        _state["config"].register_lambda_context(lambda_context)  # lets an abandoned attempt expire in time
    try:
        result: dict[str, Any] = apply(
            event=event.model_dump(mode="json"), record=record, store=store, repository=repository
        )
    except (*TRANSIENT, IdempotencyAlreadyInProgressError):
        raise
    except Exception as error:
        if event.integration not in PLATFORMS:
            raise
        logger.exception("Authentic webhook could not be applied")
        order_id = event.facts.order_id if event.facts else None
        return _quarantine(
            store, order_id, record, f"could not be applied ({type(error).__name__})", repository
        )
    return result


def _unusable_record(incoming: Incoming, verification: signatures.Verification) -> EventRecord:
    body_hash = hashlib.sha256(incoming.raw_body).hexdigest()
    topic = (
        incoming.shopify("topic")
        if incoming.integration == "shopify"
        else incoming.headers.get("x-wc-webhook-topic")
    )
    key = incoming.shopify("event-id") if incoming.integration == "shopify" else None
    return EventRecord(
        integration=incoming.integration,
        topic=event_key(topic or "unknown"),
        event_key=event_key(key or body_hash),
        occurred_at=clock.now(),
        raw_body=incoming.raw_body,
        verification=verification.audit(),
        headers={k: v[:500] for k, v in incoming.headers.items() if k in KEPT_HEADERS},
    )
