"""The due sweep against in-memory fakes: what customers get, and what the plan then says.

No AWS, no moto: ``tests/fakes/outreach.py`` implements the sweep's Protocols with the adapters' conditions.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from functions.outreach import sweep
from functions.outreach.models import OutreachStatus
from functions.shared.mailer import PermanentSendError, TransientSendError
from tests.fakes.outreach import STORE_ID, World

pytestmark = pytest.mark.unit

MINUTE = timedelta(minutes=1)


@pytest.fixture
def world() -> World:
    return World()


def test_given_a_due_request_when_the_sweep_runs_then_it_is_sent_once_and_marked_sent(world: World) -> None:
    world.queue.plan("A-1", "review-a", world.clock.now() - MINUTE)
    world.queue.plan("A-2", "review-b", world.clock.now() + timedelta(days=1), email="bo@example.com")

    report = sweep.run(world.ports())

    assert [email.to for email in world.mailer.sent] == ["ann@example.com"]
    assert "Mug" in world.mailer.sent[0].text
    assert world.mailer.sent[0].kind == "review"
    assert world.queue.status("A-1", "review-a") == OutreachStatus.SENT
    assert world.queue.stored("A-1", "review-a")["message_id"] == "ses-1"
    assert world.queue.status("A-2", "review-b") == OutreachStatus.PENDING  # not due yet
    assert (report.emails, report.items_sent) == (1, 1)


def test_given_two_due_items_for_one_customer_then_they_share_one_email(world: World) -> None:
    world.queue.plan("A-1", "review-a", world.clock.now() - MINUTE)
    world.queue.plan("A-2", "nps", world.clock.now() - MINUTE, kind="nps", products=[])

    sweep.run(world.ports())

    assert len(world.mailer.sent) == 1
    assert world.mailer.sent[0].kind == "nps+review"
    assert world.queue.status("A-2", "nps") == OutreachStatus.SENT


def test_given_the_sweep_runs_twice_then_nothing_is_sent_twice(world: World) -> None:
    world.queue.plan("A-1", "review-a", world.clock.now() - MINUTE)
    world.queue.plan("B-1", "review-b", world.clock.now() - MINUTE, email="bo@example.com")

    sweep.run(world.ports())
    world.clock.advance(timedelta(minutes=5))
    again = sweep.run(world.ports())

    assert sorted(email.to for email in world.mailer.sent) == ["ann@example.com", "bo@example.com"]
    assert again.emails == 0


def test_given_a_suppressed_customer_then_no_email_and_the_request_is_skipped(world: World) -> None:
    world.customers.suppress(STORE_ID, "ann@example.com", "unsubscribed")
    world.queue.plan("A-1", "review-a", world.clock.now() - MINUTE)

    report = sweep.run(world.ports())

    assert world.mailer.sent == []
    assert world.queue.status("A-1", "review-a") == OutreachStatus.SKIPPED
    assert world.queue.stored("A-1", "review-a")["reason"] == "unsubscribed"
    assert report.skipped == {"unsubscribed": 1}


def test_given_a_customer_emailed_recently_then_the_frequency_cap_defers_the_next_request() -> None:
    world = World(frequency_cap="P2D")
    world.queue.plan("A-1", "review-a", world.clock.now() - MINUTE)
    sweep.run(world.ports())
    world.clock.advance(timedelta(hours=1))
    world.queue.plan("A-2", "review-c", world.clock.now() - MINUTE)

    report = sweep.run(world.ports())

    assert len(world.mailer.sent) == 1
    assert report.deferred == 1
    assert world.queue.status("A-2", "review-c") == OutreachStatus.PENDING
    assert "frequency cap" in world.queue.stored("A-2", "review-c")["history"][-1]["note"]

    world.clock.advance(timedelta(days=2))
    sweep.run(world.ports())

    assert len(world.mailer.sent) == 2
    assert world.queue.status("A-2", "review-c") == OutreachStatus.SENT


def test_given_a_transient_mail_failure_then_the_request_is_retried_later(world: World) -> None:
    world.queue.plan("A-1", "review-a", world.clock.now() - MINUTE)
    world.mailer.fail_with = TransientSendError("SES: Throttling")

    report = sweep.run(world.ports())

    stored = world.queue.stored("A-1", "review-a")
    assert (report.retried, stored["status"], stored["attempts"]) == (1, OutreachStatus.PENDING, 1)
    assert world.customers.get(STORE_ID, _key("ann@example.com"))["emails_sent"] == 0  # slot given back

    world.mailer.fail_with = None
    world.clock.advance(timedelta(minutes=6))
    sweep.run(world.ports())

    assert len(world.mailer.sent) == 1
    assert world.queue.status("A-1", "review-a") == OutreachStatus.SENT


def test_given_transient_failures_past_the_attempt_limit_then_the_request_fails(world: World) -> None:
    world.queue.plan("A-1", "review-a", world.clock.now() - MINUTE)
    world.mailer.fail_with = TransientSendError("SES: ServiceUnavailable")

    for _ in range(3):  # max_attempts is 3 in the fake world
        sweep.run(world.ports())
        world.clock.advance(timedelta(hours=1))

    stored = world.queue.stored("A-1", "review-a")
    assert stored["status"] == OutreachStatus.FAILED
    assert stored["reason"].startswith("gave up after 3 attempts")


def test_given_a_permanent_mail_failure_then_the_request_fails_with_the_reason(world: World) -> None:
    world.queue.plan("A-1", "review-a", world.clock.now() - MINUTE)
    world.mailer.fail_with = PermanentSendError("SES rejected the email: MessageRejected")

    report = sweep.run(world.ports())

    assert report.failed == 1
    assert world.queue.status("A-1", "review-a") == OutreachStatus.FAILED
    assert "MessageRejected" in world.queue.stored("A-1", "review-a")["reason"]


def test_given_one_item_that_cannot_be_composed_then_the_others_are_still_sent(world: World) -> None:
    world.queue.plan("A-1", "review-a", world.clock.now() - MINUTE, products=[{"name": "no product id"}])
    world.queue.plan("B-1", "review-b", world.clock.now() - MINUTE, email="bo@example.com")

    report = sweep.run(world.ports())

    assert [email.to for email in world.mailer.sent] == ["bo@example.com"]
    assert world.queue.status("A-1", "review-a") == OutreachStatus.FAILED
    assert "could not prepare the email" in world.queue.stored("A-1", "review-a")["reason"]
    assert world.queue.status("B-1", "review-b") == OutreachStatus.SENT
    assert report.failed == 1


def test_given_a_request_with_a_reminder_delay_then_the_reminder_waits_for_its_time(world: World) -> None:
    world.queue.plan("A-1", "review-a", world.clock.now() - MINUTE, reminder_after_seconds=5 * 86400)

    sweep.run(world.ports())

    reminder = world.queue.stored("A-1", "review-a-reminder")
    assert reminder["status"] == OutreachStatus.PENDING
    assert reminder["due_at"].startswith("2026-11-07")


def _key(email: str) -> str:
    from functions.customers.store import customer_key

    return customer_key(email)
