"""Every value a normaliser reads is checked against the explicit rules of ``functions.webhooks.parsing``.

Per rule, boundary values on both sides for each normaliser (Shopify, WooCommerce, generic), then a
Hypothesis property: for any JSON value as the whole body, and for mutations of realistic payloads,
a normaliser returns an event whose values are all within the rules, or refuses with an error naming
the field (``PayloadError`` for the platforms, a pydantic ``ValidationError`` for the generic format).
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from functions.orders.models import Delivery, NormalizedEvent
from functions.shared import clock
from functions.shared.http import validation_fields
from functions.webhooks import generic, parsing, shopify, woocommerce
from functions.webhooks.parsing import PayloadError
from tests.webhooks import (
    BIG_ORDER_ID,
    generic_event,
    generic_order,
    shopify_delivered_event,
    shopify_fulfillment,
    shopify_line,
    shopify_order,
    shopify_refund,
    woo_order,
)

pytestmark = pytest.mark.unit

RECEIVED = datetime(2026, 11, 6, 9, 0, tzinfo=UTC)  # the realistic payloads happen in early November 2026
KNOWN_TYPES = {"clothing", "electronics", "experience"}
LINE_ID, PRODUCT_ID, REFUND_ID = 16000000000000000001, 8000000000000000001, 7700000000000000001
DELETE = object()  # a path value meaning "remove this key"


@pytest.fixture(autouse=True, scope="module")
def _received_now() -> Iterator[None]:
    clock.clock.freeze(RECEIVED)
    yield
    clock.clock.reset()


# ------------------------------------------------------------------------------ realistic payloads


def shopify_return_request() -> dict[str, Any]:
    return {
        "id": 91,
        "admin_graphql_api_id": "gid://shopify/Return/91",
        "status": "requested",
        "order": {"id": BIG_ORDER_ID, "admin_graphql_api_id": f"gid://shopify/Order/{BIG_ORDER_ID}"},
        "total_return_line_items": 1,
        "return_line_items": [
            {
                "id": 1,
                "quantity": 1,
                "return_reason": "SIZE_TOO_SMALL",
                "customer_note": "Too small",
                "fulfillment_line_item": {"id": 5, "line_item": {"id": LINE_ID}},
            }
        ],
    }


def generic_samples() -> list[tuple[str, dict[str, Any]]]:
    order = generic_order(
        items=[("l1", "p-shirt", "clothing"), ("l2", "p-lamp", "electronics")],
        paid_at="2026-11-01T09:00:00Z",
        fulfilled_at="2026-11-02T09:00:00+01:00",
    )
    review = {
        "id": "rev-77",
        "rating": 2,
        "title": "Shrunk in the wash",
        "body": "Lost a full size after one wash.\nStill soft, though.",
        "product": {"id": "p-shirt", "name": "Linen shirt"},
        "order": {"id": "A-1001"},
        "customer": {"email": "lee@example.com", "name": "Lee Park", "locale": "en"},
    }
    requested = {
        "id": "R1",
        "order_id": "A-1001",
        "items": [{"line_item_id": "l1", "quantity": 1}],
        "reason": "Does not fit",
        "outcome": "refund",
    }
    refund = {"id": "re-1", "line_items": [{"line_item_id": "l2", "quantity": 1}]}
    samples = [(t, generic_event(t, copy.deepcopy(order), event_id=f"evt-{t}")) for t in GENERIC_ORDER_TOPICS]
    samples += [
        (
            "order.refunded",
            generic_event("order.refunded", {"id": "A-1001"}, event_id="evt-rf", refund=refund),
        ),
        (
            "product.updated",
            {
                **generic_event("product.updated", {}),
                "order": None,
                "product": {"id": "p-lamp", "product_type": "Electronics"},
            },
        ),
        ("review.submitted", {**generic_event("review.submitted", {}), "order": None, "review": review}),
        ("return.requested", generic_event("return.requested", {"id": "A-1001"}, **{"return": requested})),
        (
            "return.received",
            generic_event("return.received", {"id": "A-1001"}, **{"return": {"aftercare_id": "RT-0001"}}),
        ),
    ]
    return samples


GENERIC_ORDER_TOPICS = [
    "order.created",
    "order.updated",
    "order.paid",
    "order.fulfilled",
    "order.delivered",
    "order.cancelled",
]


def samples() -> list[tuple[str, str, Any]]:
    """(integration, topic, payload) for every handled topic, written from the platforms' formats."""
    two_lines = [
        shopify_line(LINE_ID, PRODUCT_ID, "Linen shirt"),
        shopify_line(LINE_ID + 1, PRODUCT_ID + 1, "Desk lamp", 2, "12.5"),
    ]
    refund = shopify_refund(BIG_ORDER_ID, REFUND_ID, LINE_ID)
    refund["refund_line_items"].append(
        {"id": 2, "line_item_id": LINE_ID + 1, "quantity": 0, "restock_type": "no_restock"}
    )
    fulfilled = shopify_fulfillment(
        BIG_ORDER_ID, "2026-11-02T10:00:00Z", shipment_status="delivered", updated_at="2026-11-04T16:30:00Z"
    )
    woo_lines = [
        {
            "id": 301,
            "name": "Trail headlamp",
            "product_id": 77,
            "quantity": 1,
            "price": 35.5,
            "meta_data": [{"key": "product_type", "value": "Electronics"}],
        },
        {"id": 302, "name": "Gift card", "product_id": 0, "quantity": 2, "price": "10.00", "meta_data": []},
    ]
    return [
        ("shopify", "orders/create", shopify_order(lines=copy.deepcopy(two_lines))),
        ("shopify", "orders/paid", shopify_order()),
        (
            "shopify",
            "orders/fulfilled",
            shopify_order(
                lines=copy.deepcopy(two_lines),
                fulfillment_status="fulfilled",
                fulfillments=[fulfilled],
                refunds=[refund],
            ),
        ),
        (
            "shopify",
            "orders/cancelled",
            shopify_order(
                cancelled_at="2026-11-03T08:00:00Z", cancel_reason="customer", financial_status="refunded"
            ),
        ),
        ("shopify", "fulfillments/create", copy.deepcopy(fulfilled)),
        (
            "shopify",
            "fulfillment_events/create",
            shopify_delivered_event(BIG_ORDER_ID, "2026-11-04T16:30:00Z"),
        ),
        ("shopify", "refunds/create", copy.deepcopy(refund)),
        (
            "shopify",
            "products/update",
            {"id": PRODUCT_ID, "title": "Linen shirt", "product_type": "Clothing", "vendor": "Demo"},
        ),
        ("shopify", "returns/request", shopify_return_request()),
        (
            "woocommerce",
            "order.created",
            woo_order(
                status="processing",
                lines=copy.deepcopy(woo_lines),
                meta=[{"id": 1, "key": "wpml_language", "value": "pt_BR"}],
            ),
        ),
        (
            "woocommerce",
            "order.updated",
            woo_order(meta=[{"id": 2, "key": "aftercare_delivered_at", "value": "2026-11-04T10:00:00"}]),
        ),
        (
            "woocommerce",
            "product.updated",
            {
                "id": 77,
                "name": "Trail headlamp",
                "type": "simple",
                "categories": [{"id": 9, "name": "Electronics", "slug": "electronics"}],
                "meta_data": [],
            },
        ),
        *[("generic", topic, payload) for topic, payload in generic_samples()],
    ]


