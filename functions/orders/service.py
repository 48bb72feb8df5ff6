"""Apply a verified order event: merge it into the order, re-plan, and save all of it at once."""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import dataclass
from typing import Any

from functions.orders import ledger, planning
from functions.orders.models import LineItem, NormalizedEvent, OrderFacts, PlannedOutreach
from functions.orders.ports import OrderStore
from functions.orders.store import ConcurrentChange, DuplicateEvent, EventRecord, OrderWrite, StoredOrder
from functions.outreach.models import (
    CancelCause,
    Cancellation,
    OutreachKind,
    OutreachRecord,
    OutreachStatus,
    PlanDiff,
    Recipient,
    Reschedule,
)
from functions.shared import clock
from functions.shared.errors import Conflict
from functions.shared.observability import logger
from functions.stores.models import StoreConfig

# Each lost attempt means another writer committed in between, so N writers racing on one order all
# succeed within N attempts; ten covers a platform's burst of events about one order.
MAX_ATTEMPTS = 10
MAX_BACKOFF_SECONDS = 0.25


@dataclass(frozen=True)
class KnownTypes:
    """Product types already read with the order: ``found`` among the ``asked`` product ids."""

    found: dict[str, str]
    asked: frozenset[str]


def untyped_products(order: OrderFacts) -> list[str]:
    """Products of the order's line items that carry no type (the catalog may know it)."""
    if order.items is None:
        return []
    return sorted(
        {item.product_id for item in order.items.items if item.product_type is None and item.product_id}
    )


def with_catalog_types(
    order: OrderFacts, store_id: str, repository: OrderStore, read: KnownTypes | None = None
) -> tuple[OrderFacts, list[str]]:
    """The order with product types learnt from product webhooks filled in where line items have none.

    Types are applied when planning, never stored in the facts, so a type learnt or changed later is
    used by the next plan. Also returns the product ids whose type is still unknown. Types ``read`` with
    the order are not asked for again.
    """
    missing = untyped_products(order)
    if order.items is None or not missing:
        return order, []
    known = dict(read.found) if read else {}
    unread = [product_id for product_id in missing if not read or product_id not in read.asked]
    if unread:
        known.update(repository.product_types(store_id, unread))
    items = [
        item.model_copy(update={"product_type": known[item.product_id]})
        if item.product_type is None and item.product_id in known
        else item
        for item in order.items.items
    ]
    typed = order.model_copy(update={"items": order.items.model_copy(update={"items": items})})
    return typed, [product_id for product_id in missing if product_id not in known]


@dataclass(frozen=True)
class PlanChanges:
    """What re-planning an order changes: its outreach (a plan diff for the Outreach table's owner) and the
    product types it waits for (so a product webhook re-plans it)."""

    diff: PlanDiff
    waiting: list[str]
    desired: list[PlannedOutreach]

    def __len__(self) -> int:
        return len(self.diff) + len(self.waiting)


def _recipient(order: OrderFacts) -> Recipient:
    customer = order.customer.customer if order.customer else None
    if customer is None:
        return Recipient()
    return Recipient(email=customer.email, name=customer.name, locale=customer.locale)


def _already_asked(existing: dict[str, OutreachRecord]) -> frozenset[str]:
    """Products covered by review requests that went beyond pending (sent, skipped, failed …) or that
    staff cancelled: a later plan never asks about them again, even in a request of another grouping."""
    return frozenset(
        product_id
        for record in existing.values()
        if record.kind == OutreachKind.REVIEW and record.settles_products
        for product_id in record.product_ids
    )


def _updates(
    desired: list[PlannedOutreach], existing: dict[str, OutreachRecord], recipient: Recipient
) -> tuple[list[PlannedOutreach], list[Reschedule]]:
    """New outreach, and stored outreach the plan moves (pending) or brings back (cancelled by a re-plan)."""
    create: list[PlannedOutreach] = []
    reschedule: list[Reschedule] = []
    for planned in desired:
        current = existing.get(planned.outreach_id)
        due = clock.isoformat(planned.due_at)
        if current is None:
            create.append(planned)
        elif current.status == OutreachStatus.PENDING and current.differs(planned, recipient):
            note = f"rescheduled for {due} ({planned.anchor} time)"
            reschedule.append(Reschedule(planned, OutreachStatus.PENDING, note))
        elif current.status == OutreachStatus.CANCELLED and current.may_return:
            reschedule.append(Reschedule(planned, OutreachStatus.CANCELLED, f"planned again for {due}"))
    return create, reschedule


def _cancellations(
    order: OrderFacts, desired: list[PlannedOutreach], existing: dict[str, OutreachRecord]
) -> list[Cancellation]:
    """Pending outreach the plan no longer has: final when the order gets none, else it may come back."""
    wanted = {planned.outreach_id for planned in desired}
    reason = planning.why_not_planned(order)
    if reason:
        cause, text = CancelCause.NOT_PLANNED, f"cancelled: {reason}"
    else:
        cause, text = CancelCause.REPLANNED, f"{CancelCause.REPLANNED.value}: products regrouped or refunded"
    return [
        Cancellation(outreach_id, cause, text)
        for outreach_id, current in existing.items()
        if current.status == OutreachStatus.PENDING and outreach_id not in wanted
    ]


