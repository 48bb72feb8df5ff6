"""The store's request history: every review request, NPS survey and reminder with its state and reason,
newest first, searchable by order and by customer email; and what a person may do to a pending one
(cancel it, or send it now), each noted in the item's ``history`` with who did it.

No HTTP here: the workspace's route parses the request, calls one function and renders the answer.

* Listing: the ``by_store`` index, one month partition at a time, newest first, at most ``MONTHS``
  months back (the table keeps finished outreach two years); by email: ``by_customer`` (a hash of the
  normalised address); by order: the order's own partition (``for_order``).
* Cursor: a token signed for the store (``functions.shared.tokens``, purpose ``CURSOR``, 12 hours), its
  claims the month and last index key read and a digest of the search, re-validated when it comes back;
  one that fails either check is ``BadCursor`` (the page says so and starts again from the newest).
* Send now goes through ``sweep.send_now``: the sweep's claim, skip rules, suppression and frequency cap.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from functions.customers.store import normalise_email
from functions.outreach import sweep
from functions.outreach.models import Due, Listing, OutreachStatus, Position
from functions.outreach.ports import HistoryPorts
from functions.outreach.store import (
    INTERRUPTED,
    MONTH,
    LostRace,
    customer_index_key,
    month_of,
    outreach_pk,
    previous_month,
    store_month,
)
from functions.shared import clock, tokens

PAGE_SIZE = 25
MONTHS = 24  # how far back the history looks (the retention period: older items have left the table)
CURSOR = "workspace-requests-cursor"
CURSOR_TTL = timedelta(hours=12)
MAX_CURSOR = 2048
MAX_SEARCH = 254  # the longest email address
MAX_ORDER_ID = 256
SIBLINGS = 50  # a customer's recent items read to find the others due now (sent in the same email)
STAFF_CANCEL = "cancelled in the workspace"

_OUTREACH_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}$")


class BadSearch(ValueError):
    """What was typed cannot be an order number or an email address."""


class BadCursor(ValueError):
    """A page cursor that does not verify for this store and search, has expired, or does not fit."""


class BadTarget(ValueError):
    """A form naming a request that cannot exist (bad order or outreach id)."""


# ---------------------------------------------------------------------------------------- searching


@dataclass(frozen=True)
class Search:
    """What a person typed in the search box, trimmed: empty (everything), an email, or an order."""

    text: str = ""

    @property
    def mode(self) -> str:
        if not self.text:
            return "all"
        return "email" if "@" in self.text else "order"

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.mode}:{self.text.casefold()}".encode()).hexdigest()[:16]


def parse_search(text: str | None) -> Search:
    """The search a query string asks for; ``BadSearch`` for text no order or address could be."""
    cleaned = (text or "").strip()
    if len(cleaned) > MAX_SEARCH or _CONTROL.search(cleaned):
        raise BadSearch("too long or contains control characters")
    if "@" in cleaned and not _EMAIL.fullmatch(cleaned):
        raise BadSearch("not an email address")
    return Search(cleaned)


def check_target(order_id: str | None, outreach_id: str | None) -> tuple[str, str]:
    """The (order id, outreach id) a form names, validated; ``BadTarget`` otherwise."""
    order, outreach = (order_id or "").strip(), (outreach_id or "").strip()
    if not order or len(order) > MAX_ORDER_ID or _CONTROL.search(order):
        raise BadTarget("order")
    if not _OUTREACH_ID.fullmatch(outreach):
        raise BadTarget("outreach")
    return order, outreach


# ---------------------------------------------------------------------------------------- what is shown


@dataclass(frozen=True)
class Reason:
    """Why an item is in its state: a catalog key for a known phrase, and the text as it was stored.

    ``exact`` is true when the key says all the text says (otherwise the stored text is shown as well).
    """

    text: str
    key: str | None = None
    exact: bool = False


KNOWN_REASONS = {
    "no email": "rq_reason_no_email",
    "no customer email yet": "rq_reason_no_email",
    "answered": "rq_reason_answered",
    "too late": "rq_reason_too_late",
    "test order": "rq_reason_test_order",
    "order cancelled": "rq_reason_order_cancelled",
    "order refunded": "rq_reason_order_refunded",
    "every item refunded": "rq_reason_every_item_refunded",
    "no line items yet": "rq_reason_no_items",
    "not fulfilled yet": "rq_reason_not_fulfilled",
    "item refunded or returned": "rq_reason_item_refunded",
    "return open": "rq_reason_return_open",
    "unsubscribed": "rq_reason_unsubscribed",
    "bounced": "rq_reason_bounced",
    "complained": "rq_reason_complained",
    "suppressed": "rq_reason_suppressed",
    INTERRUPTED: "rq_reason_interrupted",
    STAFF_CANCEL: "rq_reason_staff",
}
REASON_PREFIXES = [
    ("replanned", "rq_reason_replanned"),
    ("too late", "rq_reason_too_late"),
    ("could not prepare the email", "rq_reason_not_prepared"),
    ("gave up after", "rq_reason_gave_up"),
    ("frequency cap", "rq_reason_capped"),
    ("attempt ", "rq_reason_retrying"),
]


def translate_reason(text: str) -> Reason:
    """The catalog key of a reason the system writes (a fixed phrase, or one starting a longer note)."""
    phrase = text.removeprefix("cancelled: ")
    if phrase in KNOWN_REASONS:
        return Reason(text, KNOWN_REASONS[phrase], exact=True)
    for prefix, key in REASON_PREFIXES:
        if phrase.startswith(prefix):
            return Reason(text, key, exact=phrase == prefix)
    return Reason(text)


def _reason_text(item: dict[str, Any]) -> str | None:
    status = item.get("status")
    if status == OutreachStatus.CANCELLED:
        return str(item.get("cancel_reason") or item.get("reason") or "") or None
    if status in (OutreachStatus.SKIPPED, OutreachStatus.FAILED):
        return str(item.get("reason") or "") or None
    if status == OutreachStatus.PENDING:
        notes = [str(entry.get("note") or "") for entry in item.get("history") or []]
        if notes and notes[-1].startswith(("frequency cap", "attempt ")):
            return notes[-1]  # waiting again: held back by the cap, or retried after a failure
    return None


def reason_of(item: dict[str, Any]) -> Reason | None:
    text = _reason_text(item)
    return translate_reason(text) if text else None


_ISO = r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z)"
KNOWN_NOTES = [
    (re.compile(rf"^planned for {_ISO}$"), "rq_note_planned"),
    (re.compile(rf"^planned again for {_ISO}$"), "rq_note_planned_again"),
    (re.compile(rf"^rescheduled for {_ISO} \(\w+ time\)$"), "rq_note_rescheduled"),
    (re.compile(rf"^reminder planned for {_ISO} unless answered$"), "rq_note_reminder_planned"),
    (re.compile(rf"^frequency cap: waits until {_ISO}$"), "rq_note_capped"),
]


@dataclass(frozen=True)
class Entry:
    """One line of an item's history; ``by`` and ``action`` when a person did it. A note the system
    writes in a known form has a catalog ``key`` (and the moment it names, ``when``)."""

    at: datetime
    status: str
    note: str
    by: str | None = None
    action: str | None = None
    key: str | None = None
    when: datetime | None = None

    @classmethod
    def of(cls, entry: dict[str, Any], at: datetime) -> Entry:
        note = str(entry.get("note") or "")
        by, action = entry.get("by"), entry.get("action")
        status = str(entry.get("status") or "")
        for pattern, key in KNOWN_NOTES:
            if found := pattern.fullmatch(note):
                return cls(at, status, note, by, action, key, _when(found.group(1)))
        if note.startswith("sent as "):
            return cls(at, status, note, by, action, "rq_note_sent")
        reason = translate_reason(note)
        return cls(at, status, note, by, action, reason.key if reason.exact else None)


def _when(text: Any) -> datetime | None:
    try:
        return clock.parse_iso(str(text)) if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Request:
    """One outreach item as the history page shows it."""

    order_id: str
    order_name: str
    outreach_id: str
    kind: str  # review, nps or reminder
    status: str
    customer_name: str
    customer_email: str
    products: list[str]
    due_at: datetime | None
    sent_at: datetime | None
    planned_at: datetime | None
    reason: Reason | None
    history: list[Entry] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        return self.status == OutreachStatus.PENDING

    @classmethod
    def of(cls, item: dict[str, Any]) -> Request:
        customer = item.get("customer") or {}
        return cls(
            order_id=str(item["order_id"]),
            order_name=str(item.get("order_name") or item["order_id"]),
            outreach_id=str(item["outreach_id"]),
            kind="reminder" if item.get("reminder_of") else str(item.get("kind") or "review"),
            status=str(item["status"]),
            customer_name=str(customer.get("name") or ""),
            customer_email=str(customer.get("email") or ""),
            products=_product_names(item),
            due_at=_when(item.get("due_at")),
            sent_at=_when(item.get("sent_at")),
            planned_at=_when(item.get("planned_at") or item.get("created_at")),
            reason=reason_of(item),
            history=_entries(item),
        )


def _product_names(item: dict[str, Any]) -> list[str]:
    return [str(p.get("name") or p.get("product_id") or "") for p in item.get("products") or []]


def _entries(item: dict[str, Any]) -> list[Entry]:
    return [Entry.of(h, at) for h in item.get("history") or [] if (at := _when(h.get("at"))) is not None]


@dataclass(frozen=True)
class Page:
    requests: list[Request]
    search: Search
    next_cursor: str | None
    now: datetime
    months: int = MONTHS
    queries: int = 0
    first: bool = True  # the newest page of this search (no cursor given)


# ---------------------------------------------------------------------------------------- cursors


def _oldest_month(now: datetime) -> str:
    month = month_of(now)
    for _ in range(MONTHS - 1):
        month = previous_month(month)
    return month


def _encode(ports: HistoryPorts, store_id: str, search: Search, position: Position) -> str:
    claims = {"q": search.digest, "m": position.month, "k": position.key}
    return tokens.sign(
        ports.sweep.signing_key, purpose=CURSOR, store_id=store_id, ttl=CURSOR_TTL, claims=claims
    )


def _valid_key(key: Any, store_id: str, search: Search, month: str | None) -> bool:
    """An index key this store's listing could have handed out: its own items, its own partition."""
    if not isinstance(key, dict) or not all(isinstance(v, str) and len(v) <= 1200 for v in key.values()):
        return False
    if not str(key.get("pk", "")).startswith(f"{store_id}#") or "sk" not in key or "planned_key" not in key:
        return False
    if search.mode == "email":
        wanted = {"customer_key": customer_index_key(store_id, search.text)}
    else:
        wanted = {"store_month": store_month(store_id, str(month))}
    return set(key) == {"pk", "sk", "planned_key", *wanted} and all(key[k] == v for k, v in wanted.items())


