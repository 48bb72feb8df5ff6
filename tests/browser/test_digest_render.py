"""The weekly digest's HTML part in real headless Chromium, on a phone and on a desktop.

Screenshots go to docs/screenshots/digest-<width>.png (the docs show them).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_digest_compose import email

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LONG = "Thesockswerecompletelywornthroughafteronewash" * 4  # one unbroken word, longer than any phone


@pytest.fixture
def sized(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": request.param, "height": 900}, java_script_enabled=True)
    page = context.new_page()
    yield page
    context.close()


def overflow(page: Any) -> int:
    """How many pixels the page is wider than the window (0: no horizontal scrolling)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


@pytest.mark.parametrize("sized", [360, 1280], indirect=True)
def test_the_digest_fits_the_screen_with_its_charts_drawn(sized: Any) -> None:
    # Given the digest of a week with figures, charts and a long comment
    message = email("en", comment=f"Arrived <b>broken</b>. {LONG}")
    width = sized.viewport_size["width"]

    # When the owner opens it
    sized.set_content(message.html)

    # Then nothing scrolls sideways, the charts' bars have width and colour, and the comment is text
    assert overflow(sized) <= 0
    bars = sized.locator("td[bgcolor]")
    assert bars.count() > 10
    drawn = bars.evaluate_all(
        "cells => cells.map(c => [c.getBoundingClientRect().width, getComputedStyle(c).backgroundColor])"
    )
    assert all(w > 0 for w, _ in drawn)
    assert {"rgb(46, 125, 50)", "rgb(198, 40, 40)", "rgb(48, 86, 160)"} <= {colour for _, colour in drawn}
    assert sized.locator("b").count() == 0
    assert sized.get_by_text("Arrived <b>broken</b>.", exact=False).count() == 1
    assert sized.get_by_role("link", name="Unsubscribe from the weekly digest").count() == 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sized.screenshot(path=str(SCREENSHOTS / f"digest-{width}.png"), full_page=True)


@pytest.mark.parametrize("sized", [360], indirect=True)
@pytest.mark.parametrize("locale", ["ar", "fa", "kk", "ka"])
def test_every_language_fits_a_phone(sized: Any, locale: str) -> None:
    sized.set_content(email(locale).html)
    assert overflow(sized) <= 0
    direction = sized.evaluate("getComputedStyle(document.body).direction")
    assert direction == ("rtl" if locale in {"ar", "fa"} else "ltr")


@pytest.mark.parametrize("sized", [360, 1280], indirect=True)
@pytest.mark.parametrize(("state", "locale"), [("ask", "en"), ("done", "ar"), ("resubscribed", "kk")])
def test_the_unsubscribe_pages_fit_and_pass_axe(sized: Any, state: str, locale: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    from functions.shared.i18n import Translator
    from functions.shared.templating import render

    t = Translator(locale)
    sized.set_content(
        render(
            "pages/digest_unsubscribe.html",
            t=t,
            locale=locale,
            state=state,
            title=t(f"dg_page_{state}_title"),
            store_name="Kiwi <Goods>",
            timezone="Pacific/Auckland",
            action="/digest/unsubscribe/TOKEN",
        )
    )
    assert overflow(sized) <= 0
    assert sized.locator("h1").count() == 1
    assert sized.locator("form").count() == (0 if state == "resubscribed" else 1)
    serious = [
        v["id"] for v in Axe().run(sized).response["violations"] if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
