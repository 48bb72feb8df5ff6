"""The insights page in real headless Chromium: range switch, CSV download, accessible, no overflow.

The app is served in this process on 127.0.0.1 (the local stack's own HTTP server) against moto, after a
store's month went through the real system (tests/insights_story.py), so the charts show counted data.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from functions.shared import clock
from functions.workspace import session
from tests.browser.in_process import serving, signed_in_tab
from tests.helpers import ApiClient
from tests.insights_story import Store, infra_pump, story
from tests.refund_receiver import RefundReceiver
from tests.shop import T0

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass
class Served:
    url: str
    token: str

    def open(self, browser: Any, path: str = "/workspace/insights", width: int = 1280, **options: Any) -> Any:
        """A signed-in browser tab on ``path``."""
        return signed_in_tab(browser, self.url, self.token, path, width, accept_downloads=True, **options)


@pytest.fixture
def served(
    aws_stack: Any, api: ApiClient, operator_key: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Served]:
    from functions import composition

    monkeypatch.setenv("AFTERCARE_SEND_RETRY_BASE_MS", "1")
    composition.reset()
    clock.clock.freeze(T0)
    receiver = RefundReceiver()
    store = Store(api, operator_key, "berlin-tours", receiver.url)
    story(store, infra_pump(aws_stack))
    token = session.issue(
        composition.adapters().signing_key, store.id, "care@berlin-tours.example.com", "staff"
    )
    with serving("insights-page") as url:
        yield Served(url, token)
    receiver.close()


def test_range_switch_and_csv_download(browser: Any, served: Served) -> None:
    tab = served.open(browser)
    assert tab.locator("h1").inner_text() == "Insights"
    assert tab.get_by_role("link", name="13 weeks").get_attribute("aria-current") == "page"
    nps_rows = tab.locator("#nps table tbody tr")
    assert nps_rows.count() == 13

    # Switch to a year: one row per week, the current week last
    tab.get_by_role("link", name="52 weeks").click()
    tab.wait_for_load_state()
    assert tab.url.endswith("/workspace/insights?weeks=52")
    assert tab.get_by_role("link", name="52 weeks").get_attribute("aria-current") == "page"
    assert "52 weeks" in tab.get_by_test_id("period").inner_text()
    assert nps_rows.count() == 52
    tab.locator("#nps summary").first.click()
    assert nps_rows.last.locator("td").last.inner_text() == "-100"  # the detractor's week

    # Download the NPS view of this range as CSV
    with tab.expect_download() as download:
        tab.locator("#nps .csv a").click()
    found = download.value
    assert found.suggested_filename == "insights-berlin-tours-nps-52w-2026-11-09.csv"
    raw = Path(found.path()).read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["week_start", "promoters", "passives", "detractors", "nps"]
    assert len(rows) == 53 and rows[-1] == ["2026-11-09", "0", "0", "1", "-100.0"]
    tab.context.close()


def test_the_page_is_accessible_and_fits_360_and_1280_pixels(browser: Any, served: Served) -> None:
    from axe_playwright_python.sync_playwright import Axe

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in (360, 1280):
        tab = served.open(browser, width=width, bypass_csp=True)  # axe is injected as a script
        tab.locator("#products details").evaluate("d => d.open = true")
        results = Axe().run(tab)
        serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
        assert serious == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in serious]
        overflow = tab.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{overflow}px of horizontal overflow at {width}px"
        tab.screenshot(path=str(SCREENSHOTS / f"workspace-insights-{width}.png"), full_page=True)
        tab.context.close()


def test_without_javascript_charts_tables_and_ranges_work(browser: Any, served: Served) -> None:
    tab = served.open(browser, java_script_enabled=False)
    assert tab.locator('svg[role="img"]').count() >= 10
    for svg in tab.locator('svg[role="img"]').all():
        assert svg.locator("title").text_content()
        assert svg.locator("desc").text_content()
    tab.locator("#products summary").click()
    assert "Product tour" in tab.locator("#products table").inner_text()
    tab.get_by_role("link", name="4 weeks").click()
    tab.wait_for_load_state()
    assert tab.locator("#nps table tbody tr").count() == 4
    tab.context.close()


def test_a_persian_store_reads_right_to_left_accessibly_without_overflow(
    browser: Any, served: Served, api: ApiClient, operator_key: str
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    from functions import composition
    from functions.shared.i18n import catalog
    from tests.helpers import bearer, minimal_store_config

    config = {**minimal_store_config("bazaar"), "default_locale": "fa", "timezone": "Asia/Tehran"}
    created = api.post("/v1/admin/stores", json_body={"config": config}, headers=bearer(operator_key))
    assert created.status == 201, created.text
    token = session.issue(composition.adapters().signing_key, "bazaar", "care@bazaar.example.com", "staff")

    tab = Served(served.url, token).open(browser, width=360, bypass_csp=True)
    assert tab.locator("html").get_attribute("dir") == "rtl"
    assert tab.locator("h1").inner_text() == catalog("fa")["in_title"]
    serious = [v for v in Axe().run(tab).response["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == [], [v["id"] for v in serious]
    assert tab.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    tab.context.close()
