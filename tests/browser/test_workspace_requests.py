"""The request history in real headless Chromium: search, cancel, send now; accessible; no overflow.

The app is served in this process on 127.0.0.1 (the local stack's own HTTP server) against moto, with
the clock frozen, so the page shows known requests; the browser carries a real session cookie.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from functions.shared import clock
from functions.workspace import session
from tests.browser.in_process import serving, signed_in_tab
from tests.helpers import ApiClient
from tests.shop import T0, Shop, at, mails, run_sweep
from tests.webhooks import body_of, generic_event, generic_headers

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
STAFF = "care@acme-goods.example.com"


@dataclass
class Served:
    url: str
    shop: Shop
    token: str

    def open(self, browser: Any, width: int = 1280, **options: Any) -> Any:
        """A signed-in browser tab on the request history."""
        return signed_in_tab(browser, self.url, self.token, "/workspace/requests", width, **options)


@pytest.fixture
def served(
    aws_stack: Any, api: ApiClient, operator_key: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Served]:
    from functions import composition

    monkeypatch.setenv("AFTERCARE_SEND_RETRY_BASE_MS", "1")
    composition.reset()
    clock.clock.freeze(T0 - timedelta(days=2))
    shop = Shop(api, operator_key)
    shop.delivered(
        "W-1",
        [("l1", "tour", "experience")],
        email="ana.lima@example.com",
        at=T0 - timedelta(days=2),
    )
    at(timedelta(days=-1))
    shop.delivered("W-2", [("l1", "mug", "homeware")], email="bo@example.com")
    shop.delivered(
        "W-3",
        [("l1", "a-very-long-product-name-without-any-spaces-to-break-it", "homeware")],
        email="someone.with.a.remarkably.long.address@subdomain.example-store.com",
    )
    shop.delivered("W-4", [("l1", "tour", "experience")], email="kim@example.com")
    cancelled = body_of(generic_event("order.cancelled", {"id": "W-4"}))
    assert (
        api.post(
            f"/webhooks/{shop.id}/events", body=cancelled, headers=generic_headers([shop.secret], cancelled)
        ).status
        == 200
    )
    run_sweep()  # W-1's review is due: sent, with its reminder planned
    at(timedelta(0))
    token = session.issue(composition.adapters().signing_key, shop.id, STAFF, "staff")
    with serving("requests-page") as url:
        yield Served(url, shop, token)


def row(tab: Any, order: str, kind: str = "Review request") -> Any:
    return tab.locator(f'[data-testid="request"][data-order="{order}"]').filter(has_text=kind)


def test_search_send_now_and_cancel_in_chromium(browser: Any, served: Served) -> None:
    tab = served.open(browser)
    # W-1: review (sent), survey, reminder; W-2, W-3: review and survey; W-4: both cancelled with the order
    assert tab.locator('[data-testid="request"]').count() == 9
    assert "Order cancelled" in row(tab, "W-4").inner_text()

    # Search by the customer's email, typed in another case
    tab.get_by_label("Order number or customer email").fill("Bo@Example.com")
    tab.get_by_role("button", name="Search").click()
    assert tab.locator('[data-testid="request"]').count() == 2
    assert {tab.locator('[data-testid="request"]').nth(i).get_attribute("data-order") for i in range(2)} == {
        "W-2"
    }

    # Send W-2's review now: it goes out, and the page says so
    row(tab, "W-2").get_by_role("button", name="Send now").click()
    assert tab.get_by_test_id("notice").inner_text() == "The request was sent."
    assert row(tab, "W-2").get_attribute("data-status") == "sent"
    assert [m["to"] for m in mails() if m["to"] == ["bo@example.com"]] == [["bo@example.com"]]

    # Search by order number and cancel its survey; its history names who did it
    tab.get_by_label("Order number or customer email").fill("W-3")
    tab.get_by_role("button", name="Search").click()
    row(tab, "W-3", "NPS survey").get_by_role("button", name="Cancel request").click()
    assert tab.get_by_test_id("notice").inner_text() == "The request was cancelled. It will not be sent."
    cancelled = row(tab, "W-3", "NPS survey")
    assert cancelled.get_attribute("data-status") == "cancelled"
    cancelled.locator("summary").click()
    assert f"cancelled by {STAFF}" in cancelled.locator("details").inner_text()


def test_the_page_is_accessible_and_fits_360_and_1280_pixels(browser: Any, served: Served) -> None:
    from axe_playwright_python.sync_playwright import Axe

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in (360, 1280):
        tab = served.open(browser, width, bypass_csp=True)  # axe is injected as a script
        tab.locator('[data-testid="request"] details').first.evaluate("d => d.open = true")
        results = Axe().run(tab)
        serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
        assert serious == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in serious]
        overflow = tab.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{overflow}px of horizontal overflow at {width}px"
        tab.screenshot(path=str(SCREENSHOTS / f"workspace-requests-{width}.png"), full_page=True)
        tab.context.close()


def test_without_javascript_the_history_still_opens_and_forms_work(browser: Any, served: Served) -> None:
    tab = served.open(browser, java_script_enabled=False)
    first = tab.locator('[data-testid="request"] details').first
    first.locator("summary").click()
    assert first.evaluate("d => d.open") is True
    row(tab, "W-2").get_by_role("button", name="Cancel request").click()
    assert "cancelled" in tab.get_by_test_id("notice").inner_text()
    tab.context.close()


def test_an_arabic_store_reads_right_to_left_accessibly_without_overflow(
    browser: Any, served: Served, api: ApiClient, operator_key: str
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    from functions import composition
    from tests.helpers import bearer, minimal_store_config
    from tests.webhooks import generic_order

    # Given a store whose staff read Arabic, with one order planned
    config = {**minimal_store_config("souq"), "default_locale": "ar", "timezone": "Asia/Riyadh"}
    created = api.post("/v1/admin/stores", json_body={"config": config}, headers=bearer(operator_key))
    assert created.status == 201, created.text
    order = generic_order(
        "A-1", [("l1", "tour", "experience")], customer={"email": "nour@example.com", "name": "نور"}
    )
    raw = body_of(generic_event("order.delivered", order))
    secret = created.json["webhook_secrets"]["generic"]
    assert api.post("/webhooks/souq/events", body=raw, headers=generic_headers([secret], raw)).status == 200
    token = session.issue(composition.adapters().signing_key, "souq", "care@souq.example.com", "staff")

    # When its staff open the request history on a phone
    arabic = Served(served.url, served.shop, token)
    tab = arabic.open(browser, 360, bypass_csp=True)

    # Then it is in Arabic, right to left, in the store's zone, accessible and without overflow
    assert tab.locator("html").get_attribute("dir") == "rtl"
    assert tab.locator("h1").inner_text() == "سجلّ الطلبات"
    assert "(Asia/Riyadh)" in tab.locator('[data-testid="request"]').first.inner_text()
    serious = [v for v in Axe().run(tab).response["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == [], [v["id"] for v in serious]
    assert tab.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    tab.context.close()
