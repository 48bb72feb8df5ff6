"""A delivered order, then the simulated clock: each email arrives when due, never early, never twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import requests

from tests.conftest import DevStackProcess
from tests.webhooks import body_of, generic_event, generic_headers, generic_order

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("devstack")]

CUSTOMER = "timeline@example.com"


def now(devstack: DevStackProcess) -> datetime:
    text = requests.get(f"{devstack.url}/_dev/clock", timeout=10).json()["now"]
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def mine(devstack: DevStackProcess) -> list[dict[str, Any]]:
    messages = requests.get(f"{devstack.url}/_dev/outbox", timeout=10).json()
    return [m for m in messages if CUSTOMER in m["to"]]


def sent_at(message: dict[str, Any]) -> datetime:
    date = next(value for name, value in message["headers"] if name == "Date")
    return parsedate_to_datetime(date)


def test_emails_arrive_at_the_right_simulated_times(devstack: DevStackProcess) -> None:
    # Given the demo store (experience 1 day, clothing 14 days, electronics 30 days; weekly cap;
    # reminders 3, 5 and 7 days) and an order delivered now
    delivered = now(devstack)
    order = generic_order(
        "TL-1",
        [("l1", "tour", "experience"), ("l2", "shirt", "clothing"), ("l3", "phones", "electronics")],
        customer={"email": CUSTOMER, "name": "Tia Line", "locale": "en"},
    )
    raw = body_of(
        generic_event("order.delivered", order, occurred_at=delivered.strftime("%Y-%m-%dT%H:%M:%SZ"))
    )
    secret = devstack.state["demo"]["generic_webhook_secret"]
    response = requests.post(
        f"{devstack.url}/webhooks/demo/events", data=raw, headers=generic_headers([secret], raw), timeout=10
    )
    assert response.status_code == 200, response.text

    # When half a day passes, nothing is sent early
    requests.post(f"{devstack.url}/_dev/clock", json={"advance": "PT12H"}, timeout=120)
    assert mine(devstack) == []

    # When six weeks pass
    summary = requests.post(f"{devstack.url}/_dev/clock", json={"advance": "P42D"}, timeout=300).json()
    assert summary["stops"] > 1

    # Then: the tour a day after delivery, its reminder once the weekly cap allows, the shirt with the NPS
    # survey, the shirt's reminder, the phones at 30 days and their reminder: six emails, each once.
    emails = mine(devstack)
    days = [round((sent_at(m) - delivered) / timedelta(hours=1)) / 24 for m in emails]
    assert days == [1, 8, 15, 22, 30, 37], days
    subjects = [m["subject"] for m in emails]
    assert [s.startswith("A quick reminder") for s in subjects] == [False, True, False, True, False, True]
    assert "recommend" in emails[2]["text"]
    assert len({m["id"] for m in emails}) == 6

    # And nothing more comes when the clock moves on
    requests.post(f"{devstack.url}/_dev/clock", json={"advance": "P30D"}, timeout=300)
    assert len(mine(devstack)) == 6