def plan_changes(
    store_id: str,
    order: OrderFacts,
    stored: StoredOrder | None,
    config: StoreConfig,
    repository: OrderStore,
    read: KnownTypes | None = None,
) -> PlanChanges:
    """What turns the stored plan into the plan this order should have now."""
    existing = {
        record.outreach_id: record
        for record in map(OutreachRecord.from_item, stored.outreach if stored else [])
    }
    typed, untyped = with_catalog_types(order, store_id, repository, read)
    desired = planning.plan(
        typed, config, _already_asked(existing), now=clock.now(), first_seen=stored is None
    )
    recipient = _recipient(order)
    create, reschedule = _updates(desired, existing, recipient)
    ordered = order.paid_at or order.fulfilled_at or order.delivered_at
    diff = PlanDiff(
        store_id=store_id,
        order_id=order.order_id,
        recipient=recipient,
        keep=config.retention.orders,
        order_name=order.name,
        ordered_at=_iso(ordered),
        create=tuple(create),
        reschedule=tuple(reschedule),
        cancel=tuple(_cancellations(order, desired, existing)),
    )
    # Re-plan this order when a product webhook teaches a type it lacks (see replan_waiting).
    outreach_changes = bool(create or reschedule)
    waiting = untyped if outreach_changes and any(not p.skipped for p in desired) else []
    return PlanChanges(diff, waiting, desired)


def apply_event(
    event: NormalizedEvent, record: EventRecord, config: StoreConfig, repository: OrderStore
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
        try:
            changes = _commit_once(event.store_id, facts, record, config, repository, first=attempt == 0)
        except DuplicateEvent:
            return {"status": "duplicate", "order_id": facts.order_id, "duplicate": True}
        except ConcurrentChange:
            time.sleep(random.uniform(0, min(MAX_BACKOFF_SECONDS, 0.02 * 2**attempt)))  # jitter, not security
            continue
        return _accepted(facts.order_id, changes)
    raise Conflict("the order kept changing while this event was applied; retry the delivery")


def _commit_once(
    store_id: str,
    facts: OrderFacts,
    record: EventRecord,
    config: StoreConfig,
    repository: OrderStore,
    *,
    first: bool = False,
) -> PlanChanges:
    """Read the order, merge the event's facts, re-plan and write it all in one transaction.

    The first attempt takes an order without an item to have no plan (no query of the Outreach
    table): an order's first event costs one read and the transaction. Every retry reads the plan.
    """
    asked = untyped_products(facts)
    stored, found = repository.load_for_planning(
        store_id, facts.order_id, asked, plan_without_order=not first
    )
    order = planning_merge(stored, facts)
    changes = plan_changes(store_id, order, stored, config, repository, KnownTypes(found, frozenset(asked)))
    status = {"planned": len(changes.desired), "not_planned_because": planning.why_not_planned(order)}
    write = OrderWrite(
        store_id,
        order,
        stored.version if stored else 0,
        record,
        status,
        keep=config.retention.orders,
        ledger=stored.ledger if stored else None,
    )
    repository.commit(write, changes.diff, changes.waiting)
    return changes


def _accepted(order_id: str, changes: PlanChanges) -> dict[str, Any]:
    return {
        "status": "accepted",
        "order_id": order_id,
        "duplicate": False,
        "plan_changes": len(changes),
        "planned": [
            {
                "outreach_id": p.outreach_id,
                "kind": p.kind,
                "due_at": clock.isoformat(p.due_at),
                **({"skipped": p.skipped} if p.skipped else {}),
            }
            for p in changes.desired
        ],
    }


REPLAN_PER_PRODUCT = 100


def replan_waiting(event: NormalizedEvent, config: StoreConfig, repository: OrderStore) -> int:
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


def order_view(store_id: str, order_id: str, repository: OrderStore) -> dict[str, Any] | None:
    """The read API's answer: normalised order, its plan and its event history."""
    stored = repository.load(store_id, order_id)
    if stored is None:
        return None
    typed, _ = with_catalog_types(stored.facts, store_id, repository)  # the types planning uses
    plan = sorted(
        stored.outreach, key=lambda o: (str(o.get("due_at", "")), o["kind"] != "review", str(o["sk"]))
    )
    events = sorted(
        repository.events(store_id, order_id), key=lambda e: (str(e["received_at"]), str(e["sk"]))
    )
    return {
        "order": _order_view(stored.facts, typed.items.items if typed.items else []),
        "quantities": ledger.summary(stored.facts, stored.ledger),
        "plan": [_outreach_view(o) for o in plan],
        "events": [_event_view(e) for e in events],
    }


def _order_view(order: OrderFacts, items: list[LineItem]) -> dict[str, Any]:
    customer = order.customer.customer if order.customer else None
    return {
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
    }


def _outreach_view(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "outreach_id": item["outreach_id"],
        "kind": item["kind"],
        "status": item["status"],
        "due_at": item.get("due_at"),
        "anchor": item.get("anchor"),
        "products": item.get("products", []),
        "reminder_after_seconds": item.get("reminder_after_seconds"),
        "cancel_reason": item.get("cancel_reason"),
        "reason": item.get("reason"),
        "history": item.get("history", []),
    }


def _event_view(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "integration": event["integration"],
        "topic": event["topic"],
        "event_key": event["event_key"],
        "occurred_at": event["occurred_at"],
        "received_at": event["received_at"],
        "verification": event.get("verification"),
        "redeliveries": event.get("redeliveries", 0),
        "raw_size": event.get("raw_size"),
        "raw_sha256": event.get("raw_sha256"),
        "notes": event.get("notes", []),
        "quarantined": event.get("quarantined"),
    }


def _iso(value: Any) -> str | None:
    return clock.isoformat(value) if value is not None else None
