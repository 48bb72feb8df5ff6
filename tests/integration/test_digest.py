"""The weekly digest, end to end in-process on moto: real stores, orders, answers, flags and counters.

Customers answer through the survey page; the stream records of the four source tables reach flagging
and the insights counters through the mappings of infra/aftercare.yaml; the hourly ``digest`` schedule
then emails each store's owners on Monday at 09:00 in the store's timezone, once.
"""

from __future__ import annotations

import os
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest

from aftercare.devstack.streams import StreamPump
from functions import composition
from functions.digest import compose, handlers, service
from functions.digest.weeks import DigestWeek
from functions.shared import aws, clock, links
from tests.helpers import ApiClient, bearer, minimal_store_config
from tests.insights_story import infra_pump
from tests.shop import header, mails, run_sweep
from tests.webhooks import body_of, generic_event, generic_headers, generic_order

pytestmark = pytest.mark.integration

FORM = {"content-type": "application/x-www-form-urlencoded"}
KIWI_OPENS = datetime(2026, 10, 26, 9, 0, tzinfo=UTC)  # Monday 26 October, 22:00 in Auckland
KIWI_MONDAY = datetime(2026, 11, 8, 20, 0, tzinfo=UTC)  # Monday 9 November, 09:00 in Auckland (NZDT)
COAST_MONDAY = datetime(2026, 11, 9, 17, 0, tzinfo=UTC)  # Monday 9 November, 09:00 in Los Angeles (PST)
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "digest.txt"
UNSUBSCRIBE = re.compile(r"https://care\.example\.com/digest/unsubscribe/[A-Za-z0-9_.\-]+")


# ------------------------------------------------------------------------------ the world


class Store:
    """A store on the real API: orders delivered by webhook, answered on the survey page."""

    def __init__(
        self, api: ApiClient, operator_key: str, store_id: str, timezone: str, owners: list[str]
    ) -> None:
        config = minimal_store_config(store_id)
        config.update(name=f"{store_id.title()} Goods", timezone=timezone, currency="NZD")
        config["staff"] = {"alert_emails": [f"care@{store_id}.example.com"], "owners": owners}
        config["outreach"] = {
            "default": {"review_delay": "P1D", "reminder_delay": None, "nps_delay": "P2D"},
            "frequency_cap": "PT1H",
            "send_window_days": 0,
        }
        created = api.post("/v1/admin/stores", json_body={"config": config}, headers=bearer(operator_key))
        assert created.status == 201, created.text
        self.api, self.id = api, store_id
        self.secret = created.json["webhook_secrets"]["generic"]

    def delivered(self, order_id: str, email: str, product: str = "tour") -> None:
        order = generic_order(
            order_id,
            [("l1", product, "experience")],
            customer={"email": email, "name": "Sam", "locale": "en"},
        )
        raw = body_of(generic_event("order.delivered", order))
        response = self.api.post(
            f"/webhooks/{self.id}/events", body=raw, headers=generic_headers([self.secret], raw)
        )
        assert response.status == 200, response.text

    def answer(self, email: str, score: int, comment: str = "") -> None:
        """Answer the newest request ``email`` received (its link for ``score``)."""
        message = [m for m in mails() if email in m["to"] and "/s/" in str(m["links"])][-1]
        links = [link["href"] for link in message["links"] if "/s/" in link["href"]]
        offset = 1 if len(links) == 5 else 0  # stars 1-5, NPS 0-10
        path = links[score - offset].removeprefix("https://care.example.com")
        response = self.api.post(path, body=f"score={score}&comment={quote_plus(comment)}", headers=FORM)
        assert response.status == 200, response.text


def at(moment: datetime) -> None:
    clock.clock.freeze(moment)


def run_digest() -> dict[str, int]:
    """One run of the hourly schedule, as EventBridge would start it."""
    return handlers.digest({"detail-type": "Scheduled Event", "source": "aws.events"})


def digests(store_id: str | None = None) -> list[dict[str, Any]]:
    found = [m for m in mails() if m["subject"].startswith("Weekly digest for")]
    return [m for m in found if store_id is None or f"@{store_id}.example.com" in m["from"]]


def recipients(messages: list[dict[str, Any]]) -> list[str]:
    return sorted(m["to"][0] for m in messages)


