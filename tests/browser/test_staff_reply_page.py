"""The staff page's reply box in real headless Chromium: an Arabic customer's reply language preselected,
its starting point in Arabic, at 360 and 1280 px, nothing scrolling sideways and nothing axe calls serious
(docs/screenshots/staff-reply-ar-<width>.png)."""

from __future__ import annotations

from typing import Any

import pytest

from functions.shared.i18n import catalog
from tests.browser.in_process import serving
from tests.browser.test_return_status_page import judged
from tests.integration.test_staff_reply_languages import english_shop, flagged
from tests.world import World

pytestmark = [pytest.mark.browser]


def test_the_reply_box_starts_in_the_customers_language(world: World, browser: Any) -> None:
    shop = english_shop(world, "reply-browser")
    path = flagged(shop, world, {"email": "nour@example.com", "name": "Nour Haddad", "locale": "ar"})
    with serving("reply-browser") as url:
        context = browser.new_context(viewport={"width": 360, "height": 800})
        tab = context.new_page()
        tab.goto(url + path)
        assert tab.locator("#reply_locale").input_value() == "ar"
        assert tab.locator("#reply").input_value().startswith("مرحبًا")
        for width in (360, 1280):
            tab.set_viewport_size({"width": width, "height": 800})
            judged(tab, "staff-reply-ar", width)
        # choosing Kazakh shows the Kazakh starting point (a GET: nothing is sent)
        tab.select_option("#reply_locale", "kk")
        tab.click('form[data-testid="reply-choice"] button')
        kazakh = catalog("kk")["rp_apology_body"].split("{name}")[0]
        assert tab.locator("#reply").input_value().startswith(kazakh)
        context.close()
