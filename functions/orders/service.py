"""Apply a verified order event: merge it into the order, re-plan, and save all of it at once."""

from __future__ import annotations

import hashlib
import json
import random
import time
from typing import Any

from functions.orders import ledger, planning
from functions.orders.models import LineItem, NormalizedEvent, OrderFacts, PlannedOutreach
from functions.orders.store import (
    CANCELLED,
    PENDING,
    ConcurrentChange,
    DuplicateEvent,
    EventRecord,
    OrderRepository,
    StoredOrder,
)
from functions.shared import clock
from functions.shared.errors import Conflict
from functions.shared.observability import logger
from functions.stores.models import StoreConfig

# Each lost attempt means another writer committed in between, so N writers racing on one order all
# succeed within N attempts; ten covers a platform's burst of events about one order.
MAX_ATTEMPTS = 10
MAX_BACKOFF_SECONDS = 0.25
REPLANNED = "replanned"


def with_catalog_types(
    order: OrderFacts, store_id: str, repository: OrderRepository
) -> tuple[OrderFacts, list[str]]:
    """The order with product types learnt from product webhooks filled in where line items have none.

    Types are applied when planning, never stored in the facts, so a type learnt or changed later is
    used by the next plan. Also returns the product ids whose type is still unknown.
    """
    if order.items is None:
        return order, []
    missing = sorted(
        {item.product_id for item in order.items.items if item.product_type is None and item.product_id}
    )
    if not missing:
        return order, []
    known = repository.product_types(store_id, missing)
    items = [
        item.model_copy(update={"product_type": known[item.product_id]})
        if item.product_type is None and item.product_id in known
        else item
        for item in order.items.items
    ]
    typed = order.model_copy(update={"items": order.items.model_copy(update={"items": items})})
    return typed, [product_id for product_id in missing if product_id not in known]


def _customer(order: OrderFacts) -> dict[str, Any]:
    customer = order.customer.customer if order.customer else None
    return {
        "email": customer.email if customer else None,
        "name": customer.name if customer else None,
        "locale": customer.locale if customer else None,
    }


def _without_nulls(value: dict[str, Any]) -> dict[str, Any]:
    return {key: item for key, item in value.items() if item is not None}


def _differs(current: dict[str, Any], planned: PlannedOutreach, customer: dict[str, Any]) -> bool:
    """Whether the stored outreach differs from the plan (DynamoDB drops null map values, so ignore them)."""
    return (
        current.get("due_at") != clock.isoformat(planned.due_at)
        or [_without_nulls(p) for p in current.get("products", [])]
        != [_without_nulls(p.model_dump(mode="json")) for p in planned.products]
        or current.get("reminder_after_seconds") != planned.reminder_after_seconds
        or current.get("anchor") != planned.anchor
        or _without_nulls(current.get("customer") or {}) != _without_nulls(customer)
    )