def kiwi_story(kiwi: Store, pump: StreamPump) -> None:
    """Two weeks of answers in Auckland: a calm week, then one with complaints (and flags)."""
    at(KIWI_OPENS)
    kiwi.delivered("K-1", "amy@example.com")
    kiwi.delivered("K-2", "bo@example.com")
    at(KIWI_OPENS + timedelta(days=1, minutes=1))
    run_sweep()
    kiwi.answer("amy@example.com", 5, "Wonderful tour")
    kiwi.answer("bo@example.com", 4)
    pump.pump_until_quiet()

    at(KIWI_OPENS + timedelta(weeks=1))  # Monday 2 November, 22:00 in Auckland
    for order, email in (("K-3", "cat@example.com"), ("K-4", "dan@example.com"), ("K-5", "eve@example.com")):
        kiwi.delivered(order, email)
    at(KIWI_OPENS + timedelta(weeks=1, days=1, minutes=1))
    run_sweep()
    kiwi.answer("cat@example.com", 1, "Arrived <b>broken</b> & late")
    kiwi.answer("dan@example.com", 3, "A bit short")
    kiwi.answer("eve@example.com", 5, "Great")
    pump.pump_until_quiet()
    at(KIWI_OPENS + timedelta(weeks=1, days=2, minutes=2))
    run_sweep()  # the NPS surveys
    kiwi.answer("cat@example.com", 2, "Nobody answered my emails")
    kiwi.answer("eve@example.com", 10)
    pump.pump_until_quiet()


@pytest.fixture
def pump(frozen: Any) -> StreamPump:
    return infra_pump(frozen)


@pytest.fixture
def kiwi(api: ApiClient, operator_key: str, frozen: Any) -> Store:
    """A store in Auckland with two owners (and, until a story is told, a quiet fortnight)."""
    at(KIWI_OPENS)
    return Store(
        api, operator_key, "kiwi", "Pacific/Auckland", ["ana@kiwi.example.com", "ben@kiwi.example.com"]
    )


@pytest.fixture
def told(kiwi: Store, pump: StreamPump) -> Store:
    kiwi_story(kiwi, pump)
    return kiwi


@pytest.fixture
def coast(api: ApiClient, operator_key: str, frozen: Any) -> Store:
    at(KIWI_OPENS + timedelta(days=9))  # Wednesday 4 November: after this week's digest time
    return Store(api, operator_key, "coast", "America/Los_Angeles", ["cy@coast.example.com"])


# ------------------------------------------------------------------------------ when and to whom


def test_monday_nine_local_time_in_each_timezone_once_to_owners_only(
    api: ApiClient, operator_key: str, told: Store, coast: Store
) -> None:
    Store(api, operator_key, "ownerless", "UTC", [])  # no owners: no digest

    # Not before 09:00 in Auckland, and Los Angeles is still in last week
    at(KIWI_MONDAY - timedelta(minutes=1))
    assert run_digest() == {"stores": 3, "sent": 0}

    # At 09:00 in Auckland (Sunday evening in UTC) Kiwi's two owners get theirs, nobody else
    at(KIWI_MONDAY)
    assert run_digest()["sent"] == 2
    assert recipients(digests()) == ["ana@kiwi.example.com", "ben@kiwi.example.com"]

    # Later runs that week send nothing again
    for hours in (1, 2, 12):
        at(KIWI_MONDAY + timedelta(hours=hours))
        assert run_digest()["sent"] == 0
    at(COAST_MONDAY - timedelta(minutes=1))
    assert run_digest()["sent"] == 0

    # At 09:00 in Los Angeles, Coast's owner gets theirs
    at(COAST_MONDAY)
    assert run_digest()["sent"] == 1
    assert recipients(digests("coast")) == ["cy@coast.example.com"]
    assert len(digests()) == 3
    assert not [m for m in mails() if "ownerless" in m["from"] and "digest" in m["subject"].lower()]


def test_a_missed_monday_still_sends_later_that_week(kiwi: Store) -> None:
    at(KIWI_MONDAY + timedelta(days=3, hours=5))  # the schedule did not run for three days
    assert run_digest()["sent"] == 2
    at(KIWI_MONDAY + timedelta(days=7))  # next Monday: next week's digest
    assert run_digest()["sent"] == 2
    assert len(digests()) == 4