def decode_cursor(ports: HistoryPorts, store_id: str, search: Search, text: str, now: datetime) -> Position:
    """The position a cursor stands for; ``BadCursor`` unless it verifies and fits this listing."""
    if len(text) > MAX_CURSOR:
        raise BadCursor("too long")
    try:
        token = tokens.verify(ports.sweep.signing_key, text, purpose=CURSOR, store_id=store_id)
    except tokens.TokenError as error:
        raise BadCursor(str(error)) from None
    month, key = token.claims.get("m"), token.claims.get("k")
    if token.claims.get("q") != search.digest or search.mode == "order":
        raise BadCursor("made for another search")
    if search.mode == "all" and not (
        isinstance(month, str) and MONTH.fullmatch(month) and _oldest_month(now) <= month <= month_of(now)
    ):
        raise BadCursor("month out of range")
    if key is not None and not _valid_key(key, store_id, search, month):
        raise BadCursor("key does not belong to this listing")
    return Position(month if search.mode == "all" else None, key)


# ---------------------------------------------------------------------------------------- listing


def _by_order(ports: HistoryPorts, store_id: str, text: str) -> list[dict[str, Any]]:
    """The items of the order typed (as typed, and without a leading ``#``), newest first."""
    if len(text) > MAX_ORDER_ID:
        return []
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for order_id in dict.fromkeys([text, text.lstrip("#").strip()]):
        if order_id:
            for item in ports.history.for_order(store_id, order_id):
                found[(str(item["pk"]), str(item["sk"]))] = item
    return sorted(
        found.values(), key=lambda i: str(i.get("planned_key") or i.get("created_at") or ""), reverse=True
    )


