"""The store's workspace in real headless Chromium against the local stack (``aftercare dev --demo``).

A store of its own is created through the operator API, a customer's one-star review is flagged the
way it happens for real (order delivered, request emailed, answer posted, stream consumed), and then a
person signs in with the link read from the email the stack sent. axe checks every workspace page for
serious or critical problems, no page scrolls sideways at 360 or 1280 px, and the screenshots the README
shows are taken here (docs/screenshots/workspace-<page>-<width>.png).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.browser.checks import overflow, serious_violations
from tests.conftest import DevStackProcess
from tests.helpers import minimal_store_config
from tests.webhooks import body_of, generic_event, generic_headers, generic_order

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("devstack")]

STORE = "ws-browser"
OWNER = f"owner@{STORE}.example.com"
STAFF = f"care@{STORE}.example.com"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTHS = (360, 1280)


def outbox(devstack: DevStackProcess) -> list[dict[str, Any]]:
    return list(requests.get(f"{devstack.url}/_dev/outbox", timeout=10).json())


def wait_for(check: Callable[[], Any], what: str, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def flagged(devstack: DevStackProcess) -> dict[str, Any]:
    """A store with an owner and a one-star review waiting for a reply (its alert was emailed)."""
    url = devstack.url
    config = minimal_store_config(STORE)
    config["name"] = "Workspace Outfitters"
    config["staff"] = {"alert_emails": [STAFF], "owners": [OWNER]}
    config["business_hours"] = {"weekly": {"monday": ["09:00-17:00"], "friday": ["09:00-13:00"]}}
    created = requests.post(
        f"{url}/v1/admin/stores",
        json={"config": config},
        headers={"Authorization": f"Bearer {devstack.state['operator_key']}"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    secret = created.json()["webhook_secrets"]["generic"]
    now = requests.get(f"{url}/_dev/clock", timeout=10).json()["now"]
    order = generic_order("WS-1", [("l1", "tour", "experience")], customer={"email": "ws@example.com"})
    raw = body_of(generic_event("order.delivered", order, occurred_at=now))
    delivered = requests.post(
        f"{url}/webhooks/{STORE}/events", data=raw, headers=generic_headers([secret], raw), timeout=10
    )
    assert delivered.status_code == 200, delivered.text
    requests.post(f"{url}/_dev/clock", json={"advance": "P1DT1H"}, timeout=120)
    [request] = [m for m in outbox(devstack) if m["to"] == ["ws@example.com"]]
    star = next(link["href"] for link in request["links"] if "/s/" in link["href"])  # one star
    answered = requests.post(star, data={"score": "1", "comment": "The tour never started."}, timeout=10)
    assert answered.status_code == 200
    wait_for(lambda: [m for m in outbox(devstack) if m["to"] == [STAFF]], "the staff alert")
    admin = {"Authorization": f"Bearer {created.json()['admin_key']}"}
    flags = requests.get(f"{url}/v1/stores/{STORE}/flags", headers=admin, timeout=10).json()["flags"]
    return {"secret": secret, "flag_id": flags[0]["flag_id"]}


def sign_in(
    page: Any,
    devstack: DevStackProcess,
    email: str,
    shoot: Callable[[str], None] | None = None,
    store: str = STORE,
) -> str:
    """Sign in as a person does: ask for a link, open it from the email, press the button (the link)."""
    page.goto(f"{devstack.url}/workspace/sign-in?store={store}")
    if shoot:
        shoot("sign-in")
    sent = len(outbox(devstack))
    page.get_by_label("Your email address").fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    if shoot:
        shoot("link-sent")

    def new_link() -> str | None:
        for message in outbox(devstack)[sent:]:
            for link in message["links"]:
                if message["to"] == [email] and "/workspace/sign-in/link/" in link["href"]:
                    return str(link["href"])
        return None

    link = wait_for(new_link, "the sign-in email")
    page.goto(link)
    page.get_by_role("button", name="Sign in").wait_for()
    if shoot:
        shoot("link")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{devstack.url}/workspace")
    return str(link)


def test_sign_in_open_a_flag_from_the_inbox_and_sign_out(
    page: Any, devstack: DevStackProcess, flagged: dict[str, Any]
) -> None:
    sign_in(page, devstack, STAFF)

    row = page.locator("tr[data-flag]")
    assert row.count() == 1
    assert "1 of 5 stars" in row.inner_text() and "#WS-1" in row.inner_text()
    assert "Due " in row.inner_text()  # the SLA countdown, in words
    assert page.get_by_role("link", name="Settings").count() == 0  # staff are not owners

    row.get_by_role("link").click()
    page.wait_for_url("**/staff/**")
    assert "The tour never started." in page.content()

    page.goto(f"{devstack.url}/workspace")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/workspace/sign-in?signed_out=1**")
    assert page.get_by_role("status").first.inner_text() == "You are signed out."
    page.goto(f"{devstack.url}/workspace")
    assert "/workspace/sign-in" in page.url  # the old session is gone


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def sized_page(request: pytest.FixtureRequest, browser: Any) -> Iterator[tuple[Any, int]]:
    width = int(request.param)
    context = browser.new_context(viewport={"width": width, "height": 900}, java_script_enabled=True)
    page = context.new_page()
    yield page, width
    context.close()


def test_workspace_pages_are_accessible_fit_the_screen_and_are_pictured(
    sized_page: tuple[Any, int], devstack: DevStackProcess, flagged: dict[str, Any]
) -> None:
    page, width = sized_page
    problems: list[str] = []
    SHOTS.mkdir(parents=True, exist_ok=True)

    def shoot(name: str) -> None:
        page.wait_for_load_state()
        for violation in serious_violations(page):
            problems.append(f"{name}: {violation}")
        if overflow(page) > 0:
            problems.append(f"{name}: scrolls sideways by {overflow(page)} px at {width} px")
        page.screenshot(path=str(SHOTS / f"workspace-{name}-{width}.png"), full_page=True)

    used_link = sign_in(page, devstack, OWNER, shoot)
    assert page.locator("tr[data-flag]").count() == 1
    shoot("inbox")
    page.goto(f"{devstack.url}/workspace/settings")
    assert page.get_by_role("heading", name="Settings", exact=True).count() == 1
    assert "Workspace Outfitters" in page.content() and "Monday" in page.content()
    shoot("settings")
    answer = page.goto(f"{devstack.url}/workspace/flags/no-such-flag")
    assert answer is not None and answer.status == 404
    shoot("not-found")
    answer = page.goto(used_link)
    assert answer is not None and answer.status == 410
    shoot("link-used")
    page.goto(f"{devstack.url}/workspace")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/workspace/sign-in?signed_out=1**")
    shoot("signed-out")
    assert problems == []


def test_a_staff_member_asking_for_settings_gets_a_clear_accessible_refusal(
    page: Any, devstack: DevStackProcess, flagged: dict[str, Any]
) -> None:
    # Given a staff member (not an owner) signed in
    sign_in(page, devstack, STAFF)
    # When they open the owners' settings page by its address
    answer = page.goto(f"{devstack.url}/workspace/settings")
    # Then they are refused in words, on a page that passes axe and fits a phone
    assert answer is not None and answer.status == 403
    assert page.locator("main").inner_text().strip()
    assert serious_violations(page) == []
    page.set_viewport_size({"width": 360, "height": 800})
    assert overflow(page) == 0


def test_pages_work_without_javascript(
    browser: Any, devstack: DevStackProcess, flagged: dict[str, Any]
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, devstack, OWNER)
        assert page.locator("tr[data-flag]").count() == 1
        page.get_by_role("link", name="Settings").click()
        page.wait_for_url("**/workspace/settings")
        assert page.get_by_role("heading", name="History").count() == 1
    finally:
        context.close()


def test_a_person_of_another_store_sees_nothing_of_this_one(
    page: Any, devstack: DevStackProcess, flagged: dict[str, Any]
) -> None:
    other = "ws-other"
    config = minimal_store_config(other)
    config["staff"] = {"alert_emails": [f"care@{other}.example.com"]}
    created = requests.post(
        f"{devstack.url}/v1/admin/stores",
        json={"config": config},
        headers={"Authorization": f"Bearer {devstack.state['operator_key']}"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    sign_in(page, devstack, f"care@{other}.example.com", store=other)
    assert page.get_by_role("heading", name="Nothing needs you right now").count() == 1

    answer = page.goto(f"{devstack.url}/workspace/flags/{flagged['flag_id']}")
    assert answer is not None and answer.status == 404
    assert "/staff/" not in page.url and "Nothing to show" in page.content()
    page.goto(f"{devstack.url}/workspace/sign-in?store={STORE}")
    page.get_by_label("Your email address").fill(f"care@{other}.example.com")
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.get_by_role("heading", name="Check your email").wait_for()  # the same answer, and no email:
    sent = [m for m in outbox(devstack) if m["to"] == [f"care@{other}.example.com"]]
    assert len(sent) == 1  # only the link to its own store
