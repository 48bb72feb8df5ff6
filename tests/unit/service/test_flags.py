"""Flagging, the staff page and escalation, run against in-memory fakes of their ports (no AWS, no moto)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from functions.flags import escalation, flagging, offers, staff
from functions.flags.models import ActionRefused, AlreadyDone, DuplicateReply, Flagging, FlagStatus
from functions.flags.ports import Ports
from functions.orders.models import ItemsSnapshot, LineItem, OrderFacts
from functions.orders.store import StoredOrder
from functions.shared import clock, links
from functions.shared.mailer import PermanentSendError, TransientSendError
from functions.stores.models import Store, StoreConfig
from tests.fakes.clock import FakeClock
from tests.fakes.flags import (
    FakeFlags,
    FakeMailer,
    FakeOrders,
    FakeResponses,
    FakeReturns,
    fake_ports,
)
from tests.helpers import minimal_store_config

pytestmark = pytest.mark.unit

STORE = "acme-goods"
CARE, BOSS, HEAD = "care@acme-goods.example.com", "boss@acme-goods.example.com", "head@acme-goods.example.com"
CUSTOMER = "ana@example.com"
ORIGINAL = "<review.1234@acme-goods.example.com>"


def a_store(alerts: tuple[str, ...], escalation: tuple[str, ...]) -> Store:
    config = minimal_store_config(STORE)
    config["staff"] = {"alert_emails": list(alerts), "escalation_emails": list(escalation)}
    return Store(
        config=StoreConfig.model_validate(config), created_at="2026-01-01T00:00:00Z", admin_key_hash="x"
    )


def world(alerts: tuple[str, ...] = (CARE,), escalation: tuple[str, ...] = ()) -> Ports:
    ports = fake_ports(a_store(alerts, escalation))
    orders = ports.orders
    assert isinstance(orders, FakeOrders)
    orders.orders[(STORE, "1001")] = StoredOrder(
        OrderFacts(
            order_id="1001",
            name="#1001",
            items=ItemsSnapshot(
                as_of=ports.clock.now(), items=[LineItem(id="l1", product_id="p1", name="Scarf")]
            ),
            delivered_at=ports.clock.now() - timedelta(days=2),
        ),
        1,
        [
            {
                "outreach_id": "o1",
                "order_name": "#1001",
                "customer": {"email": CUSTOMER, "name": "Ana Lima", "locale": "en"},
                "products": [{"product_id": "p1", "name": "Walking tour"}],
                "subject": "How was your walking tour?",
                "email_message_id": ORIGINAL,
            }
        ],
    )
    return ports


def an_answer(ports: Ports, score: int = 2, comment: str = "Arrived late") -> dict[str, Any]:
    answer = {
        "pk": f"{STORE}#1001",
        "sk": "o1#p1",
        "store_id": STORE,
        "order_id": "1001",
        "outreach_id": "o1",
        "product_id": "p1",
        "kind": "review",
        "score": score,
        "comment": comment,
        "locale": "en",
        "responded_at": clock.isoformat(ports.clock.now()),
        "history": [],
    }
    responses = ports.responses
    assert isinstance(responses, FakeResponses)
    responses.add(answer)
    return answer


def mailer(ports: Ports) -> FakeMailer:
    assert isinstance(ports.mailer, FakeMailer)
    return ports.mailer


def fake_flags(ports: Ports) -> FakeFlags:
    assert isinstance(ports.flags, FakeFlags)
    return ports.flags


def the_flag(ports: Ports) -> dict[str, Any]:
    [flag] = fake_flags(ports).items.values()
    return flag


def later(ports: Ports, delta: timedelta) -> None:
    assert isinstance(ports.clock, FakeClock)
    ports.clock.advance(delta)


def flagged(ports: Ports, score: int = 2, comment: str = "Arrived late") -> dict[str, Any]:
    assert flagging.process_answer(an_answer(ports, score, comment), ports) == Flagging.FLAGGED
    return the_flag(ports)


def staff_view(ports: Ports, flag: dict[str, Any], person: str = CARE) -> staff.StaffView:
    token = links.STAFF.mint(ports.signing_key(), STORE, {"f": flag["flag_id"], "a": person})
    return staff.open_staff(token, ports)


# ------------------------------------------------------------------------------------- flagging


def test_given_a_low_score_when_it_is_processed_then_one_flag_alerts_each_staff_address_once() -> None:
    ports = world(alerts=(CARE, BOSS))
    answer = an_answer(ports, 2, "Arrived late")

    outcome = flagging.process_answer(answer, ports)

    assert outcome == Flagging.FLAGGED
    flag = the_flag(ports)
    assert flag["status"] == FlagStatus.OPEN and flag["alerted"] == [CARE, BOSS]
    assert flag["sla_deadline"] == clock.isoformat(ports.clock.now() + timedelta(hours=24))
    sent = mailer(ports).sent
    assert [email.to for email in sent] == [CARE, BOSS]
    assert all(email.subject == "[Needs a reply] 2★ for Walking tour, order #1001" for email in sent)
    assert all(email.kind == "staff-alert" and "2 of 5 stars" in email.text for email in sent)
    assert all(email.headers["Auto-Submitted"] == "auto-generated" for email in sent)
    assert "https://care.example.com/staff/" in sent[0].text


def test_given_a_flagged_answer_when_it_is_delivered_again_then_nobody_is_alerted_again() -> None:
    ports = world(alerts=(CARE, BOSS))
    answer = an_answer(ports)
    flagging.process_answer(answer, ports)

    again = flagging.process_answer(answer, ports)

    assert again == Flagging.ALREADY_FLAGGED
    assert len(mailer(ports).sent) == 2
    assert len(fake_flags(ports).items) == 1


def test_given_five_stars_with_negative_text_then_it_is_flagged_for_the_text() -> None:
    ports = world()

    flag = flagged(ports, 5, "Terrible experience, the guide was rude and late")

    assert any(reason.startswith("negative text (local, en") for reason in flag["reasons"])


def test_given_a_happy_answer_then_nothing_is_flagged_or_sent() -> None:
    ports = world()

    assert flagging.process_answer(an_answer(ports, 5, "Loved it"), ports) == Flagging.NOT_NEGATIVE
    assert not fake_flags(ports).items and not mailer(ports).sent


def test_given_one_of_two_alerts_fails_then_the_other_is_kept_and_a_redelivery_alerts_nobody() -> None:
    ports = world(alerts=(CARE, BOSS))
    mailer(ports).refuse = {BOSS}
    answer = an_answer(ports)

    flagging.process_answer(answer, ports)

    assert [email.to for email in mailer(ports).sent] == [CARE]
    assert the_flag(ports)["alerted"] == [CARE]
    mailer(ports).refuse = set()
    assert flagging.process_answer(answer, ports) == Flagging.ALREADY_FLAGGED
    assert [email.to for email in mailer(ports).sent] == [CARE]


def test_given_no_alert_could_be_sent_then_the_redelivery_alerts() -> None:
    ports = world(alerts=(CARE,))
    mailer(ports).refuse = {CARE}
    answer = an_answer(ports)

    with pytest.raises(TransientSendError):
        flagging.process_answer(answer, ports)
    assert "alert_status" not in the_flag(ports)

    mailer(ports).refuse = set()
    assert flagging.process_answer(answer, ports) == Flagging.ALERTED_AGAIN
    assert [email.to for email in mailer(ports).sent] == [CARE]


# ------------------------------------------------------------------------------------- staff page


def test_given_a_staff_reply_then_one_email_goes_to_the_customer_threaded_under_the_original() -> None:
    ports = world()
    flag = flagged(ports)
    view = staff_view(ports, flag)
    later(ports, timedelta(minutes=30))

    staff.reply(view, "Sorry about that, Ana.", "form-1", False, ports)

    [email] = mailer(ports).to(CUSTOMER)
    assert email.subject == "Re: How was your walking tour?"
    assert email.headers["In-Reply-To"] == ORIGINAL and email.headers["References"] == ORIGINAL
    assert email.headers["From"] == "Acme Goods <hello@acme-goods.example.com>"
    assert email.kind == "staff-reply" and "Sorry about that, Ana." in email.text
    stored = the_flag(ports)
    assert stored["first_reply_at"] == clock.isoformat(ports.clock.now())
    assert stored["seconds_to_first_reply"] == 1800
    assert stored["actions"][-1]["action"] == "reply" and stored["actions"][-1]["actor"] == CARE


@pytest.mark.parametrize(
    ("locale", "subject"), [("en", "Re: Your order #1001"), ("ar", "Re: طلبكم \u2068#1001\u2069")]
)
def test_given_the_answered_emails_subject_is_unknown_then_the_reply_names_the_order_in_its_language(
    locale: str, subject: str
) -> None:
    ports = world()
    flag = flagged(ports)
    for stored in fake_flags(ports).items.values():
        stored.pop("original_subject", None)  # a flag from before subjects were kept
    staff.reply(staff_view(ports, flag), "Sorry about that, Ana.", "form-1", False, ports, locale=locale)

    [email] = mailer(ports).to(CUSTOMER)
    assert email.subject == subject and email.locale == locale


def test_given_the_same_form_submitted_twice_then_the_customer_gets_one_email() -> None:
    ports = world()
    view = staff_view(ports, flagged(ports))
    staff.reply(view, "Sorry about that.", "form-1", False, ports)

    with pytest.raises(AlreadyDone):
        staff.reply(view, "Sorry about that.", "form-1", False, ports)
    with pytest.raises(DuplicateReply):  # the same text from a second form, a moment later
        staff.reply(view, "sorry   about that.", "form-2", False, ports)

    assert len(mailer(ports).to(CUSTOMER)) == 1


def test_given_the_reply_cannot_be_sent_then_nothing_is_recorded_and_the_form_can_be_sent_again() -> None:
    ports = world()
    view = staff_view(ports, flagged(ports))
    mailer(ports).refuse, mailer(ports).error = {CUSTOMER}, PermanentSendError

    with pytest.raises(ActionRefused, match="could not be sent"):
        staff.reply(view, "Sorry.", "form-1", False, ports)
    assert "first_reply_at" not in the_flag(ports)

    mailer(ports).refuse = set()
    staff.reply(view, "Sorry.", "form-1", False, ports)
    assert len(mailer(ports).to(CUSTOMER)) == 1


def test_given_a_resolved_flag_then_replies_and_offers_are_refused_until_it_is_reopened() -> None:
    ports = world()
    view = staff_view(ports, flagged(ports))
    staff.resolve(view, "Handled by phone", "form-1", ports)
    resolved = staff_view(ports, the_flag(ports))
    assert resolved.flag["status"] == FlagStatus.RESOLVED

    with pytest.raises(ActionRefused, match="resolved"):
        staff.reply(resolved, "One more thing", "form-2", False, ports)
    with pytest.raises(ActionRefused, match="resolved"):
        offers.offer(resolved, "refund", "", "form-3", ports)
    assert not mailer(ports).to(CUSTOMER)

    staff.reopen(resolved, ports)
    staff.reply(staff_view(ports, the_flag(ports)), "One more thing", "form-4", False, ports)
    assert len(mailer(ports).to(CUSTOMER)) == 1


def test_given_a_form_shown_for_another_link_then_it_is_refused() -> None:
    ports = world()
    flag = flagged(ports)
    mine, theirs = staff_view(ports, flag, CARE), staff_view(ports, flag, BOSS)

    staff.check_form(mine, mine.form_value, ports)
    with pytest.raises(ActionRefused, match="out of date"):
        staff.check_form(mine, theirs.form_value, ports)


def test_given_an_open_flag_when_staff_offer_a_refund_then_one_return_starts_and_is_logged() -> None:
    ports = world()
    view = staff_view(ports, flagged(ports))
    assert offers.offer_context(view, ports) == offers.OfferContext("l1", "", [])

    made = offers.offer(view, "refund", "Sorry!", "form-1", ports, outside_policy_ok=False)

    returns = ports.returns
    assert isinstance(returns, FakeReturns)
    [(store_id, requested, actor)] = returns.started
    assert (store_id, actor, requested.outcome, requested.lines) == (STORE, CARE, "refund", {"l1": 1})
    assert made.return_id == requested.return_id and made.kind == "refund"
    assert the_flag(ports)["actions"][-1]["action"] == "offer refund"
    with pytest.raises(AlreadyDone):
        offers.offer(view, "refund", "Sorry!", "form-1", ports)
    assert len(returns.started) == 1


# ------------------------------------------------------------------------------------- escalation


def test_given_an_unanswered_flag_past_its_deadline_then_escalation_emails_once() -> None:
    ports = world(alerts=(CARE,), escalation=(HEAD,))
    flagged(ports)
    later(ports, timedelta(hours=23))
    assert escalation.escalate(ports) == 0

    later(ports, timedelta(hours=2))
    assert escalation.escalate(ports) == 1
    assert escalation.escalate(ports) == 0

    [email] = mailer(ports).to(HEAD)
    assert email.subject.startswith("[Overdue] 2★") and email.kind == "escalation"
    assert the_flag(ports)["escalated_at"] == clock.isoformat(ports.clock.now())


def test_given_staff_replied_then_the_flag_is_never_escalated() -> None:
    ports = world(alerts=(CARE,), escalation=(HEAD,))
    view = staff_view(ports, flagged(ports))
    staff.reply(view, "Sorry about that.", "form-1", False, ports)

    later(ports, timedelta(days=3))

    assert escalation.escalate(ports) == 0
    assert not mailer(ports).to(HEAD)