def sample(integration: str, topic: str) -> Any:
    return copy.deepcopy(next(p for i, t, p in samples() if (i, t) == (integration, topic)))


def delivery(integration: Any, topic: str, at: datetime) -> Delivery:
    return Delivery(store_id="acme", integration=integration, topic=topic, event_key="evt-1", occurred_at=at)


def run(integration: str, topic: str, payload: Any) -> NormalizedEvent:
    if integration == "shopify":
        return shopify.normalize(delivery("shopify", topic, RECEIVED), payload)
    if integration == "woocommerce":
        return woocommerce.normalize(delivery("woocommerce", topic, RECEIVED), payload, KNOWN_TYPES)
    return generic.normalize("acme", generic.GenericEvent.model_validate(payload))


def test_every_sample_is_accepted_as_it_is() -> None:
    for integration, topic, payload in samples():
        event = run(integration, topic, payload)
        assert not event.ignored, (integration, topic)
        assert event.notes == [], (integration, topic, event.notes)
        assert_within_rules(event)


# ----------------------------------------------------------------------- where each rule applies


@dataclass(frozen=True)
class Site:
    """Where a value enters: a topic's payload, the path of the value in it, and what it becomes."""

    integration: str
    topic: str
    path: tuple[Any, ...]
    read: Callable[[NormalizedEvent], Any]

    @property
    def field(self) -> str:
        """The field the error names: ``line_items[0].price``; generic: ``order.line_items.0.price``."""
        if self.integration == "generic":
            return ".".join(str(p) for p in self.path)
        return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path).lstrip(".")

    def __str__(self) -> str:
        return f"{self.integration}:{self.topic}:{self.field}"

    def payload(self, value: Any) -> Any:
        return with_value(sample(self.integration, self.topic), self.path, value)

    def accept(self, value: Any) -> Any:
        return self.read(run(self.integration, self.topic, self.payload(value)))

    def refuse(self, value: Any) -> str:
        """The problem reported for the value; the error must name this site's field."""
        payload = self.payload(value)
        if self.integration == "generic":
            with pytest.raises(ValidationError) as invalid:
                run(self.integration, self.topic, payload)
            problems = {f["field"]: f["problem"] for f in validation_fields(invalid.value)}  # as answered
            assert self.field in problems, problems
            return problems[self.field]
        with pytest.raises(PayloadError) as refused:
            run(self.integration, self.topic, payload)
        assert refused.value.field == self.field
        return refused.value.problem


def with_value(payload: Any, path: tuple[Any, ...], value: Any) -> Any:
    parent = payload
    for key in path[:-1]:
        parent = parent[key]
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return payload


def facts(event: NormalizedEvent) -> Any:
    assert event.facts is not None
    return event.facts


def first_item(event: NormalizedEvent) -> Any:
    assert facts(event).items is not None
    return facts(event).items.items[0]


def customer(event: NormalizedEvent) -> Any:
    if event.review is not None:
        return event.review.customer
    assert facts(event).customer is not None
    return facts(event).customer.customer


def returned(event: NormalizedEvent) -> Any:
    assert event.return_event is not None
    return event.return_event


def return_line(event: NormalizedEvent) -> Any:
    return returned(event).lines[0]


def review(event: NormalizedEvent) -> Any:
    assert event.review is not None
    return event.review


def short(value: Any) -> str:
    """A test id for a value, even a 5000-digit integer (which ``repr`` refuses)."""
    if isinstance(value, int) and abs(value) > 10**40:
        return f"{'-' if value < 0 else ''}10**{round(math.log10(abs(value)))}"
    return repr(value)[:30]


def ids(sites: list[Site]) -> list[str]:
    return [str(s) for s in sites]


# ------------------------------------------------------------------------------------- date-times

