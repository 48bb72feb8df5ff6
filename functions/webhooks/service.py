"""Receive a store's webhook: authenticate it, decode it, and apply it exactly once.

Order of checks: size (413), store (404), integration enabled (404), WooCommerce ping (200),
signature over the raw bytes (401), JSON (400), payload shape (422). Nothing is stored before the
signature is verified, and everything the event changes is written in one transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from functions.orders import service as orders
from functions.orders.models import NormalizedEvent
from functions.orders.store import EventRecord, OrderRepository
from functions.shared import clock
from functions.shared.observability import logger, metrics
from functions.stores.models import Store
from functions.stores.store import StoreRepository
from functions.webhooks import generic, shopify, signatures, woocommerce
from functions.webhooks.parsing import PayloadError

MAX_BODY_BYTES = 1024 * 1024
IDEMPOTENCY_SECONDS = 3 * 24 * 3600  # Shopify retries for up to 48 hours
KEPT_HEADERS = (
    "x-shopify-topic",
    "x-shopify-event-id",
    "x-shopify-webhook-id",
    "x-shopify-triggered-at",
    "x-shopify-shop-domain",
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


@dataclass
class Incoming:
    store_id: str
    integration: str
    headers: dict[str, str]  # lower-case names
    raw_body: bytes


def _verify(incoming: Incoming, secrets: list[str]) -> signatures.Verification:
    if incoming.integration == "shopify":
        return signatures.verify_base64_hmac(
            "shopify-hmac-sha256", incoming.raw_body, incoming.headers.get("x-shopify-hmac-sha256"), secrets
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


def _decode(incoming: Incoming, store: Store) -> NormalizedEvent:
    try:
        payload = json.loads(incoming.raw_body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise Rejection(400, "invalid_json", "The webhook body is not valid UTF-8 JSON.") from None
    headers = incoming.headers
    body_hash = hashlib.sha256(incoming.raw_body).hexdigest()
    try:
        if incoming.integration == "shopify":
            topic = headers.get("x-shopify-topic", "")
            if not topic:
                raise Rejection(400, "missing_topic", "The X-Shopify-Topic header is missing.")
            event_key = headers.get("x-shopify-event-id") or headers.get("x-shopify-webhook-id") or body_hash
            triggered = headers.get("x-shopify-triggered-at")
            from functions.webhooks.parsing import timestamp

            occurred = timestamp(triggered, "X-Shopify-Triggered-At") if triggered else None
            return shopify.normalize(store.id, topic, event_key, occurred or clock.now(), payload)
        if incoming.integration == "woocommerce":
            topic = headers.get("x-wc-webhook-topic", "")
            if not topic:
                raise Rejection(400, "missing_topic", "The X-WC-Webhook-Topic header is missing.")
            known = set(store.config.outreach.product_types)
            return woocommerce.normalize(store.id, topic, body_hash, clock.now(), payload, known)
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
    except PayloadError as error:
        raise Rejection(
            422,
            "validation_failed",
            "The webhook payload is missing fields or has invalid ones.",
            [{"field": error.field, "problem": error.problem}],
        ) from None


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
            return handle_return_event(normalized, record, store, repository)
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


def handle_return_event(
    event: NormalizedEvent, record: EventRecord, store: Store, repository: OrderRepository
) -> dict[str, Any]:
    """A store's return event: start a return it requested, or resume one whose parcel arrived."""
    from functions.orders.store import DuplicateEvent
    from functions.returns import service as returns
    from functions.returns.store import Conflict
    from functions.returns.store import default_repository as return_repository

    returned = event.return_event
    assert returned is not None
    return_id = returned.aftercare_id or returns.return_id_for(
        store.id, "store", str(returned.store_return_id)
    )
    requests_repo = return_repository()
    order_id = returned.order_id
    if order_id is None:
        existing, _ = requests_repo.get(store.id, return_id)
        if existing is None:
            raise Rejection(404, "not_found", f"No return {return_id} for this store.")
        order_id = str(existing["order_id"])
    stored = repository.load(store.id, order_id)
    lines = {item.id: item for item in (stored.facts.items.items if stored and stored.facts.items else [])}
    unknown = [line.line_item_id for line in returned.lines if line.line_item_id not in lines]
    if returned.kind == "requested" and (stored is None or unknown):
        raise Rejection(
            422,
            "validation_failed",
            "The return names an order or items Aftercare does not know.",
            [{"field": "return.items", "problem": f"unknown order or line items: {', '.join(unknown)}"}],
        )
    try:
        repository.record_event(store.id, order_id, record)
    except DuplicateEvent:
        return {"status": "duplicate", "return_id": return_id, "duplicate": True}
    if returned.kind == "received":
        try:
            returns.parcel_received(store, return_id, requests_repo)
        except Conflict:
            raise Rejection(409, "conflict", f"Return {return_id} is not waiting for the parcel.") from None
        return {"status": "accepted", "return_id": return_id, "duplicate": False}
    facts = stored.facts if stored else None
    customer = facts.customer.customer.model_dump() if facts and facts.customer else None
    request = {
        "return_id": return_id,
        "order_id": order_id,
        "order_name": facts.name if facts else None,
        "items": [
            {
                "product_id": lines[line.line_item_id].product_key,
                "line_item_id": line.line_item_id,
                "name": lines[line.line_item_id].name,
                "product_type": lines[line.line_item_id].product_type,
                "quantity": line.quantity,
                "price": str(lines[line.line_item_id].price or 0),
            }
            for line in returned.lines
        ],
        "outcome": returned.outcome,
        "reason": returned.reason,
        "source": "store",
        "customer": customer,
        "store_return_id": returned.store_return_id,
    }
    started = returns.start(store, request, requests_repo, f"store {store.id}")
    return {"status": "accepted", "return_id": return_id, "duplicate": bool(started.get("duplicate"))}


_state: dict[str, Any] = {}


def reset() -> None:
    _state.clear()


def receive(
    incoming: Incoming, stores: StoreRepository, repository: OrderRepository, lambda_context: Any = None
) -> dict[str, Any]:
    """Authenticate, decode and apply one delivery; raise ``Rejection`` with the status to answer."""
    if len(incoming.raw_body) > MAX_BODY_BYTES:
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
    event = _decode(incoming, store)
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
    )
    apply = _idempotent_apply()
    if lambda_context is not None:
        _state["config"].register_lambda_context(lambda_context)  # lets an abandoned attempt expire in time
    result: dict[str, Any] = apply(
        event=event.model_dump(mode="json"), record=record, store=store, repository=repository
    )
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
    metrics.add_metric(
        name="WebhookDuplicate" if result.get("duplicate") else "WebhookAccepted", unit="Count", value=1
    )
    return result
