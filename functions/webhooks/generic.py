"""Aftercare's own signed JSON event format, for any platform without a native integration."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, model_validator

from functions.orders.models import (
    Customer,
    CustomerSnapshot,
    ItemsSnapshot,
    LineItem,
    NormalizedEvent,
    OrderFacts,
    ProductTypeUpdate,
    ReturnEvent,
    ReturnLine,
    SubmittedReview,
)

EventType = Literal[
    "order.created",
    "order.updated",
    "order.paid",
    "order.fulfilled",
    "order.delivered",
    "order.cancelled",
    "order.refunded",
    "product.updated",
    "review.submitted",
    "return.requested",
    "return.received",
]


def _exact_id(value: Any) -> Any:
    if isinstance(value, bool | float):
        raise ValueError("must be an integer or a string id")
    return str(value) if isinstance(value, int) else value


Id = Annotated[str, BeforeValidator(_exact_id), Field(min_length=1, max_length=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, populate_by_name=True)


class GenericCustomer(Strict):
    email: EmailStr | None = None
    name: str | None = Field(default=None, max_length=120)
    locale: str | None = Field(default=None, max_length=16)


class GenericLineItem(Strict):
    id: Id
    product_id: Id | None = None
    name: str = Field(default="", max_length=200)
    product_type: str | None = Field(default=None, max_length=64)
    quantity: int = Field(default=1, ge=0)
    price: Decimal | None = None


class GenericOrder(Strict):
    id: Id
    name: str | None = Field(default=None, max_length=64)
    test: bool = False
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    customer: GenericCustomer | None = None
    line_items: list[GenericLineItem] | None = Field(default=None, max_length=500)
    paid_at: AwareDatetime | None = None
    fulfilled_at: AwareDatetime | None = None
    delivered_at: AwareDatetime | None = None


class GenericRefundLine(Strict):
    line_item_id: Id
    quantity: int = Field(ge=1)


class GenericRefund(Strict):
    id: Id | None = None
    line_items: list[GenericRefundLine] | None = None  # none: the whole order is refunded


class GenericProduct(Strict):
    id: Id
    product_type: str | None = Field(default=None, max_length=64)


class GenericReviewProduct(Strict):
    id: Id
    name: str | None = Field(default=None, max_length=200)


class GenericReviewOrder(Strict):
    id: Id


class GenericReview(Strict):
    id: Id
    rating: int = Field(ge=1, le=5)
    title: str = Field(default="", max_length=200)
    body: str = Field(default="", max_length=5000)
    product: GenericReviewProduct | None = None
    order: GenericReviewOrder
    customer: GenericCustomer


class GenericReturnLine(Strict):
    line_item_id: Id
    quantity: int = Field(default=1, ge=1)


class GenericReturn(Strict):
    id: Id | None = None  # the store's own id for the return
    aftercare_id: str | None = Field(default=None, max_length=64)  # the request number Aftercare gave it
    order_id: Id | None = None
    items: list[GenericReturnLine] = Field(default_factory=list, max_length=200)
    reason: str = Field(default="", max_length=500)
    outcome: Literal["refund", "replacement", "store_credit", "return"] = "refund"


class GenericEvent(Strict):
    id: Id
    type: EventType
    occurred_at: AwareDatetime
    order: GenericOrder | None = None
    refund: GenericRefund | None = None
    product: GenericProduct | None = None
    review: GenericReview | None = None
    return_: GenericReturn | None = Field(default=None, alias="return")

    @model_validator(mode="after")
    def _has_subject(self) -> GenericEvent:
        if self.type.startswith("return."):
            if self.return_ is None:
                raise ValueError(f"a {self.type} event needs a return object")
            if self.type == "return.requested" and not (
                self.return_.order_id and self.return_.items and self.return_.id
            ):
                raise ValueError("a return.requested event needs return.id, return.order_id and return.items")
            if self.type == "return.received" and not (self.return_.id or self.return_.aftercare_id):
                raise ValueError("a return.received event needs return.id or return.aftercare_id")
            return self
        if self.type == "product.updated" and self.product is None:
            raise ValueError("a product.updated event needs a product object")
        if self.type == "review.submitted":
            if self.review is None:
                raise ValueError("a review.submitted event needs a review object")
            return self
        if self.type != "product.updated" and self.order is None:
            raise ValueError(f"an {self.type} event needs an order object")
        return self


def _facts(event: GenericEvent) -> OrderFacts:
    order = event.order
    assert order is not None
    at = event.occurred_at
    customer = None
    if order.customer is not None:
        c = order.customer
        customer = CustomerSnapshot(
            as_of=at, customer=Customer(email=str(c.email) if c.email else None, name=c.name, locale=c.locale)
        )
    items = None
    if order.line_items is not None:
        items = ItemsSnapshot(
            as_of=at,
            items=[
                LineItem(
                    id=li.id,
                    product_id=li.product_id,
                    name=li.name,
                    quantity=li.quantity,
                    price=li.price,
                    product_type=li.product_type.lower() if li.product_type else None,
                )
                for li in order.line_items
            ],
        )
    refunds: dict[str, dict[str, int]] = {}
    fully_refunded_at = None
    if event.type == "order.refunded":
        if event.refund and event.refund.line_items:
            lines: dict[str, int] = {}
            for line in event.refund.line_items:
                lines[line.line_item_id] = lines.get(line.line_item_id, 0) + line.quantity
            refunds[event.refund.id or event.id] = lines
        else:
            fully_refunded_at = at
    return OrderFacts(
        order_id=order.id,
        name=order.name,
        test=order.test,
        currency=order.currency,
        customer=customer,
        items=items,
        paid_at=order.paid_at or (at if event.type == "order.paid" else None),
        fulfilled_at=order.fulfilled_at or (at if event.type == "order.fulfilled" else None),
        delivered_at=order.delivered_at or (at if event.type == "order.delivered" else None),
        cancelled_at=at if event.type == "order.cancelled" else None,
        fully_refunded_at=fully_refunded_at,
        refunds=refunds,
    )


def normalize(store_id: str, event: GenericEvent) -> NormalizedEvent:
    facts = None
    products: list[ProductTypeUpdate] = []
    if event.type.startswith("return.") and event.return_ is not None:
        ret = event.return_
        returned = ReturnEvent(
            kind="requested" if event.type == "return.requested" else "received",
            store_return_id=ret.id,
            aftercare_id=ret.aftercare_id,
            order_id=ret.order_id,
            lines=[ReturnLine(line_item_id=line.line_item_id, quantity=line.quantity) for line in ret.items],
            reason=ret.reason,
            outcome=ret.outcome,
        )
        return NormalizedEvent(
            store_id=store_id,
            integration="generic",
            topic=event.type,
            event_key=event.id,
            occurred_at=event.occurred_at,
            return_event=returned,
        )
    if event.type == "review.submitted" and event.review is not None:
        r, c = event.review, event.review.customer
        review = SubmittedReview(
            review_id=r.id,
            order_id=r.order.id,
            product_id=r.product.id if r.product else None,
            product_name=r.product.name if r.product else None,
            rating=r.rating,
            title=r.title,
            body=r.body,
            customer=Customer(email=str(c.email) if c.email else None, name=c.name, locale=c.locale),
        )
        return NormalizedEvent(
            store_id=store_id,
            integration="generic",
            topic=event.type,
            event_key=event.id,
            occurred_at=event.occurred_at,
            review=review,
        )
    if event.product is not None and event.type == "product.updated":
        products = [
            ProductTypeUpdate(
                product_id=event.product.id,
                product_type=event.product.product_type.lower() if event.product.product_type else None,
            )
        ]
    else:
        facts = _facts(event)
    return NormalizedEvent(
        store_id=store_id,
        integration="generic",
        topic=event.type,
        event_key=event.id,
        occurred_at=event.occurred_at,
        facts=facts,
        products=products,
    )