DATE_SITES = [
    Site("shopify", "orders/paid", ("updated_at",), lambda e: facts(e).customer.as_of),
    Site("shopify", "orders/paid", ("processed_at",), lambda e: facts(e).paid_at),
    Site("shopify", "fulfillments/create", ("created_at",), lambda e: facts(e).fulfilled_at),
    Site("shopify", "fulfillment_events/create", ("happened_at",), lambda e: facts(e).delivered_at),
    Site("woocommerce", "order.updated", ("date_paid_gmt",), lambda e: facts(e).paid_at),
    Site("woocommerce", "order.updated", ("date_modified_gmt",), lambda e: facts(e).customer.as_of),
    Site("generic", "order.paid", ("occurred_at",), lambda e: e.occurred_at),
    Site("generic", "order.created", ("order", "paid_at"), lambda e: facts(e).paid_at),
]
IN_RANGE = [
    ("2000-01-01T00:00:00Z", datetime(2000, 1, 1, tzinfo=UTC)),
    ("2000-01-01T01:00:00+01:00", datetime(2000, 1, 1, tzinfo=UTC)),
    ("2026-11-07T09:00:00Z", RECEIVED + timedelta(days=1)),  # exactly a day after receipt
    ("2026-11-07T04:00:00-05:00", RECEIVED + timedelta(days=1)),
    ("2026-11-01T10:00:00.123456-05:00", datetime(2026, 11, 1, 15, 0, 0, 123456, tzinfo=UTC)),
]
OUT_OF_RANGE = [
    "1999-12-31T23:59:59Z",
    "2000-01-01T00:59:59+01:00",  # 1999 in UTC
    "2026-11-07T09:00:01Z",  # a second more than a day after receipt
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",  # before the first representable instant once in UTC
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-01:00",
    "2026-13-01T00:00:00Z",
    "yesterday",
    "2026-11-01T10:00:00Z" + " " * 100,
    "2" * 10_000,
    1762419600,
    1.7624196e9,
    True,
    ["2026-11-01T10:00:00Z"],
    {"at": "2026-11-01T10:00:00Z"},
]


@pytest.mark.parametrize("site", DATE_SITES, ids=ids(DATE_SITES))
@pytest.mark.parametrize(("value", "expected"), IN_RANGE)
def test_dates_from_2000_to_a_day_after_receipt_are_accepted(
    site: Site, value: str, expected: datetime
) -> None:
    assert site.accept(value) == expected


@pytest.mark.parametrize("site", DATE_SITES, ids=ids(DATE_SITES))
@pytest.mark.parametrize("value", OUT_OF_RANGE, ids=short)
def test_dates_out_of_range_or_not_text_name_the_field(site: Site, value: Any) -> None:
    problem = site.refuse(value)
    assert problem


@pytest.mark.parametrize("site", DATE_SITES, ids=ids(DATE_SITES))
def test_dates_end_with_2100(site: Site) -> None:
    clock.clock.freeze(datetime(2100, 12, 31, 12, tzinfo=UTC))
    try:
        assert site.accept("2100-12-31T23:59:59Z") == datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC)
        assert "between 2000 and 2100" in site.refuse("2101-01-01T00:00:00Z")
    finally:
        clock.clock.freeze(RECEIVED)


def test_problem_texts_tell_a_store_developer_what_to_send() -> None:
    site = DATE_SITES[0]
    assert site.refuse("1999-12-31T23:59:59Z") == "must be a date between 2000 and 2100"
    assert site.refuse("2026-11-08T09:00:00Z") == "must not be more than a day in the future"
    assert site.refuse("yesterday") == "must be an ISO-8601 date-time such as 2026-11-05T12:00:00Z"


@pytest.mark.parametrize("site", [s for s in DATE_SITES if s.integration != "generic"], ids=str)
def test_platform_times_without_an_offset_are_utc(site: Site) -> None:
    assert site.accept("2026-11-01T09:01:00") == datetime(2026, 11, 1, 9, 1, tzinfo=UTC)


@pytest.mark.parametrize("site", [s for s in DATE_SITES if s.integration == "generic"], ids=str)
def test_generic_times_need_an_offset(site: Site) -> None:
    assert "offset" in site.refuse("2026-11-01T09:01:00")


def test_a_shopify_delivery_time_out_of_range_is_refused_by_name() -> None:
    with pytest.raises(PayloadError) as refused:
        shopify.normalize(
            delivery("shopify", "orders/paid", datetime(1999, 1, 1, tzinfo=UTC)), shopify_order()
        )
    assert refused.value.field == "X-Shopify-Triggered-At"


# ------------------------------------------------------------------------------------------ prices

PRICE_SITES = [
    Site("shopify", "orders/paid", ("line_items", 0, "price"), lambda e: first_item(e).price),
    Site("woocommerce", "order.updated", ("line_items", 0, "price"), lambda e: first_item(e).price),
    Site("generic", "order.created", ("order", "line_items", 0, "price"), lambda e: first_item(e).price),
]
PRICES = [
    (0, Decimal(0)),
    ("0", Decimal(0)),
    ("0.0001", Decimal("0.0001")),
    ("49.00", Decimal("49.00")),
    (49.9, Decimal("49.9")),
    (" 12.5 ", Decimal("12.5")),
    ("999999999.9999", Decimal("999999999.9999")),
    ("1000000000", Decimal(1_000_000_000)),
    ("1000000000.0000", Decimal(1_000_000_000)),
    (1_000_000_000, Decimal(1_000_000_000)),
    (1e9, Decimal(1_000_000_000)),
    ("1.50000", Decimal("1.5")),  # trailing zeros are not decimal places that matter
]
NOT_PRICES = [
    -1,
    "-0.01",
    -0.0001,
    "1000000000.0001",
    1_000_000_001,
    1e40,
    10**5000,
    "0.00001",
    0.00001,
    "1.23456",
    math.nan,
    math.inf,
    -math.inf,
    "NaN",
    "Infinity",
    "-Infinity",
    "sNaN",
    "1e999999999",
    True,
    False,
    [],
    ["49.00"],
    {"amount": "49.00"},
    "49,90",
    "ten",
    "1" * 10_000,
]


