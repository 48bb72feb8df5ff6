"""Messages: the right email, to the right person, once, at the right time, or not at all.

Each test is a way the first plan sent a wrong message (see docs/invariants.md, messages).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from functions.shared import clock
from tests.integration.test_invariants_model import parallel
from tests.webhooks import shopify_line, shopify_order
from tests.world import Shop, World, form_values, store_config, token_of

pytestmark = pytest.mark.integration

TOUR = ("l1", "p-tour", "experience", 1, "30.00")  # review after one day; not returnable by policy
SHIRT = ("l2", "p-shirt", "clothing", 1, "40.00")  # review after five days


@pytest.fixture
def shop(world: World) -> Shop:
    shop = Shop(world, "message-shop", store_config("message-shop", world.desk.url))
    shop.create()
    return shop


def requests(shop: Shop) -> list[dict[str, Any]]:
    return [m for m in shop.mails() if any(name == "List-Unsubscribe" for name, _ in m["headers"])]


def plan(shop: Shop, order_id: str) -> dict[str, dict[str, Any]]:
    return {item["outreach_id"]: item for item in shop.order(order_id)["plan"]}  # type: ignore[index]


def flagged(shop: Shop, world: World, order_id: str = "F-1", lines: Any = (TOUR,)) -> str:
    """A one-star answer about a tour: returns the staff page path from the alert email."""
    shop.delivered(order_id, list(lines), email=f"{order_id.lower()}@example.com", days_ago=0)
    world.advance(timedelta(days=1, minutes=1))
    [mail] = [m for m in requests(shop) if m["to"] == [f"{order_id.lower()}@example.com"]]
    star = next(link["href"] for link in mail["links"] if "/s/" in link["href"])
    path = "/s/" + token_of(star)
    world.form(path, {"score": "1", "comment": "Awful, it was cancelled on the day."})
    world.run_schedules()
    [alert] = [m for m in shop.mails() if m["subject"].startswith("[Needs a reply]")]
    return "/staff/" + token_of(next(link["href"] for link in alert["links"] if "/staff/" in link["href"]))


def staff(world: World, path: str, **values: str) -> Any:
    return world.form(path, {**form_values(world.call("GET", path).text), **values})


def test_an_order_from_2017_gets_nothing(shop: Shop, world: World) -> None:
    clock.clock.freeze(clock.now())
    at = "2017-03-02T10:00:00Z"
    event = {
        "id": "evt-2017",
        "type": "order.delivered",
        "occurred_at": at,
        "order": {
            "id": "OLD-1",
            "customer": {"email": "old@example.com"},
            "line_items": [{"id": "l1", "product_id": "p1", "name": "Shirt", "quantity": 1, "price": "10"}],
            "delivered_at": at,
        },
    }
    assert shop.generic(event).status == 200
    items = plan(shop, "OLD-1")
    assert {item["status"] for item in items.values()} == {"skipped"}
    assert all(item["reason"].startswith("too late: delivered 2017-03-02") for item in items.values())
    world.advance(timedelta(days=30))
    assert requests(shop) == []


def test_a_request_late_by_more_than_max_lateness_is_skipped(shop: Shop, world: World) -> None:
    shop.delivered("L-1", [TOUR], days_ago=0)
    clock.clock.freeze(clock.now() + timedelta(days=13))  # the sweep did not run for 13 days
    world.run_schedules()
    assert requests(shop) == []  # the review (due on day 1) and the NPS survey (day 5): more than 7 days late
    assert {item["status"] for item in plan(shop, "L-1").values()} == {"skipped"}
    assert {item["history"][-1]["note"] for item in plan(shop, "L-1").values()} == {"too late"}


def test_a_product_type_learnt_after_the_order_is_applied(shop: Shop, world: World) -> None:
    # Given a Shopify order whose line items carry no product type, paid and fulfilled
    line = shopify_line(16000000000000000021, 8000000000000000021, "Wool coat", 1, "40.00")
    order = shopify_order(5000000000000000021, [line])
    shop.shopify("orders/paid", order, "e-paid")
    delivered = {
        "id": 1,
        "status": "delivered",
        "happened_at": clock.isoformat(clock.now()),
        "order_id": 5000000000000000021,
    }
    shop.shopify("fulfillment_events/create", delivered, "e-delivered")
    before = next(i for i in plan(shop, "5000000000000000021").values() if i["kind"] == "review")
    # When the catalog learns afterwards that it is clothing
    shop.shopify("products/update", {"id": 8000000000000000021, "product_type": "Clothing"}, "e-product")
    # Then the pending request is re-planned with the clothing delay (five days instead of three)
    after = next(i for i in plan(shop, "5000000000000000021").values() if i["kind"] == "review")
    assert clock.parse_iso(after["due_at"]) - clock.parse_iso(before["due_at"]) == timedelta(days=2)
    events = [e["topic"] for e in shop.order("5000000000000000021")["events"]]  # type: ignore[index]
    assert "aftercare/product.type_learned" in events


def test_a_replied_flag_is_never_escalated(shop: Shop, world: World) -> None:
    path = flagged(shop, world)
    assert staff(world, path, action="reply", reply="So sorry. We refunded the tour.").status == 200
    world.advance(timedelta(hours=5))  # past the four-hour SLA
    assert [m for m in shop.mails() if m["subject"].startswith("[Overdue]")] == []


def test_an_unanswered_flag_is_escalated_once(shop: Shop, world: World) -> None:
    flagged(shop, world)
    world.advance(timedelta(hours=5))
    world.advance(timedelta(hours=5))
    overdue = [m for m in shop.mails() if m["subject"].startswith("[Overdue]")]
    assert [m["to"] for m in overdue] == [["lead@message-shop.example.com"]]


def test_a_resolved_flag_takes_no_reply_until_reopened(shop: Shop, world: World) -> None:
    path = flagged(shop, world)
    stale = form_values(world.call("GET", path).text)  # a form opened before resolving
    staff(world, path, action="resolve", note="Called the customer")
    refused = world.form(path, {**stale, "action": "reply", "reply": "Hello again"})
    assert refused.status == 422
    assert "This flag is resolved. Reopen it first" in refused.text
    assert [m for m in shop.mails() if m["subject"].startswith("Re:")] == []
    staff(world, path, action="reopen")
    assert staff(world, path, action="reply", reply="Hello again").status == 200
    assert len([m for m in shop.mails() if m["subject"].startswith("Re:")]) == 1


def test_ten_different_forms_with_one_reply_send_one_email(shop: Shop, world: World) -> None:
    path = flagged(shop, world)
    forms = [form_values(world.call("GET", path).text) for _ in range(10)]
    text = "We are sorry. A full refund is on its way."
    answers = parallel([lambda f=f: world.form(path, {**f, "action": "reply", "reply": text}) for f in forms])  # type: ignore[misc]
    assert {a.status for a in answers} == {200}
    assert len([m for m in shop.mails() if m["subject"].startswith("Re:")]) == 1
    assert sum("already sent a moment ago" in a.text for a in answers) == 9
    # A different reply is still possible, and the same one again after the window
    assert (
        staff(world, path, action="reply", reply="One more thing: the voucher code is TOUR10.").status == 200
    )
    clock.clock.freeze(clock.now() + timedelta(minutes=16))
    assert staff(world, path, action="reply", reply=text).status == 200
    assert len([m for m in shop.mails() if m["subject"].startswith("Re:")]) == 3


def test_a_staff_offer_outside_the_policy_is_confirmed_not_refused(shop: Shop, world: World) -> None:
    # Given a flag about a tour, which the store's policy does not take back
    path = flagged(shop, world)
    page = world.call("GET", path).text
    assert "Outside the store&#39;s return policy" in page or "Outside the store's return policy" in page
    # When staff offer a refund without confirming, the page asks for the confirmation
    unconfirmed = staff(world, path, action="offer", offer="refund")
    assert unconfirmed.status == 422
    assert "Tick the confirmation box" in unconfirmed.text
    assert world.desk.calls == []
    # And with it, the refund goes through and the customer is never sent a refusal
    assert staff(world, path, action="offer", offer="refund", outside_policy_ok="1").status == 200
    world.settle()
    [call] = world.desk.calls
    assert call["json"]["amount"] == "30.00"
    customer_mails = [m for m in shop.mails() if m["to"] == ["f-1@example.com"]]
    assert not any("cannot accept" in m["text"] for m in customer_mails)
    assert any("has been issued" in m["text"] for m in customer_mails)


def test_an_offer_for_an_item_already_returned_is_refused_on_the_staff_page(shop: Shop, world: World) -> None:
    path = flagged(shop, world)
    staff(world, path, action="offer", offer="refund", outside_policy_ok="1")
    world.settle()
    page = world.call("GET", path).text
    assert "Nothing left to offer: every unit of this item is in a return or refunded." in page
    again = staff(world, path, action="offer", offer="replacement", outside_policy_ok="1")
    assert again.status == 422
    assert len(world.desk.calls) == 1


def test_no_reminder_while_the_item_is_being_returned(shop: Shop, world: World) -> None:
    # Given a review request for a shirt (reminder two days after it)
    shop.delivered("R-1", [SHIRT], days_ago=0)
    world.advance(timedelta(days=5, minutes=1))
    assert len(requests(shop)) == 1
    # When the customer starts a return (the shirt must come back first)
    path = shop.return_path("R-1")
    form = form_values(world.call("GET", path).text)
    world.form(
        path, {**form, "item-l2": "1", "quantity-l2": "1", "reason": "Does not fit", "outcome": "refund"}
    )
    world.settle()
    # Then the reminder is skipped while the return is open
    world.advance(timedelta(days=3))
    assert len(requests(shop)) == 1
    reminder = plan(shop, "R-1")[next(k for k in plan(shop, "R-1") if k.endswith("-reminder"))]
    assert reminder["status"] == "skipped"
    assert reminder["history"][-1]["note"] == "return open"


def test_no_email_for_an_item_returned_since_planning(shop: Shop, world: World) -> None:
    # Given cheap socks (refunded at once, kept) whose review request is planned
    shop.delivered("R-2", [("l3", "p-socks", "clothing", 1, "9.50")], days_ago=0)
    path = shop.return_path("R-2")
    form = form_values(world.call("GET", path).text)
    world.form(
        path, {**form, "item-l3": "1", "quantity-l3": "1", "reason": "Does not fit", "outcome": "refund"}
    )
    world.settle()
    # When the review would be due, nothing about the returned socks goes out
    world.advance(timedelta(days=6))
    assert not any("p-socks" in m["text"] for m in requests(shop))
    review = next(item for item in plan(shop, "R-2").values() if item["kind"] == "review")
    assert review["status"] == "cancelled"
