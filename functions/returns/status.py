"""The customer's return status page: where their return stands, step by step, behind a signed link.

Every customer email about a return carries a fresh link (``links.RETURN_STATUS``: signed for the store,
scoped to that one return, expiring). The page only shows: it changes nothing, so a mail scanner opening
it is harmless.
Steps, in the order a return goes through them: requested -> the store's decision -> the items sent back
-> received by the store -> refunded (or the replacement or store credit); sending back and receiving
only when the items must come back. Dates are the simulated clock's, in the customer's language and the
store's timezone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.returns.models import Outcome, ReturnRequest, Status, Waiting
from functions.shared import clock, links
from functions.shared.i18n import Translator, format_date

if TYPE_CHECKING:
    from functions.returns.ports import Ports
    from functions.stores.models import Store

# What the page says of a return's state (catalog keys), by status.
NOW = {
    Status.REQUESTED: "rt_now_checking",
    Status.IN_PROGRESS: "rt_now_checking",
    Status.AWAITING_APPROVAL: "rt_now_deciding",
    Status.AWAITING_ITEM: "rt_now_send",
    Status.REFUND_FAILED: "rt_now_paying",
    Status.RETRYING_REFUND: "rt_now_paying",
    Status.COMPLETED: "rt_now_completed",
    Status.REFUSED: "rt_now_refused",
    Status.REJECTED: "rt_now_rejected",
    Status.NOT_RECEIVED: "rt_now_not_received",
    Status.EXPIRED: "rt_now_expired",
}
DONE_STEP = {o.value: f"rt_step_done_{o.value}" for o in Outcome}
STOPPED = {  # statuses that end a return early: the step they stop at, and what it is called then
    Status.REFUSED: ("decision", "rt_step_refused", ("not eligible",)),
    Status.REJECTED: ("decision", "rt_step_refused", ("rejected",)),
    Status.EXPIRED: ("decision", "rt_step_closed", ("expired", "approval timed out")),
    Status.NOT_RECEIVED: ("send", "rt_step_closed", ("parcel timed out",)),
}


def link(ports: Ports, store: Store, return_id: str) -> str:
    """A fresh status link for one return (each email mints its own)."""
    kind = links.RETURN_STATUS
    return kind.url(ports.base_url, kind.mint(ports.signing_key(), store.id, {"r": return_id}))


@dataclass(frozen=True)
class Step:
    label: str
    when: str  # "on 4 December 2026", "by 25 December 2026" or empty
    state: str  # done, current, todo or stopped


def _first(steps: list[dict[str, Any]], *names: str) -> datetime | None:
    for step in steps:
        if step.get("step") in names:
            return clock.parse_iso(str(step["at"]))
    return None


def return_by(request: ReturnRequest) -> datetime | None:
    """By when the items should reach the store (kept on the request once it was approved)."""
    if request.item.get("return_by"):
        return clock.parse_iso(str(request.item["return_by"]))
    return None


class _Dates:
    def __init__(self, t: Translator, store: Store) -> None:
        self.t, self.zone = t, store.config.timezone

    def day(self, moment: datetime | None) -> str:
        return format_date(moment, self.t.language, self.zone) if moment else ""

    def on(self, moment: datetime | None) -> str:
        return self.t("rt_status_on", date=self.day(moment)) if moment else ""

    def by(self, moment: datetime | None) -> str:
        return self.t("rt_status_by", date=self.day(moment)) if moment else ""


def steps_of(t: Translator, store: Store, request: ReturnRequest, audit: list[dict[str, Any]]) -> list[Step]:
    """The return's steps as the customer sees them, the current one marked."""
    dates = _Dates(t, store)
    status = request.status
    decision = request.decision
    needs_return = bool(decision.get("needs_return", True))
    asked = request.item.get("requested_at")
    requested = clock.parse_iso(str(asked)) if asked else None
    approved = _first(audit, "approved")
    if approved is None and decision.get("auto_approve"):
        approved = _first(audit, "eligible")
    received = _first(audit, "received")
    done = _first(audit, "refund issued")
    rows: list[tuple[str, str, datetime | None, bool]] = [  # name, label, date, reached
        ("requested", "rt_step_requested", requested, True),
        ("decision", "rt_step_approved" if approved else "rt_step_decision", approved, approved is not None),
    ]
    if needs_return:
        rows.append(("send", "rt_step_send", None, received is not None))
        rows.append(("received", "rt_step_received", received, received is not None))
    completed = status == Status.COMPLETED or done is not None
    rows.append(("done", DONE_STEP.get(request.outcome, "rt_step_done_refund"), done, completed))

    stopped = STOPPED.get(Status(status)) if status in set(Status) else None
    result: list[Step] = []
    current_marked = False
    closed = status in {Status.NOT_REFUNDED, Status.SETTLED, Status.WORKFLOW_ERROR}
    for name, label, when, reached in rows:
        if stopped and name == stopped[0]:
            result.append(Step(t(stopped[1]), dates.on(_first(audit, *stopped[2])), "stopped"))
            break
        if reached:
            result.append(Step(t(label), dates.on(when), "done"))
        elif not current_marked and not closed:
            current_marked = True
            result.append(Step(t(label), _due(dates, name, request, store, audit), "current"))
        else:
            result.append(Step(t(label), "", "todo"))
    return result


def _due(dates: _Dates, name: str, request: ReturnRequest, store: Store, audit: list[dict[str, Any]]) -> str:
    """By when the current step should happen, where Aftercare knows it."""
    if name == "decision" and request.waiting_for == Waiting.APPROVAL and request.item.get("wait_deadline"):
        return dates.by(clock.parse_iso(str(request.item["wait_deadline"])))
    if name == "send":
        return dates.by(return_by(request))
    return ""


def summary(t: Translator, store: Store, request: ReturnRequest, audit: list[dict[str, Any]]) -> str:
    """One sentence saying where the return stands and what, if anything, the customer should do."""
    from functions.returns import wording

    status = request.status
    key = NOW.get(Status(status), "rt_now_handled") if status in set(Status) else "rt_now_handled"
    dates = _Dates(t, store)
    if key == "rt_now_send" and _first(audit, "received"):
        key = "rt_now_paying"
    config = store.config
    values: dict[str, Any] = {
        "outcome": t(f"outcome_{request.outcome}"),
        "reason": wording.policy_said(t, str(request.decision.get("reason") or "")),
        "address": config.returns.return_address or config.postal_address,
        "id": request.return_id,
    }
    if key == "rt_now_deciding":
        deadline = request.item.get("wait_deadline")
        values["date"] = dates.day(clock.parse_iso(str(deadline))) if deadline else ""
    return t(key, **values)