@pytest.mark.parametrize("site", PRICE_SITES, ids=ids(PRICE_SITES))
@pytest.mark.parametrize(("value", "expected"), PRICES, ids=short)
def test_prices_from_0_to_a_billion_with_4_places_are_accepted(
    site: Site, value: Any, expected: Decimal
) -> None:
    assert site.accept(value) == expected


@pytest.mark.parametrize("site", PRICE_SITES, ids=ids(PRICE_SITES))
@pytest.mark.parametrize("value", NOT_PRICES, ids=short)
def test_prices_out_of_range_name_the_field(site: Site, value: Any) -> None:
    if site.integration == "woocommerce" and isinstance(value, float) and 0 <= value < 1e9:
        assert site.accept(value) == Decimal(repr(value)).quantize(Decimal("0.0001"))  # see the next test
        return
    assert site.refuse(value)


def test_woocommerce_float_prices_are_kept_to_4_places() -> None:
    """WooCommerce sends a line's price as total / quantity: 50.00 over 3 items is 16.666666666666668."""
    site = next(s for s in PRICE_SITES if s.integration == "woocommerce")
    assert site.accept(50 / 3) == Decimal("16.6667")
    assert site.refuse("16.666666666666668") == "must be at most 4 decimal places"  # text is taken as written


def test_price_problems_say_what_is_wrong() -> None:
    site = PRICE_SITES[0]
    assert site.refuse("0.00001") == "must be at most 4 decimal places"
    assert site.refuse("-1") == "must be an amount from 0 to 1000000000"
    assert site.refuse(math.nan) == "must be a finite amount (not NaN or Infinity)"
    assert site.refuse([]) == "must be an amount such as 49.90"


@pytest.mark.parametrize("site", [s for s in PRICE_SITES if s.integration != "generic"], ids=str)
@pytest.mark.parametrize("value", [None, "", "  "])
def test_a_platform_price_may_be_absent(site: Site, value: Any) -> None:
    assert site.accept(value) is None


# -------------------------------------------------------------------------------------- quantities

QUANTITY_SITES = [
    Site("shopify", "orders/paid", ("line_items", 0, "quantity"), lambda e: first_item(e).quantity),
    Site(
        "shopify",
        "refunds/create",
        ("refund_line_items", 0, "quantity"),
        lambda e: facts(e).refunds[str(REFUND_ID)][str(LINE_ID)],
    ),
    Site(
        "shopify",
        "orders/fulfilled",
        ("refunds", 0, "refund_line_items", 0, "quantity"),
        lambda e: facts(e).refunds[str(REFUND_ID)][str(LINE_ID)],
    ),
    Site(
        "shopify", "returns/request", ("return_line_items", 0, "quantity"), lambda e: return_line(e).quantity
    ),
    Site("woocommerce", "order.updated", ("line_items", 0, "quantity"), lambda e: first_item(e).quantity),
    Site(
        "generic", "order.created", ("order", "line_items", 0, "quantity"), lambda e: first_item(e).quantity
    ),
    Site(
        "generic",
        "order.refunded",
        ("refund", "line_items", 0, "quantity"),
        lambda e: facts(e).refunds["re-1"]["l2"],
    ),
    Site(
        "generic", "return.requested", ("return", "items", 0, "quantity"), lambda e: return_line(e).quantity
    ),
]
NOT_QUANTITIES = [-1, 10_001, 10**5000, True, False, 2.0, 1.5, 1e40, math.nan, "1", None, [], [1], {"n": 1}]


@pytest.mark.parametrize("site", QUANTITY_SITES, ids=ids(QUANTITY_SITES))
@pytest.mark.parametrize("value", [1, 2, 10_000])
def test_quantities_from_1_to_10000_are_accepted(site: Site, value: int) -> None:
    assert site.accept(value) == value


@pytest.mark.parametrize("site", QUANTITY_SITES, ids=ids(QUANTITY_SITES))
@pytest.mark.parametrize("value", NOT_QUANTITIES, ids=short)
def test_quantities_out_of_range_or_not_whole_name_the_field(site: Site, value: Any) -> None:
    assert site.refuse(value) == "must be a whole number from 1 to 10000"


@pytest.mark.parametrize("site", QUANTITY_SITES, ids=ids(QUANTITY_SITES))
def test_a_quantity_of_zero_is_refused_except_in_shopify_restock_lines(site: Site) -> None:
    if site.integration == "shopify" and "refund_line_items" in site.path:
        payload = site.payload(0)
        assert facts(run(site.integration, site.topic, payload)).refunds == {}
    else:
        assert site.refuse(0) == "must be a whole number from 1 to 10000"


def test_a_shopify_restock_only_line_is_skipped_and_the_refunded_line_counts() -> None:
    event = run("shopify", "refunds/create", sample("shopify", "refunds/create"))
    assert facts(event).refunds == {str(REFUND_ID): {str(LINE_ID): 1}}


# -------------------------------------------------------------------------------------------- ids

