"""Turn an order into timed outreach according to the store's per-product-type rules. Pure logic."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from functions.orders.models import LineItem, OrderFacts, PlannedOutreach, PlannedProduct
from functions.stores.models import StoreConfig


def why_not_planned(order: OrderFacts) -> str | None:
    """The reason an order gets no outreach at all, or ``None`` if it may get some."""
    if order.test:
        return "test order"
    if order.cancelled_at is not None:
        return "order cancelled"
    if order.fully_refunded_at is not None:
        return "order refunded"
    if order.customer is None or not order.customer.customer.email:
        return "no customer email yet"
    if not active_items(order):
        return "every item refunded" if order.items else "no line items yet"
    if order.delivered_at is None and order.fulfilled_at is None:
        return "not fulfilled yet"
    return None


def active_items(order: OrderFacts) -> list[LineItem]:
    """Line items with quantity left after refunds and completed returns."""
    if order.items is None:
        return []
    refunded: dict[str, int] = {}
    for lines in [*order.refunds.values(), *order.returned.values()]:
        for line_id, quantity in lines.items():
            refunded[line_id] = refunded.get(line_id, 0) + quantity
    return [item for item in order.items.items if item.quantity - refunded.get(item.id, 0) > 0]


def anchor(order: OrderFacts, config: StoreConfig) -> tuple[datetime, str] | None:
    """Delivery time, or fulfilment plus the store's transit time while delivery is unknown."""
    if order.delivered_at is not None:
        return order.delivered_at, "delivered"
    if order.fulfilled_at is not None:
        return order.fulfilled_at + config.outreach.transit_time, "estimated"
    return None


def _review_id(product_keys: list[str]) -> str:
    digest = hashlib.sha256("|".join(sorted(product_keys)).encode()).hexdigest()[:16]
    return f"review-{digest}"


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def lateness(
    planned: PlannedOutreach, anchored_at: datetime, config: StoreConfig, now: datetime, first_seen: bool
) -> str | None:
    """Why a planned request must never be sent because it would be too late, or ``None``.

    An order first seen more than ``outreach.max_lateness`` after its delivery (or estimated delivery)
    gets nothing, and no request is planned that came due longer ago than that.
    """
    limit = config.outreach.max_lateness
    if first_seen and anchored_at < now - limit:
        return (
            f"too late: {planned.anchor} {_day(anchored_at)}, first seen {_day(now)} "
            f"(more than {_duration(limit)} later)"
        )
    if planned.due_at < now - limit:
        return f"too late: was due {_day(planned.due_at)}, more than {_duration(limit)} ago"
    return None


def _duration(value: timedelta) -> str:
    hours = int(value.total_seconds() // 3600)
    if hours % 24 == 0:
        days = hours // 24
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{hours} hour{'s' if hours != 1 else ''}"


def plan(
    order: OrderFacts,
    config: StoreConfig,
    already_asked: frozenset[str] = frozenset(),
    *,
    now: datetime | None = None,
    first_seen: bool = False,
) -> list[PlannedOutreach]:
    """The outreach this order should have now.

    Review requests: one per group of products whose due times fall within the store's send window
    (the group is due when its last product is due, so nobody is asked about something too early).
    ``already_asked`` lists product keys covered by review requests that were already sent.
    NPS survey: one per order, after the longest NPS delay among its products.
    With ``now``, requests that would be too late (see ``lateness``) are planned as skipped.
    """
    planned = _plan(order, config, already_asked)
    start = anchor(order, config)
    if now is None or start is None:
        return planned
    return [
        p.model_copy(update={"skipped": why})
        if (why := lateness(p, start[0], config, now, first_seen))
        else p
        for p in planned
    ]


@dataclass(frozen=True)
class _Candidate:
    """A product to ask about, when it is due and its reminder delay."""

    due_at: datetime
    product: PlannedProduct
    reminder_seconds: int | None


def _plan(order: OrderFacts, config: StoreConfig, already_asked: frozenset[str]) -> list[PlannedOutreach]:
    if why_not_planned(order) is not None:
        return []
    start = anchor(order, config)
    assert start is not None  # why_not_planned checked fulfilment or delivery
    anchored_at, anchor_kind = start
    kind: Literal["delivered", "estimated"] = "delivered" if anchor_kind == "delivered" else "estimated"
    items = active_items(order)
    window = timedelta(days=config.outreach.send_window_days)
    candidates = _candidates(items, config, anchored_at, already_asked)
    planned = [_review(group, kind) for group in _within_window(candidates, window)]
    rules = [config.rule_for(item.product_type) for item in items]
    nps_delays = [rule.nps_delay for rule in rules if rule.nps_delay is not None]
    if nps_delays:
        planned.append(
            PlannedOutreach(outreach_id="nps", kind="nps", due_at=anchored_at + max(nps_delays), anchor=kind)
        )
    return planned


def _candidates(
    items: list[LineItem], config: StoreConfig, anchored_at: datetime, already_asked: frozenset[str]
) -> list[_Candidate]:
    """One candidate per product the store's rules ask a review about and nobody asked yet."""
    candidates: dict[str, _Candidate] = {}
    for item in items:
        rule = config.rule_for(item.product_type)
        key = item.product_key
        if not rule.reviews or rule.review_delay is None or key in already_asked or key in candidates:
            continue
        product = PlannedProduct(
            product_id=key, line_item_id=item.id, name=item.name, product_type=item.product_type
        )
        reminder = int(rule.reminder_delay.total_seconds()) if rule.reminder_delay else None
        candidates[key] = _Candidate(anchored_at + rule.review_delay, product, reminder)
    return sorted(candidates.values(), key=lambda c: (c.due_at, c.product.product_id))


def _within_window(candidates: list[_Candidate], window: timedelta) -> list[list[_Candidate]]:
    """Groups of consecutive candidates (by due time) that all fall within ``window`` of the group's first."""
    groups: list[list[_Candidate]] = []
    for candidate in candidates:
        if groups and candidate.due_at <= groups[-1][0].due_at + window:
            groups[-1].append(candidate)
        else:
            groups.append([candidate])
    return groups


def _review(group: list[_Candidate], kind: Literal["delivered", "estimated"]) -> PlannedOutreach:
    """One review request for a group, due when its last product is due."""
    products = [c.product for c in group]
    reminders = [c.reminder_seconds for c in group if c.reminder_seconds is not None]
    return PlannedOutreach(
        outreach_id=_review_id([p.product_id for p in products]),
        kind="review",
        due_at=max(c.due_at for c in group),
        products=products,
        reminder_after_seconds=min(reminders) if reminders else None,
        anchor=kind,
    )