def plan_changes(
    store_id: str,
    order: OrderFacts,
    stored: StoredOrder | None,
    config: StoreConfig,
    repository: OrderRepository,
) -> tuple[list[dict[str, Any]], list[PlannedOutreach]]:
    """Transaction items that turn the stored plan into the plan this order should have now."""
    existing = {str(o["outreach_id"]): o for o in (stored.outreach if stored else [])}
    asked = frozenset(
        str(product["product_id"])
        for outreach in existing.values()
        if outreach.get("kind") == "review" and outreach.get("status") not in {PENDING, CANCELLED}
        for product in outreach.get("products", [])
    )
    typed, untyped = with_catalog_types(order, store_id, repository)
    first_seen = stored is None
    desired = planning.plan(typed, config, asked, now=clock.now(), first_seen=first_seen)
    customer = _customer(order)
    changes: list[dict[str, Any]] = []
    for planned in desired:
        current = existing.get(planned.outreach_id)
        if current is None:
            ordered = order.paid_at or order.fulfilled_at or order.delivered_at
            changes.append(
                repository.create_change(
                    store_id,
                    order.order_id,
                    planned,
                    customer,
                    order.name,
                    _iso(ordered) if ordered else None,
                )
            )
        elif current["status"] == PENDING and _differs(current, planned, customer):
            note = f"rescheduled for {clock.isoformat(planned.due_at)} ({planned.anchor} time)"
            changes.append(
                repository.reschedule_change(store_id, order.order_id, planned, customer, PENDING, note)
            )
        elif current["status"] == CANCELLED and str(current.get("cancel_reason", "")).startswith(REPLANNED):
            note = f"planned again for {clock.isoformat(planned.due_at)}"
            changes.append(
                repository.reschedule_change(store_id, order.order_id, planned, customer, CANCELLED, note)
            )
    if changes and any(not p.skipped for p in desired):
        # Re-plan this order when a product webhook teaches a type it lacks (see replan_waiting).
        changes.extend(repository.waiting_change(store_id, pid, order.order_id) for pid in untyped)
    wanted = {planned.outreach_id for planned in desired}
    reason = planning.why_not_planned(order)
    for outreach_id, current in existing.items():
        if current["status"] == PENDING and outreach_id not in wanted:
            why = f"cancelled: {reason}" if reason else f"{REPLANNED}: products regrouped or refunded"
            changes.append(repository.cancel_change(store_id, order.order_id, outreach_id, why))
    return changes, desired


def apply_event(
    event: NormalizedEvent, record: EventRecord, config: StoreConfig, repository: OrderRepository
) -> dict[str, Any]:
    """Record the event and bring the order's plan up to date; safe to call again with the same event."""
    if event.products:
        repository.save_product_types(event.store_id, {p.product_id: p.product_type for p in event.products})
        replanned = replan_waiting(event, config, repository)
        return {
            "status": "recorded",
            "products": len(event.products),
            "replanned": replanned,
            "duplicate": False,
        }
    if event.facts is None:
        return {"status": "recorded", "products": 0, "duplicate": False}
    facts = event.facts
    for attempt in range(MAX_ATTEMPTS):
        stored = repository.load(event.store_id, facts.order_id)
        order = planning_merge(stored, facts)
        changes, desired = plan_changes(event.store_id, order, stored, config, repository)
        status = {"planned": len(desired), "not_planned_because": planning.why_not_planned(order)}
        try:
            repository.commit(
                event.store_id,
                order,
                stored.version if stored else 0,
                record,
                changes,
                status,
                stored.ledger if stored else None,
            )
        except DuplicateEvent:
            return {"status": "duplicate", "order_id": facts.order_id, "duplicate": True}
        except ConcurrentChange:
            time.sleep(random.uniform(0, min(MAX_BACKOFF_SECONDS, 0.02 * 2**attempt)))  # jitter, not security
            continue
        return {
            "status": "accepted",
            "order_id": facts.order_id,
            "duplicate": False,
            "plan_changes": len(changes),
            "planned": [
                {
                    "outreach_id": p.outreach_id,
                    "kind": p.kind,
                    "due_at": clock.isoformat(p.due_at),
                    **({"skipped": p.skipped} if p.skipped else {}),
                }
                for p in desired
            ],
        }
    raise Conflict("the order kept changing while this event was applied; retry the delivery")


REPLAN_PER_PRODUCT = 100