ID_SITES = [
    Site("shopify", "orders/paid", ("id",), lambda e: facts(e).order_id),
    Site("shopify", "orders/paid", ("line_items", 0, "id"), lambda e: first_item(e).id),
    Site("shopify", "fulfillments/create", ("order_id",), lambda e: facts(e).order_id),
    Site(
        "shopify",
        "refunds/create",
        ("refund_line_items", 0, "line_item_id"),
        lambda e: next(iter(facts(e).refunds[str(REFUND_ID)])),
    ),
    Site(
        "shopify",
        "returns/request",
        ("return_line_items", 0, "fulfillment_line_item", "line_item", "id"),
        lambda e: return_line(e).line_item_id,
    ),
    Site("shopify", "products/update", ("id",), lambda e: e.products[0].product_id),
    Site("woocommerce", "order.updated", ("id",), lambda e: facts(e).order_id),
    Site("woocommerce", "order.updated", ("line_items", 0, "id"), lambda e: first_item(e).id),
    Site("generic", "order.created", ("id",), lambda e: e.event_key),
    Site("generic", "order.created", ("order", "id"), lambda e: facts(e).order_id),
    Site("generic", "order.created", ("order", "line_items", 0, "id"), lambda e: first_item(e).id),
    Site(
        "generic",
        "order.refunded",
        ("refund", "line_items", 0, "line_item_id"),
        lambda e: next(iter(facts(e).refunds["re-1"])),
    ),
    Site(
        "generic",
        "return.requested",
        ("return", "items", 0, "line_item_id"),
        lambda e: return_line(e).line_item_id,
    ),
]
IDS = [
    (1, "1"),
    ("A-1001", "A-1001"),
    (2**53 + 1, "9007199254740993"),
    (BIG_ORDER_ID, "5678901234567890123"),
    (10**255, "1" + "0" * 255),  # 256 digits
    ("x" * 256, "x" * 256),
    ("gid://shopify/LineItem/1", "gid://shopify/LineItem/1"),
]
NOT_IDS = [
    "x" * 257,
    10**256,  # 257 digits
    -(10**255),  # 257 characters with the sign
    10**5000,
    1.0,
    1.5,
    math.inf,
    True,
    [],
    [1],
    {"id": 1},
    "a\x00b",
    "a\nb",
    "a\u2028b",
    "a\x85b",
    "a\ud800b",
]


@pytest.mark.parametrize("site", ID_SITES, ids=ids(ID_SITES))
@pytest.mark.parametrize(("value", "expected"), IDS, ids=short)
def test_ids_keep_every_digit_up_to_256_characters(site: Site, value: Any, expected: str) -> None:
    assert site.accept(value) == expected


@pytest.mark.parametrize("site", ID_SITES, ids=ids(ID_SITES))
@pytest.mark.parametrize("value", NOT_IDS, ids=short)
def test_ids_that_are_too_long_or_not_integers_or_text_name_the_field(site: Site, value: Any) -> None:
    assert site.refuse(value)


@pytest.mark.parametrize("site", ID_SITES, ids=ids(ID_SITES))
def test_a_required_id_that_is_missing_names_the_field(site: Site) -> None:
    assert site.refuse(None)


# ------------------------------------------------------------------------------------ names, texts


@dataclass(frozen=True)
class TextSite(Site):
    limit: int = 0
    fallback: Any = None  # what the event says when this value is not text (platforms: a note too)


NAME_SITES = [
    TextSite(
        "shopify", "orders/paid", ("customer", "first_name"), lambda e: customer(e).name, 60, "Ana Lima"
    ),
    TextSite(
        "woocommerce", "order.updated", ("billing", "first_name"), lambda e: customer(e).name, 60, "Wei"
    ),
    TextSite("generic", "order.created", ("order", "customer", "name"), lambda e: customer(e).name, 120),
    TextSite("generic", "review.submitted", ("review", "customer", "name"), lambda e: customer(e).name, 120),
]
PRODUCT_NAME_SITES = [
    TextSite(
        "shopify", "orders/paid", ("line_items", 0, "name"), lambda e: first_item(e).name, 200, "Linen shirt"
    ),
    TextSite(
        "woocommerce", "order.updated", ("line_items", 0, "name"), lambda e: first_item(e).name, 200, ""
    ),
    TextSite(
        "generic", "order.created", ("order", "line_items", 0, "name"), lambda e: first_item(e).name, 200
    ),
    TextSite(
        "generic",
        "review.submitted",
        ("review", "product", "name"),
        lambda e: review(e).product_name,
        200,
    ),
]
ORDER_NAME_SITES = [
    TextSite("shopify", "orders/paid", ("name",), lambda e: facts(e).name, 64),
    TextSite("woocommerce", "order.updated", ("number",), lambda e: facts(e).name, 64),
    TextSite("generic", "order.created", ("order", "name"), lambda e: facts(e).name, 64),
]
REASON_SITES = [
    TextSite(
        "shopify",
        "returns/request",
        ("return_line_items", 0, "return_reason"),
        lambda e: returned(e).reason,
        500,
        "Too small",  # the customer's note
    ),
    TextSite("generic", "return.requested", ("return", "reason"), lambda e: returned(e).reason, 500),
]
TEXT_SITES = NAME_SITES + PRODUCT_NAME_SITES + ORDER_NAME_SITES + REASON_SITES
CONTROLS = "\x00\x01\x08\x0b\x0c\x1b\x1f\x7f\x80\x85\x9f\u2028\u2029\ud800\r\n\t"


def expected_name(site: Site, text: str) -> str:
    """Shopify and WooCommerce join the first name with the last name of the sample."""
    if site in NAME_SITES and site.integration == "shopify":
        return f"{text} Lima"
    if site in NAME_SITES and site.integration == "woocommerce":
        return f"{text} Wei"
    return text


@pytest.mark.parametrize("site", TEXT_SITES, ids=ids(TEXT_SITES))
def test_control_characters_become_spaces_and_whitespace_collapses(site: TextSite) -> None:
    assert site.accept(f"  Ana{CONTROLS}Maria \u00a0 Lima ") == expected_name(site, "Ana Maria Lima")


@pytest.mark.parametrize("site", TEXT_SITES, ids=ids(TEXT_SITES))
def test_texts_up_to_their_limit_are_kept_whole(site: TextSite) -> None:
    assert site.accept("é" * site.limit) == expected_name(site, "é" * site.limit)


@pytest.mark.parametrize("site", TEXT_SITES, ids=ids(TEXT_SITES))
def test_longer_texts_are_cut_by_the_platforms_and_refused_by_the_generic_format(site: TextSite) -> None:
    if site.integration == "generic":
        assert str(site.limit) in site.refuse("é" * (site.limit + 1))
    else:
        assert site.accept("é" * (site.limit + 1)) == expected_name(site, "é" * site.limit)
        assert site.accept("é" * 100_000) == expected_name(site, "é" * site.limit)


