"""Emails from the outbox and the pages behind their links, in real headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import DevStackProcess
from tests.webhooks import body_of, generic_event, generic_headers, generic_order

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("devstack")]


def deliver_and_email(devstack: DevStackProcess, order_id: str, email: str, locale: str) -> dict[str, Any]:
    clock = requests.get(f"{devstack.url}/_dev/clock", timeout=10).json()["now"]
    order = generic_order(
        order_id,
        [("l1", "tour", "experience")],
        customer={"email": email, "name": "<b>Nour</b> Test", "locale": locale},
    )
    raw = body_of(generic_event("order.delivered", order, occurred_at=clock))
    secret = devstack.state["demo"]["generic_webhook_secret"]
    assert (
        requests.post(
            f"{devstack.url}/webhooks/demo/events",
            data=raw,
            headers=generic_headers([secret], raw),
            timeout=10,
        ).status_code
        == 200
    )
    requests.post(f"{devstack.url}/_dev/clock", json={"advance": "P1DT1H"}, timeout=120)
    messages = [m for m in requests.get(f"{devstack.url}/_dev/outbox", timeout=10).json() if email in m["to"]]
    assert len(messages) == 1
    return dict(messages[0])


@pytest.fixture(scope="module")
def english_email(devstack: DevStackProcess) -> dict[str, Any]:
    return deliver_and_email(devstack, "BR-EN", "browser-en@example.com", "en")


@pytest.fixture(scope="module")
def arabic_email(devstack: DevStackProcess) -> dict[str, Any]:
    return deliver_and_email(devstack, "BR-AR", "browser-ar@example.com", "ar")


@pytest.fixture
def no_js_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    yield page
    context.close()


def test_email_renders_with_working_star_links(
    page: Any, english_email: dict[str, Any], tmp_path: Path
) -> None:
    page.set_content(english_email["html"])
    assert page.locator("a[data-score]").count() == 5
    assert page.get_by_text("Hi <b>Nour</b>,").count() == 1  # the customer's text is shown, not interpreted
    assert page.locator("b").count() == 0
    page.screenshot(path=str(tmp_path / "email-en.png"), full_page=True)

    for link in page.locator("a[data-score]").all():
        response = requests.get(link.get_attribute("href"), timeout=10)
        assert response.status_code == 200
        assert "How would you rate Product tour?" in response.text


def test_rtl_email_is_laid_out_right_to_left(page: Any, arabic_email: dict[str, Any], tmp_path: Path) -> None:
    page.set_content(arabic_email["html"])
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    assert page.locator("html").get_attribute("lang") == "ar"
    page.screenshot(path=str(tmp_path / "email-ar.png"), full_page=True)


def _answer(page: Any, link: str, comment: str) -> None:
    page.goto(link)
    page.locator("label[for=score-2]").click()
    page.fill("#comment", comment)
    page.get_by_role("button").click()
    page.wait_for_load_state()


def test_survey_page_records_a_confirmed_answer_with_javascript(
    page: Any, english_email: dict[str, Any]
) -> None:
    five = [link["href"] for link in english_email["links"] if "/s/" in link["href"]][4]
    page.goto(five)
    assert page.locator("#score-5").is_checked()  # the clicked score is pre-selected
    _answer(page, five, "Box was crushed")
    assert "Thank you!" in page.content()
    assert page.locator("#score-2").is_checked()
    assert page.locator("#comment").input_value() == "Box was crushed"


def test_survey_page_works_without_javascript_in_rtl(
    no_js_page: Any, arabic_email: dict[str, Any], tmp_path: Path
) -> None:
    link = next(link["href"] for link in arabic_email["links"] if "/s/" in link["href"])
    no_js_page.goto(link)
    assert no_js_page.locator("html").get_attribute("dir") == "rtl"
    _answer(no_js_page, link, "المنتج وصل متأخراً")
    assert no_js_page.locator("#score-2").is_checked()
    assert no_js_page.locator(".thanks").count() == 1
    no_js_page.screenshot(path=str(tmp_path / "survey-ar.png"), full_page=True)


def test_unsubscribe_page_confirms_and_resubscribes(page: Any, english_email: dict[str, Any]) -> None:
    unsubscribe = next(link["href"] for link in english_email["links"] if "/u/" in link["href"])
    page.goto(unsubscribe)
    assert "b***@example.com" in page.content()
    page.get_by_role("button", name="Yes, unsubscribe me").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading").inner_text() == "You are unsubscribed"
    page.get_by_role("button", name="I changed my mind: subscribe me again").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading").inner_text() == "You are subscribed again"


def test_outbox_view_shows_the_email_with_headers(
    page: Any, devstack: DevStackProcess, english_email: dict[str, Any]
) -> None:
    page.goto(f"{devstack.url}/_dev/outbox/{english_email['id']}/view")
    assert page.get_by_test_id("subject").inner_text() == english_email["subject"]
    assert "List-Unsubscribe-Post" in page.content()
    frame = page.frame_locator("iframe")
    assert frame.locator("a[data-score]").count() == 5


def test_nps_email_links_open_the_nps_page(page: Any, devstack: DevStackProcess) -> None:
    clock = requests.get(f"{devstack.url}/_dev/clock", timeout=10).json()["now"]
    order = generic_order(
        "BR-NPS",
        [("l1", "card", "gift card")],  # gift cards are never reviewed: NPS only
        customer={"email": "browser-nps@example.com", "name": "Ola", "locale": "kk"},
    )
    raw = body_of(generic_event("order.delivered", order, occurred_at=clock))
    secret = devstack.state["demo"]["generic_webhook_secret"]
    requests.post(
        f"{devstack.url}/webhooks/demo/events", data=raw, headers=generic_headers([secret], raw), timeout=10
    )
    requests.post(f"{devstack.url}/_dev/clock", json={"advance": "P14DT1H"}, timeout=300)
    message = next(
        m
        for m in requests.get(f"{devstack.url}/_dev/outbox", timeout=10).json()
        if "browser-nps@example.com" in m["to"]
    )

    page.set_content(message["html"])
    links = page.locator("a[data-score]")
    assert [links.nth(i).inner_text() for i in range(links.count())] == [str(n) for n in range(11)]
    page.goto(links.nth(9).get_attribute("href"))
    assert page.locator("#score-9").is_checked()
    assert page.locator("html").get_attribute("lang") == "kk"
    page.get_by_role("button").click()
    page.wait_for_load_state()
    assert page.locator(".thanks").count() == 1


def test_staff_page_reply_and_resolve(page: Any, devstack: DevStackProcess, tmp_path: Path) -> None:
    import time

    email = deliver_and_email(devstack, "BR-STAFF", "browser-staff@example.com", "en")
    one_star = next(link["href"] for link in email["links"] if "/s/" in link["href"])
    page.goto(one_star)
    page.fill("#comment", "It rained <b>and</b> the tour was cancelled")
    page.get_by_role("button").click()
    page.wait_for_load_state()

    alert = None
    for _ in range(100):
        alert = next(
            (
                m
                for m in requests.get(f"{devstack.url}/_dev/outbox", timeout=10).json()
                if m["subject"].startswith("[Needs a reply]") and "BR-STAFF" in m["subject"]
            ),
            None,
        )
        if alert:
            break
        time.sleep(0.1)
    assert alert is not None
    staff = next(link["href"] for link in alert["links"] if "/staff/" in link["href"])

    page.goto(staff)
    assert page.get_by_test_id("comment").inner_text() == "It rained <b>and</b> the tour was cancelled"
    page.fill("#reply", "So sorry about the weather. We have booked you a new date.")
    page.get_by_role("button", name="Send reply", exact=True).click()
    page.wait_for_load_state()
    assert "Your reply was emailed to the customer." in page.content()
    page.screenshot(path=str(tmp_path / "staff.png"), full_page=True)

    page.get_by_role("button", name="Mark resolved").click()
    page.wait_for_load_state()
    assert "Marked as resolved." in page.content()
    assert page.locator(".badge.resolved").count() == 1
    assert page.get_by_role("button", name="Send reply", exact=True).count() == 0


def test_customer_return_page_and_staff_approval_page(
    page: Any, devstack: DevStackProcess, tmp_path: Path
) -> None:
    import time

    clock = requests.get(f"{devstack.url}/_dev/clock", timeout=10).json()["now"]
    order = generic_order(
        "BR-RET",
        [("l1", "jacket", "clothing")],
        customer={"email": "browser-return@example.com", "name": "Ren", "locale": "en"},
    )
    order["line_items"][0]["price"] = "120.00"  # above the demo store's auto-approval: staff decide
    raw = body_of(generic_event("order.delivered", order, occurred_at=clock))
    secret = devstack.state["demo"]["generic_webhook_secret"]
    requests.post(
        f"{devstack.url}/webhooks/demo/events", data=raw, headers=generic_headers([secret], raw), timeout=10
    )
    requests.post(f"{devstack.url}/_dev/clock", json={"advance": "P14DT1H"}, timeout=300)
    email = next(
        m
        for m in requests.get(f"{devstack.url}/_dev/outbox", timeout=10).json()
        if "browser-return@example.com" in m["to"]
    )
    start = next(link["href"] for link in email["links"] if "/r/" in link["href"])

    page.goto(start)
    page.get_by_label("Product jacket").check()
    page.select_option("select[name=reason]", "Does not fit")
    page.get_by_role("button", name="Request the return").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading").inner_text() == "We have your request"
    return_id = page.get_by_test_id("return-id").inner_text().split()[-1].rstrip(".")

    approval = None
    for _ in range(100):
        approval = next(
            (
                m
                for m in requests.get(f"{devstack.url}/_dev/outbox", timeout=10).json()
                if "Approve or reject" in m["subject"] and return_id in m["subject"]
            ),
            None,
        )
        if approval:
            break
        time.sleep(0.1)
    assert approval is not None
    link = next(link["href"] for link in approval["links"] if "/approve/" in link["href"])

    page.goto(link)
    assert page.get_by_test_id("status").inner_text() == "awaiting approval"
    page.fill("input[name=note]", "Fine, send it back")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    assert "Approved: the workflow continues." in page.content()
    page.screenshot(path=str(tmp_path / "approval.png"), full_page=True)
    for _ in range(100):
        if page.reload() and page.get_by_test_id("status").inner_text() == "awaiting the item":
            break
        time.sleep(0.1)
    assert page.get_by_test_id("status").inner_text() == "awaiting the item"
    assert "approved" in page.get_by_test_id("audit").inner_text()