def replan_waiting(event: NormalizedEvent, config: StoreConfig, repository: OrderRepository) -> int:
    """Re-plan orders that were planned before a product's type was known, now that it is.

    At most ``REPLAN_PER_PRODUCT`` orders per product per webhook; the rest wait for the next product
    webhook (their markers stay) and are logged.
    """
    replanned = 0
    for product in event.products:
        if not product.product_type:
            continue
        waiting = repository.orders_waiting_for(event.store_id, product.product_id, REPLAN_PER_PRODUCT + 1)
        if len(waiting) > REPLAN_PER_PRODUCT:
            logger.warning(
                "more orders wait for a product type than one webhook re-plans",
                extra={"product_id": product.product_id, "replanned": REPLAN_PER_PRODUCT},
            )
        for order_id in waiting[:REPLAN_PER_PRODUCT]:
            summary = json.dumps({"product_id": product.product_id, "product_type": product.product_type})
            key = "type-" + hashlib.sha256(summary.encode()).hexdigest()[:24]
            internal = NormalizedEvent(
                store_id=event.store_id,
                integration=event.integration,
                topic="aftercare/product.type_learned",
                event_key=key,
                occurred_at=event.occurred_at,
                facts=OrderFacts(order_id=order_id),
            )
            record = EventRecord(
                integration=event.integration,
                topic=internal.topic,
                event_key=key,
                occurred_at=event.occurred_at,
                raw_body=summary.encode(),
                verification={"valid": True, "scheme": "internal"},
                headers={},
            )
            apply_event(internal, record, config, repository)
            repository.stop_waiting(event.store_id, product.product_id, order_id)
            replanned += 1
    return replanned


def planning_merge(stored: StoredOrder | None, facts: OrderFacts) -> OrderFacts:
    from functions.orders.models import merge

    return merge(stored.facts, facts) if stored else merge(OrderFacts(order_id=facts.order_id), facts)


def order_view(store_id: str, order_id: str, repository: OrderRepository) -> dict[str, Any] | None:
    """The read API's answer: normalised order, its plan and its event history."""
    stored = repository.load(store_id, order_id)
    if stored is None:
        return None
    order = stored.facts
    customer = order.customer.customer if order.customer else None
    typed, _ = with_catalog_types(order, store_id, repository)  # the types planning uses
    items: list[LineItem] = typed.items.items if typed.items else []
    plan = sorted(
        stored.outreach, key=lambda o: (str(o.get("due_at", "")), o["kind"] != "review", str(o["sk"]))
    )
    events = sorted(
        repository.events(store_id, order_id), key=lambda e: (str(e["received_at"]), str(e["sk"]))
    )
    return {
        "order": {
            "id": order.order_id,
            "name": order.name,
            "test": order.test,
            "currency": order.currency,
            "customer": customer.model_dump(mode="json") if customer else None,
            "line_items": [item.model_dump(mode="json") for item in items],
            "paid_at": _iso(order.paid_at),
            "fulfilled_at": _iso(order.fulfilled_at),
            "delivered_at": _iso(order.delivered_at),
            "cancelled_at": _iso(order.cancelled_at),
            "refunded_at": _iso(order.fully_refunded_at),
            "refunds": order.refunds,
            "returned": order.returned,
            "not_planned_because": planning.why_not_planned(order),
        },
        "quantities": ledger.summary(order, stored.ledger),
        "plan": [
            {
                "outreach_id": o["outreach_id"],
                "kind": o["kind"],
                "status": o["status"],
                "due_at": o.get("due_at"),
                "anchor": o.get("anchor"),
                "products": o.get("products", []),
                "reminder_after_seconds": o.get("reminder_after_seconds"),
                "cancel_reason": o.get("cancel_reason"),
                "reason": o.get("reason"),
                "history": o.get("history", []),
            }
            for o in plan
        ],
        "events": [
            {
                "integration": e["integration"],
                "topic": e["topic"],
                "event_key": e["event_key"],
                "occurred_at": e["occurred_at"],
                "received_at": e["received_at"],
                "verification": e.get("verification"),
                "redeliveries": e.get("redeliveries", 0),
                "raw_size": e.get("raw_size"),
                "raw_sha256": e.get("raw_sha256"),
                "notes": e.get("notes", []),
                "quarantined": e.get("quarantined"),
            }
            for e in events
        ],
    }


def _iso(value: Any) -> str | None:
    return clock.isoformat(value) if value is not None else None