@pytest.mark.parametrize("site", TEXT_SITES, ids=ids(TEXT_SITES))
@pytest.mark.parametrize("value", [12, 1.5, True, [], ["Ana"], {"first": "Ana"}], ids=short)
def test_a_name_that_is_not_text_is_dropped_with_a_note_or_refused(site: TextSite, value: Any) -> None:
    if site.integration == "generic":
        assert site.refuse(value) == "Input should be a valid string"
        return
    event = run(site.integration, site.topic, site.payload(value))
    assert site.read(event) == site.fallback
    assert event.notes == [f"{site.field} dropped: not text"]


def test_shopify_falls_back_to_the_address_name_when_the_customer_name_is_not_text() -> None:
    order = sample("shopify", "orders/paid")
    order["customer"]["first_name"] = ["Ana"]
    order["line_items"][0]["name"] = {"en": "Shirt"}
    event = run("shopify", "orders/paid", order)
    assert customer(event).name == "Ana Lima"  # from the shipping address
    assert first_item(event).name == "Linen shirt"  # the title
    assert event.notes == ["line_items[0].name dropped: not text", "customer.first_name dropped: not text"]


def test_a_person_name_joined_from_two_parts_is_at_most_120_characters() -> None:
    order = sample("shopify", "orders/paid")
    order["customer"].update(first_name="a" * 500, last_name="b" * 500)
    name = customer(run("shopify", "orders/paid", order)).name
    assert name == "a" * 60 + " " + "b" * 59


def test_review_bodies_keep_their_line_breaks_up_to_5000_characters() -> None:
    site = TextSite("generic", "review.submitted", ("review", "body"), lambda e: review(e).body, 5000)
    assert (
        site.accept("Great\r\nfit\x00and\u2028soft\rreally\n\n  warm  ")
        == "Great\nfit and soft\nreally\n\nwarm"
    )
    assert site.accept("a\n" * 2500) == "\n".join(["a"] * 2500)  # 4999 characters once the last break goes
    assert site.accept("é" * 5000) == "é" * 5000
    assert "5000" in site.refuse("é" * 5001)


def test_review_titles_are_single_lines_of_at_most_200_characters() -> None:
    site = TextSite("generic", "review.submitted", ("review", "title"), lambda e: review(e).title, 200)
    assert site.accept("Shrunk\nin the\x00wash") == "Shrunk in the wash"
    assert site.accept("t" * 200) == "t" * 200
    assert "200" in site.refuse("t" * 201)


# ----------------------------------------------------------------------------------------- locales

LOCALE_SITES = [
    Site("shopify", "orders/paid", ("customer_locale",), lambda e: customer(e).locale),
    Site("woocommerce", "order.created", ("meta_data", 0, "value"), lambda e: customer(e).locale),
    Site("generic", "order.created", ("order", "customer", "locale"), lambda e: customer(e).locale),
    Site("generic", "review.submitted", ("review", "customer", "locale"), lambda e: customer(e).locale),
]
LONGEST_TAG = "en-x-abcdefgh-abcdefgh-abcdefgh-abc"
LOCALES = [
    ("en", "en"),
    ("EN", "en"),
    ("pt-BR", "pt-BR"),
    ("pt-br", "pt-BR"),
    ("pt_BR", "pt-BR"),
    ("fa_IR", "fa-IR"),
    ("zh-Hant-TW", "zh-Hant-TW"),
    ("zh-hant-tw", "zh-Hant-TW"),
    ("sr-Latn-RS", "sr-Latn-RS"),
    ("es-419", "es-419"),
    ("de-CH-1996", "de-CH-1996"),
    ("zh-yue-HK", "zh-yue-HK"),
    ("en-US-u-ca-gregory", "en-US-u-ca-gregory"),
    ("en-US-x-twain", "en-US-x-twain"),
    (" fr ", "fr"),
    (LONGEST_TAG, LONGEST_TAG),
]
NOT_LOCALES = [
    "e",
    "123",
    "en-",
    "-en",
    "en--US",
    "en US",
    "en-a",  # a singleton without its subtags
    "en-US-x",
    "en_US.UTF-8",
    "en\x00",
    "e\u212a",  # the Kelvin sign folds to "k" outside ASCII rules
    "\uff45\uff4e",  # full-width "en"
    "en;q=0.9",
    LONGEST_TAG + "d",  # 36 characters
    "x" * 10_000,
    5,
    True,
    ["en"],
    {"tag": "en"},
]


@pytest.mark.parametrize("site", LOCALE_SITES, ids=ids(LOCALE_SITES))
@pytest.mark.parametrize(("value", "expected"), LOCALES)
def test_well_formed_language_tags_are_kept_in_canonical_case(site: Site, value: str, expected: str) -> None:
    assert len(LONGEST_TAG) == parsing.MAX_LOCALE == 35
    assert site.accept(value) == expected


@pytest.mark.parametrize("site", LOCALE_SITES, ids=ids(LOCALE_SITES))
@pytest.mark.parametrize("value", NOT_LOCALES, ids=short)
def test_anything_else_is_dropped_with_a_note_or_refused(site: Site, value: Any) -> None:
    if site.integration == "generic":
        assert "language tag" in site.refuse(value)
        return
    event = run(site.integration, site.topic, site.payload(value))
    assert site.read(event) is None
    assert event.notes == ["customer locale dropped: not a language tag"]


# ------------------------------------------------------------------------------------------ emails

