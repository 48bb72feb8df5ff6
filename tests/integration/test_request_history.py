"""The workspace's request history: every request with its state and reason, newest first, searchable,
paginated; a pending one can be cancelled or sent now (audited), through the sweep's own rules.

Runs the real routes in-process against moto (DynamoDB serialized as DynamoDB is atomic, see
``aftercare.devstack.motolock``), signed in with a real session cookie.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from botocore.exceptions import ClientError

from functions.shared import aws, clock
from functions.workspace import session
from tests.helpers import ApiClient, ApiResponse
from tests.shop import T0, Shop, at, mails, run_sweep
from tests.webhooks import body_of, generic_event, generic_headers, generic_order

pytestmark = pytest.mark.integration

FORM = {"content-type": "application/x-www-form-urlencoded"}
ROW = re.compile(r'data-testid="request" data-order="([^"]*)" data-outreach="([^"]*)" data-status="([^"]*)"')


@dataclass
class Row:
    order: str
    outreach: str
    status: str


class Desk:
    """A staff member's browser on the request history page, signed in again whenever the clock moved
    past its 12-hour session (tests jump days ahead)."""

    def __init__(self, api: ApiClient, store_id: str, email: str, role: session.Role = "staff") -> None:
        self.api, self.store_id, self.email, self.role = api, store_id, email, role
        self.token, self.issued = "", T0 - timedelta(days=365)

    def _session(self) -> tuple[dict[str, str], str]:
        from functions import composition

        key = composition.adapters().signing_key
        if not self.token or clock.now() - self.issued > timedelta(hours=11):
            self.token, self.issued = session.issue(key, self.store_id, self.email, self.role), clock.now()
        return {"cookie": f"{session.COOKIE}={self.token}"}, session.open_session(key, self.token).csrf

    def page(self, q: str = "", cursor: str | None = None) -> ApiResponse:
        query = {key: value for key, value in (("q", q), ("cursor", cursor)) if value}
        cookie, _ = self._session()
        return self.api.get("/workspace/requests", headers=cookie, query=query or None)

    def post(
        self, action: str, order: str, outreach: str, q: str = "", csrf: str | None = None
    ) -> ApiResponse:
        cookie, value = self._session()
        form = {"csrf": value if csrf is None else csrf, "order": order, "outreach": outreach, "q": q}
        return self.api.post(
            f"/workspace/requests/{action}", body=urlencode(form), headers={**FORM, **cookie}
        )


def rows(response: ApiResponse) -> list[Row]:
    return [Row(*(html.unescape(part) for part in found)) for found in ROW.findall(response.text)]


def older_cursor(response: ApiResponse) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">', response.text)
    if not found:
        return None
    return parse_qs(urlparse(html.unescape(found.group(1))).query)["cursor"][0]


def message(response: ApiResponse) -> str:
    found = re.search(r'data-testid="(?:notice|error)">([^<]*)<', response.text)
    return html.unescape(found.group(1)) if found else ""


def send_event(shop: Shop, event_type: str, order: dict[str, Any]) -> None:
    raw = body_of(generic_event(event_type, order))
    response = shop.api.post(
        f"/webhooks/{shop.id}/events", body=raw, headers=generic_headers([shop.secret], raw)
    )
    assert response.status == 200, response.text


def stored(shop: Shop, order_id: str, outreach_id: str) -> dict[str, Any]:
    from functions import composition

    item = composition.adapters().outreach.get(f"{shop.id}#{order_id}", outreach_id)
    assert item is not None
    return item


def outreach_id(shop: Shop, order_id: str, kind: str = "review") -> str:
    return next(
        str(o["outreach_id"])
        for o in shop.plan(order_id)
        if o["kind"] == kind and not o["outreach_id"].endswith("-reminder")
    )


def reject_mail_to(address: str) -> Callable[..., None]:
    def reject(**kwargs: Any) -> None:
        if address in str(kwargs["params"].get("body")):  # the request as it goes on the wire
            raise ClientError(
                {
                    "Error": {"Code": "MessageRejected", "Message": "Email address is not verified."},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                "SendEmail",
            )

    return reject


def to(address: str) -> list[dict[str, Any]]:
    return [m for m in mails() if m["to"] == [address]]


@pytest.fixture
def desk(shop: Shop, api: ApiClient) -> Desk:
    return Desk(api, shop.id, f"care@{shop.id}.example.com")


def test_history_lists_every_status_newest_first_with_its_reason(shop: Shop, desk: Desk) -> None:
    # Given requests planned one after another, which end up in every state
    shop.delivered("H-1", [("l1", "tour", "experience")], email="sam@example.com")
    at(timedelta(hours=1))
    shop.delivered("H-2", [("l1", "mug", "homeware")], email="late@example.com", at=T0 - timedelta(days=60))
    at(timedelta(hours=2))
    shop.delivered("H-3", [("l1", "tour", "experience")], email="fail@example.com")
    at(timedelta(hours=3))
    shop.delivered("H-4", [("l1", "tour", "experience")], email="gone@example.com")
    send_event(shop, "order.cancelled", {"id": "H-4"})
    aws.sesv2().meta.events.register("before-call.sesv2.SendEmail", reject_mail_to("fail@example.com"))
    at(timedelta(days=1, hours=3))
    run_sweep()  # H-1's review goes out (planning its reminder now), H-3's is rejected by SES

    # When staff open the request history
    response = desk.page()

    # Then every request is listed, the most recently planned first
    assert response.status == 200, response.text
    listed = rows(response)
    assert [(r.order, r.status) for r in listed] == [
        ("H-1", "pending"),  # the reminder, planned when the review was sent
        ("H-4", "cancelled"),  # review and survey of a cancelled order
        ("H-4", "cancelled"),
        ("H-3", "failed"),  # the review SES rejected; its survey waits
        ("H-3", "pending"),
        ("H-2", "skipped"),  # first seen two months after delivery
        ("H-2", "skipped"),
        ("H-1", "sent"),
        ("H-1", "pending"),
    ]
    # with kind, customer, products, due time in the store's zone, and why
    text = html.unescape(response.text)
    assert "Reminder" in text and "Review request" in text and "NPS survey" in text
    assert "Sam Rivera" in text and "sam@example.com" in text and "Product tour" in text
    assert "(UTC)" in text  # the store's timezone, named
    assert "in 5 days" in text  # the pending reminder's due time in words
    assert "Order cancelled" in text  # cancel_reason "cancelled: order cancelled", translated
    assert "Too late to ask" in text  # the planned-as-skipped reason
    assert "MessageRejected" in text  # SES's own reason is shown as it came


def test_rows_are_ordered_by_when_they_were_first_planned(shop: Shop, desk: Desk) -> None:
    # Given three orders planned an hour apart, the oldest due last
    shop.delivered("P-1", [("l1", "mug", "homeware")])  # due in 7 days
    at(timedelta(hours=1))
    shop.delivered("P-2", [("l1", "tour", "experience")], email="b@example.com")  # due in a day
    at(timedelta(hours=2))
    shop.delivered("P-3", [("l1", "tour", "experience")], email="c@example.com")

    # Then the newest planned comes first, whatever it is due
    orders = [r.order for r in rows(desk.page())]
    assert orders == ["P-3", "P-3", "P-2", "P-2", "P-1", "P-1"]


def test_search_by_order_number_and_by_email_ignores_case(
    shop: Shop, desk: Desk, api: ApiClient, operator_key: str
) -> None:
    # Given two customers of this store, and the same address at another store
    shop.delivered("S-1", [("l1", "tour", "experience")], email="Ana.Lima@Example.com")
    shop.delivered("S-2", [("l1", "tour", "experience")], email="bo@example.com")
    other = Shop(api, operator_key, "other-shop")
    other.delivered("S-9", [("l1", "tour", "experience")], email="ana.lima@example.com")

    # When staff search by order number (with or without its "#") and by email in any case
    by_order = rows(desk.page("S-2"))
    by_hash = rows(desk.page("#S-2"))
    by_email = rows(desk.page("  ANA.LIMA@example.COM "))
    nothing = desk.page("nobody@example.com")

    # Then they see that order's or that customer's requests in this store only
    assert {r.order for r in by_order} == {"S-2"} and len(by_order) == 2
    assert by_hash == by_order
    assert {r.order for r in by_email} == {"S-1"} and len(by_email) == 2
    assert rows(nothing) == [] and "No requests match this search." in nothing.text
    # And text that cannot be an order or an address is a friendly error, not a failure
    bad = desk.page("a@b@c")
    assert bad.status == 400 and "Type an order number or a full email address." in bad.text
    control = desk.page("x\x00y")
    assert control.status == 400


def test_pagination_walks_back_across_months_with_a_signed_cursor(shop: Shop, desk: Desk) -> None:
    # Given 30 orders (60 requests): 12 planned in October, 18 in November
    for index in range(30):
        moment = timedelta(days=-20 if index < 12 else 0, minutes=index)
        at(moment)
        shop.delivered(
            f"N-{index:02d}", [("l1", "mug", "homeware")], email=f"c{index}@example.com", at=T0 + moment
        )
    at(timedelta(hours=1))

    # When staff page through the history
    seen: list[Row] = []
    cursor: str | None = None
    pages = 0
    while True:
        response = desk.page(cursor=cursor)
        assert response.status == 200, response.text
        page = rows(response)
        assert len(page) <= 25
        seen.extend(page)
        pages += 1
        cursor = older_cursor(response)
        if cursor is None:
            break
        assert "Newest requests" in desk.page(cursor=cursor).text

    # Then they see every request once, newest first, 25 to a page
    assert pages == 3
    assert len(seen) == 60 and len({(r.order, r.outreach) for r in seen}) == 60
    assert [r.order for r in seen] == sorted((r.order for r in seen), reverse=True)


def test_a_tampered_or_foreign_cursor_gets_a_friendly_answer(
    shop: Shop, desk: Desk, api: ApiClient, operator_key: str
) -> None:
    for index in range(14):  # 28 requests: two pages
        shop.delivered(f"T-{index:02d}", [("l1", "mug", "homeware")], email=f"t{index}@example.com")
    cursor = older_cursor(desk.page())
    assert cursor is not None
    other = Shop(api, operator_key, "other-shop")
    other.delivered("O-1", [("l1", "mug", "homeware")])
    other_desk = Desk(api, other.id, f"care@{other.id}.example.com")

    payload, _, signature = cursor.partition(".")
    tampered = f"{payload[:-2]}xx.{signature}"
    for bad in [tampered, cursor + "x", "not-a-cursor", "x" * 5000]:
        response = desk.page(cursor=bad)
        # Then a friendly page: what happened, and the newest requests instead
        assert response.status == 400, bad
        assert "That page link has expired or is not valid." in response.text
        assert len(rows(response)) == 25
    # A cursor is scoped to its store and its search
    assert other_desk.page(cursor=cursor).status == 400
    assert desk.page("t1@example.com", cursor=cursor).status == 400
    # And it expires after 12 hours (as the session it was made in does)
    at(timedelta(hours=13))
    assert Desk(api, shop.id, desk.email).page(cursor=cursor).status == 400


def test_cancelling_a_pending_request_stops_it_for_good_and_is_audited(shop: Shop, desk: Desk) -> None:
    # Given a pending review request
    shop.delivered("C-1", [("l1", "tour", "experience")])
    review = outreach_id(shop, "C-1")

    # When staff cancel it
    response = desk.post("cancel", "C-1", review)

    # Then the page says so, the request is cancelled, and its history names who did it
    assert response.status == 200, response.text
    assert message(response) == "The request was cancelled. It will not be sent."
    item = stored(shop, "C-1", review)
    assert (item["status"], item["cancel_cause"], item["cancelled_by"]) == (
        "cancelled",
        "staff",
        "care@acme-goods.example.com",
    )
    assert "due_key" not in item and "due_shard" not in item
    assert item["history"][-1]["by"] == "care@acme-goods.example.com"
    assert item["history"][-1]["action"] == "cancel"
    page = desk.page("C-1").text
    assert "Cancelled in the workspace" in page
    assert "cancelled by care@acme-goods.example.com" in page
    assert "<details>" in page

    # And a later event re-plans the order without bringing it back, and the sweep never sends it
    renamed = {"email": "sam@example.com", "name": "Sam R. Rivera", "locale": "en"}
    send_event(shop, "order.updated", generic_order("C-1", [("l1", "tour", "experience")], customer=renamed))
    at(timedelta(days=2))
    run_sweep()
    assert to("sam@example.com") == []
    assert stored(shop, "C-1", review)["status"] == "cancelled"
    # the index attributes it was listed under did not move
    assert stored(shop, "C-1", review)["planned_key"] == item["planned_key"]


def test_products_of_a_cancelled_request_are_not_asked_about_again_in_a_new_grouping(
    shop: Shop, desk: Desk
) -> None:
    # Given a pending review request about two products, cancelled by staff
    two = [("l1", "tour", "experience"), ("l2", "map", "experience")]
    shop.delivered("C-3", two)
    assert desk.post("cancel", "C-3", outreach_id(shop, "C-3")).status == 200

    # When, an hour later, the store adds a product to the order and it is planned again
    at(timedelta(hours=1))
    send_event(shop, "order.updated", generic_order("C-3", [*two, ("l3", "guide", "experience")]))

    # Then only the new product is asked about: the cancelled two are not folded into a new request
    pending = [o for o in shop.plan("C-3") if o["kind"] == "review" and o["status"] == "pending"]
    assert [[p["product_id"] for p in o["products"]] for o in pending] == [["guide"]]


def test_cancelling_a_sent_request_is_refused_politely(shop: Shop, desk: Desk) -> None:
    shop.delivered("C-2", [("l1", "tour", "experience")])
    review = outreach_id(shop, "C-2")
    at(timedelta(days=1, minutes=1))
    run_sweep()
    before = stored(shop, "C-2", review)

    response = desk.post("cancel", "C-2", review)

    assert response.status == 409
    assert message(response) == "This request is no longer waiting (status: Sent), so nothing was changed."
    assert stored(shop, "C-2", review) == before


def test_send_now_sends_a_request_ahead_of_time_once(shop: Shop, desk: Desk) -> None:
    # Given a review request due tomorrow
    shop.delivered("N-1", [("l1", "tour", "experience")])
    review = outreach_id(shop, "N-1")

    # When staff send it now
    response = desk.post("send-now", "N-1", review)

    # Then it goes out now, audited, and the sweep does not send it again when it would have been due
    assert response.status == 200, response.text
    assert message(response) == "The request was sent."
    assert len(to("sam@example.com")) == 1
    item = stored(shop, "N-1", review)
    assert item["status"] == "sent"
    assert [(h.get("action"), h.get("by")) for h in item["history"] if h.get("by")] == [
        ("send_now", "care@acme-goods.example.com")
    ]
    assert "sent ahead of time at the request of care@acme-goods.example.com" in desk.page("N-1").text
    at(timedelta(days=1, minutes=1))
    run_sweep()
    assert len(to("sam@example.com")) == 1
    # And sending it again is refused
    again = desk.post("send-now", "N-1", review)
    assert again.status == 409 and "no longer waiting" in message(again)


def test_send_now_and_the_sweep_at_the_same_moment_send_each_request_once(shop: Shop, desk: Desk) -> None:
    # Given six customers whose review requests are due
    orders = [f"R-{index}" for index in range(6)]
    for index, order in enumerate(orders):
        shop.delivered(order, [("l1", "tour", "experience")], email=f"r{index}@example.com")
    reviews = {order: outreach_id(shop, order) for order in orders}
    at(timedelta(days=1, minutes=1))
    start = threading.Barrier(len(orders) + 1, timeout=60)

    def work(index: int) -> Any:
        start.wait()
        if index == len(orders):
            return run_sweep()
        return desk.post("send-now", orders[index], reviews[orders[index]])

    # When staff press "send now" on each while the sweep runs
    with ThreadPoolExecutor(max_workers=len(orders) + 1) as pool:
        results = [f.result(timeout=120) for f in [pool.submit(work, i) for i in range(len(orders) + 1)]]

    # Then every customer got exactly one email, and every request is sent once
    answers = results[:-1]
    assert all(r.status < 500 for r in answers), [(r.status, message(r)) for r in answers]
    for index in range(len(orders)):
        assert len(to(f"r{index}@example.com")) == 1
    for order, review in reviews.items():
        item = stored(shop, order, review)
        assert item["status"] == "sent"
        assert [h["status"] for h in item["history"]].count("sent") == 1
    # each answer says what happened: sent by this click, or by the sweep first (then the item was no
    # longer waiting, or the customer's contact slot was already taken by the sweep's email)
    allowed = (
        "The request was sent.",
        "The scheduled sending got to this request first (status: ",
        "This request is no longer waiting (status: ",
        "Not sent: the frequency cap allows the next email to this customer from ",
    )
    assert all(message(r).startswith(allowed) for r in answers), [message(r) for r in answers]


def test_send_now_respects_suppression_and_changes_nothing(shop: Shop, desk: Desk) -> None:
    from functions import composition

    shop.delivered("U-1", [("l1", "tour", "experience")], email="quiet@example.com")
    review = outreach_id(shop, "U-1")
    composition.adapters().customers.suppress(shop.id, "quiet@example.com", "unsubscribed")
    before = stored(shop, "U-1", review)

    response = desk.post("send-now", "U-1", review)

    assert response.status == 409
    assert message(response) == (
        "Not sent: this customer receives no more emails from the store (The customer unsubscribed). "
        "Nothing was changed."
    )
    assert stored(shop, "U-1", review) == before
    assert mails() == []


def test_send_now_respects_the_frequency_cap_and_changes_nothing(shop: Shop, desk: Desk) -> None:
    # Given a customer emailed yesterday, whose survey of the same order is planned for later
    shop.delivered("F-1", [("l1", "tour", "experience")])
    at(timedelta(days=1, minutes=1))
    run_sweep()
    assert len(mails()) == 1
    survey = outreach_id(shop, "F-1", "nps")
    before = stored(shop, "F-1", survey)
    at(timedelta(days=2))

    # When staff try to send the survey now
    response = desk.post("send-now", "F-1", survey)

    # Then the weekly cap stops it, the page says until when, and nothing changed
    assert response.status == 409
    assert message(response).replace("\u202f", " ") == (
        "Not sent: the frequency cap allows the next email to this customer from "
        "Nov 10, 2026, 9:01 AM (UTC). Nothing was changed."
    )
    assert stored(shop, "F-1", survey) == before
    assert len(mails()) == 1


def test_forms_need_the_session_and_its_csrf_value(shop: Shop, desk: Desk, api: ApiClient) -> None:
    shop.delivered("X-1", [("l1", "tour", "experience")])
    review = outreach_id(shop, "X-1")

    assert desk.post("cancel", "X-1", review, csrf="forged").status == 403
    anonymous = api.post(
        "/workspace/requests/cancel", body=urlencode({"order": "X-1", "outreach": review}), headers=FORM
    )
    assert anonymous.status == 303
    assert api.get("/workspace/requests").status == 303
    assert desk.post("cancel", "X-1", "../../etc").status == 400
    assert stored(shop, "X-1", review)["status"] == "pending"


def test_a_session_of_store_a_cannot_see_or_touch_store_b_requests(
    shop: Shop, desk: Desk, api: ApiClient, operator_key: str
) -> None:
    # Given a pending request at another store
    other = Shop(api, operator_key, "other-shop")
    other.delivered("B-1", [("l1", "tour", "experience")], email="b@example.com")
    review = outreach_id(other, "B-1")

    # When store A's staff look it up and try to cancel it and to send it
    listed = rows(desk.page()) + rows(desk.page("B-1")) + rows(desk.page("b@example.com"))
    cancel = desk.post("cancel", "B-1", review)
    send = desk.post("send-now", "B-1", review)

    # Then they see nothing of it and change nothing
    assert listed == []
    assert cancel.status == 404 and send.status == 404
    assert message(cancel) == "That request no longer exists."
    assert stored(other, "B-1", review)["status"] == "pending"
    assert mails() == []


def test_items_carry_their_history_index_keys_from_creation(shop: Shop) -> None:
    from functions import composition

    at(timedelta(days=-3))  # October 30th
    shop.delivered("K-1", [("l1", "tour", "experience")], email="Kim@Example.com", at=T0 - timedelta(days=3))
    at(timedelta(days=1))
    shop.delivered("K-2", [("l1", "tour", "experience")], email="kim@example.com")
    review = outreach_id(shop, "K-1")
    item = stored(shop, "K-1", review)

    assert item["store_month"] == "acme-goods#2026-10"
    assert item["planned_key"] == f"2026-10-30T09:00:00Z#K-1#{review}"
    assert item["customer_key"].startswith("acme-goods#") and "kim" not in item["customer_key"].lower()
    # another helper's monthly read: every item of a store-month, and nothing of another month
    queue = composition.adapters().outreach
    october = list(queue.planned_in_month(shop.id, "2026-10"))
    assert {i["order_id"] for i in october} == {"K-1"} and len(october) == 2
    assert {i["order_id"] for i in queue.planned_in_month(shop.id, "2026-11")} == {"K-2"}
    with pytest.raises(ValueError):
        list(queue.planned_in_month(shop.id, "2026-13"))
    # the reminder planned when the review was sent is listed under the month it was planned
    at(timedelta(days=1, minutes=5))
    run_sweep()
    reminder = stored(shop, "K-1", f"{review}-reminder")
    assert reminder["store_month"] == "acme-goods#2026-11"
    assert reminder["customer_key"] == item["customer_key"]
    assert clock.parse_iso(reminder["planned_at"]) == T0 + timedelta(days=1, minutes=5)
    assert {i["order_id"] for i in queue.planned_in_month(shop.id, "2026-11")} == {"K-2", "K-1"}
