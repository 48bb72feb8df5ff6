"""Scheduled sending: due items go out once, on time, merged, capped, localized, and unsubscribable."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.shared import aws, clock
from tests.helpers import ApiClient, bearer, minimal_store_config
from tests.shop import T0, Shop, at, header, mails, review_links, run_sweep
from tests.webhooks import body_of, generic_event, generic_headers, generic_order

pytestmark = pytest.mark.integration


def test_each_product_type_is_emailed_when_due_and_only_once(
    api: ApiClient, operator_key: str, frozen: Any
) -> None:
    # No sweep runs between day 1 and day 14 here, so requests may be up to 30 days late in this store.
    shop = Shop(api, operator_key, "merge-shop", max_lateness="P30D")
    shop.delivered("A-1", [("l1", "tour", "experience"), ("l2", "shirt", "clothing")])

    at(timedelta(hours=23))
    run_sweep()
    assert mails() == []  # nothing early

    at(timedelta(days=1, minutes=5))
    run_sweep()
    assert [m["subject"] for m in mails()] == ["How is your order from Acme Goods?"]
    assert "Product tour" in mails()[0]["text"]
    assert "because you ordered from Acme Goods on November 2, 2026." in mails()[0]["text"]
    assert "merge-shop" in mails()[0]["from"]

    at(timedelta(days=14, minutes=5))
    run_sweep()
    run_sweep()
    assert len(mails()) == 2
    second = mails()[1]
    # The shirt review, the NPS survey and the tour reminder (held back by the weekly cap) come due
    # together: one email, titled as a request, not as a reminder.
    assert second["subject"] == "How are your 2 items from Acme Goods?"
    assert "Product shirt" in second["text"] and "recommend" in second["text"]
    assert len(review_links(second)) == 5 + 5 + 11

    statuses = {o["outreach_id"]: o["status"] for o in shop.plan("A-1")}
    assert sorted(statuses.values()).count("sent") == 4


def test_overlapping_sweeps_never_send_twice(shop: Shop) -> None:
    # Given twelve customers whose review requests are all due
    for index in range(12):
        shop.delivered(f"B-{index}", [("l1", "tour", "experience")], email=f"c{index}@example.com")
    at(timedelta(days=2))
    sweeps = 4
    start = threading.Barrier(sweeps, timeout=30)
    reports: list[Any] = []
    errors: list[BaseException] = []

    def sweep_once() -> None:
        start.wait()  # all sweeps read the same due items
        try:
            reports.append(run_sweep())
        except BaseException as error:  # reported by the assertions below, never tolerated
            errors.append(error)

    # When several sweeps run at once (moto's DynamoDB is atomic per request, as DynamoDB is)
    threads = [threading.Thread(target=sweep_once, name=f"sweep-{n}") for n in range(sweeps)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    # Then no sweep failed, every customer got exactly one email, and every request is sent
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert len(reports) == sweeps
    assert sum(report.failed for report in reports) == 0
    assert sum(report.items_sent for report in reports) == 12
    recipients = [m["to"][0] for m in mails()]
    assert sorted(recipients) == sorted(f"c{i}@example.com" for i in range(12))  # each exactly once
    requests = [
        o
        for i in range(12)
        for o in shop.plan(f"B-{i}")
        if o["kind"] == "review" and not o["outreach_id"].endswith("-reminder")
    ]
    assert len(requests) == 12
    assert {o["status"] for o in requests} == {"sent"}


def test_ses_throttling_delays_but_never_loses_or_duplicates(shop: Shop) -> None:
    for index in range(10):
        shop.delivered(f"C-{index}", [("l1", "tour", "experience")], email=f"t{index}@example.com")
    calls = {"n": 0}

    def throttle_some(**kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] % 10 < 7:  # 70% of calls throttled: some items exhaust their immediate retries
            raise ClientError(
                {
                    "Error": {"Code": "TooManyRequestsException", "Message": "slow down"},
                    "ResponseMetadata": {"HTTPStatusCode": 429},
                },
                "SendEmail",
            )

    aws.sesv2().meta.events.register("before-call.sesv2.SendEmail", throttle_some)
    for hours in range(2, 80):  # sweeps every hour for three days
        at(timedelta(hours=24 + hours))
        run_sweep()

    recipients = [m["to"][0] for m in mails()]
    assert sorted(recipients) == sorted(f"t{i}@example.com" for i in range(10))
    retried = [
        o
        for i in range(10)
        for o in shop.plan(f"C-{i}")
        if o.get("history") and any("retry at" in h["note"] for h in o["history"])
    ]
    assert retried, "some sends should have needed a later sweep"


def test_permanent_rejection_fails_the_item_with_its_reason(shop: Shop) -> None:
    shop.delivered("D-1", [("l1", "tour", "experience")])

    def reject(**kwargs: Any) -> None:
        raise ClientError(
            {
                "Error": {"Code": "MessageRejected", "Message": "Email address is not verified."},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            },
            "SendEmail",
        )

    aws.sesv2().meta.events.register("before-call.sesv2.SendEmail", reject)
    at(timedelta(days=1, minutes=1))
    report = run_sweep()

    assert report.failed == 1
    review = next(o for o in shop.plan("D-1") if o["kind"] == "review")
    assert review["status"] == "failed"
    assert "MessageRejected" in review["history"][-1]["note"]


def test_gives_up_after_the_configured_attempts(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions import composition

    monkeypatch.setenv("AFTERCARE_MAX_SEND_ATTEMPTS", "2")
    monkeypatch.setenv("AFTERCARE_SEND_RETRIES", "0")
    composition.reset()  # the sweep's settings and the mailer's retries come from the composition root
    shop.delivered("E-1", [("l1", "tour", "experience")])

    def unavailable(**kwargs: Any) -> None:
        raise ClientError(
            {
                "Error": {"Code": "ServiceUnavailable", "Message": "down"},
                "ResponseMetadata": {"HTTPStatusCode": 503},
            },
            "SendEmail",
        )

    aws.sesv2().meta.events.register("before-call.sesv2.SendEmail", unavailable)
    for hours in (25, 26, 27):
        at(timedelta(hours=hours))
        run_sweep()

    review = next(o for o in shop.plan("E-1") if o["kind"] == "review")
    assert review["status"] == "failed"
    assert review["history"][-1]["note"].startswith("gave up after 2 attempts")


def test_frequency_cap_defers_the_second_email_without_losing_it(shop: Shop) -> None:
    shop.delivered("F-1", [("l1", "tour", "experience")])
    shop.delivered(
        "F-2", [("l1", "mug", "homeware")], at=T0 - timedelta(days=5)
    )  # default: 7 days → due T0+2d

    at(timedelta(days=1, minutes=1))
    run_sweep()
    at(timedelta(days=2, minutes=1))
    run_sweep()
    assert len(mails()) == 1
    deferred = next(o for o in shop.plan("F-2") if o["kind"] == "review")
    assert deferred["status"] == "pending"
    assert deferred["due_at"] == "2026-11-10T09:01:00Z"  # a week after the first email

    at(timedelta(days=8, hours=1))
    run_sweep()
    assert len(mails()) == 2
    assert "Product mug" in mails()[1]["text"]


def test_reminder_goes_out_only_without_an_answer(shop: Shop) -> None:
    from functions import composition

    shop.delivered("G-1", [("l1", "tour", "experience")], email="quiet@example.com")
    shop.delivered("G-2", [("l1", "tour", "experience")], email="answers@example.com")
    at(timedelta(days=1, minutes=1))
    run_sweep()
    assert len(mails()) == 2
    answered = next(o for o in shop.plan("G-2") if o["kind"] == "review")
    composition.adapters().outreach.mark_answered(f"{shop.id}#G-2", answered["outreach_id"], clock.now())

    at(timedelta(days=9))  # experience reminders wait 5 days (store default)
    run_sweep()

    reminders = mails()[2:]
    assert [m["to"][0] for m in reminders] == ["quiet@example.com"]
    assert reminders[0]["subject"].startswith("A quick reminder")
    assert {o["status"] for o in shop.plan("G-2") if o["outreach_id"].endswith("-reminder")} == {"cancelled"}


def test_one_click_unsubscribe_stops_everything_for_that_store_only(
    shop: Shop, api: ApiClient, operator_key: str
) -> None:
    other = Shop(api, operator_key, "other-shop")
    shop.delivered("H-1", [("l1", "tour", "experience"), ("l2", "shirt", "clothing")])
    other.delivered("H-9", [("l1", "tour", "experience")])
    at(timedelta(days=1, minutes=1))
    run_sweep()
    first = next(m for m in mails() if m["from"].endswith("acme-goods.example.com>"))

    # RFC 8058: HTTPS (and mailto) in List-Unsubscribe, and the one-click marker
    list_unsubscribe = header(first, "List-Unsubscribe")
    assert re.fullmatch(
        r"<https://care\.example\.com/u/[\w.-]+>, <mailto:unsubscribe@acme-goods\.example\.com\?"
        r"subject=unsubscribe>",
        list_unsubscribe,
    )
    assert header(first, "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    path = list_unsubscribe.split(">")[0].removeprefix("<https://care.example.com")

    # A mail provider's one-click POST: no cookies, form body, must answer 2xx without redirecting
    response = api.post(
        path, body="List-Unsubscribe=One-Click", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status == 200
    assert "location" not in response.headers
    assert "You are unsubscribed" in response.text

    at(timedelta(days=6, minutes=1))  # the tour's reminder comes due
    run_sweep()
    at(timedelta(days=15))  # the shirt's review and the NPS survey come due
    run_sweep()
    acme = [m for m in mails() if m["from"].endswith("acme-goods.example.com>")]
    assert len(acme) == 1
    skipped = [o for o in shop.plan("H-1") if o["status"] == "skipped"]
    assert {o["history"][-1]["note"] for o in skipped} == {"unsubscribed"}
    assert len([m for m in mails() if "other-shop" in m["from"]]) >= 1


def test_unsubscribe_page_asks_first_and_can_resubscribe(shop: Shop, api: ApiClient) -> None:
    shop.delivered("I-1", [("l1", "tour", "experience")])
    at(timedelta(days=1, minutes=1))
    run_sweep()
    path = header(mails()[0], "List-Unsubscribe").split(">")[0].removeprefix("<https://care.example.com")

    page = api.get(path)  # what a mail scanner or a person opening the link gets
    assert page.status == 200
    assert "Yes, unsubscribe me" in page.text
    assert "s***@example.com" in page.text
    from functions.composition import adapters
    from functions.customers.store import customer_key

    profile = adapters().customers.get(shop.id, customer_key("sam@example.com")) or {}
    assert "suppressed" not in profile  # a GET changes nothing

    api.post(path, body="", headers={"content-type": "application/x-www-form-urlencoded"})
    again = api.post(
        f"{path}/resubscribe", body="", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert "You are subscribed again" in again.text
    profile = adapters().customers.get(shop.id, customer_key("sam@example.com")) or {}
    assert "suppressed" not in profile


@pytest.mark.parametrize("token", ["garbage", "eyJwIjoidW5zdWJzY3JpYmUifQ.c2ln"])
def test_bad_unsubscribe_links_get_a_friendly_page(shop: Shop, api: ApiClient, token: str) -> None:
    response = api.get(f"/u/{token}")
    assert response.status == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "This link does not work" in response.text
    assert (
        api.post(f"/u/{token}", body="", headers={"content-type": "application/x-www-form-urlencoded"}).status
        == 400
    )


def test_bounce_notification_suppresses_the_address(shop: Shop) -> None:
    import json

    from app import ses_events  # the packaged handler, as Lambda calls it

    notification = {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": "sam@example.com"}],
        },
        "mail": {"tags": {"store": [shop.id], "kind": ["review"]}, "destination": ["sam@example.com"]},
    }
    from aftercare.devstack.lambdas import LocalLambdaContext

    result = ses_events(
        {"Records": [{"Sns": {"Message": json.dumps(notification)}}]},
        LocalLambdaContext(function_name="ses_events"),
    )
    assert result == {"suppressed": 1}

    shop.delivered("J-1", [("l1", "tour", "experience")])
    at(timedelta(days=1, minutes=1))
    run_sweep()
    assert mails() == []
    assert next(o for o in shop.plan("J-1") if o["kind"] == "review")["history"][-1]["note"] == "bounced"


@pytest.mark.parametrize(
    ("locale", "direction", "phrase"),
    [
        ("en", "ltr", "How is your order"),
        ("ar", "rtl", None),
        ("fa", "rtl", None),
        ("kk", "ltr", None),
        ("ka", "ltr", None),
        ("ar-SA", "rtl", None),
        ("de-DE", "ltr", "How is your order"),
    ],
)
def test_each_locale_renders(shop: Shop, locale: str, direction: str, phrase: str | None) -> None:
    shop.delivered("K-1", [("l1", "tour", "experience")], locale=locale)
    at(timedelta(days=1, minutes=1))
    run_sweep()

    message = mails()[0]
    language = locale.split("-")[0] if locale.split("-")[0] in {"en", "ar", "fa", "kk", "ka"} else "en"
    assert f'<html lang="{language}" dir="{direction}">' in message["html"]
    assert header(message, "Content-Language") == language
    if phrase:
        assert phrase in message["subject"]
    else:
        from functions.shared.i18n import Translator

        assert message["subject"] == Translator(language)("review_subject", store="Acme Goods")
    assert "Acme Goods" in message["text"] and "1 Main Street" in message["text"]


def test_missing_translation_falls_back_to_english(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.shared import i18n

    original = i18n.catalog
    partial = dict(original("fa"))
    del partial["review_hint"]
    monkeypatch.setattr(i18n, "catalog", lambda language: partial if language == "fa" else original(language))
    shop.delivered("L-1", [("l1", "tour", "experience")], locale="fa")
    at(timedelta(days=1, minutes=1))
    run_sweep()
    html = mails()[0]["html"]
    assert 'dir="rtl"' in html
    assert "Tap a star to rate." in html  # the missing text, in English
    assert partial["review_intro"].split("{")[0][:10] in html  # the rest, in Persian


def test_store_texts_override_the_catalog(api: ApiClient, operator_key: str, frozen: Any) -> None:
    config = minimal_store_config("custom-shop")
    config["emails"] = {"texts": {"en": {"review_subject": "Tell us about {store}!"}}}
    created = api.post("/v1/admin/stores", json_body={"config": config}, headers=bearer(operator_key))
    shop = Shop.__new__(Shop)
    shop.api, shop.id, shop.secret = api, "custom-shop", created.json["webhook_secrets"]["generic"]
    shop.delivered("M-1", [("l1", "mug", None)])
    at(timedelta(days=7, minutes=1))
    run_sweep()
    assert mails()[0]["subject"] == "Tell us about Acme Goods!"


def test_links_carry_signed_scoped_tokens(shop: Shop) -> None:
    from functions import composition
    from functions.shared import tokens

    shop.delivered("N-1", [("l1", "tour", "experience")])
    at(timedelta(days=1, minutes=1))
    run_sweep()
    links = review_links(mails()[0])
    key = composition.adapters().signing_key
    claims = [
        tokens.verify(key, link.rsplit("/", 1)[1], purpose="survey", store_id=shop.id).claims
        for link in links
    ]
    assert [c["s"] for c in claims] == [1, 2, 3, 4, 5]
    assert {c["p"] for c in claims} == {"tour"}
    assert {c["r"] for c in claims} == {"N-1"}
    with pytest.raises(tokens.TokenError):
        tokens.verify(key, links[0].rsplit("/", 1)[1], purpose="survey", store_id="other-shop")


def test_customer_name_cannot_inject_headers(shop: Shop) -> None:
    order = generic_order(
        "O-1",
        [("l1", "tour", "experience")],
        customer={"email": "sam@example.com", "name": "Sam\r\nBcc: victim@example.com"},
    )
    raw = body_of(generic_event("order.delivered", order, occurred_at=clock.isoformat(T0)))
    shop.api.post(f"/webhooks/{shop.id}/events", body=raw, headers=generic_headers([shop.secret], raw))
    at(timedelta(days=1, minutes=1))
    run_sweep()
    names = [name.lower() for name, _ in mails()[0]["headers"]]
    assert "bcc" not in names
    assert mails()[0]["to"] == ["sam@example.com"]
