"""Money: no unit is returned or refunded twice, whatever the channel, request id or concurrency.

Each test is a way the first plan let a store lose money (see docs/invariants.md, money), tried through
the public routes: customer pages, staff pages, store webhooks and the store's refund endpoint.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.helpers import bearer
from tests.integration.test_invariants_model import parallel
from tests.world import Shop, World, form_values, store_config, token_of

pytestmark = pytest.mark.integration

SHIRT = ("l1", "p-shirt", "clothing", 1, "40.00")  # auto-approved, must come back (40 < 50, 40 >= 15)
SOCKS = (
    "l2",
    "p-socks",
    "clothing",
    2,
    "7.00",
)  # cheap (14.00 < 15): the customer keeps them, refunded at once


@pytest.fixture
def shop(world: World) -> Shop:
    shop = Shop(world, "money-shop", store_config("money-shop", world.desk.url))
    shop.create()
    return shop


def request_return(
    shop: Shop,
    order_id: str,
    line: str,
    quantity: int = 1,
    form: dict[str, str] | None = None,
    path: str = "",
) -> Any:
    """Tick ``line`` on the return page and submit (with ``form``: a page opened earlier at ``path``)."""
    path = path or shop.return_path(order_id)
    values = form if form is not None else form_values(shop.world.call("GET", path).text)
    return shop.world.form(
        path,
        {
            **values,
            f"item-{line}": "1",
            f"quantity-{line}": str(quantity),
            "reason": "Does not fit",
            "outcome": "refund",
        },
    )


def refunded_units(world: World, line: str) -> int:
    return sum(
        int(item["quantity"])
        for call in world.desk.calls
        if call["status"] == 200 and not call["replay"]
        for item in call["json"]["items"]
        if item["line_item_id"] == line
    )


def test_reloading_the_return_page_never_returns_an_item_twice(shop: Shop, world: World) -> None:
    # Given a delivered shirt and two open tabs of the return page
    shop.delivered("M-1", [SHIRT])
    path = shop.return_path("M-1")
    first_tab = form_values(world.call("GET", path).text)
    second_tab = form_values(world.call("GET", path).text)
    assert first_tab["request_id"] != second_tab["request_id"]
    # When the customer submits both
    assert request_return(shop, "M-1", "l1", form=first_tab, path=path).status == 200
    again = request_return(shop, "M-1", "l1", form=second_tab, path=path)
    # Then the second is refused with a clear message and there is still one return
    assert again.status == 409
    assert "has already been returned or refunded, or is in a return" in again.text
    assert len(shop.returns()) == 1
    # And a reload shows the shirt as already returned, with nothing to tick
    page = world.call("GET", path).text
    assert 'name="item-l1"' not in page
    assert "has already been returned or refunded, or is in a return" in page


def test_concurrent_return_requests_take_the_last_unit_once(shop: Shop, world: World) -> None:
    shop.delivered("M-2", [SHIRT])
    path = shop.return_path("M-2")
    forms = [form_values(world.call("GET", path).text) for _ in range(4)]
    answers = parallel([lambda f=f: request_return(shop, "M-2", "l1", form=f, path=path) for f in forms])  # type: ignore[misc]
    assert sorted(a.status for a in answers) == [200, 409, 409, 409]
    assert len(shop.returns()) == 1


def test_a_forged_request_id_is_refused(shop: Shop, world: World) -> None:
    shop.delivered("M-3", [SHIRT])
    forged = {"request_id": "0123456789abcdef.0000000000000000deadbeef"}
    answer = request_return(shop, "M-3", "l1", form=forged)
    assert answer.status == 422
    assert "out of date" in answer.text
    assert shop.returns() == []


def test_a_second_return_under_a_new_store_id_is_refused_naming_the_items(shop: Shop) -> None:
    shop.delivered("M-4", [SHIRT])
    first = shop.event(
        "return.requested",
        **{"return": {"id": "RMA-1", "order_id": "M-4", "items": [{"line_item_id": "l1", "quantity": 1}]}},
    )
    assert first.status == 200, first.text
    second = shop.event(
        "return.requested",
        **{"return": {"id": "RMA-2", "order_id": "M-4", "items": [{"line_item_id": "l1", "quantity": 1}]}},
    )
    assert second.status == 422
    assert second.json["fields"] == [
        {"field": "return.items", "problem": "Already returned or refunded (l1: 0 left)."}
    ]
    assert len(shop.returns()) == 1


def test_a_shopify_return_for_a_returned_item_is_answered_200_and_quarantined(
    shop: Shop, world: World
) -> None:
    from tests.webhooks import shopify_line, shopify_order

    line = shopify_line(16000000000000000011, 8000000000000000011, "Linen shirt", 1, "40.00")
    shop.shopify("orders/paid", shopify_order(5000000000000000001, [line]), "e-paid")
    request = {
        "id": 77,
        "order": {"id": 5000000000000000001},
        "return_line_items": [
            {"quantity": 1, "fulfillment_line_item": {"line_item": {"id": 16000000000000000011}}}
        ],
    }
    assert shop.shopify("returns/request", request, "e-r1").json["status"] == "accepted"
    again = shop.shopify("returns/request", {**request, "id": 78}, "e-r2")
    assert again.json["status"] == "quarantined"
    assert "Already returned" in again.json["reason"]
    listed = world.call("GET", f"/v1/stores/{shop.id}/quarantine", headers=bearer(shop.admin_key)).json
    assert [q["event_key"] for q in listed["quarantined"]] == ["e-r2"]


def test_cheap_items_are_refunded_once_with_the_order_price(shop: Shop, world: World) -> None:
    # Given two pairs of socks at 9.50: below keep-it, so the refund is immediate
    shop.delivered("M-5", [SOCKS])
    assert request_return(shop, "M-5", "l2", quantity=5).status == 200  # asked for 5, clamped to the 2 bought
    world.settle()
    [call] = world.desk.calls
    assert call["json"]["amount"] == "14.00"
    assert call["json"]["items"][0]["quantity"] == 2
    assert call["key"].endswith(":refund")
    # When the customer tries again, nothing is left
    assert request_return(shop, "M-5", "l2").status in (409, 422)
    assert refunded_units(world, "l2") == 2


def test_no_refund_after_the_order_is_cancelled(shop: Shop, world: World) -> None:
    # Given a shirt on its way back (auto-approved, must be returned before the refund)
    shop.delivered("M-6", [SHIRT])
    assert request_return(shop, "M-6", "l1").status == 200
    world.settle()
    [request] = shop.returns()
    assert request["waiting_for"] == "parcel"
    # When the platform cancels the order, then the parcel arrives
    shop.event("order.cancelled", order={"id": "M-6"})
    shop.event("return.received", **{"return": {"aftercare_id": request["return_id"]}})
    world.settle()
    # Then the refund endpoint is never called and staff are told in plain words
    assert world.desk.calls == []
    view = shop.return_view(request["return_id"])
    assert view["return"]["status"] == "closed: not refunded"
    [mail] = [m for m in shop.mails() if m["subject"].startswith("A refund was not issued")]
    assert "the order was cancelled" in mail["text"]


def test_a_unit_the_store_refunded_itself_is_not_refunded_again(shop: Shop, world: World) -> None:
    shop.delivered("M-7", [SHIRT])
    assert request_return(shop, "M-7", "l1").status == 200
    world.settle()
    [request] = shop.returns()
    # The store refunds the shirt in its own admin while the parcel travels
    refund = {"id": "shop-refund-1", "line_items": [{"line_item_id": "l1", "quantity": 1}]}
    assert shop.event("order.refunded", order={"id": "M-7"}, refund=refund).status == 200
    shop.event("return.received", **{"return": {"aftercare_id": request["return_id"]}})
    world.settle()
    assert world.desk.calls == []
    assert shop.return_view(request["return_id"])["return"]["status"] == "closed: not refunded"


def test_staff_retry_uses_the_same_key_and_refunds_once(shop: Shop, world: World) -> None:
    # Given a refund endpoint that refuses
    shop.delivered("M-8", [SOCKS])
    world.desk.refusing = True
    assert request_return(shop, "M-8", "l2").status == 200
    world.settle()
    [request] = shop.returns()
    assert shop.return_view(request["return_id"])["return"]["status"] == "failed: refund not issued"
    # Then staff get a plain explanation and a link, with no internals
    [mail] = [m for m in shop.mails() if m["subject"].startswith("A refund could not be issued")]
    for internal in ("Traceback", "RefundRejected", 'File "', ".py", "errorMessage"):
        assert internal not in mail["text"] and internal not in mail["html"]
    assert "refused the refund (HTTP 422)" in mail["text"]
    link = next(link["href"] for link in mail["links"] if "/approve/" in link["href"])
    # When the endpoint is fixed and staff retry from the page
    world.desk.refusing = False
    path = "/approve/" + token_of(link)
    page = world.call("GET", path)
    assert "Retry the refund" in page.text
    assert world.form(path, {**form_values(page.text), "decision": "retry_refund"}).status == 200
    world.settle()
    # Then the same idempotency key is used, the refund succeeds once, the return completes
    keys = [call["key"] for call in world.desk.calls]
    assert len(set(keys)) == 1 and len(keys) == 2
    assert [c["status"] for c in world.desk.calls] == [422, 200]
    assert shop.return_view(request["return_id"])["return"]["status"] == "completed"
    # And a second retry is not offered any more
    assert "Retry the refund" not in world.call("GET", path).text


def test_a_failed_refund_settled_by_staff_keeps_the_units_counted(shop: Shop, world: World) -> None:
    # Given two pairs of socks: one pair's refund was refused by the store's endpoint
    shop.delivered("M-9", [SOCKS])
    world.desk.refusing = True
    request_return(shop, "M-9", "l2", quantity=1)
    world.settle()
    [request] = shop.returns()

    # When staff settle it in the store's own admin and mark it settled
    token = shop.link("return-approval", {"r": request["return_id"], "a": "care@money-shop.example.com"})
    page = world.call("GET", f"/approve/{token}")
    done = world.form(
        f"/approve/{token}", {**form_values(page.text), "decision": "settle", "note": "refunded by hand"}
    )

    # Then the pair counts as returned: only the other pair can still be returned, and never twice
    assert "count as returned" in done.text
    assert shop.return_view(request["return_id"])["return"]["status"] == "closed: settled by staff"
    quantities = {q["line_item_id"]: q for q in shop.order("M-9")["quantities"]}  # type: ignore[index]
    assert quantities["l2"]["returnable"] == 1 and quantities["l2"]["returned"] == 1
    world.desk.refusing = False
    assert request_return(shop, "M-9", "l2", quantity=1).status == 200
    assert request_return(shop, "M-9", "l2", quantity=1).status in (409, 422)


def test_a_negative_price_never_reaches_a_refund(shop: Shop, world: World) -> None:
    answer = shop.delivered("M-10", [("l1", "p1", "clothing", 1, "-5.00")])
    assert answer.status == 422
    assert any("price" in field["field"] for field in answer.json["fields"])
    assert shop.order("M-10") is None


def test_the_order_api_shows_what_is_left_to_return(shop: Shop, world: World) -> None:
    shop.delivered("M-11", [SHIRT, SOCKS])
    request_return(shop, "M-11", "l2", quantity=1)
    world.settle()
    quantities = {q["line_item_id"]: q for q in shop.order("M-11")["quantities"]}  # type: ignore[index]
    assert quantities["l1"]["returnable"] == 1
    assert quantities["l2"] == {
        "line_item_id": "l2",
        "name": "Product p-socks",
        "purchased": 2,
        "refunded_by_store": 0,
        "in_returns": 0,
        "returned": 1,
        "returnable": 1,
    }


def test_after_the_window_the_page_says_so_and_offers_nothing(shop: Shop, world: World) -> None:
    shop.delivered("M-12", [SHIRT], days_ago=40)
    page = world.call("GET", shop.return_path("M-12")).text
    assert "The return window for this order closed on" in page
    assert 'name="item-l1"' not in page


def test_the_demo_refund_desk_is_idempotent_per_key() -> None:
    from aftercare.devstack.refunds import RefundDesk
    from functions.shared.signatures import sign_generic

    desk = RefundDesk()
    body = b'{"idempotency_key":"ret-1:refund","return_id":"ret-1","amount":"9.50"}'
    signature = sign_generic("s3cret", body, int(time.time()))
    headers = {"x-aftercare-signature": signature, "idempotency-key": "ret-1:refund"}
    first = desk.take("demo", headers, body, ["s3cret"])
    second = desk.take("demo", headers, body, ["s3cret"])
    assert first == (200, {"reference": "DEV-RF-0001", "replayed": False})
    assert second == (200, {"reference": "DEV-RF-0001", "replayed": True})
    assert desk.take("demo", {**headers, "x-aftercare-signature": "t=1,v1=00"}, body, ["s3cret"])[0] == 401
    assert len(desk.listing()) == 1 and desk.listing()[0]["calls"] == 2
