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
from functions.orders import ledger, planning
from functions.orders.store import OrderRepository, StoredOrder
from functions.outreach import mailer
from functions.outreach.compose import Email, compose
from functions.outreach.store import FAILED, PENDING, SENDING, SKIPPED, Due, LostRace, OutreachQueue
from functions.shared import clock
from functions.shared.errors import AftercareError, DependencyFailed, Throttled
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
    orders: OrderRepository
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


@dataclass
class Orders:
    """The orders of one group, read once after the claim: their state decides what may still be sent."""

    ports: Ports
    store: Store
    found: dict[str, StoredOrder | None] = field(default_factory=dict)

    def get(self, order_id: str) -> StoredOrder | None:
        if order_id not in self.found:
            self.found[order_id] = self.ports.orders.get_order(self.store.id, order_id)
        return self.found[order_id]


def _skip_reason(due: Due, ports: Ports, store: Store, orders: Orders) -> str | None:
    """Why a claimed item must not be sent after all, or ``None``."""
    if not due.email:
        return "no email"
    if due.item.get("answered_at"):
        return "answered"
    first_due = clock.parse_iso(str(due.item.get("first_due_at") or due.item["due_at"]))
    if clock.now() - first_due > store.config.outreach.max_lateness:
        return "too late"
    original = due.item.get("reminder_of")
    if original:
        first = ports.queue.get(str(due.item["pk"]), str(original))
        if first is None or first.get("answered_at"):
            return "answered"
    stored = orders.get(str(due.item["order_id"]))
    if stored is None:
        return None  # an order known only through its plan (its item expired): nothing to check against
    return _order_reason(due, stored)


def _order_reason(due: Due, stored: StoredOrder) -> str | None:
    why = planning.why_not_planned(stored.facts)
    if why in {"test order", "order cancelled", "order refunded", "every item refunded"}:
        return why
    active = {item.product_key for item in planning.active_items(stored.facts)}
    products = [str(p.get("product_id")) for p in due.item.get("products") or []]
    if any(product not in active for product in products):
        return "item refunded or returned"
    if due.item.get("reminder_of") and _in_open_return(stored, products):
        return "return open"
    return None


def _in_open_return(stored: StoredOrder, products: list[str]) -> bool:
    lines = (
        {item.id for item in stored.facts.items.items if item.product_key in products}
        if stored.facts.items
        else set()
    )
    holding = {ledger.OPEN, ledger.REFUNDING, ledger.REFUND_FAILED}
    return any(claim.state in holding and lines & set(claim.lines) for claim in stored.ledger.claims.values())


def _return_order(store: Store, items: list[dict[str, Any]], orders: Orders) -> str | None:
    """The order the email's "Start a return" link opens: the first with something left to return."""
    from functions.returns.service import returnable_items

    for order_id in dict.fromkeys(str(item["order_id"]) for item in items):
        stored = orders.get(order_id)
        if stored is not None and stored.facts.items is not None:
            _, nothing = returnable_items(store, stored.facts, stored.ledger)
            if not nothing:
                return order_id
    return None


def _suppression(store: Store, email: str, ports: Ports) -> str | None:
    profile = ports.customers.get(store.id, customer_key(email))
    if profile and profile.get("suppressed"):
        return str(profile["suppressed"].get("reason") or "suppressed")
    return None


def _claim_all(group: list[Due], claim: str, ports: Ports, report: Report) -> list[Due]:
    claimed: list[Due] = []
    for due in group:
        try:
            ports.queue.claim(due, claim)
            claimed.append(due)
        except LostRace:
            report.lost_races += 1
    return claimed


def _send_group(group: list[Due], ports: Ports, report: Report) -> None:
    """Claim a customer's due items and send them one email. A failure stays inside this group."""
    claim = uuid.uuid4().hex
    claimed = _claim_all(group, claim, ports, report)
    if not claimed:
        return
    attempt = _Attempt(claimed, claim, ports, report)
    try:
        attempt.run()
    except mailer.PermanentSendError as error:
        attempt.give_up(str(error), "EmailFailed")
    except mailer.TransientSendError as error:
        attempt.release_contact()
        _retry(claimed, claim, str(error), ports, report)
    except (Throttled, DependencyFailed) as error:
        # AWS trouble before SES took the email: put the items back to try again (counted, so never forever).
        logger.warning("sweep group put back", extra={"error": error.message, "sending": attempt.sending})
        if not attempt.sending:
            attempt.release_contact()
            _retry(claimed, claim, error.message, ports, report)
    except Exception as error:
        # This group's data cannot be sent (or a bug): fail its items with the reason; everyone else proceeds.
        logger.exception(
            "sweep group failed", extra={"store_id": claimed[0].store_id, "sending": attempt.sending}
        )
        if not attempt.sending:
            attempt.give_up(f"could not prepare the email ({type(error).__name__})", "EmailBroken")


