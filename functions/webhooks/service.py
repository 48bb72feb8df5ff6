"""Receive a store's webhook: authenticate it, decode it, and apply it exactly once.

Order of checks: store (404), integration enabled (404), WooCommerce ping (200), size (413, generic),
signature over the raw bytes (401), JSON (400), payload shape (422). Nothing is stored before the
signature is verified, and everything the event changes is written in one transaction.

Shopify and WooCommerce retry any error and then disable the webhook, so an authentic (correctly
signed) delivery Aftercare cannot use is answered 200 and *quarantined*: kept with its reason, listed
for the store and shown in its order's history, counted as a metric. Only a forged delivery is
refused, and a transient AWS failure answers 503 so the platform retries. The generic integration is
the store's own code: it gets a 4xx naming each bad field.

Every dependency comes in through ``Ports`` (``functions.composition.webhook_ports()``).
"""

from __future__ import annotations

import contextlib
from typing import Any

from functions.orders import service as orders
from functions.orders.models import NormalizedEvent
from functions.orders.store import DuplicateEvent, EventRecord
from functions.shared import signatures
from functions.shared.errors import Conflict, DependencyFailed, Throttled
from functions.shared.observability import logger, metrics
from functions.stores.models import Store
from functions.webhooks import woocommerce
from functions.webhooks.decode import (
    MAX_BODY_BYTES,
    PLATFORMS,
    Incoming,
    decode,
    event_record,
    unusable_record,
    verify,
)
from functions.webhooks.errors import InProgress, Quarantine, Refusal, Rejection
from functions.webhooks.ports import Outcome, Ports

__all__ = ["Incoming", "receive"]

TRANSIENT = (Rejection, InProgress, Throttled, DependencyFailed, Conflict)  # raised on, never quarantined


def receive(incoming: Incoming, ports: Ports, lambda_context: Any = None) -> Outcome:
    """Authenticate, decode and apply one delivery; raise a ``Rejection`` saying why it is refused."""
    store = _admit(incoming, ports)
    if incoming.integration == "woocommerce" and woocommerce.is_ping(
        incoming.raw_body, incoming.headers.get("content-type", "")
    ):
        return {"status": "pong"}
    verification = _authenticate(incoming, store, ports)
    try:
        event = decode(incoming, store, ports.clock.now())
    except Quarantine as unusable:
        record = unusable_record(incoming, verification, ports.clock.now())
        return _quarantine(ports, store, unusable.order_id, record, unusable.reason)
    if event.ignored:
        return {"status": "ignored", "topic": event.topic}
    record = event_record(incoming, event, verification)
    result = _apply(event, record, store, ports, lambda_context)
    order_id = _order_of(event)
    if result.get("duplicate") and order_id is not None:
        ports.orders.record_redelivery(store.id, order_id, event.integration, event.event_key)
    if result.get("status") != "quarantined":
        name = "WebhookDuplicate" if result.get("duplicate") else "WebhookAccepted"
        metrics.add_metric(name=name, unit="Count", value=1)
    return result


def _admit(incoming: Incoming, ports: Ports) -> Store:
    """The store, if it has this integration enabled and the body is within the generic size limit."""
    if len(incoming.raw_body) > MAX_BODY_BYTES and not incoming.platform:
        raise Rejection(Refusal.TOO_LARGE, f"Webhook bodies are limited to {MAX_BODY_BYTES} bytes.")
    store = ports.stores.get(incoming.store_id, cached=True)  # NotFound → 404
    integration = store.config.integrations.get(incoming.integration)  # type: ignore[call-overload]
    if integration is None or not integration.enabled:
        raise Rejection(Refusal.NOT_ENABLED, f"This store has no {incoming.integration} integration enabled.")
    return store


