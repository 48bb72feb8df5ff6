"""The inbox: what needs a person in this store now, and the way into each item's existing page.

Open flags come from the Flags table's ``open_by_store`` index (by SLA deadline, so the most overdue
first); returns that need a person come from the Returns table's sparse ``attention`` index (awaiting
approval, or the refund failed; oldest first). Nothing is scanned.

Each row opens the page its email would have opened (the staff page of a flag, the approval page of a
return) through a link minted for this session's person at the moment of the click, so inside a session
no link expires: the minted link lives as long as the session has left, never longer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from functions.flags import emails as flag_emails
from functions.returns import wording
from functions.shared import clock, links
from functions.shared.errors import NotFound

if TYPE_CHECKING:
    from functions.shared.i18n import Translator
    from functions.workspace.ports import Ports
    from functions.workspace.session import Session

MAX_FLAGS = 100
MAX_RETURNS = 50
MIN_LINK_LIFE = timedelta(minutes=5)
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


@dataclass(frozen=True)
class FlagRow:
    flag_id: str
    kind: str  # review | nps
    score: int
    product: str
    order: str
    customer: str
    reasons: list[str]  # in the store's language (``functions.flags.emails.reasons``)
    deadline: datetime
    overdue: bool  # past its deadline without a reply
    escalated: bool
    replied_at: datetime | None  # a reply stops the SLA clock; the flag stays open until resolved


@dataclass(frozen=True)
class ReturnRow:
    return_id: str
    order: str
    status: str  # awaiting approval | failed: refund not issued
    outcome: str
    amount: str
    currency: str
    reason: str  # in the store's language, a reason the store wrote as written; empty when none
    requested_at: datetime
    decide_by: datetime | None
    problem: str  # why the refund failed, in the store's language (stored in English by the workflow)

    @property
    def refund_failed(self) -> bool:
        return self.status.startswith("failed")


@dataclass(frozen=True)
class Inbox:
    flags: list[FlagRow]
    returns: list[ReturnRow]

    @property
    def overdue(self) -> int:
        return sum(1 for row in self.flags if row.overdue)

    @property
    def empty(self) -> bool:
        return not self.flags and not self.returns


def inbox(store_id: str, currency: str, ports: Ports, t: Translator) -> Inbox:
    """Open flags (most overdue first) and the returns that need a person (oldest first), what they say
    in ``t``'s language (the store's)."""
    now = ports.clock.now()
    flags = [_flag_row(flag, now, t) for flag in ports.flags.list(store_id, "open", now, MAX_FLAGS)]
    attention = ports.returns.needing_attention(store_id, MAX_RETURNS)
    returns = [_return_row(item, currency, t) for item in attention]
    return Inbox(flags=flags, returns=returns)


def _flag_row(flag: dict[str, Any], now: datetime, t: Translator) -> FlagRow:
    deadline = clock.parse_iso(str(flag["sla_deadline"]))
    replied = flag.get("first_reply_at")
    customer = flag.get("customer") or {}
    return FlagRow(
        flag_id=str(flag["flag_id"]),
        kind=str(flag.get("kind", "review")),
        score=int(flag.get("score", 0)),
        product=str((flag.get("product") or {}).get("name") or ""),
        order=str(flag.get("order_name") or flag.get("order_id") or ""),
        customer=str(customer.get("name") or customer.get("email") or ""),
        reasons=flag_emails.reasons(t, flag),
        deadline=deadline,
        overdue=not replied and deadline <= now,
        escalated=bool(flag.get("escalated_at")),
        replied_at=clock.parse_iso(str(replied)) if replied else None,
    )


def _return_row(item: dict[str, Any], currency: str, t: Translator) -> ReturnRow:
    reason = str(item.get("reason") or "")
    problem = str(item.get("refund_problem") or "")
    waiting = item.get("wait_deadline") if item.get("waiting_for") == "approval" else None
    return ReturnRow(
        return_id=str(item["return_id"]),
        order=str(item.get("order_name") or item.get("order_id") or ""),
        status=str(item.get("status", "")),
        outcome=str(item.get("outcome", "")),
        amount=str(item.get("amount") or "0"),
        currency=str(item.get("currency") or currency),
        reason=wording.reason_said(t, reason) if reason else "",
        requested_at=clock.parse_iso(str(item["requested_at"])),
        decide_by=clock.parse_iso(str(waiting)) if waiting else None,
        problem=wording.problem_said(t, problem) if problem else "",
    )


def _link_kind(kind: links.LinkKind, session: Session, now: datetime) -> links.LinkKind:
    """The link kind with a lifetime of what the session has left (so a link never outlives it)."""
    return replace(kind, ttl=max(session.token.expires_at - now, MIN_LINK_LIFE))


def flag_page(session: Session, flag_id: str, ports: Ports) -> str:
    """The staff page of one of this store's flags, for this session's person; ``NotFound`` otherwise."""
    if not _ID.fullmatch(flag_id) or ports.flags.get(session.store_id, flag_id) is None:
        raise NotFound("no such flag in this store")
    kind = _link_kind(links.STAFF, session, ports.clock.now())
    token = kind.mint(ports.signing_key(), session.store_id, {"f": flag_id, "a": session.email})
    return kind.action(token)


def return_page(session: Session, return_id: str, ports: Ports) -> str:
    """The approval page of one of this store's returns, for this session's person; ``NotFound`` otherwise."""
    if not _ID.fullmatch(return_id):
        raise NotFound("no such return in this store")
    request, _ = ports.returns.get(session.store_id, return_id)
    if request is None:
        raise NotFound("no such return in this store")
    kind = _link_kind(links.RETURN_APPROVAL, session, ports.clock.now())
    token = kind.mint(ports.signing_key(), session.store_id, {"r": return_id, "a": session.email})
    return kind.action(token)