def _listing(
    ports: HistoryPorts, store_id: str, search: Search, start: Position | None, now: datetime
) -> Listing:
    if search.mode == "order":
        return Listing(_by_order(ports, store_id, search.text), None, 1)
    if search.mode == "email":
        return ports.history.for_customer(store_id, normalise_email(search.text), PAGE_SIZE, start)
    return ports.history.history_page(store_id, PAGE_SIZE, start, _oldest_month(now))


def list_requests(ports: HistoryPorts, store_id: str, search: Search, cursor: str | None = None) -> Page:
    """One page of the store's requests for ``search``, newest first; ``BadCursor`` for a bad cursor."""
    now = ports.sweep.clock.now()
    start = decode_cursor(ports, store_id, search, cursor, now) if cursor else None
    listing = _listing(ports, store_id, search, start, now)
    items = [item for item in listing.items if item.get("store_id") == store_id]  # belt and braces
    next_cursor = _encode(ports, store_id, search, listing.next) if listing.next else None
    return Page(
        [Request.of(item) for item in items],
        search,
        next_cursor,
        now,
        queries=listing.queries,
        first=not cursor,
    )


# ---------------------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class Outcome:
    """What became of a person's action: ``code`` names the message, ``values`` fill it."""

    code: str
    ok: bool = False
    values: dict[str, str] = field(default_factory=dict)
    request: Request | None = None


