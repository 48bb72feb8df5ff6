"""The page behind a rating link: scanners record nothing, a person's confirm records once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest

from functions.shared import clock, tokens
from tests.shop import T0, Shop, at, mails, review_links, run_sweep

pytestmark = pytest.mark.integration

FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def emailed(shop: Shop) -> dict[str, Any]:
    shop.delivered("S-1", [("l1", "tour", "experience")], locale="en")
    at(timedelta(days=1, minutes=1))
    run_sweep()
    return mails()[0]


def path(link: str) -> str:
    return link.removeprefix("https://care.example.com")


def responses(aws_stack: Any) -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=aws_stack.tables["ResponsesTable"])["Items"]


def test_scanner_burst_records_nothing(shop: Shop, emailed: dict[str, Any], aws_stack: Any) -> None:
    for link in [link["href"] for link in emailed["links"]]:
        assert shop.api.request("HEAD", path(link)).status in (200, 405) or "/u/" in link
        assert shop.api.get(path(link)).status == 200

    assert responses(aws_stack) == []
    assert all(o.get("status") != "answered" for o in shop.plan("S-1"))


def test_page_preselects_the_clicked_score(shop: Shop, emailed: dict[str, Any]) -> None:
    four_stars = review_links(emailed)[3]
    page = shop.api.get(path(four_stars))
    assert page.status == 200
    assert 'value="4" checked' in page.text
    assert "How would you rate Product tour?" in page.text
    assert "Send my answer" in page.text


def test_confirm_records_once_and_a_change_updates(
    shop: Shop, emailed: dict[str, Any], aws_stack: Any
) -> None:
    link = path(review_links(emailed)[1])
    first = shop.api.post(link, body="score=2&comment=Arrived+late", headers=FORM)
    twice = shop.api.post(link, body="score=2&comment=Arrived+late", headers=FORM)  # double submit
    assert first.status == twice.status == 200
    assert "Thank you!" in first.text

    stored = responses(aws_stack)
    assert len(stored) == 1
    assert stored[0]["score"] == {"N": "2"}
    assert len(stored[0]["history"]["L"]) == 1

    clock.clock.advance(timedelta(hours=1))
    shop.api.post(link, body="score=4&comment=Support+sorted+it", headers=FORM)
    stored = responses(aws_stack)
    assert stored[0]["score"] == {"N": "4"}
    assert [h["M"]["score"]["N"] for h in stored[0]["history"]["L"]] == ["2", "4"]


def test_answering_cancels_the_reminder(shop: Shop, emailed: dict[str, Any]) -> None:
    shop.api.post(path(review_links(emailed)[4]), body="score=5&comment=", headers=FORM)
    at(timedelta(days=10))
    run_sweep()
    assert len(mails()) == 1
    reminder = next(o for o in shop.plan("S-1") if o["outreach_id"].endswith("-reminder"))
    assert reminder["status"] == "cancelled"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("comment=no+score", "Please choose a score first."),
        ("score=9", "Please choose a score first."),
        ("score=3&comment=" + "x" * 2100, "under 2000 characters"),
    ],
)
def test_invalid_answers_are_explained(
    shop: Shop, emailed: dict[str, Any], body: str, message: str, aws_stack: Any
) -> None:
    response = shop.api.post(path(review_links(emailed)[0]), body=body, headers=FORM)
    assert response.status == 422
    assert message in response.text
    assert responses(aws_stack) == []


def test_tampered_expired_and_foreign_tokens_get_friendly_pages(
    shop: Shop, emailed: dict[str, Any], api: Any, operator_key: str
) -> None:
    link = path(review_links(emailed)[0])
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    assert shop.api.get(tampered).status == 400
    assert "This link does not work" in shop.api.get(tampered).text
    assert shop.api.post(tampered, body="score=1", headers=FORM).status == 400

    # The link names its store inside the signed payload: pointing it at another store breaks it.
    other = Shop(api, operator_key, "other-shop")
    other.delivered("S-1", [("l1", "tour", "experience")], email="x@example.com", at=T0)
    token = link.rsplit("/", 1)[1]
    signature = token.split(".")[1]
    body = tokens.unverified_body(token)
    body["s"] = "other-shop"
    moved = tokens.encode_body(body)
    assert shop.api.get(f"/s/{moved}.{signature}").status == 400

    clock.clock.advance(timedelta(days=61))
    expired = shop.api.get(link)
    assert expired.status == 410
    assert "expired" in expired.text


def test_comments_are_escaped_on_the_page(shop: Shop, emailed: dict[str, Any]) -> None:
    link = path(review_links(emailed)[0])
    shop.api.post(link, body="score=1&comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E", headers=FORM)
    page = shop.api.get(link)
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_an_answer_keeps_its_last_twenty_changes(shop: Shop, emailed: dict[str, Any], aws_stack: Any) -> None:
    from functions.shared.dynamo import from_item

    link = path(review_links(emailed)[1])
    for change in range(30):  # a customer (or a script) changing their answer again and again
        answer = shop.api.post(link, body=f"score={change % 5 + 1}&comment=take+{change}", headers=FORM)
        assert answer.status == 200
    [item] = [from_item(i) for i in responses(aws_stack)]
    assert item["answers"] == 30
    assert len(item["history"]) == 20
    assert item["history"][-1]["comment"] == "take 29" and item["history"][0]["comment"] == "take 10"
    assert shop.api.get(link).status == 200
