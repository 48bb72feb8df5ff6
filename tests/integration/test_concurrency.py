"""Exactly-once under real concurrency, through the public HTTP routes in one process.

Threads post at the same moment (a ``threading.Barrier``) through the in-process API Gateway stand-in,
whose app keeps each thread's request to itself, against moto with DynamoDB's atomicity
(``aftercare.devstack.motolock``). Nothing is retried or tolerated here: a 5xx fails the test.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar

import boto3
import pytest

from functions.shared import clock
from functions.shared.dynamo import from_item
from tests.helpers import ApiClient, ApiResponse, bearer
from tests.shop import T0, Shop, at, mails, review_links, run_sweep
from tests.webhooks import body_of, generic_event, generic_headers, generic_order

pytestmark = pytest.mark.integration

THREADS = 8
FORM = {"content-type": "application/x-www-form-urlencoded"}
T = TypeVar("T")


def at_once(work: Callable[[int], T], threads: int = THREADS) -> list[T]:
    """``work(0..threads-1)``, each in its own thread, all released together; the first error is raised."""
    start = threading.Barrier(threads, timeout=60)

    def run(index: int) -> T:
        start.wait()
        return work(index)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(run, index) for index in range(threads)]
        return [future.result(timeout=120) for future in futures]


def deliver(shop: Shop, raw: bytes) -> ApiResponse:
    return shop.api.post(f"/webhooks/{shop.id}/events", body=raw, headers=generic_headers([shop.secret], raw))


def order_view(shop: Shop, order_id: str) -> Any:
    response = shop.api.get(f"/v1/stores/{shop.id}/orders/{order_id}", headers=bearer(shop.admin_key))
    assert response.status == 200, response.text
    return response.json


def describe(responses: list[ApiResponse]) -> list[tuple[int, str]]:
    return [(r.status, r.text[:200]) for r in responses]


def test_one_webhook_delivered_by_eight_threads_at_once_is_applied_once(shop: Shop) -> None:
    # Given one signed delivery event
    order = generic_order("W-1", [("l1", "tour", "experience")])
    raw = body_of(generic_event("order.delivered", order, occurred_at=clock.isoformat(T0)))

    # When the platform delivers it 8 times at the same moment
    responses = at_once(lambda _: deliver(shop, raw))

    # Then one delivery applied it and every other one was told it is a duplicate: the order's own
    # transaction refused them (decision 57), so none is left "in progress" for the platform to retry
    assert [r.status for r in responses] == [200] * THREADS, describe(responses)
    applied = [r for r in responses if r.json["status"] == "accepted"]
    duplicates = [r for r in responses if r.json["status"] == "duplicate"]
    assert len(applied) == 1, describe(responses)
    assert len(duplicates) == THREADS - 1, describe(responses)
    assert all(r.json["duplicate"] is True for r in duplicates)

    # And the order holds the event once, and the plan the one applied delivery made
    view = order_view(shop, "W-1")
    assert len(view["events"]) == 1
    assert view["events"][0]["topic"] == "order.delivered"
    assert view["events"][0]["redeliveries"] == len(duplicates)
    planned = sorted(p["outreach_id"] for p in applied[0].json["planned"])
    assert (
        sorted(o["outreach_id"] for o in view["plan"] if not o["outreach_id"].endswith("-reminder"))
        == planned
    )


def order_events(order_id: str) -> list[dict[str, Any]]:
    """Eight different events about one order, in the order a store would send them."""
    day = timedelta(days=1)
    two_lines = [("l1", "tour", "experience"), ("l2", "shirt", "clothing")]
    bare = {"id": order_id}
    return [
        generic_event(
            "order.created",
            generic_order(order_id, [two_lines[0]]),
            occurred_at=clock.isoformat(T0 - 4 * day),
        ),
        generic_event(
            "order.paid",
            {**bare, "currency": "EUR"},
            occurred_at=clock.isoformat(T0 - 4 * day + timedelta(hours=1)),
        ),
        generic_event(
            "order.updated",
            generic_order(order_id, two_lines),  # a second line added after checkout
            occurred_at=clock.isoformat(T0 - 3 * day),
        ),
        generic_event(
            "order.updated",
            {**bare, "customer": {"email": "sam@example.com", "name": "Sam R. Rivera", "locale": "de"}},
            occurred_at=clock.isoformat(T0 - 3 * day + timedelta(hours=2)),
        ),
        generic_event("order.fulfilled", bare, occurred_at=clock.isoformat(T0 - 2 * day)),
        generic_event("order.delivered", bare, occurred_at=clock.isoformat(T0 - day)),
        generic_event(
            "order.updated", {**bare, "name": f"#{order_id}-B"}, occurred_at=clock.isoformat(T0 - day)
        ),
        generic_event(
            "order.refunded",
            bare,
            refund={"id": "r-1", "line_items": [{"line_item_id": "l2", "quantity": 1}]},
            occurred_at=clock.isoformat(T0 - day + timedelta(hours=3)),
        ),
    ]


def comparable(view: dict[str, Any]) -> dict[str, Any]:
    """What an order's state is, independent of which store holds it and when each event arrived: its
    facts, its quantities, its events, and its live plan. (Cancelled plan entries are history: a review
    planned for a line that a later-applied refund covers is kept as cancelled, and is never created
    when the refund was applied first.)"""
    plan = [
        {key: value for key, value in o.items() if key not in ("outreach_id", "history")}
        for o in view["plan"]
        if o["status"] != "cancelled"
    ]
    return {
        "order": view["order"],
        "quantities": view["quantities"],
        "plan": sorted(plan, key=repr),
        "events": sorted((e["topic"], e["event_key"], e["occurred_at"]) for e in view["events"]),
    }


def test_eight_different_events_for_one_order_at_once_all_apply_as_if_in_sequence(
    api: ApiClient, operator_key: str, frozen: Any
) -> None:
    # Given eight different events about one order, and two identical stores
    together, one_by_one = Shop(api, operator_key, "together"), Shop(api, operator_key, "one-by-one")
    events = [body_of(event) for event in order_events("M-1")]

    # When one store receives them all at the same moment, the other one after another
    responses = at_once(lambda index: deliver(together, events[index]), threads=len(events))
    for raw in events:
        sequential = deliver(one_by_one, raw)
        assert sequential.status == 200, sequential.text

    # Then every event was applied, none answered 5xx, and the order ends as if they came in sequence
    assert [r.status for r in responses] == [200] * len(events), describe(responses)
    assert [r.json["status"] for r in responses] == ["accepted"] * len(events), describe(responses)
    concurrent_view = order_view(together, "M-1")
    assert len(concurrent_view["events"]) == len(events)
    assert comparable(concurrent_view) == comparable(order_view(one_by_one, "M-1"))


def test_eight_identical_survey_answers_at_once_record_one_answer(shop: Shop, aws_stack: Any) -> None:
    # Given a customer's review request email
    shop.delivered("S-1", [("l1", "tour", "experience")])
    at(timedelta(days=1, minutes=1))
    run_sweep()
    link = review_links(mails()[0])[1].removeprefix("https://care.example.com")

    # When the same answer is submitted 8 times at once (a double click, times eight)
    responses = at_once(lambda _: shop.api.post(link, body="score=2&comment=Arrived+late", headers=FORM))

    # Then every submit is thanked and the answer is recorded once, with one entry in its history
    assert [r.status for r in responses] == [200] * THREADS, describe(responses)
    assert all("Thank you!" in r.text for r in responses)
    items = boto3.client("dynamodb").scan(TableName=aws_stack.tables["ResponsesTable"], ConsistentRead=True)
    [answer] = [from_item(item) for item in items["Items"]]
    assert (answer["score"], answer["comment"], answer["answers"]) == (2, "Arrived late", 1)
    assert len(answer["history"]) == 1
    # And the waiting reminder was cancelled once
    [reminder] = [o for o in shop.plan("S-1") if o["outreach_id"].endswith("-reminder")]
    assert (reminder["status"], reminder["reason"]) == ("cancelled", "answered")
    assert [h["status"] for h in reminder["history"]].count("cancelled") == 1