@dataclass
class _Attempt:
    claimed: list[Due]
    claim: str
    ports: Ports
    report: Report
    store: Store | None = None
    reserved_at: datetime | None = None
    sending: bool = False

    def run(self) -> None:
        ports, report = self.ports, self.report
        self.store = store = ports.stores.get(self.claimed[0].store_id, cached=True)
        orders = Orders(ports, store)
        ready = self._ready(store, orders)
        if not ready:
            return
        email = ready[0].email
        suppressed = _suppression(store, email, ports)
        if suppressed:
            self._skip_all(ready, suppressed)
            return
        if not self._reserve(store, email, ready):
            return
        items = [due.item for due in ready]
        message = compose(
            store, items, ports.signing_key, ports.base_url, _return_order(store, items, orders)
        )
        kind = "+".join(sorted({str(due.item["kind"]) for due in ready}))
        self.sending = True
        message_id = mailer.send(message, ports.configuration_set, kind, ports.retries, ports.retry_base_ms)
        report.emails += 1
        metrics.add_metric(name="EmailSent", unit="Count", value=1)
        self._record_sent(ready, message_id, message)

    def _ready(self, store: Store, orders: Orders) -> list[Due]:
        ready: list[Due] = []
        for due in self.claimed:
            reason = _skip_reason(due, self.ports, store, orders)
            if reason:
                self.ports.queue.finish(due, self.claim, SKIPPED, reason)
                self.report.skip(reason)
            else:
                ready.append(due)
        return ready

    def _skip_all(self, ready: list[Due], reason: str) -> None:
        for due in ready:
            self.ports.queue.finish(due, self.claim, SKIPPED, reason)
        self.report.skip(reason, len(ready))

    def _reserve(self, store: Store, email: str, ready: list[Due]) -> bool:
        """The frequency cap: one conditional write on the customer record; capped items wait their turn."""
        now = clock.now()
        cap = store.config.outreach.frequency_cap
        if self.ports.customers.reserve_contact(store.id, email, now, now - cap):
            self.reserved_at = now
            return True
        profile = self.ports.customers.get(store.id, customer_key(email)) or {}
        if profile.get("suppressed"):
            self._skip_all(ready, str(profile["suppressed"].get("reason")))
            return False
        last = clock.parse_iso(str(profile.get("last_contacted_at") or clock.isoformat(now)))
        until = max(last + cap, now + timedelta(minutes=1))
        for due in ready:
            self.ports.queue.release(
                due, self.claim, until, f"frequency cap: waits until {clock.isoformat(until)}"
            )
        self.report.deferred += len(ready)
        metrics.add_metric(name="EmailDeferredByCap", unit="Count", value=len(ready))
        return False

    def _record_sent(self, ready: list[Due], message_id: str, message: Email) -> None:
        sent_at = clock.now()
        for due in ready:
            reminder = None
            seconds = due.item.get("reminder_after_seconds")
            if due.item["kind"] == "review" and seconds and not due.item.get("reminder_of"):
                reminder = self.ports.queue.reminder_item(due, sent_at + timedelta(seconds=int(seconds)))
            try:
                self.ports.queue.sent(
                    due, self.claim, message_id, reminder, message.headers["Message-ID"], message.subject
                )
                self.report.items_sent += 1
            except LostRace:
                self.report.lost_races += 1
            metrics.add_metric(
                name="EmailLatenessSeconds",
                unit="Seconds",
                value=max(0.0, (sent_at - due.due_at).total_seconds()),
            )

    def release_contact(self) -> None:
        _release_contact(self.ports, self.store, self.claimed, self.reserved_at)

    def give_up(self, reason: str, metric: str) -> None:
        """Fail every item still claimed with ``reason``; they leave the queue and show in the plan."""
        self.release_contact()
        failed = 0
        for due in self.claimed:
            if due.status == SENDING:
                _quietly(self.ports.queue.finish, due, self.claim, FAILED, reason)
                failed += 1
        self.report.failed += failed
        metrics.add_metric(name=metric, unit="Count", value=failed)


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
        except Exception:  # _send_group isolates its own failures; this guards the run against the unforeseen
            logger.exception("sweep group failed")
            metrics.add_metric(name="SweepGroupFailed", unit="Count", value=1)
    logger.info("sweep finished", extra={"report": report.__dict__})
    return report


def default_ports() -> Ports:
    from functions.customers.store import default_repository as customers
    from functions.orders.store import default_repository as orders
    from functions.outreach.store import default_queue
    from functions.shared.settings import get_settings
    from functions.shared.tokens import signing_key
    from functions.stores.store import default_repository as stores

    settings = get_settings()
    return Ports(
        queue=default_queue(),
        stores=stores(),
        customers=customers(),
        orders=orders(),
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
