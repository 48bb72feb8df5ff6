"""Apply a verified order event: merge it into the order, re-plan, and save all of it at once."""

from __future__ import annotations

import random
import time
from typing import Any

from functions.orders import planning
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
from functions.stores.models import StoreConfig

MAX_ATTEMPTS = 6
REPLANNED = "replanned"


def _with_catalog_types(facts: OrderFacts, store_id: str, repository: OrderRepository) -> OrderFacts:
    """Fill in product types the platform left out of line items, from product webhooks seen earlier."""
    if facts.items is None:
        return facts
    missing = [item.product_id for item in facts.items.items if item.product_type is None and item.product_id]
    if not missing:
        return facts
    known = repository.product_types(store_id, missing)
    if not known:
        return facts
    items = [
        item.model_copy(update={"product_type": known.get(item.product_id or "", item.product_type)})
        if item.product_type is None
        else item
        for item in facts.items.items
    ]
    return facts.model_copy(update={"items": facts.items.model_copy(update={"items": items})})


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
    desired = planning.plan(order, config, asked)
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
    if event.facts is None:
        return {"status": "recorded", "products": len(event.products), "duplicate": False}
    facts = _with_catalog_types(event.facts, event.store_id, repository)
    for attempt in range(MAX_ATTEMPTS):
        stored = repository.load(event.store_id, facts.order_id)
        order = planning_merge(stored, facts)
        changes, desired = plan_changes(event.store_id, order, stored, config, repository)
        status = {"planned": len(desired), "not_planned_because": planning.why_not_planned(order)}
        try:
            repository.commit(event.store_id, order, stored.version if stored else 0, record, changes, status)
        except DuplicateEvent:
            return {"status": "duplicate", "order_id": facts.order_id, "duplicate": True}
        except ConcurrentChange:
            time.sleep(random.uniform(0, 0.02 * 2**attempt))  # jitter, not security
            continue
        return {
            "status": "accepted",
            "order_id": facts.order_id,
            "duplicate": False,
            "plan_changes": len(changes),
            "planned": [
                {"outreach_id": p.outreach_id, "kind": p.kind, "due_at": clock.isoformat(p.due_at)}
                for p in desired
            ],
        }
    raise Conflict("the order kept changing while this event was applied; retry the delivery")


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
    items: list[LineItem] = order.items.items if order.items else []
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
            "not_planned_because": planning.why_not_planned(order),
        },
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
            }
            for e in events
        ],
    }


def _iso(value: Any) -> str | None:
    return clock.isoformat(value) if value is not None else None