def test_overlapping_runs_send_each_owner_one_digest(kiwi: Store) -> None:
    at(KIWI_MONDAY)
    results: list[dict[str, int]] = []
    runs = [threading.Thread(target=lambda: results.append(run_digest())) for _ in range(6)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert sum(result["sent"] for result in results) == 2
    assert recipients(digests()) == ["ana@kiwi.example.com", "ben@kiwi.example.com"]


def test_a_failed_send_is_retried_by_the_next_run_for_the_owner_who_missed_it(kiwi: Store) -> None:
    from botocore.exceptions import ClientError

    def refuse_ben(params: dict[str, Any], **_: Any) -> None:
        if "ben@kiwi.example.com" in str(params.get("Destination")):
            raise ClientError({"Error": {"Code": "MessageRejected", "Message": "no"}}, "SendEmail")

    # Given SES refuses the digest to one owner
    events = aws.sesv2().meta.events
    events.register("provide-client-params.sesv2.SendEmail", refuse_ben)
    at(KIWI_MONDAY)
    try:
        assert run_digest()["sent"] == 1
    finally:
        events.unregister("provide-client-params.sesv2.SendEmail", refuse_ben)
    assert recipients(digests()) == ["ana@kiwi.example.com"]
    marker = composition.adapters().workspace.digest_marker("kiwi", "2026-W46")
    assert marker is not None and marker["status"] == "released" and len(marker["delivered"]) == 1

    # When the next run comes, it sends to the owner who missed it, and only to them
    at(KIWI_MONDAY + timedelta(hours=1))
    assert run_digest()["sent"] == 1
    at(KIWI_MONDAY + timedelta(hours=2))
    assert run_digest()["sent"] == 0
    assert recipients(digests()) == ["ana@kiwi.example.com", "ben@kiwi.example.com"]
    marker = composition.adapters().workspace.digest_marker("kiwi", "2026-W46")
    assert marker is not None and marker["status"] == "sent" and len(marker["delivered"]) == 2


def test_a_store_with_broken_data_does_not_stop_the_others(
    api: ApiClient, operator_key: str, kiwi: Store, frozen: Any
) -> None:
    # Given a store (first in the registry) whose stored configuration no longer reads
    at(KIWI_OPENS)
    Store(api, operator_key, "broken", "Pacific/Auckland", ["owner@broken.example.com"])
    boto3.client("dynamodb").update_item(
        TableName=frozen.tables["StoresTable"],
        Key={"pk": {"S": "broken"}, "sk": {"S": "CONFIG"}},
        UpdateExpression="SET config.#tz = :tz",
        ExpressionAttributeNames={"#tz": "timezone"},
        ExpressionAttributeValues={":tz": {"S": "Mars/Olympus_Mons"}},
    )
    composition.reset()

    # When the digest runs
    at(KIWI_MONDAY)
    found = run_digest()

    # Then the other store's owners get theirs
    assert found == {"stores": 2, "sent": 2}
    assert recipients(digests()) == ["ana@kiwi.example.com", "ben@kiwi.example.com"]


# ------------------------------------------------------------------------------ unsubscribing


def unsubscribe_path(message: dict[str, Any]) -> str:
    url = header(message, "List-Unsubscribe").strip("<>")
    assert UNSUBSCRIBE.fullmatch(url)
    assert header(message, "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    return url.removeprefix("https://care.example.com")


def test_one_click_unsubscribe_stops_the_digest_for_that_owner_alone(api: ApiClient, kiwi: Store) -> None:
    at(KIWI_MONDAY)
    run_digest()
    to = {m["to"][0]: m for m in digests()}

    # A mail scanner opening Ana's link changes nothing: the page asks first
    page = api.get(unsubscribe_path(to["ana@kiwi.example.com"]))
    assert page.status == 200 and "Stop the weekly digest?" in page.text
    assert 'method="post"' in page.text

    # Ben's mail provider posts the one-click unsubscribe: no cookie, no redirect
    done = api.post(
        unsubscribe_path(to["ben@kiwi.example.com"]), body="List-Unsubscribe=One-Click", headers=FORM
    )
    assert done.status == 200 and "location" not in done.headers and "set-cookie" not in done.headers
    assert "The digest is stopped" in done.text
    again = api.get(unsubscribe_path(to["ben@kiwi.example.com"]))
    assert "Send me the digest again" in again.text

    # Next Monday only Ana gets it
    at(KIWI_MONDAY + timedelta(weeks=1))
    assert run_digest()["sent"] == 1
    assert digests()[-1]["to"] == ["ana@kiwi.example.com"]
    assert recipients(digests()).count("ben@kiwi.example.com") == 1

    # Ben subscribes again from the done page; the Monday after, both get it
    back = api.post(unsubscribe_path(to["ben@kiwi.example.com"]) + "/resubscribe", body="", headers=FORM)
    assert back.status == 200 and "The digest is back on" in back.text
    at(KIWI_MONDAY + timedelta(weeks=2))
    assert run_digest()["sent"] == 2


def test_an_altered_or_foreign_link_unsubscribes_nobody(api: ApiClient, kiwi: Store) -> None:
    at(KIWI_MONDAY)
    run_digest()
    path = unsubscribe_path(digests()[0])
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert api.post(forged, body="List-Unsubscribe=One-Click", headers=FORM).status == 400
    customers = links.UNSUBSCRIBE.mint(composition.adapters().signing_key, "kiwi", {"o": "0" * 32})
    assert api.post(f"/digest/unsubscribe/{customers}", body="", headers=FORM).status == 400  # other kind
    at(KIWI_MONDAY + timedelta(weeks=1))
    assert run_digest()["sent"] == 2


# ------------------------------------------------------------------------------ what it says


def test_the_digest_reports_last_week_against_the_week_before(told: Store) -> None:
    at(KIWI_MONDAY)
    run_digest()
    message = next(m for m in digests() if m["to"] == ["ana@kiwi.example.com"])
    text = message["text"]

    assert message["subject"] == "Weekly digest for Kiwi Goods: Nov 2 \u2013 8, 2026"
    assert "Reviews: 3 (Week before: 2; ▲ 1)" in text
    assert "Average stars: 3 (Week before: 4.5; ▼ 1.5)" in text
    assert "  Detractors: 1 (Week before: 0; ▲ 1)" in text
    # The lowest-rated comments first, each flag linked; the customer's markup is never markup
    assert text.index("1 of 5 stars") < text.index("NPS 2 of 10") < text.index("3 of 5 stars")
    assert "Great" not in text and "Wonderful tour" not in text  # good answers are not complaints
    assert "&lt;b&gt;broken&lt;/b&gt;" in message["html"] and "<b>broken" not in message["html"]
    flag_links = [link["href"] for link in message["links"] if "/workspace/flags/" in link["href"]]
    assert len(flag_links) == 2  # 1 star and NPS 2 were flagged; 3 stars without a watched word was not
    assert "1 of 5 stars · Product tour" in text  # the flag names the product
    assert "Open flags: 2" in text and "Past their reply deadline: 2" in text
    assert {"https://care.example.com/workspace/", "https://care.example.com/workspace/insights"} <= {
        link["href"] for link in message["links"]
    }
    assert header(message, "Message-ID").startswith("<digest.") and header(message, "Date")


def test_the_same_week_gives_the_same_email_golden_text(told: Store) -> None:
    at(KIWI_MONDAY)
    run_digest()
    sent = next(m for m in digests() if m["to"] == ["ana@kiwi.example.com"])

    # Composed again later that week, the digest for the same week says exactly the same
    later = KIWI_MONDAY + timedelta(hours=30)
    at(later)
    ports = composition.digest_ports()
    store = ports.stores.get("kiwi")
    week = DigestWeek.of(later, store.config.timezone)
    owner = service.recipients(ports, store)
    key = next(k for k, email in owner.items() if email == "ana@kiwi.example.com")
    again = compose.digest_email(
        service.gather(ports, store, week, later),
        "ana@kiwi.example.com",
        service.links(ports, store, key, week),
    )
    assert again.text.replace("\r\n", "\n").strip() == sent["text"].replace("\r\n", "\n").strip()

    # And it is the text the golden file holds (the link's signature depends on the deployment's key)
    text = UNSUBSCRIBE.sub("https://care.example.com/digest/unsubscribe/<token>", sent["text"])
    text = text.replace("\r\n", "\n").strip() + "\n"
    if os.environ.get("AFTERCARE_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")
