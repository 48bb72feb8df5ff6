"""The customer's side of a return in real headless Chromium, in Arabic and English, at 360 and 1280 px.

A customer opens their return page (an item the store does not take back is shown with why, never as a
checkbox), asks to return a shirt, gets the approval email with its status link, and opens the status
page: the steps with their dates, the current one marked. Nothing scrolls sideways, axe finds nothing
serious or critical (the email judged as a document: no landmarks), and the screenshots are kept in
docs/screenshots/return-*.png.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from functions.shared.i18n import catalog
from tests.browser.checks import overflow, serious_violations
from tests.browser.in_process import serving
from tests.world import Shop, World, store_config

pytestmark = [pytest.mark.browser]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTHS = (360, 1280)
LINES = [
    ("l1", "p-shirt", "clothing", 1, "30.00"),  # approved automatically (below 50), must come back
    ("l2", "p-tour", "experience", 1, "30.00"),  # the store does not take experiences back
]


def judged(tab: Any, name: str, width: int, email: bool = False) -> None:
    assert overflow(tab) <= 0, f"{name} scrolls sideways at {width} px"
    assert serious_violations(tab, email) == [], name
    tab.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("locale", ["ar", "en"])
def test_a_customer_asks_for_a_return_and_follows_it(world: World, browser: Any, locale: str) -> None:
    config = store_config(f"returns-{locale}", world.desk.url)
    config.update(default_locale=locale, timezone="Asia/Riyadh" if locale == "ar" else "Europe/London")
    config["returns"]["return_address"] = "Acme Goods Returns, 1 Dock Road, Springfield"
    shop = Shop(world, f"returns-{locale}", config)
    shop.create()
    customer = {"email": "nour@example.com", "name": "Nour Haddad", "locale": locale}
    shop.delivered("R-1", LINES, email="nour@example.com", days_ago=2, customer=customer)
    words = catalog(locale)
    with serving(f"returns-{locale}") as url:
        context = browser.new_context(viewport={"width": 360, "height": 800})
        tab = context.new_page()
        # Given the customer's return page, Then the tour is shown as not returnable, with no checkbox
        tab.goto(url + shop.return_path("R-1"))
        assert tab.locator('[data-testid="not-returnable"]').count() == 1
        assert tab.locator('input[name="item-l2"]').count() == 0
        assert words["rt_reason_does_not_fit"] in tab.locator('select[name="reason"]').inner_text()
        judged(tab, f"return-request-{locale}", 360)
        # When they ask to return the shirt
        tab.check('input[name="item-l1"]')
        tab.select_option('select[name="reason"]', "does_not_fit")
        tab.click('button[type="submit"]')
        assert tab.locator('[data-testid="return-id"]').count() == 1
        world.settle()
        # Then the approval email greets them, says where to send it, and links to the status page
        found = [m for m in shop.mails() if m["to"] == ["nour@example.com"] and "/rs/" in m["text"]]
        assert len(found) == 1, [m["text"] for m in shop.mails()]
        [mail] = found
        assert (
            mail["subject"]
            .replace("\u2068", "")
            .replace("\u2069", "")
            .startswith(words["rt_subject_instructions"].split("{order}")[0].replace("\u2068", ""))
        )
        link = re.search(r"https?://\S+(/rs/[\w.-]+)", mail["text"]).group(1)  # type: ignore[union-attr]
        for width in WIDTHS:
            tab.set_viewport_size({"width": width, "height": 800})
            tab.set_content(mail["html"])
            judged(tab, f"return-email-{locale}", width, email=True)
            # And the status page shows the steps, the current one (send the items back) marked
            tab.goto(url + link)
            current = tab.locator('[aria-current="step"]')
            assert current.count() == 1 and words["rt_step_send"] in current.inner_text()
            assert tab.locator('li[data-state="done"]').count() == 2  # requested, approved
            assert tab.locator("form").count() == 0  # it only shows
            judged(tab, f"return-status-{locale}", width)
        context.close()