def _authenticate(incoming: Incoming, store: Store, ports: Ports) -> signatures.Verification:
    secrets = ports.stores.get_secrets(store.id).webhook.get(incoming.integration, [])
    verification = verify(incoming, secrets)
    if not verification.valid:
        metrics.add_metric(name="WebhookRejected", unit="Count", value=1)
        logger.warning(
            "Webhook signature rejected",
            extra={"store_id": store.id, "integration": incoming.integration, "reason": verification.reason},
        )
        raise Rejection(Refusal.FORGED, f"Webhook rejected: {verification.reason}.")
    return verification


def _order_of(event: NormalizedEvent) -> str | None:
    for subject in (event.facts, event.review, event.return_event):
        if subject is not None:
            return subject.order_id
    return None


def _apply(
    event: NormalizedEvent, record: EventRecord, store: Store, ports: Ports, lambda_context: Any
) -> Outcome:
    """Apply once. A platform event that fails for a reason a retry will not fix is quarantined instead
    of answered with an error the platform would retry and then disable the webhook on.

    An order event is applied once by its own transaction: the event's marker is written in it with
    ``attribute_not_exists``, so DynamoDB refuses a repeat (concurrent or later) and nothing else is
    needed (decision 57). Product, review and return events change more than one transaction can
    hold, so they still run under ``ports.once`` (the idempotency table).
    """

    def work(payload: dict[str, Any]) -> Outcome:
        return _apply_event(NormalizedEvent.model_validate(payload), record, store, ports)

    try:
        if one_transaction(event):
            return orders.apply_event(event, record, store.config, ports.orders)
        return ports.once.run(event.model_dump(mode="json"), work, lambda_context)
    except TRANSIENT:
        raise
    except Exception as error:
        if event.integration not in PLATFORMS:
            raise
        logger.exception("Authentic webhook could not be applied")
        order_id = event.facts.order_id if event.facts else None
        return _quarantine(ports, store, order_id, record, f"could not be applied ({type(error).__name__})")


def one_transaction(event: NormalizedEvent) -> bool:
    """Whether the whole effect of ``event`` is one order transaction that carries its marker."""
    only_facts = not event.products and event.review is None and event.return_event is None
    return event.facts is not None and only_facts


def _apply_event(event: NormalizedEvent, record: EventRecord, store: Store, ports: Ports) -> Outcome:
    if event.review is not None:
        return record_submitted_review(event, record, store, ports)
    if event.return_event is not None:
        return apply_return_event(event, record, store, ports)
    return orders.apply_event(event, record, store.config, ports.orders)


def record_submitted_review(
    event: NormalizedEvent, record: EventRecord, store: Store, ports: Ports
) -> Outcome:
    """A review the store collected: keep the event, save it as an answer (flagging follows from there)."""
    from functions.responses.store import Answer

    review = event.review
    assert review is not None
    try:
        ports.orders.record_event(store.id, review.order_id, record, keep=store.config.retention.orders)
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
    ports.responses.record(answer, ports.clock.now(), keep=store.config.retention.answers)
    return {
        "status": "accepted",
        "order_id": review.order_id,
        "duplicate": False,
        "review_id": review.review_id,
    }


def apply_return_event(event: NormalizedEvent, record: EventRecord, store: Store, ports: Ports) -> Outcome:
    """A store's return event, through the returns service (and so the order's quantity ledger)."""
    from functions.returns import service as returns

    returned = event.return_event
    assert returned is not None
    try:
        result = returns.store_return_event(store, returned, ports.returns)
    except returns.UnusableReturn as unusable:
        reason = f"{unusable.field}: {unusable.problem}"
        if event.integration in PLATFORMS:
            return _quarantine(ports, store, returned.order_id, record, reason)
        raise Rejection.invalid("The return cannot be applied.", unusable.field, unusable.problem) from None
    with contextlib.suppress(DuplicateEvent):  # the return itself is idempotent; the audit keeps the first
        ports.orders.record_event(
            store.id, str(result["order_id"]), record, keep=store.config.retention.orders
        )
    return result


def _quarantine(
    ports: Ports, store: Store, order_id: str | None, record: EventRecord, reason: str
) -> Outcome:
    record.quarantined = reason[:500]
    ports.orders.quarantine(store.id, order_id, record, keep=store.config.retention.orders)
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