EMAIL_SITES = [
    Site("shopify", "orders/paid", ("email",), lambda e: customer(e).email),
    Site("woocommerce", "order.updated", ("billing", "email"), lambda e: customer(e).email),
    Site("generic", "order.created", ("order", "customer", "email"), lambda e: customer(e).email),
    Site("generic", "review.submitted", ("review", "customer", "email"), lambda e: customer(e).email),
]
LONGEST_EMAIL = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com"
EMAILS = [
    ("ana@example.com", "ana@example.com"),
    ("Ana.Lima@EXAMPLE.COM", "Ana.Lima@example.com"),
    ("  ana@example.com ", "ana@example.com"),
    ("ana+orders@mail.example.co.uk", "ana+orders@mail.example.co.uk"),
    ("josé@exämple.com", "josé@exämple.com"),
    (LONGEST_EMAIL, LONGEST_EMAIL),
]
NOT_EMAILS = [
    LONGEST_EMAIL.replace(".com", "d.com"),  # 255 characters
    ["ana@example.com"],
    ["ana@example.com", "bo@example.com"],
    "ana@example.com, bo@example.com",
    "ana@example.com;bo@example.com",
    "ana@example.com bo@example.com",
    "Ana Lima <ana@example.com>",
    '"Ana" <ana@example.com>',
    "<ana@example.com>",
    "ana",
    "ana@",
    "@example.com",
    "ana@@example.com",
    "ana@exa mple.com",
    "ana@example.com\x00",
    "ana@exa\nmple.com",
    "ana@[127.0.0.1]",
    "x" * 10_000 + "@example.com",
    5,
    True,
    {"email": "ana@example.com"},
]


def with_email(site: Site, value: Any) -> Any:
    payload = site.payload(value)
    if site.integration == "shopify":  # Shopify gives the address three times; all say the same here
        payload["contact_email"] = payload["customer"]["email"] = value
    return payload


@pytest.mark.parametrize("site", EMAIL_SITES, ids=ids(EMAIL_SITES))
@pytest.mark.parametrize(("value", "expected"), EMAILS)
def test_a_single_valid_address_is_kept_with_a_lower_case_domain(
    site: Site, value: str, expected: str
) -> None:
    assert len(LONGEST_EMAIL) == parsing.MAX_EMAIL
    assert site.read(run(site.integration, site.topic, with_email(site, value))) == expected


@pytest.mark.parametrize("site", EMAIL_SITES, ids=ids(EMAIL_SITES))
@pytest.mark.parametrize("value", NOT_EMAILS, ids=short)
def test_lists_display_names_and_invalid_addresses_are_dropped_or_refused(site: Site, value: Any) -> None:
    if site.integration == "generic":
        assert site.refuse(value) == "must be a single email address such as ana@example.com"
        return
    event = run(site.integration, site.topic, with_email(site, value))
    assert site.read(event) is None
    assert event.notes == ["customer email dropped: not a single valid address"]


# ------------------------------------------------------------------------------------- other rules


@pytest.mark.parametrize(
    ("integration", "topic"), [("shopify", "orders/paid"), ("woocommerce", "order.updated")]
)
def test_a_currency_that_is_not_an_iso_code_is_dropped_with_a_note(integration: str, topic: str) -> None:
    for value in ("EURO", "eur", 978, ["EUR"]):
        payload = sample(integration, topic)
        payload["currency"] = value
        event = run(integration, topic, payload)
        assert facts(event).currency is None
        assert event.notes == ["currency dropped: not a currency code"]


@pytest.mark.parametrize(
    ("integration", "topic"), [("shopify", "orders/paid"), ("woocommerce", "order.updated")]
)
def test_a_platform_address_that_is_not_an_object_is_ignored(integration: str, topic: str) -> None:
    payload = sample(integration, topic)
    for key in ("customer", "shipping_address", "billing_address", "billing"):
        payload[key] = [{"first_name": "Ana"}]
    event = run(integration, topic, payload)
    assert customer(event).name is None


@pytest.mark.parametrize(
    ("integration", "topic"), [("shopify", "orders/paid"), ("woocommerce", "order.updated")]
)
def test_too_many_line_items_name_the_field(integration: str, topic: str) -> None:
    payload = sample(integration, topic)
    payload["line_items"] = payload["line_items"] * (parsing.MAX_ENTRIES + 1)
    with pytest.raises(PayloadError) as refused:
        run(integration, topic, payload)
    assert refused.value.field == "line_items"


@pytest.mark.parametrize(
    ("integration", "topic"), [("shopify", "customers/update"), ("woocommerce", "coupon.created")]
)
def test_unhandled_platform_topics_are_ignored_whatever_the_body(integration: str, topic: str) -> None:
    for body in ([1, 2], "text", None, {"id": [1]}):
        assert run(integration, topic, body).ignored


@pytest.mark.parametrize("value", [0, 1, 5, 6, True, 4.0, "5", None])
def test_a_generic_rating_is_a_whole_number_from_1_to_5(value: Any) -> None:
    payload = sample("generic", "review.submitted")
    payload["review"]["rating"] = value
    if value in (1, 5) and type(value) is int:
        assert review(run("generic", "review.submitted", payload)).rating == value
    else:
        with pytest.raises(ValidationError):
            run("generic", "review.submitted", payload)


# ------------------------------------------------------------------ property: returns or names a field

