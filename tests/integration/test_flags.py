"""Negative answers are flagged, staff alerted, reply or act from their link; overdue flags escalate."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import boto3
import pytest

from aftercare.devstack.lambdas import LocalLambdaContext
from aftercare.devstack.streams import Mapping, StreamPump
from app import escalate, flag_responses  # the packaged handlers, as Lambda calls them
from functions.composition import adapters
from functions.shared import clock
from tests.helpers import bearer
from tests.shop import Shop, at, header, mails, review_links, run_sweep

pytestmark = pytest.mark.integration

FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def pump(frozen: Any) -> StreamPump:
    return StreamPump(
        [
            Mapping(
                frozen.tables["ResponsesTable"],
                frozen.stream_arns["ResponsesTable"],
                "flag_responses",
                flag_responses,
                batch_size=10,
            )
        ]
    )


@pytest.fixture
def emailed(shop: Shop) -> dict[str, Any]:
    shop.delivered("F-1", [("l1", "tour", "experience")])
    at(timedelta(days=1, minutes=1))
    run_sweep()
    return mails()[0]


def answer(shop: Shop, email: dict[str, Any], stars: int, comment: str = "") -> None:
    link = review_links(email)[stars - 1].removeprefix("https://care.example.com")
    from urllib.parse import quote_plus

    response = shop.api.post(link, body=f"score={stars}&comment={quote_plus(comment)}", headers=FORM)
    assert response.status == 200, response.text


def alerts() -> list[dict[str, Any]]:
    return [m for m in mails() if m["subject"].startswith("[Needs a reply]")]


def flags(aws_stack: Any) -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=aws_stack.tables["FlagsTable"])["Items"]


def staff_path(alert: dict[str, Any]) -> str:
    link = next(link["href"] for link in alert["links"] if "/staff/" in link["href"])
    return link.removeprefix("https://care.example.com")


def form_fields(html: str) -> dict[str, str]:
    return {
        "csrf": re.search(r'name="csrf" value="([^"]+)"', html).group(1),  # type: ignore[union-attr]
        "action_id": re.search(r'name="action_id" value="([^"]+)"', html).group(1),  # type: ignore[union-attr]
    }


def test_low_score_is_flagged_and_staff_alerted(
    shop: Shop, emailed: dict[str, Any], pump: StreamPump, frozen: Any
) -> None:
    answer(shop, emailed, 2, "Arrived late")
    pump.pump_until_quiet()

    [alert] = alerts()
    assert alert["to"] == ["care@acme-goods.example.com"]
    assert "2 of 5 stars" in alert["text"] and "Arrived late" in alert["text"]
    assert "2 of 5 stars (the store flags 2 or fewer)" in alert["text"]
    [flag] = flags(frozen)
    assert flag["sla_deadline"]["S"] == clock.isoformat(clock.now() + timedelta(hours=24))

    pump.pump_until_quiet()
    assert len(alerts()) == 1  # redelivery alerts nobody twice


def test_negative_text_flags_a_five_star_answer(
    shop: Shop, emailed: dict[str, Any], pump: StreamPump
) -> None:
    answer(shop, emailed, 5, "Terrible experience, the guide was rude and late")
    pump.pump_until_quiet()
    [alert] = alerts()
    assert "negative text (local, en" in alert["text"]


def test_keywords_flag_whatever_the_score(shop: Shop, emailed: dict[str, Any], pump: StreamPump) -> None:
    answer(shop, emailed, 4, "Lovely tour, but my tickets never arrived by email")
    pump.pump_until_quiet()
    assert 'mentions "never arrived"' in alerts()[0]["text"]


def test_happy_answers_are_not_flagged(
    shop: Shop, emailed: dict[str, Any], pump: StreamPump, frozen: Any
) -> None:
    answer(shop, emailed, 5, "Great guide, loved it")
    pump.pump_until_quiet()
    assert alerts() == []
    assert flags(frozen) == []


def test_alert_escapes_what_the_customer_wrote(shop: Shop, emailed: dict[str, Any], pump: StreamPump) -> None:
    answer(shop, emailed, 1, "<script>alert('x')</script> <img src=x onerror=alert(1)>")
    pump.pump_until_quiet()
    html = alerts()[0]["html"]
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html


def test_partial_batch_failure_reports_only_the_failed_record(
    shop: Shop, emailed: dict[str, Any], frozen: Any
) -> None:
    stream = boto3.client("dynamodbstreams")
    answer(shop, emailed, 2, "bad")
    client = boto3.client("dynamodb")
    client.put_item(
        TableName=frozen.tables["ResponsesTable"],
        Item={
            "pk": {"S": "ghost-store#1"},
            "sk": {"S": "review-x#p"},
            "store_id": {"S": "ghost-store"},
            "order_id": {"S": "1"},
            "outreach_id": {"S": "review-x"},
            "kind": {"S": "review"},
            "score": {"N": "1"},
        },
    )
    arn = frozen.stream_arns["ResponsesTable"]
    shard = stream.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = stream.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    records = stream.get_records(ShardIterator=iterator)["Records"]
    for record in records:
        record["dynamodb"]["ApproximateCreationDateTime"] = 0
        record["eventSourceARN"] = arn

    result = flag_responses({"Records": records}, LocalLambdaContext(function_name="flag_responses"))

    ghost = next(r for r in records if r["dynamodb"]["Keys"]["pk"]["S"] == "ghost-store#1")
    assert result == {"batchItemFailures": [{"itemIdentifier": ghost["dynamodb"]["SequenceNumber"]}]}
    assert len(alerts()) == 1  # the good record was handled


class TestStaffPage:
    @pytest.fixture
    def alert(self, shop: Shop, emailed: dict[str, Any], pump: StreamPump) -> dict[str, Any]:
        answer(shop, emailed, 1, "The tour was cancelled and nobody told me")
        pump.pump_until_quiet()
        return alerts()[0]

    def test_page_shows_the_flag_and_asks_before_acting(self, shop: Shop, alert: dict[str, Any]) -> None:
        page = shop.api.get(staff_path(alert))
        assert page.status == 200
        assert "The tour was cancelled and nobody told me" in page.text
        assert "Send reply" in page.text and "Hi Sam," in page.text  # the store's reply template, filled in

    def test_reply_reaches_the_customer_once_threaded(
        self, shop: Shop, alert: dict[str, Any], emailed: dict[str, Any]
    ) -> None:
        path = staff_path(alert)
        fields = form_fields(shop.api.get(path).text)
        body = f"csrf={fields['csrf']}&action_id={fields['action_id']}&action=reply&reply=So+sorry%2C+Sam"
        first = shop.api.post(path, body=body, headers=FORM)
        second = shop.api.post(path, body=body, headers=FORM)  # a double click
        assert "Your reply was emailed" in first.text
        assert "already done" in second.text

        replies = [m for m in mails() if m["subject"].startswith("Re: ")]
        assert len(replies) == 1
        assert replies[0]["to"] == ["sam@example.com"]
        assert replies[0]["subject"] == f"Re: {emailed['subject']}"
        assert header(replies[0], "In-Reply-To") == header(emailed, "Message-ID")
        assert "So sorry, Sam" in replies[0]["text"]
        flags_open = shop.api.get(f"/v1/stores/{shop.id}/flags", headers=bearer(shop.admin_key)).json["flags"]
        assert flags_open[0]["seconds_to_first_reply"] == 0
        assert flags_open[0]["actions"][0]["actor"] == "care@acme-goods.example.com"

    def test_forged_form_is_refused(self, shop: Shop, alert: dict[str, Any]) -> None:
        response = shop.api.post(staff_path(alert), body="csrf=nope&action_id=x&action=resolve", headers=FORM)
        assert response.status == 422
        assert "out of date" in response.text

    def test_resolve_and_list_by_status(self, shop: Shop, alert: dict[str, Any]) -> None:
        path = staff_path(alert)
        fields = form_fields(shop.api.get(path).text)
        shop.api.post(
            path, body=f"csrf={fields['csrf']}&action_id=r1&action=resolve&note=Called+her", headers=FORM
        )

        listed = shop.api.get(
            f"/v1/stores/{shop.id}/flags", headers=bearer(shop.admin_key), query={"status": "resolved"}
        )
        assert [f["status"] for f in listed.json["flags"]] == ["resolved"]
        assert shop.api.get(f"/v1/stores/{shop.id}/flags", headers=bearer(shop.admin_key)).json["flags"] == []

    def test_offer_hands_over_to_returns(self, shop: Shop, alert: dict[str, Any], frozen: Any) -> None:
        path = staff_path(alert)
        fields = form_fields(shop.api.get(path).text)
        page = shop.api.post(
            path,
            body=f"csrf={fields['csrf']}&action_id=o1&action=offer&offer=refund&note=Goodwill",
            headers=FORM,
        )
        assert "The refund was offered" in page.text
        returns = boto3.client("dynamodb").scan(TableName=frozen.tables["ReturnsTable"])["Items"]
        request = next(r for r in returns if r["sk"]["S"] == "RETURN")
        assert request["outcome"]["S"] == "refund" and request["source"]["S"] == "staff"
        shown = shop.api.get(path).text  # the staff page shows the return's own audit trail
        assert 'data-testid="return"' in shown and "requested" in shown

    def test_overdue_flag_escalates_once(self, shop: Shop, alert: dict[str, Any]) -> None:
        clock.clock.advance(timedelta(hours=25))
        scheduled = {
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "resources": [],
            "time": "",
            "id": "1",
            "region": "us-east-1",
            "account": "123456789012",
            "detail": {},
            "version": "0",
        }
        context = LocalLambdaContext(function_name="escalate")
        assert escalate(scheduled, context) == {"escalated": 1}
        assert escalate(scheduled, context) == {"escalated": 0}
        escalations = [m for m in mails() if m["subject"].startswith("[Overdue]")]
        assert [m["to"] for m in escalations] == [["care@acme-goods.example.com"]]
        overdue = shop.api.get(
            f"/v1/stores/{shop.id}/flags", headers=bearer(shop.admin_key), query={"status": "overdue"}
        )
        assert len(overdue.json["flags"]) == 1

    def test_link_of_another_store_cannot_reach_this_flag(
        self, shop: Shop, alert: dict[str, Any], api: Any, operator_key: str
    ) -> None:
        from functions.shared import tokens

        Shop(api, operator_key, "other-shop")
        mine = tokens.verify(adapters().signing_key, staff_path(alert).rsplit("/", 1)[1], purpose="staff")
        forged = tokens.sign(
            adapters().signing_key,
            purpose="staff",
            store_id="other-shop",
            ttl=timedelta(days=1),
            claims=mine.claims,
        )
        assert shop.api.get(f"/staff/{forged}").status == 404


def test_read_api_lists_answers_with_filters(shop: Shop, emailed: dict[str, Any]) -> None:
    answer(shop, emailed, 2, "meh")
    listed = shop.api.get(
        f"/v1/stores/{shop.id}/responses",
        headers=bearer(shop.admin_key),
        query={"kind": "review", "max_score": "3"},
    )
    assert [(r["score"], r["comment"]) for r in listed.json["responses"]] == [(2, "meh")]
    assert (
        shop.api.get(
            f"/v1/stores/{shop.id}/responses", headers=bearer(shop.admin_key), query={"min_score": "4"}
        ).json["responses"]
        == []
    )
    bad = shop.api.get(
        f"/v1/stores/{shop.id}/responses", headers=bearer(shop.admin_key), query={"min_score": "x"}
    )
    assert bad.status == 400 and bad.json["fields"][0]["field"] == "min_score"


def test_store_submitted_review_is_recorded_once_and_flagged(
    shop: Shop, pump: StreamPump, frozen: Any
) -> None:
    from tests.webhooks import body_of, generic_headers

    event = {
        "id": "evt_review_1",
        "type": "review.submitted",
        "occurred_at": clock.isoformat(clock.now()),
        "review": {
            "id": "rev-77",
            "rating": 2,
            "title": "Shrunk in the wash",
            "body": "Lost a full size after one wash.",
            "product": {"id": "tee", "name": "Organic tee"},
            "order": {"id": "W-9"},
            "customer": {"email": "lee@example.com", "name": "Lee Park", "locale": "en"},
        },
    }
    raw = body_of(event)
    first = shop.api.post(
        f"/webhooks/{shop.id}/events", body=raw, headers=generic_headers([shop.secret], raw)
    )
    again = shop.api.post(
        f"/webhooks/{shop.id}/events", body=raw, headers=generic_headers([shop.secret], raw)
    )
    assert (first.json["duplicate"], again.json["duplicate"]) == (False, True)

    pump.pump_until_quiet()

    [alert] = alerts()
    assert "2 of 5 stars for Organic tee" in alert["text"]
    assert "Lee Park <lee@example.com>" in alert["text"]
    assert "Shrunk in the wash" in alert["text"]
    stored = boto3.client("dynamodb").scan(TableName=frozen.tables["ResponsesTable"])["Items"]
    assert [(r["channel"]["S"], r["score"]["N"]) for r in stored] == [("store", "2")]


def test_review_event_without_a_review_is_422(shop: Shop) -> None:
    from tests.webhooks import body_of, generic_headers

    raw = body_of({"id": "e", "type": "review.submitted", "occurred_at": "2026-11-02T09:00:00Z"})
    response = shop.api.post(
        f"/webhooks/{shop.id}/events", body=raw, headers=generic_headers([shop.secret], raw)
    )
    assert response.status == 422
    assert "needs a review object" in response.json["fields"][0]["problem"]
