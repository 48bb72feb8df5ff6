"""Aftercare's own signed JSON event format, for any platform without a native integration."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

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
from functions.webhooks import parsing

T = TypeVar("T")

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


def _rule(check: Callable[[Any, str], T]) -> Callable[[Any], T]:
    """A ``parsing`` rule as a pydantic validator: its ``PayloadError`` becomes the field's error."""

    def validate(value: Any) -> T:
        try:
            return check(value, "value")
        except parsing.PayloadError as error:
            raise ValueError(error.problem) from None

    return validate


def _present_id(value: Any, field: str) -> str:
    if isinstance(value, str) and not value.strip():
        raise parsing.PayloadError(field, "must not be empty")
    return parsing.ident(value, field) or ""


def _aware_moment(value: Any, field: str) -> datetime:
    return parsing.moment(value, field, naive_is_utc=False)


def _rating(value: Any, field: str) -> int:
    return parsing.whole_number(value, field, 1, 5)


def _language_tag(value: Any, field: str) -> str:
    tag = parsing.locale(value)
    if tag is None:
        raise parsing.PayloadError(field, "must be a language tag such as en, pt-BR or zh-Hant-TW")
    return tag


def _single_address(value: Any, field: str) -> str:
    address = parsing.email_address(value)
    if address is None:
        raise parsing.PayloadError(field, "must be a single email address such as ana@example.com")
    return address


def _cleaned(value: Any) -> Any:
    """Text with control characters as spaces and whitespace collapsed; other types fail as not text."""
    return parsing.clean_text(value) if isinstance(value, str) else value


def _cleaned_lines(value: Any) -> Any:
    return parsing.clean_multiline(value) if isinstance(value, str) else value


Id = Annotated[str, BeforeValidator(_rule(_present_id))]
Quantity = Annotated[int, BeforeValidator(_rule(parsing.quantity))]
Rating = Annotated[int, BeforeValidator(_rule(_rating))]
Price = Annotated[Decimal, BeforeValidator(_rule(parsing.price))]
Moment = Annotated[AwareDatetime, BeforeValidator(_rule(_aware_moment))]
Locale = Annotated[str, BeforeValidator(_rule(_language_tag))]
Email = Annotated[str, BeforeValidator(_rule(_single_address))]
PersonName = Annotated[str, BeforeValidator(_cleaned), Field(max_length=parsing.NAME_LENGTH)]
ProductName = Annotated[str, BeforeValidator(_cleaned), Field(max_length=parsing.PRODUCT_NAME_LENGTH)]
OrderName = Annotated[str, BeforeValidator(_cleaned), Field(max_length=parsing.ORDER_NAME_LENGTH)]
ProductType = Annotated[str, BeforeValidator(_cleaned), Field(max_length=parsing.PRODUCT_TYPE_LENGTH)]
Reason = Annotated[str, BeforeValidator(_cleaned), Field(max_length=parsing.REASON_LENGTH)]
Title = Annotated[str, BeforeValidator(_cleaned), Field(max_length=parsing.TITLE_LENGTH)]
Body = Annotated[str, BeforeValidator(_cleaned_lines), Field(max_length=parsing.REVIEW_BODY_LENGTH)]
AftercareId = Annotated[Id, Field(max_length=64)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, populate_by_name=True)


class GenericCustomer(Strict):
    email: Email | None = None
    name: PersonName | None = None
    locale: Locale | None = None


class GenericLineItem(Strict):
    id: Id
    product_id: Id | None = None
    name: ProductName = ""
    product_type: ProductType | None = None
    quantity: Quantity = 1
    price: Price | None = None


class GenericOrder(Strict):
    id: Id
    name: OrderName | None = None
    test: bool = False
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    customer: GenericCustomer | None = None
    line_items: list[GenericLineItem] | None = Field(default=None, max_length=500)
    paid_at: Moment | None = None
    fulfilled_at: Moment | None = None
    delivered_at: Moment | None = None


class GenericRefundLine(Strict):
    line_item_id: Id
    quantity: Quantity


class GenericRefund(Strict):
    id: Id | None = None
    line_items: list[GenericRefundLine] | None = None  # none: the whole order is refunded


class GenericProduct(Strict):
    id: Id
    product_type: ProductType | None = None


class GenericReviewProduct(Strict):
    id: Id
    name: ProductName | None = None


class GenericReviewOrder(Strict):
    id: Id


class GenericReview(Strict):
    id: Id
    rating: Rating
    title: Title = ""
    body: Body = ""
    product: GenericReviewProduct | None = None
    order: GenericReviewOrder
    customer: GenericCustomer


class GenericReturnLine(Strict):
    line_item_id: Id
    quantity: Quantity = 1


class GenericReturn(Strict):
    id: Id | None = None  # the store's own id for the return
    aftercare_id: AftercareId | None = None  # the request number Aftercare gave it
    order_id: Id | None = None
    items: list[GenericReturnLine] = Field(default_factory=list, max_length=200)
    reason: Reason = ""
    outcome: Literal["refund", "replacement", "store_credit", "return"] = "refund"

    def missing_for(self, event_type: str) -> str | None:
        """What a return event of this type lacks, if anything."""
        if event_type == "return.requested" and not (self.order_id and self.items and self.id):
            return "return.id, return.order_id and return.items"
        if event_type == "return.received" and not (self.id or self.aftercare_id):
            return "return.id or return.aftercare_id"
        return None


