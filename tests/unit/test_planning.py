from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from functions.orders.models import Customer, CustomerSnapshot, ItemsSnapshot, LineItem, OrderFacts, merge
from functions.orders.planning import plan, why_not_planned
from functions.stores.models import StoreConfig
from tests.helpers import minimal_store_config

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


def config(**outreach: object) -> StoreConfig:
    data = minimal_store_config()
    data["outreach"] = {
        "default": {"review_delay": "P7D", "reminder_delay": "P5D", "nps_delay": "P14D"},
        "transit_time": "P4D",
        "send_window_days": 2,
        "product_types": {
            "clothing": {"review_delay": "P14D"},
            "experience": {"review_delay": "P1D"},
            "shoes": {"review_delay": "P15D"},
            "gift card": {"reviews": False},
        },
        **outreach,
    }
    return StoreConfig.model_validate(data)


def order(*items: tuple[str, str | None], **facts: object) -> OrderFacts:
    lines = [
        LineItem(id=f"l{i}", product_id=pid, name=pid, product_type=ptype)
        for i, (pid, ptype) in enumerate(items)
    ]
    base: dict[str, object] = {
        "order_id": "1",
        "customer": CustomerSnapshot(as_of=T0, customer=Customer(email="a@example.com")),
        "items": ItemsSnapshot(as_of=T0, items=lines),
        "delivered_at": T0,
    }
    base.update(facts)
    return OrderFacts.model_validate(base)


def summary(o: OrderFacts, c: StoreConfig | None = None) -> list[tuple[str, timedelta, list[str]]]:
    return [(p.kind, p.due_at - T0, [x.product_id for x in p.products]) for p in plan(o, c or config())]


def test_each_product_type_waits_its_own_delay_from_delivery() -> None:
    assert summary(order(("tour", "experience"), ("shirt", "clothing"), ("mug", None))) == [
        ("review", timedelta(days=1), ["tour"]),
        ("review", timedelta(days=7), ["mug"]),
        ("review", timedelta(days=14), ["shirt"]),
        ("nps", timedelta(days=14), []),
    ]


def test_items_due_within_the_window_share_one_email_sent_when_the_last_is_due() -> None:
    assert summary(order(("shirt", "clothing"), ("boots", "shoes"))) == [
        ("review", timedelta(days=15), ["shirt", "boots"]),  # in due order
        ("nps", timedelta(days=14), []),
    ]


def test_window_zero_keeps_them_apart() -> None:
    c = config(send_window_days=0)
    assert [s[2] for s in summary(order(("shirt", "clothing"), ("boots", "shoes")), c)] == [
        ["shirt"],
        ["boots"],
        [],
    ]


def test_fulfilment_plus_transit_time_while_delivery_is_unknown() -> None:
    facts = order(("mug", None), delivered_at=None, fulfilled_at=T0)
    planned = plan(facts, config())
    assert planned[0].due_at == T0 + timedelta(days=4 + 7)
    assert planned[0].anchor == "estimated"


def test_products_that_are_never_reviewed_get_only_the_nps() -> None:
    assert summary(order(("card", "gift card"))) == [("nps", timedelta(days=14), [])]


def test_same_product_twice_is_asked_about_once() -> None:
    assert summary(order(("mug", None), ("mug", None)))[0][2] == ["mug"]


def test_already_asked_products_are_not_planned_again() -> None:
    planned = plan(order(("mug", None), ("tour", "experience")), config(), frozenset({"tour"}))
    assert [p.products[0].product_id for p in planned if p.kind == "review"] == ["mug"]


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        ({"test": True}, "test order"),
        ({"cancelled_at": T0}, "order cancelled"),
        ({"fully_refunded_at": T0}, "order refunded"),
        ({"customer": None}, "no customer email yet"),
        ({"delivered_at": None}, "not fulfilled yet"),
        ({"refunds": {"r1": {"l0": 1}}}, "every item refunded"),
    ],
)
def test_orders_that_get_no_outreach_say_why(facts: dict[str, object], reason: str) -> None:
    facts_order = order(("mug", None), **facts)
    assert why_not_planned(facts_order) == reason
    assert plan(facts_order, config()) == []


def test_plan_ids_are_stable() -> None:
    first = plan(order(("mug", None), ("tour", "experience")), config())
    second = plan(order(("tour", "experience"), ("mug", None)), config())
    assert {p.outreach_id for p in first} == {p.outreach_id for p in second}


EVENTS = [
    OrderFacts(order_id="1", paid_at=T0),
    OrderFacts(order_id="1", fulfilled_at=T0 + timedelta(days=1)),
    OrderFacts(order_id="1", fulfilled_at=T0 + timedelta(days=2)),
    OrderFacts(order_id="1", delivered_at=T0 + timedelta(days=3)),
    OrderFacts(order_id="1", refunds={"r1": {"l1": 1}}),
    OrderFacts(order_id="1", customer=CustomerSnapshot(as_of=T0, customer=Customer(email="old@example.com"))),
    OrderFacts(
        order_id="1",
        customer=CustomerSnapshot(as_of=T0 + timedelta(hours=1), customer=Customer(email="new@example.com")),
    ),
]


def fold(events: list[OrderFacts]) -> OrderFacts:
    state = OrderFacts(order_id="1")
    for event in events:
        state = merge(state, event)
    return state


def test_merge_ignores_arrival_order() -> None:
    expected = fold(EVENTS)
    for permutation in itertools.islice(itertools.permutations(EVENTS), 0, 5040, 97):
        assert fold(list(permutation)) == expected
    assert expected.fulfilled_at == T0 + timedelta(days=1)
    assert expected.customer is not None
    assert expected.customer.customer.email == "new@example.com"


def test_merge_is_idempotent() -> None:
    once = fold(EVENTS)
    assert fold(EVENTS + EVENTS) == once
