"""The dev console as a developer sees it in a real browser."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.browser.checks import overflow, serious_violations
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


@pytest.mark.parametrize("width", [360, 1280])
def test_console_fits_the_screen_and_passes_axe(page: Any, devstack: DevStackProcess, width: int) -> None:
    # Given the console of the demo stack (every table full), When it opens on a phone or a laptop
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{devstack.url}/_dev/")

    # Then nothing scrolls sideways, axe finds nothing serious, and the clock's lead reads in words
    assert overflow(page) == 0
    assert serious_violations(page) == []
    offset = page.get_by_test_id("clock-offset").inner_text()
    assert re.fullmatch(r"\((real time|\d+ (s|min|h|days?)( \d+ (min|h))? ahead of real time)\)", offset), (
        offset
    )
    page.screenshot(path=str(SHOTS / f"dev-console-{width}.png"))  # the first screenful


def test_execution_history_is_a_timeline_in_simulated_time(page: Any, devstack: DevStackProcess) -> None:
    # Given the demo history's return executions (made weeks back on the simulated clock)
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(f"{devstack.url}/_dev/")
    started = page.get_by_test_id("execution-started").all_inner_texts()
    assert started, "the demo history has return executions"
    assert min(started) < (datetime.now().astimezone() - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")

    # When the developer opens one's timeline
    page.get_by_role("link", name=re.compile("^Timeline")).first.click()
    page.wait_for_load_state()

    # Then it reads as steps with simulated times, ending in success or failure, and fits the phone
    timeline = page.get_by_test_id("timeline")
    text = timeline.inner_text()
    assert "Execution started" in text and "Entered Validate (task)" in text
    assert re.search(r"Execution (succeeded|failed)", text)
    times = page.locator("[data-testid=timeline] time").evaluate_all("els => els.map(e => e.dateTime)")
    assert times[0] in started  # the first step happened when the execution started, in simulated time
    assert overflow(page) == 0
    assert serious_violations(page) == []
    page.screenshot(path=str(SHOTS / "dev-console-timeline-360.png"), full_page=True)


def test_email_frame_shows_the_whole_email_at_phone_width(page: Any, devstack: DevStackProcess) -> None:
    # Given a sent email, When it opens in the console on a 360 px phone
    page.set_viewport_size({"width": 360, "height": 800})
    message = requests.get(f"{devstack.url}/_dev/outbox", timeout=30).json()[0]
    page.goto(f"{devstack.url}/_dev/outbox/{message['id']}/view")
    page.wait_for_function(
        "() => { const f = document.getElementById('email');"
        " return f && f.getBoundingClientRect().height > 200; }"
    )

    # Then the frame is as tall as the email (its footer shows, nothing scrolls inside), and nothing sideways
    frame, content = page.evaluate(
        """() => { const f = document.getElementById('email');
                   const d = f.contentDocument.documentElement;
                   return [f.getBoundingClientRect().height, d.scrollHeight]; }"""
    )
    assert frame >= content
    inner_overflow = page.evaluate(
        "() => { const d = document.getElementById('email').contentDocument.documentElement;"
        " return d.scrollWidth - d.clientWidth; }"
    )
    assert inner_overflow == 0
    assert overflow(page) == 0
    page.screenshot(path=str(SHOTS / "dev-console-email-360.png"), full_page=True)