SPECIAL_STRINGS = [
    "",
    " ",
    "\x00\x1f\x7f\x85\u2028\u2029",
    "\ud800",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2026-11-01T10:00:00Z",
    "2026-11-01T10:00:00",
    "not a date",
    "NaN",
    "Infinity",
    "1e999999",
    "49.00",
    "-1",
    "ana@example.com",
    "Ana <ana@example.com>",
    "a@x.com, b@y.com",
    "pt_BR",
    "fulfilled",
    "delivered",
    "success",
    "refunded",
    "paid",
    "completed",
    "cancelled",
    "EUR",
]
SPECIAL_NUMBERS = [0, -1, 1, 10_000, 10_001, 2**53 + 1, 1e40, -0.0, 0.5]
HUGE_INTEGERS = st.sampled_from([40, 255, 256, 4300, 5000]).map(lambda digits: 10**digits)  # repr-safe
KEYS = [
    "id",
    "order_id",
    "line_item_id",
    "type",
    "occurred_at",
    "order",
    "refund",
    "product",
    "review",
    "return",
    "customer",
    "email",
    "name",
    "first_name",
    "locale",
    "customer_locale",
    "line_items",
    "items",
    "refund_line_items",
    "return_line_items",
    "fulfillment_line_item",
    "line_item",
    "refunds",
    "fulfillments",
    "quantity",
    "price",
    "status",
    "financial_status",
    "shipment_status",
    "updated_at",
    "created_at",
    "processed_at",
    "happened_at",
    "billing",
    "meta_data",
    "key",
    "value",
    "categories",
    "rating",
    "body",
    "reason",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(SPECIAL_NUMBERS),
    HUGE_INTEGERS,
    HUGE_INTEGERS.map(lambda n: -n),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.text(st.characters(codec=None, categories=["Cc", "Cs", "Zl", "Zp", "Zs"]), max_size=10),
    st.sampled_from(SPECIAL_STRINGS),
    st.sampled_from([257, 10_000]).map(lambda n: "x" * n),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=5)
    ),
    max_leaves=12,
)
topics = st.sampled_from([(integration, topic) for integration, topic, _ in samples()])


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON value (the root, each subtree, each leaf)."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, (*prefix, index))


@st.composite
def mutated_samples(draw: st.DrawFn) -> tuple[str, str, Any]:
    """A realistic payload with one to three places replaced, deleted or duplicated."""
    integration, topic, payload = draw(st.sampled_from(samples()))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(paths(payload))))
        action = draw(st.sampled_from(["replace", "replace", "delete", "duplicate"]))
        if not path:
            payload = draw(json_values)
            continue
        parent = payload
        for key in path[:-1]:
            parent = parent[key]
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "duplicate" and isinstance(parent, list):
            parent.insert(path[-1], copy.deepcopy(parent[path[-1]]))
        else:
            parent[path[-1]] = draw(json_values)
    return integration, topic, payload


def outcome(integration: str, topic: str, payload: Any) -> NormalizedEvent | None:
    """The event, or ``None`` when the normaliser refused the payload naming the field."""
    try:
        event = run(integration, topic, payload)
    except PayloadError as refused:
        assert integration != "generic" and refused.field and refused.problem
        return None
    except ValidationError as invalid:
        assert integration == "generic" and invalid.errors()
        return None
    assert_within_rules(event)
    return event


CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")  # what no stored text may hold


def assert_within_rules(event: NormalizedEvent) -> None:
    """Everything a normaliser hands on obeys the rules, and serialises as the service stores it."""
    dumped = event.model_dump(mode="json")
    json.dumps(dumped, allow_nan=False).encode("utf-8")  # no NaN, no unpaired surrogates
    for path, value in leaves(dumped):
        if isinstance(value, str):
            kept = value.replace("\n", "") if path[-1:] == ("body",) else value  # review bodies keep lines
            assert not CONTROL.search(kept) and len(value) <= parsing.REVIEW_BODY_LENGTH, path
    for line in event.return_event.lines if event.return_event else []:
        assert parsing.MIN_QUANTITY <= line.quantity <= parsing.MAX_QUANTITY
    if event.facts is not None:
        assert_times_within_rules(event)
        assert_items_within_rules(event)
        assert_customer_within_rules(event)


def assert_times_within_rules(event: NormalizedEvent) -> None:
    order = facts(event)
    times = (order.paid_at, order.fulfilled_at, order.delivered_at, order.cancelled_at, event.occurred_at)
    assert all(parsing.EARLIEST <= t <= RECEIVED + parsing.AHEAD for t in times if t is not None)


def assert_items_within_rules(event: NormalizedEvent) -> None:
    for item in facts(event).items.items if facts(event).items else []:
        assert parsing.MIN_QUANTITY <= item.quantity <= parsing.MAX_QUANTITY
        price = Decimal(0) if item.price is None else item.price
        assert 0 <= price <= parsing.MAX_PRICE and price == price.quantize(Decimal("0.0001"))
        assert len(item.id) <= parsing.MAX_ID and len(item.name) <= parsing.PRODUCT_NAME_LENGTH
    for lines in facts(event).refunds.values():
        assert all(count >= 1 for count in lines.values())


def assert_customer_within_rules(event: NormalizedEvent) -> None:
    snapshot = facts(event).customer
    if snapshot is None:
        return
    person = snapshot.customer
    assert person.locale is None or parsing.locale(person.locale) == person.locale
    assert person.email is None or parsing.email_address(person.email) == person.email
    assert person.name is None or len(person.name) <= parsing.NAME_LENGTH


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield from leaves(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from leaves(child, (*path, index))
    else:
        yield path, value


PROPERTY = settings(
    derandomize=True,
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


@PROPERTY
@given(topic=topics, body=json_values)
def test_any_json_body_gives_an_event_or_names_a_field(topic: tuple[str, str], body: Any) -> None:
    event("accepted" if outcome(*topic, body) else "refused")


@PROPERTY
@given(case=mutated_samples())
def test_mutated_realistic_payloads_give_an_event_or_name_a_field(case: tuple[str, str, Any]) -> None:
    result = outcome(*case)
    event(f"{case[0]}: {'refused' if result is None else 'with notes' if result.notes else 'accepted'}")


@PROPERTY
@given(case=mutated_samples())
def test_the_same_payload_always_gives_the_same_answer(case: tuple[str, str, Any]) -> None:
    integration, topic, payload = case
    first = outcome(integration, topic, copy.deepcopy(payload))
    again = outcome(integration, topic, payload)
    assert (first and first.model_dump()) == (again and again.model_dump())
