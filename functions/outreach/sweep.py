"""The due sweep: send what is due, once, politely.

1. Read only what is due: one query per shard of the sparse ``due`` index (bounded per shard).
2. Expired claims (a sweep died mid-send) are surfaced as failed, never re-sent.
3. Group due items by store and customer: one email per customer per run.
4. For each group: claim every item (conditional), skip what must not be sent (answered, suppressed),
   reserve the customer's contact slot (frequency cap, atomic), compose, send, record.
   A transient SES failure puts the items back with an attempt count; a permanent one fails them.
5. Stop starting new groups when the Lambda is close to its time limit; the rest waits for the next run.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from functions.customers.store import CustomerRepository, customer_key
from functions.outreach import mailer
from functions.outreach.compose import compose
from functions.outreach.store import FAILED, PENDING, SENDING, SKIPPED, Due, LostRace, OutreachQueue
from functions.shared import clock
from functions.shared.errors import AftercareError
from functions.shared.observability import logger, metrics
from functions.stores.models import Store
from functions.stores.store import StoreRepository

TIME_MARGIN_MS = 15_000
RETRY_BACKOFF = timedelta(minutes=5)


@dataclass
class Report:
    read: int = 0
    emails: int = 0
    items_sent: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    deferred: int = 0
    retried: int = 0
    failed: int = 0
    lost_races: int = 0
    left_for_next_run: int = 0

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + count
        metrics.add_metric(name=f"EmailSkipped_{reason.replace(' ', '_')}", unit="Count", value=count)


@dataclass
class Ports:
    queue: OutreachQueue
    stores: StoreRepository
    customers: CustomerRepository
    signing_key: bytes
    base_url: str
    configuration_set: str
    batch: int = 100
    max_emails: int = 1000
    retries: int = 3
    retry_base_ms: int = 200
    max_attempts: int = 5


def _groups(items: list[Due]) -> list[list[Due]]:
    grouped: dict[tuple[str, str], list[Due]] = {}
    for due in sorted(items, key=lambda d: (d.due_at, str(d.item["pk"]), str(d.item["sk"]))):
        grouped.setdefault(
            (due.store_id, customer_key(due.email) if due.email else str(due.item["pk"])), []
        ).append(due)
    return list(grouped.values())


def _skip_reason(due: Due, ports: Ports) -> str | None:
    if not due.email:
        return "no email"
    if due.item.get("answered_at"):
        return "answered"
    original = due.item.get("reminder_of")
    if original:
        first = ports.queue.get(str(due.item["pk"]), str(original))
        if first is None or first.get("answered_at"):
            return "answered"
    return None


def _suppression(store: Store, email: str, ports: Ports) -> str | None:
    profile = ports.customers.get(store.id, customer_key(email))
    if profile and profile.get("suppressed"):
        return str(profile["suppressed"].get("reason") or "suppressed")
    return None


def _send_group(group: list[Due], ports: Ports, report: Report) -> None:
    claim = uuid.uuid4().hex
    claimed: list[Due] = []
    for due in group:
        try:
            ports.queue.claim(due, claim)
            claimed.append(due)
        except LostRace:
            report.lost_races += 1
    if not claimed:
        return
    sending_started = False
    reserved_at: datetime | None = None
    store: Store | None = None
    try:
        store = ports.stores.get(claimed[0].store_id, cached=True)
        ready: list[Due] = []
        for due in claimed:
            reason = _skip_reason(due, ports)
            if reason:
                ports.queue.finish(due, claim, SKIPPED, reason)
                report.skip(reason)
            else:
                ready.append(due)
        if not ready:
            return
        email = ready[0].email
        suppressed = _suppression(store, email, ports)
        if suppressed:
            for due in ready:
                ports.queue.finish(due, claim, SKIPPED, suppressed)
            report.skip(suppressed, len(ready))
            return
        now = clock.now()
        cap = store.config.outreach.frequency_cap
        if not ports.customers.reserve_contact(store.id, email, now, now - cap):
            profile = ports.customers.get(store.id, customer_key(email)) or {}
            if profile.get("suppressed"):
                for due in ready:
                    ports.queue.finish(due, claim, SKIPPED, str(profile["suppressed"].get("reason")))
                report.skip(str(profile["suppressed"].get("reason")), len(ready))
                return
            last = clock.parse_iso(str(profile.get("last_contacted_at") or clock.isoformat(now)))
            until = max(last + cap, now + timedelta(minutes=1))
            for due in ready:
                ports.queue.release(due, claim, until, f"frequency cap: waits until {clock.isoformat(until)}")
            report.deferred += len(ready)
            metrics.add_metric(name="EmailDeferredByCap", unit="Count", value=len(ready))
            return
        reserved_at = now
        message = compose(store, [due.item for due in ready], ports.signing_key, ports.base_url)
        kind = "+".join(sorted({str(due.item["kind"]) for due in ready}))
        sending_started = True
        message_id = mailer.send(message, ports.configuration_set, kind, ports.retries, ports.retry_base_ms)
    except mailer.PermanentSendError as error:
        _release_contact(ports, store, claimed, reserved_at)
        for due in claimed:
            if due.status == SENDING:
                _quietly(ports.queue.finish, due, claim, FAILED, str(error))
        report.failed += len(claimed)
        metrics.add_metric(name="EmailFailed", unit="Count", value=len(claimed))
        return
    except mailer.TransientSendError as error:
        _release_contact(ports, store, claimed, reserved_at)
        _retry(claimed, claim, str(error), ports, report)
        return
    except Exception:
        # Nothing was sent (or SES was never reached): put the items back as they were.
        logger.exception("sweep group failed before sending", extra={"sending_started": sending_started})
        if not sending_started:
            _release_contact(ports, store, claimed, reserved_at)
            for due in claimed:
                if due.status == SENDING:
                    _quietly(ports.queue.release, due, claim, due.due_at, "sweep aborted; retried")
        raise
    report.emails += 1
    metrics.add_metric(name="EmailSent", unit="Count", value=1)
    sent_at = clock.now()
    for due in ready:
        reminder = None
        seconds = due.item.get("reminder_after_seconds")
        if due.item["kind"] == "review" and seconds and not due.item.get("reminder_of"):
            reminder = ports.queue.reminder_item(due, sent_at + timedelta(seconds=int(seconds)))
        try:
            ports.queue.sent(due, claim, message_id, reminder, message.headers["Message-ID"], message.subject)
            report.items_sent += 1
        except LostRace:
            report.lost_races += 1
        metrics.add_metric(
            name="EmailLatenessSeconds",
            unit="Seconds",
            value=max(0.0, (sent_at - due.due_at).total_seconds()),
        )


def _quietly(action: Callable[..., None], *args: Any) -> None:
    try:
        action(*args)
    except (LostRace, AftercareError):
        logger.warning("could not record an outreach transition; its lease will surface it")


def _release_contact(
    ports: Ports, store: Store | None, claimed: list[Due], reserved_at: datetime | None
) -> None:
    if store is not None and reserved_at is not None and claimed:
        _quietly(ports.customers.release_contact, store.id, claimed[0].email, reserved_at)


def _retry(claimed: list[Due], claim: str, reason: str, ports: Ports, report: Report) -> None:
    for due in claimed:
        if due.status != SENDING:
            continue
        attempts = int(due.item.get("attempts", 0)) + 1
        if attempts >= ports.max_attempts:
            note = f"gave up after {attempts} attempts: {reason}"
            _quietly(ports.queue.finish, due, claim, FAILED, note, {"attempts": attempts})
            report.failed += 1
            metrics.add_metric(name="EmailGaveUp", unit="Count", value=1)
        else:
            until = clock.now() + RETRY_BACKOFF * 2 ** (attempts - 1)
            note = f"attempt {attempts} failed ({reason}); retry at {clock.isoformat(until)}"
            _quietly(ports.queue.release, due, claim, until, note, attempts)
            report.retried += 1


def run(ports: Ports, remaining_ms: Callable[[], int] | None = None) -> Report:
    """One sweep run. ``remaining_ms`` is the Lambda's remaining time (unlimited when absent)."""
    report = Report()
    now = clock.now()
    due_items: list[Due] = []
    for shard in range(ports.queue.shards):
        due_items.extend(ports.queue.due(shard, now, ports.batch))
    report.read = len(due_items)
    pending: list[Due] = []
    for due in due_items:
        if due.status == SENDING:
            _quietly(ports.queue.interrupted, due)
            report.failed += 1
            metrics.add_metric(name="EmailInterrupted", unit="Count", value=1)
        elif due.status == PENDING:
            pending.append(due)
    groups = _groups(pending)
    for index, group in enumerate(groups):
        out_of_time = remaining_ms is not None and remaining_ms() < TIME_MARGIN_MS
        if out_of_time or report.emails >= ports.max_emails:
            report.left_for_next_run = sum(len(g) for g in groups[index:])
            break
        try:
            _send_group(group, ports, report)
        except AftercareError:
            logger.exception("sweep group failed; its items were put back")
    logger.info("sweep finished", extra={"report": report.__dict__})
    return report


def default_ports() -> Ports:
    from functions.customers.store import default_repository as customers
    from functions.outreach.store import default_queue
    from functions.shared.settings import get_settings
    from functions.shared.tokens import signing_key
    from functions.stores.store import default_repository as stores

    settings = get_settings()
    return Ports(
        queue=default_queue(),
        stores=stores(),
        customers=customers(),
        signing_key=signing_key(),
        base_url=settings.public_base_url,
        configuration_set=settings.ses_configuration_set,
        batch=settings.sweep_batch,
        max_emails=settings.sweep_max_emails,
        retries=settings.send_retries,
        retry_base_ms=settings.send_retry_base_ms,
        max_attempts=settings.max_send_attempts,
    )


def next_due() -> datetime | None:
    from functions.outreach.store import default_queue

    return default_queue().next_due()


__all__ = ["Ports", "Report", "default_ports", "next_due", "run"]