def _find(ports: HistoryPorts, store_id: str, order_id: str, outreach_id: str) -> dict[str, Any] | None:
    item = ports.history.get(outreach_pk(store_id, order_id), outreach_id)
    return item if item is not None and item.get("store_id") == store_id else None


def cancel(ports: HistoryPorts, store_id: str, order_id: str, outreach_id: str, by: str) -> Outcome:
    """Cancel a pending request for good (a re-plan never brings it back), noting who did it."""
    item = _find(ports, store_id, order_id, outreach_id)
    if item is None:
        return Outcome("not_found")
    if item.get("status") != OutreachStatus.PENDING:
        return Outcome("not_pending", values={"status": str(item.get("status"))}, request=Request.of(item))
    try:
        updated = ports.history.cancel_pending(str(item["pk"]), str(item["sk"]), by, STAFF_CANCEL)
    except LostRace:
        latest = _find(ports, store_id, order_id, outreach_id) or item
        status = str(latest.get("status"))
        return Outcome("lost_race", values={"status": status}, request=Request.of(latest))
    return Outcome("cancelled", ok=True, request=Request.of(updated))


def _siblings(ports: HistoryPorts, item: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    """The same customer's other pending items in this store already due: the sweep would send them in
    the same email, so "send now" does too (and the frequency cap does not hold them back a week)."""
    email = str((item.get("customer") or {}).get("email") or "")
    if not email:
        return []
    listing = ports.history.for_customer(str(item["store_id"]), normalise_email(email), SIBLINGS)
    return [
        other
        for other in listing.items
        if (other["pk"], other["sk"]) != (item["pk"], item["sk"])
        and other.get("status") == OutreachStatus.PENDING
        and other.get("due_key")
        and (_when(other.get("due_at")) or now) <= now
    ]


def _audited(ports: HistoryPorts, items: list[dict[str, Any]], by: str) -> list[Due]:
    """Note "send now" in each item's history, the asked-for one first; items no longer pending as they
    were read are left out (and when the asked-for one is, nothing else is touched)."""
    group: list[Due] = []
    for item in items:
        try:
            ports.history.record_action(
                str(item["pk"]), str(item["sk"]), str(item["due_key"]), by, "send_now", f"send now by {by}"
            )
        except LostRace:
            if not group:
                return []
            continue
        group.append(Due(item))
    return group


def _sent_outcome(
    ports: HistoryPorts, store_id: str, order_id: str, outreach_id: str, report: sweep.Report
) -> Outcome:
    """What the send path made of the request, read back from the table."""
    item = _find(ports, store_id, order_id, outreach_id)
    if item is None:
        return Outcome("not_found")
    request, status = Request.of(item), str(item.get("status"))
    reason = request.reason.text if request.reason else ""
    if status == OutreachStatus.SENT and report.emails:
        return Outcome("sent", ok=True, request=request)
    if report.lost_races and not report.emails:
        return Outcome("lost_race", values={"status": status}, request=request)
    if status == OutreachStatus.PENDING:
        code = "deferred" if report.deferred else "retry"
        return Outcome(code, values={"until": str(item.get("due_at") or "")}, request=request)
    if status in (OutreachStatus.SKIPPED, OutreachStatus.FAILED):
        return Outcome(status, values={"reason": reason}, request=request)
    return Outcome("lost_race", values={"status": status}, request=request)


def send_now(ports: HistoryPorts, store_id: str, order_id: str, outreach_id: str, by: str) -> Outcome:
    """Send a pending request now through the sweep's path; refused, changing nothing, when the customer
    is suppressed or the frequency cap holds them back."""
    item = _find(ports, store_id, order_id, outreach_id)
    if item is None:
        return Outcome("not_found")
    if item.get("status") != OutreachStatus.PENDING or not item.get("due_key"):
        return Outcome("not_pending", values={"status": str(item.get("status"))}, request=Request.of(item))
    email = str((item.get("customer") or {}).get("email") or "")
    held = sweep.held_back(ports.sweep, store_id, email)
    if held is not None:
        code = "suppressed" if held.reason == "suppressed" else "capped"
        return Outcome(code, values={"detail": held.detail}, request=Request.of(item))
    now = ports.sweep.clock.now()
    group = _audited(ports, [item, *_siblings(ports, item, now)], by)
    if not group:
        latest = _find(ports, store_id, order_id, outreach_id) or item
        return Outcome("lost_race", values={"status": str(latest.get("status"))}, request=Request.of(latest))
    report = sweep.send_now(ports.sweep, group)
    return _sent_outcome(ports, store_id, order_id, outreach_id, report)
