"""The landing page at `/` in real headless Chromium: in each of the five languages, at 360 and 1280 px, it
fits without scrolling sideways and axe finds nothing serious; on the local stack its console link opens
the dev console, deployed it has none; the icon the browser asks for is served."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.checks import overflow, serious_violations
from tests.browser.in_process import serving
from tests.conftest import DevStackProcess

pytestmark = pytest.mark.browser

LOCALES = ("en", "ar", "fa", "kk", "ka")
WIDTHS = (360, 1280)


@pytest.fixture(params=["local", "prod"])
def landing(request: pytest.FixtureRequest, aws_stack: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The app served in-process, configured as the local stack or as a deployment."""
    from functions import composition

    monkeypatch.setenv("AFTERCARE_STAGE", "local" if request.param == "local" else "prod")
    composition.reset()
    with serving(f"landing-{request.param}") as url:
        yield request.param, url


def test_every_language_fits_both_widths_and_passes_axe(browser: Any, landing: Any) -> None:
    stage, url = landing
    problems = []
    for locale in LOCALES:
        for width in WIDTHS:
            # Given a visitor whose browser prefers this language, on a phone or a laptop
            context = browser.new_context(viewport={"width": width, "height": 800}, locale=locale)
            tab = context.new_page()
            try:
                # When they open the service's address
                response = tab.goto(f"{url}/")
                assert response is not None and response.status == 200
                # Then the page is in their language, fits, passes axe, and links the console only locally
                assert tab.locator("html").get_attribute("lang") == locale
                if overflow(tab):
                    problems.append(f"{stage} {locale} {width}px scrolls sideways by {overflow(tab)} px")
                problems += [f"{stage} {locale} {width}px: {v}" for v in serious_violations(tab)]
                console_links = tab.locator('a[href="/_dev/"]').count()
                assert console_links == (1 if stage == "local" else 0), (stage, locale)
            finally:
                context.close()
    assert problems == []


def test_the_browser_gets_the_icon(browser: Any, landing: Any) -> None:
    _, url = landing
    context = browser.new_context()
    try:
        icon = context.request.get(f"{url}/favicon.ico")
        assert icon.status == 200 and icon.headers["content-type"] == "image/svg+xml"
    finally:
        context.close()


@pytest.mark.xdist_group("devstack")
def test_on_the_running_local_stack_the_link_opens_the_dev_console(
    page: Any, devstack: DevStackProcess
) -> None:
    page.goto(f"{devstack.url}/")
    page.get_by_role("link", name="Open the dev console").click()
    page.wait_for_url(f"{devstack.url}/_dev/")
    assert page.get_by_role("heading").first.is_visible()
