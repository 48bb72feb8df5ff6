"""The demo store's whole story on the local stack: a negative answer, a staff offer, a refund, once.

The demo store's refund endpoint is the local stack's stand-in (``/_dev/refunds/demo``), so a new user
sees the refund land without writing a receiver of their own.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from tests.conftest import DevStackProcess
from tests.helpers import wait_for
from tests.webhooks import body_of, generic_event, generic_headers, generic_order

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("devstack")]


def outbox(devstack: DevStackProcess) -> list[dict[str, Any]]:
    return list(requests.get(f"{devstack.url}/_dev/outbox", timeout=10).json())


def test_negative_answer_staff_offer_and_refund_complete_locally(devstack: DevStackProcess) -> None:
    demo = devstack.state["demo"]
    secret, admin_key = demo["generic_webhook_secret"], demo["admin_key"]
    now = requests.get(f"{devstack.url}/_dev/clock", timeout=10).json()["now"]
    order = generic_order(
        "DEMO-STORY-1",
        [("l1", "teapot", "homeware")],
        customer={"email": "noor@example.com", "name": "Noor", "locale": "en"},
    )
    order["line_items"][0]["price"] = "12.50"
    raw = body_of(generic_event("order.delivered", order, occurred_at=now))
    posted = requests.post(
        f"{devstack.url}/webhooks/demo/events", data=raw, headers=generic_headers([secret], raw), timeout=10
    )
    assert posted.status_code == 200, posted.text

    # A week later the review request arrives; the customer gives one star
    requests.post(f"{devstack.url}/_dev/clock", json={"advance": "P7DT1H"}, timeout=300)
    request = wait_for(lambda: next((m for m in outbox(devstack) if m["to"] == ["noor@example.com"]), None))
    assert any("/r/" in link["href"] for link in request["links"])  # something is returnable: a return link
    one_star = next(link["href"] for link in request["links"] if "/s/" in link["href"])
    requests.post(one_star, data={"score": "1", "comment": "The lid was cracked."}, timeout=10)

    # Staff get the alert and offer a refund from its link
    alert = wait_for(
        lambda: next(
            (
                m
                for m in outbox(devstack)
                if "DEMO-STORY-1" in m["subject"] and m["subject"].startswith("[Needs")
            ),
            None,
        )
    )
    staff = next(link["href"] for link in alert["links"] if "/staff/" in link["href"])
    page = requests.get(staff, timeout=10).text
    form = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', page))
    offered = requests.post(
        staff, data={**form, "action": "offer", "offer": "refund", "note": "On us"}, timeout=30
    )
    return_id = re.search(r"(ret-[0-9]{16})", offered.text).group(1)  # type: ignore[union-attr]

    # The stand-in endpoint takes the refund once, the return completes, the customer hears
    refunds = wait_for(
        lambda: [
            r
            for r in requests.get(f"{devstack.url}/_dev/refunds", timeout=10).json()["refunds"]
            if r["return_id"] == return_id
        ]
    )
    assert [(r["amount"], r["currency"], r["calls"]) for r in refunds] == [("12.50", "EUR", 1)]

    def status() -> str:
        view = requests.get(
            f"{devstack.url}/v1/stores/demo/returns/{return_id}",
            headers={"Authorization": f"Bearer {admin_key}"},
            timeout=10,
        ).json()
        return str(view["return"]["status"])

    assert wait_for(lambda: status() == "completed")
    assert wait_for(
        lambda: any(m["to"] == ["noor@example.com"] and "Good news" in m["text"] for m in outbox(devstack))
    )
    console = requests.get(f"{devstack.url}/_dev/", timeout=10).text
    assert refunds[0]["reference"] in console
