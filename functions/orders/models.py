"""The one order model every platform's payload is normalised into, and how events merge into it.

Each webhook contributes *facts* about an order. Facts merge with rules that do not depend on arrival
order or repetition (earliest timestamp wins, refunds are keyed by refund id, newer snapshots of the
customer and line items replace older ones), so replaying any event any number of times, or receiving
"delivered" before "fulfilled", yields the same order and therefore the same plan.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.stores.models import Integration

OutreachKind = Literal["review", "nps"]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Customer(Model):
    email: str | None = None
    name: str | None = None
    locale: str | None = None


class LineItem(Model):
    id: str
    product_id: str | None = None
    name: str = ""
    product_type: str | None = None
    quantity: int = Field(default=1, ge=0)
    price: Decimal | None = None

    @property
    def product_key(self) -> str:
        """What a review is about: the product, or the line item when the product is unknown."""
        return self.product_id or f"item-{self.id}"


class Snapshot(Model):
    """A group of facts that replace each other wholesale; the newest ``as_of`` wins."""

    as_of: datetime


class CustomerSnapshot(Snapshot):
    customer: Customer


class ItemsSnapshot(Snapshot):
    items: list[LineItem]


class OrderFacts(Model):
    """What one event says about an order (``None``/empty means "this event does not say")."""

    order_id: str
    name: str | None = None
    test: bool = False
    currency: str | None = None
    customer: CustomerSnapshot | None = None
    items: ItemsSnapshot | None = None
    paid_at: datetime | None = None
    fulfilled_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    fully_refunded_at: datetime | None = None
    refunds: dict[str, dict[str, int]] = Field(default_factory=dict)  # refund id -> line item id -> quantity
    # Returns Aftercare completed (return id -> line item id -> quantity): they leave the review plan like
    # refunds, but the quantity ledger already counts them, so they are kept apart from platform refunds.
    returned: dict[str, dict[str, int]] = Field(default_factory=dict)


class ProductTypeUpdate(Model):
    product_id: str
    product_type: str | None


class SubmittedReview(Model):
    """A review the store collected itself (``review.submitted``), judged and flagged like our own answers."""

    review_id: str
    order_id: str
    product_id: str | None = None
    product_name: str | None = None
    rating: int = Field(ge=1, le=5)
    title: str = ""
    body: str = ""
    customer: Customer = Customer()


class ReturnLine(Model):
    line_item_id: str
    quantity: int = Field(default=1, ge=1)


class ReturnEvent(Model):
    """A store telling us about a return: it was requested on the store's side, or the parcel arrived."""

    kind: Literal["requested", "received"]
    store_return_id: str | None = None
    aftercare_id: str | None = None
    order_id: str | None = None
    lines: list[ReturnLine] = Field(default_factory=list)
    reason: str = ""
    outcome: str = "refund"


class Delivery(Model):
    """What every verified delivery says about itself, whatever its platform: whose, what, which, when."""

    store_id: str
    integration: Integration
    topic: str
    event_key: str  # recognises a redelivery
    occurred_at: datetime


class NormalizedEvent(Delivery):
    """A verified webhook, decoded: what happened, to which order, and how to recognise a redelivery."""

    facts: OrderFacts | None = None
    products: list[ProductTypeUpdate] = Field(default_factory=list)
    review: SubmittedReview | None = None
    return_event: ReturnEvent | None = None
    notes: list[str] = Field(default_factory=list)  # values the normaliser dropped, and why

    @property
    def ignored(self) -> bool:
        return self.facts is None and not self.products and self.review is None and self.return_event is None


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _newest(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    if a.as_of != b.as_of:
        return a if a.as_of > b.as_of else b
    # Same instant: pick deterministically so arrival order never matters.
    return a if a.model_dump_json() >= b.model_dump_json() else b


def merge(state: OrderFacts, event: OrderFacts) -> OrderFacts:
    """Fold one event's facts into the order. Commutative, associative and idempotent."""
    refunds = dict(state.refunds)
    refunds.update(event.refunds)
    returned = {**state.returned, **event.returned}
    return OrderFacts(
        order_id=state.order_id,
        name=max(filter(None, [state.name, event.name]), default=None),
        test=state.test or event.test,
        currency=max(filter(None, [state.currency, event.currency]), default=None),
        customer=_newest(state.customer, event.customer),
        items=_newest(state.items, event.items),
        paid_at=_earliest(state.paid_at, event.paid_at),
        fulfilled_at=_earliest(state.fulfilled_at, event.fulfilled_at),
        delivered_at=_earliest(state.delivered_at, event.delivered_at),
        cancelled_at=_earliest(state.cancelled_at, event.cancelled_at),
        fully_refunded_at=_earliest(state.fully_refunded_at, event.fully_refunded_at),
        refunds=dict(sorted(refunds.items())),
        returned=dict(sorted(returned.items())),
    )


class PlannedProduct(Model):
    product_id: str
    line_item_id: str
    name: str
    product_type: str | None = None


class PlannedOutreach(Model):
    outreach_id: str
    kind: OutreachKind
    due_at: datetime
    products: list[PlannedProduct] = Field(default_factory=list)
    reminder_after_seconds: int | None = None
    anchor: Literal["delivered", "estimated"]
    skipped: str | None = None  # planned but never to be sent (e.g. "too late"), with the reason