SUBJECTS = {  # the object each event type is about; every other type is about an order
    "product.updated": ("product", "a product"),
    "review.submitted": ("review", "a review"),
    "return.requested": ("return_", "a return"),
    "return.received": ("return_", "a return"),
}


class GenericEvent(Strict):
    id: Id
    type: EventType
    occurred_at: Moment
    order: GenericOrder | None = None
    refund: GenericRefund | None = None
    product: GenericProduct | None = None
    review: GenericReview | None = None
    return_: GenericReturn | None = Field(default=None, alias="return")

    @model_validator(mode="after")
    def _has_subject(self) -> GenericEvent:
        attribute, described = SUBJECTS.get(self.type, ("order", "an order"))
        if getattr(self, attribute) is None:
            article = "an" if self.type.startswith("order.") else "a"
            raise ValueError(f"{article} {self.type} event needs {described} object")
        problem = self.return_.missing_for(self.type) if self.return_ else None
        if problem:
            raise ValueError(f"a {self.type} event needs {problem}")
        return self


def _customer(customer: GenericCustomer) -> Customer:
    return Customer(email=customer.email, name=customer.name or None, locale=customer.locale)


def _line_item(line: GenericLineItem) -> LineItem:
    return LineItem(
        id=line.id,
        product_id=line.product_id,
        name=line.name,
        quantity=line.quantity,
        price=line.price,
        product_type=(line.product_type or "").lower() or None,
    )


def _refunds(event: GenericEvent) -> dict[str, dict[str, int]]:
    """An ``order.refunded`` event's refunded lines; none means the whole order was refunded."""
    refund = event.refund or GenericRefund()
    lines: dict[str, int] = {}
    for line in refund.line_items or []:
        lines[line.line_item_id] = lines.get(line.line_item_id, 0) + line.quantity
    return {refund.id or event.id: lines} if lines else {}


STAMPED = {  # the time an event of this type stands for, when the order does not give it
    "order.paid": "paid_at",
    "order.fulfilled": "fulfilled_at",
    "order.delivered": "delivered_at",
    "order.cancelled": "cancelled_at",
}


def _times(event: GenericEvent, order: GenericOrder, refunds: dict[str, dict[str, int]]) -> dict[str, Any]:
    times: dict[str, datetime | None] = {
        "paid_at": order.paid_at,
        "fulfilled_at": order.fulfilled_at,
        "delivered_at": order.delivered_at,
        "cancelled_at": None,
        "fully_refunded_at": None,
    }
    stamped = STAMPED.get(event.type)
    if event.type == "order.refunded" and not refunds:
        stamped = "fully_refunded_at"
    if stamped:
        times[stamped] = times[stamped] or event.occurred_at
    return times


def _facts(event: GenericEvent, order: GenericOrder) -> OrderFacts:
    at = event.occurred_at
    refunds = _refunds(event) if event.type == "order.refunded" else {}
    customer = CustomerSnapshot(as_of=at, customer=_customer(order.customer)) if order.customer else None
    items = None
    if order.line_items is not None:
        items = ItemsSnapshot(as_of=at, items=[_line_item(line) for line in order.line_items])
    return OrderFacts(
        order_id=order.id,
        name=order.name or None,
        test=order.test,
        currency=order.currency,
        customer=customer,
        items=items,
        refunds=refunds,
        **_times(event, order, refunds),
    )


def _return_event(event_type: str, returned: GenericReturn) -> ReturnEvent:
    return ReturnEvent(
        kind="requested" if event_type == "return.requested" else "received",
        store_return_id=returned.id,
        aftercare_id=returned.aftercare_id,
        order_id=returned.order_id,
        lines=[ReturnLine(line_item_id=line.line_item_id, quantity=line.quantity) for line in returned.items],
        reason=returned.reason,
        outcome=returned.outcome,
    )


def _review(review: GenericReview) -> SubmittedReview:
    product = review.product
    return SubmittedReview(
        review_id=review.id,
        order_id=review.order.id,
        product_id=product.id if product else None,
        product_name=(product.name or None) if product else None,
        rating=review.rating,
        title=review.title,
        body=review.body,
        customer=_customer(review.customer),
    )


def _product(product: GenericProduct) -> ProductTypeUpdate:
    return ProductTypeUpdate(product_id=product.id, product_type=(product.product_type or "").lower() or None)


def normalize(store_id: str, event: GenericEvent) -> NormalizedEvent:
    """The validated event as order facts, a product's type, a review or a return (by its type)."""
    subject: dict[str, Any] = {}
    if event.return_ is not None and event.type.startswith("return."):
        subject["return_event"] = _return_event(event.type, event.return_)
    elif event.review is not None and event.type == "review.submitted":
        subject["review"] = _review(event.review)
    elif event.product is not None and event.type == "product.updated":
        subject["products"] = [_product(event.product)]
    elif event.order is not None:
        subject["facts"] = _facts(event, event.order)
    return NormalizedEvent(
        store_id=store_id,
        integration="generic",
        topic=event.type,
        event_key=event.id,
        occurred_at=event.occurred_at,
        **subject,
    )
