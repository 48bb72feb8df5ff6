"""Order → clock → email → a low score → staff alert → reply from the staff page → reply email."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import requests

from tests.conftest import DevStackProcess
from tests.webhooks import body_of, generic_event, generic_headers, generic_order

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("devstack")]


def outbox(devstack: DevStackProcess) -> list[dict[str, Any]]:
    return list(requests.get(f"{devstack.url}/_dev/outbox", timeout=10).json())


def wait_for(devstack: DevStackProcess, predicate: Any, seconds: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [m for m in outbox(devstack) if predicate(m)]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError("the email never arrived")


def test_detractor_gets_a_staff_reply(devstack: DevStackProcess) -> None:
    customer = "unhappy@example.com"
    now = requests.get(f"{devstack.url}/_dev/clock", timeout=10).json()["now"]
    order = generic_order(
        "NEG-1",
        [("l1", "tour", "experience")],
        customer={"email": customer, "name": "Una Happy", "locale": "en"},
    )
    raw = body_of(generic_event("order.delivered", order, occurred_at=now))
    secret = devstack.state["demo"]["generic_webhook_secret"]
    assert (
        requests.post(
            f"{devstack.url}/webhooks/demo/events",
            data=raw,
            headers=generic_headers([secret], raw),
            timeout=10,
        ).status_code
        == 200
    )
    requests.post(f"{devstack.url}/_dev/clock", json={"advance": "P1DT1H"}, timeout=120)
    request = wait_for(devstack, lambda m: customer in m["to"])

    # The customer clicks one star, writes why, and confirms
    one_star = next(link["href"] for link in request["links"] if "/s/" in link["href"])
    page = requests.get(one_star, timeout=10)
    assert 'value="1" checked' in page.text
    answered = requests.post(one_star, data={"score": "1", "comment": "Guide never showed up"}, timeout=10)
    assert "Thank you!" in answered.text

    # Staff are alerted within seconds (the stream is pumped every second)
    alert = wait_for(
        devstack, lambda m: m["subject"].startswith("[Needs a reply]") and "NEG-1" in m["subject"]
    )
    assert alert["to"] == ["care@demo-outfitters.example"]
    assert "Guide never showed up" in alert["text"]

    # A staff member opens the link and sends the reply
    staff_link = next(link["href"] for link in alert["links"] if "/staff/" in link["href"])
    staff_page = requests.get(staff_link, timeout=10).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', staff_page).group(1)  # type: ignore[union-attr]
    action_id = re.search(r'name="action_id" value="([^"]+)"', staff_page).group(1)  # type: ignore[union-attr]
    sent = requests.post(
        staff_link,
        data={
            "csrf": csrf,
            "action_id": action_id,
            "action": "reply_resolve",
            "reply": "Una, we are so sorry. Your refund is on its way.",
        },
        timeout=30,
    )
    assert "Your reply was emailed" in sent.text

    reply = wait_for(devstack, lambda m: customer in m["to"] and m["subject"].startswith("Re: "))
    assert "Your refund is on its way." in reply["text"]
    assert dict(reply["headers"])["In-Reply-To"] == dict(request["headers"])["Message-ID"]
