"""The dev console as a developer sees it in a real browser."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import DevStackProcess

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("devstack")]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shown_time(page: Any) -> datetime:
    return datetime.fromisoformat(page.get_by_test_id("clock-now").inner_text().replace("Z", "+00:00"))


def test_console_shows_clock_demo_store_and_outbox(
    page: Any, devstack: DevStackProcess, tmp_path: Path
) -> None:
    page.goto(f"{devstack.url}/_dev/")

    assert page.title() == "Aftercare dev console"
    assert devstack.state["demo"]["admin_key"] in page.locator("#demo").inner_text()
    sent = len(requests.get(f"{devstack.url}/_dev/outbox", timeout=10).json())
    assert page.get_by_test_id("outbox-row").count() == sent  # every sent email is listed
    assert f"Outbox ({sent})" in page.locator("#outbox h2").inner_text()
    page.screenshot(path=str(tmp_path / "console.png"), full_page=True)


def test_advance_buttons_move_the_simulated_clock(page: Any, devstack: DevStackProcess) -> None:
    page.goto(f"{devstack.url}/_dev/")
    before = shown_time(page)

    page.get_by_role("button", name="+1 day").click()
    page.wait_for_load_state()

    after = shown_time(page)
    assert timedelta(days=1) <= after - before < timedelta(days=1, minutes=5)
    assert page.url.endswith("/_dev/")

    page.get_by_role("button", name="+1 hour").click()
    page.wait_for_load_state()
    assert shown_time(page) - after >= timedelta(hours=1)


def test_workspace_button_opens_the_demo_workspace(
    page: Any, devstack: DevStackProcess, tmp_path: Path
) -> None:
    # Given the console, When the developer presses the demo store's workspace button
    page.goto(f"{devstack.url}/_dev/")
    assert "weeks of history" in page.get_by_test_id("demo-data").inner_text()
    page.get_by_role("button", name="Open the workspace").click()
    page.wait_for_load_state()

    # Then the store's inbox opens, signed in as its owner, with the demo history's flags in it
    assert page.url.endswith("/workspace/")
    assert devstack.state["demo"]["owner"] in page.content()
    assert "Overdue by" in page.content()
    page.screenshot(path=str(tmp_path / "demo-workspace.png"), full_page=True)

    # And its insights show weeks of answers from the demo history (the README's picture of the page)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{devstack.url}/workspace/insights?weeks=13")
    scores = page.locator("#nps table tbody tr td:last-child").all_text_contents()
    assert len(scores) == 13
    assert sum(1 for score in scores if re.fullmatch(r"-?\d+(\.\d+)?", score.strip())) >= 3, scores
    page.screenshot(path=str(SHOTS / "demo-insights-1280.png"), full_page=True)
