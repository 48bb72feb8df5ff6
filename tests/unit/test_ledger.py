"""The order's quantity ledger: no channel, request id or ordering of events returns a unit twice."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.orders import ledger
from functions.orders.ledger import Ledger, NotReturnable, OrderClosed
from functions.orders.models import ItemsSnapshot, LineItem, OrderFacts

pytestmark = pytest.mark.unit

T = datetime(2026, 11, 2, tzinfo=UTC)
AT = "2026-11-02T09:00:00Z"


def order(**changes: object) -> OrderFacts:
    items = ItemsSnapshot(
        as_of=T,
        items=[
            LineItem(id="l1", product_id="p1", name="Shirt", quantity=2, price=Decimal("49.90")),
            LineItem(id="l2", product_id="p2", name="Socks", quantity=1, price=Decimal("9.00")),
        ],
    )
    return OrderFacts(order_id="1001", items=items).model_copy(update=changes)


def test_a_fresh_order_can_return_everything_it_bought() -> None:
    assert ledger.returnable(order(), Ledger()) == {"l1": 2, "l2": 1}


def test_a_claim_holds_its_units_and_prices_them_from_the_order() -> None:
    held = ledger.reserve(order(), Ledger(), "ret-a", {"l1": 1}, "customer", AT)
    assert ledger.returnable(order(), held) == {"l1": 1, "l2": 1}
    assert held.claims["ret-a"].amount == Decimal("49.90")


def test_a_second_request_under_another_id_cannot_take_the_same_unit() -> None:
    held = ledger.reserve(order(), Ledger(), "ret-a", {"l2": 1}, "customer", AT)
    with pytest.raises(NotReturnable) as refused:
        ledger.reserve(order(), held, "ret-b", {"l2": 1}, "store", AT)
    assert refused.value.left == {"l1": 2, "l2": 0}


def test_the_same_request_again_changes_nothing() -> None:
    held = ledger.reserve(order(), Ledger(), "ret-a", {"l1": 2}, "customer", AT)
    assert ledger.reserve(order(), held, "ret-a", {"l1": 2}, "customer", AT) is held
    with pytest.raises(NotReturnable):
        ledger.reserve(order(), held, "ret-a", {"l1": 1}, "customer", AT)


def test_platform_refunds_count_against_what_is_returnable() -> None:
    refunded = order(refunds={"r1": {"l1": 1}})
    assert ledger.returnable(refunded, Ledger()) == {"l1": 1, "l2": 1}
    with pytest.raises(NotReturnable):
        ledger.reserve(refunded, Ledger(), "ret-a", {"l1": 2}, "customer", AT)


def test_a_cancelled_or_fully_refunded_order_returns_nothing() -> None:
    for closed in (order(cancelled_at=T), order(fully_refunded_at=T)):
        assert set(ledger.returnable(closed, Ledger()).values()) == {0}
        with pytest.raises(OrderClosed):
            ledger.reserve(closed, Ledger(), "ret-a", {"l2": 1}, "customer", AT)


def test_unknown_lines_and_empty_requests_are_refused() -> None:
    with pytest.raises(NotReturnable):
        ledger.reserve(order(), Ledger(), "ret-a", {"l9": 1}, "customer", AT)
    with pytest.raises(NotReturnable):
        ledger.reserve(order(), Ledger(), "ret-a", {}, "customer", AT)
    with pytest.raises(NotReturnable):
        ledger.reserve(order(), Ledger(), "ret-a", {"l1": 0}, "customer", AT)


def test_a_released_claim_gives_its_units_back_but_a_refunded_one_never_does() -> None:
    held = ledger.reserve(order(), Ledger(), "ret-a", {"l2": 1}, "customer", AT)
    assert ledger.returnable(order(), ledger.release(held, "ret-a"))["l2"] == 1
    refunding = ledger.begin_refund(order(), held, "ret-a")
    done = ledger.refund_done(refunding, "ret-a", "RF-1")
    assert ledger.release(done, "ret-a") is done
    assert ledger.returnable(order(), done)["l2"] == 0


def test_no_refund_once_the_order_closed_or_the_store_refunded_the_units_itself() -> None:
    held = ledger.reserve(order(), Ledger(), "ret-a", {"l2": 1}, "customer", AT)
    with pytest.raises(OrderClosed):
        ledger.begin_refund(order(cancelled_at=T), held, "ret-a")
    with pytest.raises(NotReturnable):
        ledger.begin_refund(order(refunds={"shop-9": {"l2": 1}}), held, "ret-a")


def test_a_refund_coming_back_as_a_platform_refund_is_not_counted_twice() -> None:
    held = ledger.reserve(order(), Ledger(), "ret-a", {"l1": 1}, "customer", AT)
    done = ledger.refund_done(ledger.begin_refund(order(), held, "ret-a"), "ret-a", "shop-77")
    echoed = order(refunds={"shop-77": {"l1": 1}})
    assert ledger.returnable(echoed, done)["l1"] == 1  # the second shirt can still be returned


def test_a_refunded_claim_is_never_refunded_again() -> None:
    held = ledger.reserve(order(), Ledger(), "ret-a", {"l1": 1}, "customer", AT)
    done = ledger.refund_done(ledger.begin_refund(order(), held, "ret-a"), "ret-a", "RF-1")
    assert ledger.begin_refund(order(), done, "ret-a") is done
    with pytest.raises(NotReturnable):
        ledger.begin_refund(order(), ledger.release(held, "ret-a"), "ret-a")


def test_a_failed_refund_settled_by_staff_keeps_its_units_for_good() -> None:
    # Given two shirts: the store refunded one itself, and a return of the other failed at the refund
    refunded = order(refunds={"shop-1": {"l1": 1}})
    held = ledger.reserve(refunded, Ledger(), "ret-a", {"l1": 1}, "store", AT)
    failed = ledger.refund_failed(ledger.begin_refund(refunded, held, "ret-a"), "ret-a")

    # When staff settle it in the store's admin
    settled = ledger.settle(failed, "ret-a")

    # Then neither shirt can be returned again, the settled return is never refunded, nor released
    assert ledger.returnable(refunded, settled)["l1"] == 0
    with pytest.raises(NotReturnable):
        ledger.reserve(refunded, settled, "ret-b", {"l1": 1}, "customer", AT)
    with pytest.raises(NotReturnable):
        ledger.begin_refund(refunded, settled, "ret-a")
    assert ledger.release(settled, "ret-a") is settled
    assert ledger.settle(held, "ret-a") is held  # only a failed refund can be settled


def test_the_ledger_survives_its_stored_form() -> None:
    held = ledger.reserve(order(), Ledger(), "ret-a", {"l1": 2}, "staff", AT)
    assert Ledger.from_item(held.as_item()) == held


operations = st.lists(
    st.tuples(
        st.sampled_from(["reserve", "release", "refund", "fail", "settle", "platform", "cancel"]),
        st.sampled_from(["ret-a", "ret-b", "ret-c"]),
        st.sampled_from(["l1", "l2"]),
        st.integers(min_value=1, max_value=3),
    ),
    max_size=30,
)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(operations)
def test_no_sequence_of_operations_refunds_more_than_was_bought(ops: list[tuple[str, str, str, int]]) -> None:
    facts, held = order(), Ledger()
    settled: set[str] = set()  # returns staff settled: the customer was paid for them outside Aftercare
    for index, (op, return_id, line, quantity) in enumerate(ops):
        try:
            if op == "reserve":
                before, held = held, ledger.reserve(facts, held, return_id, {line: quantity}, "customer", AT)
                # A new return only takes units nobody holds, paid for (refunded or settled) or not,
                # and that the store did not refund itself.
                if held is not before:
                    bought = ledger.purchased(facts)[line]
                    holding = ledger.held(held).get(line, 0)
                    paid_outside = sum(
                        c.lines.get(line, 0)
                        for c in held.claims.values()
                        if c.return_id in settled and c.state not in ledger.HOLDING
                    )
                    platform = ledger.platform_refunded(facts, held).get(line, 0)
                    assert holding + paid_outside + platform <= bought
            elif op == "release":
                held = ledger.release(held, return_id)
            elif op == "refund":
                before, held = (
                    held,
                    ledger.refund_done(ledger.begin_refund(facts, held, return_id), return_id, f"RF-{index}"),
                )
                if before.claims[return_id].state != ledger.REFUNDED:
                    # Whenever money moves: for the lines refunded, what we paid plus the store's own
                    # refunds never exceed what was bought.
                    for line_id in held.claims[return_id].lines:
                        bought = ledger.purchased(facts)[line_id]
                        paid = [c for c in held.claims.values() if c.state in ledger.DONE]
                        ours = sum(c.lines.get(line_id, 0) for c in paid)
                        assert ours + ledger.platform_refunded(facts, held).get(line_id, 0) <= bought
                    assert ledger.closed_because(facts) is None
            elif op == "fail":
                held = ledger.refund_failed(ledger.begin_refund(facts, held, return_id), return_id)
            elif op == "settle":
                if return_id in held.claims and held.claims[return_id].state == ledger.REFUND_FAILED:
                    settled.add(return_id)
                held = ledger.settle(held, return_id)
            elif op == "platform":
                facts = facts.model_copy(update={"refunds": {**facts.refunds, f"shop-{index}": {line: 1}}})
            else:
                facts = facts.model_copy(update={"cancelled_at": T})
        except NotReturnable:
            pass
        assert all(left >= 0 for left in ledger.returnable(facts, held).values())
