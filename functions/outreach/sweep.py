"""The due sweep: send what is due, once, politely, as fast as SES allows.

The schedule's run is a coordinator (``coordinate``): it hands each shard of the ``due`` index to a worker
(``Workers``: an asynchronous Lambda invocation per shard in production, ``functions.outreach.workers``;
threads of this process in the local stack and tests, ``ThreadWorkers``). A worker (``work``):

1. Reads only what is due in its shard, a batch at a time, until the shard has nothing due left.
2. Surfaces expired claims (a worker died mid-send) as failed, never re-sent.
3. Groups due items by store and customer: one email per customer (a customer's items share a shard).
4. Sends up to ``concurrency`` groups at the same time. For each group: claim every item (conditional),
   skip what must not be sent (answered, suppressed), reserve the customer's contact slot (frequency cap,
   atomic), compose, send, record. A transient SES failure puts the items back with an attempt count; a
   permanent one fails them. The mailer waits for the send-rate limiter every worker shares
   (``functions.outreach.limiter``), so all of them together stay under SES's ``MaxSendRate``.
5. Stops starting new groups when the Lambda is close to its time limit; the rest waits for the next run.

Exactly-once and the frequency cap are the conditional writes' (``OutreachQueue.claim``,
``CustomerRepository.reserve_contact``), never the order of work: any number of workers, overlapping
runs included, may read the same items.

``send_now`` sends one customer's pending items ahead of time (the workspace's "send now") through the
same group path, so the claim, skip rules, suppression and frequency cap are the sweep's own.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, Protocol

from functions.customers.store import customer_key
from functions.orders import ledger, planning
from functions.orders.store import StoredOrder
from functions.outreach.compose import compose
from functions.outreach.models import Due, OutreachKind, OutreachStatus
from functions.outreach.ports import Ports
from functions.outreach.store import LostRace
from functions.shared import clock
from functions.shared.email import Email
from functions.shared.errors import AftercareError, DependencyFailed, Throttled
from functions.shared.mailer import PermanentSendError, TransientSendError
from functions.shared.observability import logger, metrics
from functions.stores.models import Store

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
    workers: int = 0

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + count
        metrics.add_metric(name=f"EmailSkipped_{reason.replace(' ', '_')}", unit="Count", value=count)

    def add(self, other: Report) -> None:
        """Count ``other``'s figures in (a group's or a worker's report into its caller's)."""
        for name in (f.name for f in fields(self)):
            if name == "skipped":
                for reason, count in other.skipped.items():
                    self.skipped[reason] = self.skipped.get(reason, 0) + count
            else:
                setattr(self, name, getattr(self, name) + getattr(other, name))


def _groups(items: list[Due]) -> list[list[Due]]:
    grouped: dict[tuple[str, str], list[Due]] = {}
    for due in sorted(items, key=lambda d: (d.due_at, d.pk, d.sk)):
        grouped.setdefault((due.store_id, customer_key(due.email) if due.email else due.pk), []).append(due)
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
    if ports.clock.now() - first_due > store.config.outreach.max_lateness:
        return "too late"
    if due.reminder_of:
        first = ports.queue.get(due.pk, due.reminder_of)
        if first is None or first.get("answered_at"):
            return "answered"
    stored = orders.get(due.order_id)
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
    if due.reminder_of and _in_open_return(stored, products):
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
    """Claim the group's items; none when AWS refuses one (those claimed already are put back, counted).

    An item left claimed would wait out its lease and then fail as interrupted, never sent: so a claim
    that fails after others succeeded releases them, and the whole group goes together in a later sweep.
    """
    claimed: list[Due] = []
    for due in group:
        try:
            ports.queue.claim(due, claim)
            claimed.append(due)
        except LostRace:
            report.lost_races += 1
        except (Throttled, DependencyFailed) as error:
            logger.warning("sweep group put back before sending", extra={"error": error.message})
            _Attempt(claimed, claim, ports, report).retry(error.message)
            return []
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
    except PermanentSendError as error:
        attempt.give_up(str(error), "EmailFailed")
    except TransientSendError as error:
        attempt.release_contact()
        attempt.retry(str(error))
    except (Throttled, DependencyFailed) as error:
        # AWS trouble before SES took the email: put the items back to try again (counted, so never forever).
        logger.warning("sweep group put back", extra={"error": error.message, "sending": attempt.sending})
        if not attempt.sending:
            attempt.release_contact()
            attempt.retry(error.message)
    except Exception as error:
        # This group's data cannot be sent (or a bug): fail its items with the reason; everyone else proceeds.
        logger.exception(
            "sweep group failed", extra={"store_id": claimed[0].store_id, "sending": attempt.sending}
        )
        if not attempt.sending:
            attempt.give_up(f"could not prepare the email ({type(error).__name__})", "EmailBroken")


@dataclass
class _Attempt:
    """One customer's claimed items on their way to one email, and what to do when that fails."""

    claimed: list[Due]
    claim: str
    ports: Ports
    report: Report
    store: Store | None = None
    reserved_at: datetime | None = None
    sending: bool = False

    def run(self) -> None:
        ports = self.ports
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
            store, items, ports.signing_key, ports.settings.base_url, _return_order(store, items, orders)
        )
        self.sending = True
        message_id = ports.mailer.send(message)
        self.report.emails += 1
        metrics.add_metric(name="EmailSent", unit="Count", value=1)
        self._record_sent(ready, message_id, message)

    def _ready(self, store: Store, orders: Orders) -> list[Due]:
        ready: list[Due] = []
        for due in self.claimed:
            reason = _skip_reason(due, self.ports, store, orders)
            if reason:
                self.ports.queue.finish(due, self.claim, OutreachStatus.SKIPPED, reason)
                self.report.skip(reason)
            else:
                ready.append(due)
        return ready

    def _skip_all(self, ready: list[Due], reason: str) -> None:
        for due in ready:
            self.ports.queue.finish(due, self.claim, OutreachStatus.SKIPPED, reason)
        self.report.skip(reason, len(ready))

    def _reserve(self, store: Store, email: str, ready: list[Due]) -> bool:
        """The frequency cap: one conditional write on the customer record; capped items wait their turn."""
        now = self.ports.clock.now()
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
            # never earlier than it was due (an item sent ahead of time by ``send_now`` keeps its time)
            waits = max(until, due.due_at)
            self.ports.queue.release(
                due, self.claim, waits, f"frequency cap: waits until {clock.isoformat(waits)}"
            )
        self.report.deferred += len(ready)
        metrics.add_metric(name="EmailDeferredByCap", unit="Count", value=len(ready))
        return False

    def _record_sent(self, ready: list[Due], message_id: str, message: Email) -> None:
        sent_at = self.ports.clock.now()
        for due in ready:
            try:
                _throttled_again(
                    self.ports.queue.sent,
                    due,
                    self.claim,
                    message_id,
                    _reminder_at(due, sent_at),
                    message.headers["Message-ID"],
                    message.subject,
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
        """Give the customer's contact slot back: no email went out."""
        if self.store is not None and self.reserved_at is not None:
            _quietly(
                self.ports.customers.release_contact, self.store.id, self.claimed[0].email, self.reserved_at
            )

    def give_up(self, reason: str, metric: str) -> None:
        """Fail every item still claimed with ``reason``; they leave the queue and show in the plan."""
        self.release_contact()
        failed = 0
        for due in self._still_claimed():
            _quietly(self.ports.queue.finish, due, self.claim, OutreachStatus.FAILED, reason)
            failed += 1
        self.report.failed += failed
        metrics.add_metric(name=metric, unit="Count", value=failed)

    def retry(self, reason: str) -> None:
        """Put every item still claimed back for a later try, or fail it after the allowed attempts."""
        for due in self._still_claimed():
            attempts = due.attempts + 1
            if attempts >= self.ports.settings.max_attempts:
                note = f"gave up after {attempts} attempts: {reason}"
                _quietly(self.ports.queue.finish, due, self.claim, OutreachStatus.FAILED, note, attempts)
                self.report.failed += 1
                metrics.add_metric(name="EmailGaveUp", unit="Count", value=1)
            else:
                until = self.ports.clock.now() + RETRY_BACKOFF * 2 ** (attempts - 1)
                note = f"attempt {attempts} failed ({reason}); retry at {clock.isoformat(until)}"
                _quietly(self.ports.queue.release, due, self.claim, until, note, attempts)
                self.report.retried += 1

    def _still_claimed(self) -> list[Due]:
        return [due for due in self.claimed if due.status == OutreachStatus.SENDING]


def _reminder_at(due: Due, sent_at: datetime) -> datetime | None:
    """When a first review request's reminder comes due, if it has one."""
    seconds = due.item.get("reminder_after_seconds")
    if due.kind == OutreachKind.REVIEW and seconds and not due.reminder_of:
        return sent_at + timedelta(seconds=int(seconds))
    return None


def _quietly(action: Callable[..., None], *args: Any) -> None:
    try:
        _throttled_again(action, *args)
    except (LostRace, AftercareError):
        logger.warning("could not record an outreach transition; its lease will surface it")


def _throttled_again(action: Callable[..., None], *args: Any, tries: int = 4) -> None:
    """``action``, tried again after a short wait while DynamoDB throttles it: a transition left unrecorded
    strands its items until their lease runs out (then failed, never sent)."""
    for attempt in range(tries):
        try:
            action(*args)
            return
        except Throttled:
            if attempt == tries - 1:
                raise
            time.sleep(0.02 * 2**attempt)


def _read_shard(ports: Ports, shard: int, report: Report) -> tuple[list[Due], list[Due]]:
    """One batch of a shard's due items: (everything read, the pending ones). Expired claims are failed
    (never re-sent)."""
    due_items = ports.queue.due(shard, ports.clock.now(), ports.settings.batch)
    report.read += len(due_items)
    pending: list[Due] = []
    for due in due_items:
        if due.status == OutreachStatus.SENDING:
            _quietly(ports.queue.interrupted, due)
            report.failed += 1
            metrics.add_metric(name="EmailInterrupted", unit="Count", value=1)
        elif due.status == OutreachStatus.PENDING:
            pending.append(due)
    return due_items, pending


def _guarded(group: list[Due], ports: Ports) -> Report:
    """One group's own report; ``_send_group`` isolates its failures, this guards against the unforeseen."""
    report = Report()
    try:
        _send_group(group, ports, report)
    except Exception:
        logger.exception("sweep group failed")
        metrics.add_metric(name="SweepGroupFailed", unit="Count", value=1)
    return report


@dataclass
class _Worker:
    """One shard's worker: its report (shared by its threads, so guarded) and when it must stop."""

    ports: Ports
    shard: int
    remaining_ms: Callable[[], int] | None
    report: Report = field(default_factory=lambda: Report(workers=1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def must_stop(self) -> bool:
        out_of_time = self.remaining_ms is not None and self.remaining_ms() < TIME_MARGIN_MS
        with self.lock:
            return out_of_time or self.report.emails >= self.ports.settings.max_emails

    def send(self, group: list[Due]) -> bool:
        """Send one group unless the worker must stop (then it waits for the next run); whether sent."""
        if self.must_stop():
            with self.lock:
                self.report.left_for_next_run += len(group)
            return False
        done = _guarded(group, self.ports)
        with self.lock:
            self.report.add(done)
        return True

    def run(self) -> Report:
        concurrency = self.ports.settings.concurrency
        seen: set[tuple[str, str, str]] = set()
        pool = ThreadPoolExecutor(concurrency, f"sweep-{self.shard}") if concurrency > 1 else None
        try:
            while True:
                read, pending = _read_shard(self.ports, self.shard, self.report)
                keys = {(d.pk, d.sk, str(d.item.get("due_key"))) for d in read}
                if not read or keys <= seen:
                    break  # nothing due, or only what this worker already tried (and could not move)
                seen |= keys
                groups = _groups(pending)
                sent = list(pool.map(self.send, groups)) if pool else [self.send(g) for g in groups]
                if not all(sent) or len(read) < self.ports.settings.batch:
                    break  # out of time or emails, or the shard has nothing more due
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        return self.report


def work(ports: Ports, shard: int, remaining_ms: Callable[[], int] | None = None) -> Report:
    """One worker's run over one shard of the due index, sending up to ``concurrency`` groups at once.
    ``remaining_ms`` is the Lambda's remaining time (unlimited when absent)."""
    if not 0 <= shard < ports.queue.shards:
        raise ValueError(f"shard {shard} is not one of the {ports.queue.shards} shards of the due index")
    report = _Worker(ports, shard, remaining_ms).run()
    logger.info("sweep worker finished", extra={"shard": shard, "report": report.__dict__})
    return report


class Workers(Protocol):
    """Where the coordinator's shards are worked on."""

    def start(self, shards: Sequence[int], remaining_ms: Callable[[], int] | None) -> Report:
        """Hand each shard to a worker; the report of what was done here (``workers``: how many)."""
        ...


@dataclass
class ThreadWorkers:
    """Every shard's worker as a thread of this process, waited for (the local stack and tests)."""

    ports: Ports

    def start(self, shards: Sequence[int], remaining_ms: Callable[[], int] | None) -> Report:
        report = Report()
        if len(shards) == 1:
            report.add(work(self.ports, shards[0], remaining_ms))
            return report
        with ThreadPoolExecutor(len(shards), "sweep-worker") as pool:
            for done in pool.map(lambda shard: work(self.ports, shard, remaining_ms), shards):
                report.add(done)
        return report


def coordinate(shards: int, workers: Workers, remaining_ms: Callable[[], int] | None = None) -> Report:
    """The scheduled run: every shard of the due index to its own worker."""
    report = workers.start(list(range(shards)), remaining_ms)
    logger.info("sweep started its workers", extra={"report": report.__dict__})
    return report


@dataclass(frozen=True)
class Held:
    """Why a customer must not be emailed now, found before anything is claimed (so nothing changes)."""

    reason: str  # "suppressed" or "frequency cap"
    detail: str  # the suppression's reason, or when the cap lets the next email go (ISO)


def held_back(ports: Ports, store_id: str, email: str) -> Held | None:
    """The sweep's suppression and frequency-cap rules, read without claiming or reserving anything."""
    if not email:
        return None  # the send path skips it ("no email") and says so
    store = ports.stores.get(store_id, cached=True)
    suppressed = _suppression(store, email, ports)
    if suppressed:
        return Held("suppressed", suppressed)
    profile = ports.customers.get(store.id, customer_key(email)) or {}
    last = str(profile.get("last_contacted_at") or "")
    if last:
        until = clock.parse_iso(last) + store.config.outreach.frequency_cap
        if until > ports.clock.now():
            return Held("frequency cap", clock.isoformat(until))
    return None


def send_now(ports: Ports, group: list[Due]) -> Report:
    """Send one customer's pending items now, before they are due, as one email, through the sweep's
    own path: the conditional claim (so a sweep running at the same time never sends them too), the skip
    rules, suppression, the atomic frequency-cap reservation, compose, send, record. Check ``held_back``
    first to refuse without changing anything; a cap reached in between defers them as the sweep does,
    never earlier than they were due."""
    report = Report()
    report.read = len(group)
    try:
        _send_group(group, ports, report)
    except Exception:  # _send_group isolates its own failures; this guards the caller against the unforeseen
        logger.exception("send now failed")
        metrics.add_metric(name="SweepGroupFailed", unit="Count", value=1)
    return report


def run(ports: Ports, remaining_ms: Callable[[], int] | None = None) -> Report:
    """One whole sweep in this process: every shard's worker in its own thread (tests, the local stack)."""
    return coordinate(ports.queue.shards, ThreadWorkers(ports), remaining_ms)


__all__ = [
    "Held",
    "Ports",
    "Report",
    "ThreadWorkers",
    "Workers",
    "coordinate",
    "held_back",
    "run",
    "send_now",
    "work",
]
