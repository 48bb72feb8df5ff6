"""A store's webhooks arrive in parallel at the local stack: never a 5xx, every event applied once."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from tests.conftest import DevStackProcess
from tests.webhooks import body_of, generic_event, generic_headers, generic_order

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("devstack")]

ORDERS = 4
DUPLICATES = 4  # redeliveries of events that are also being delivered at the same time


def dev_now(devstack: DevStackProcess) -> datetime:
    now = requests.get(f"{devstack.url}/_dev/clock", timeout=10).json()["now"]
    return datetime.fromisoformat(str(now).replace("Z", "+00:00"))


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def events_for(order_id: str, now: datetime) -> list[dict[str, Any]]:
    """Three different events about one order: created, paid, delivered."""
    bare = {"id": order_id}
    return [
        generic_event(
            "order.created",
            generic_order(order_id, [("l1", "tour", "experience"), ("l2", "linen-shirt", "clothing")]),
            occurred_at=iso(now - timedelta(days=3)),
        ),
        generic_event("order.paid", bare, occurred_at=iso(now - timedelta(days=3) + timedelta(hours=1))),
        generic_event("order.delivered", bare, occurred_at=iso(now - timedelta(hours=2))),
    ]


def test_sixteen_parallel_deliveries_with_duplicates_never_fail(devstack: DevStackProcess) -> None:
    # Given three different events for each of four orders, and four of them delivered twice
    demo = devstack.state["demo"]
    now = dev_now(devstack)
    run = uuid.uuid4().hex[:8]  # order ids of this run only: the stack is shared by the e2e session
    events = {f"PAR-{run}-{n}": events_for(f"PAR-{run}-{n}", now) for n in range(ORDERS)}
    distinct = [event for order_events in events.values() for event in order_events]
    deliveries = distinct + [distinct[index * 3 + index % 3] for index in range(DUPLICATES)]
    assert len(deliveries) == 16
    start = threading.Barrier(len(deliveries), timeout=60)

    def post(event: dict[str, Any]) -> requests.Response:
        raw = body_of(event)
        headers = generic_headers([demo["generic_webhook_secret"]], raw)
        start.wait()
        return requests.post(f"{devstack.url}/webhooks/demo/events", data=raw, headers=headers, timeout=60)

    # When all sixteen are posted at the same moment
    with ThreadPoolExecutor(max_workers=len(deliveries)) as pool:
        futures = [pool.submit(post, event) for event in deliveries]
        failures = [future.exception() for future in futures if future.exception() is not None]
        assert not failures, f"{failures}\n--- local stack output ---\n{''.join(devstack.output[-60:])}"
        responses = [future.result() for future in futures]

    # Then none failed: each distinct event was accepted once, each other delivery of it was answered
    # as a duplicate or as still in progress
    answers = [
        (event["id"], r.status_code, r.text[:200]) for event, r in zip(deliveries, responses, strict=True)
    ]
    assert all(status < 500 for _, status, _ in answers), answers
    outcomes: dict[str, list[tuple[int, str]]] = {}
    for event, response in zip(deliveries, responses, strict=True):
        body = response.json()
        outcomes.setdefault(event["id"], []).append(
            (response.status_code, body.get("status") or body["error"])
        )
    assert len(outcomes) == len(distinct)
    for outcome in outcomes.values():
        assert outcome.count((200, "accepted")) == 1, answers
        assert set(outcome) <= {(200, "accepted"), (200, "duplicate"), (409, "in_progress")}, answers

    # And every order is readable with all its events, each once
    for order_id, order_events in events.items():
        view = requests.get(
            f"{devstack.url}/v1/stores/demo/orders/{order_id}",
            headers={"Authorization": f"Bearer {demo['admin_key']}"},
            timeout=10,
        )
        assert view.status_code == 200, view.text
        body = view.json()
        assert sorted(e["event_key"] for e in body["events"]) == sorted(e["id"] for e in order_events)
        assert body["order"]["delivered_at"] is not None and body["order"]["paid_at"] is not None
        assert len(body["order"]["line_items"]) == 2
        assert [o["kind"] for o in body["plan"]].count("review") == 2
