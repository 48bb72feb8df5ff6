"""Return policy: is a request eligible, does it need staff approval, must the item come back? Pure logic."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from functions.returns.models import Outcome
from functions.shared import clock
from functions.stores.models import StoreConfig

if TYPE_CHECKING:
    from functions.orders.models import OrderFacts


@dataclass
class Decision:
    eligible: bool
    reason: str = ""
    auto_approve: bool = False
    needs_return: bool = True
    amount: Decimal = Decimal("0")
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "eligible": self.eligible,
            "reason": self.reason,
            "auto_approve": self.auto_approve,
            "needs_return": self.needs_return,
            "amount": str(self.amount),
            "notes": self.notes,
        }


def amount_of(items: list[dict[str, Any]]) -> Decimal:
    return sum((Decimal(str(i.get("price") or 0)) * int(i.get("quantity") or 1) for i in items), Decimal("0"))


def outside_policy(
    items: list[dict[str, Any]], config: StoreConfig, delivered_at: datetime | None, now: datetime
) -> list[str]:
    """Why the store's return policy would refuse these items, in words a customer understands."""
    policy = config.returns
    problems = []
    blocked_types = {t.lower() for t in policy.non_returnable_types}
    blocked = [
        str(i.get("name") or i.get("product_id"))
        for i in items
        if (i.get("product_type") or "").lower() in blocked_types
    ]
    if blocked:
        problems.append(
            f"{', '.join(blocked)} cannot be returned (the store does not take back "
            f"{'this kind' if len(blocked) == 1 else 'these kinds'} of product)."
        )
    if delivered_at is not None and now > delivered_at + policy.window:
        closed = clock.isoformat(delivered_at + policy.window)[:10]
        problems.append(f"The {policy.window.days}-day return window closed on {closed}.")
    return problems


def delivered_at(facts: OrderFacts, config: StoreConfig) -> datetime | None:
    """When the order reached the customer: delivered, or fulfilled plus the store's transit time."""
    if facts.delivered_at is not None:
        return facts.delivered_at
    return facts.fulfilled_at + config.outreach.transit_time if facts.fulfilled_at else None


def decide(
    request: dict[str, Any], config: StoreConfig, delivered_at: datetime | None, now: datetime
) -> Decision:
    """The policy's answer for a request; an ineligible one says why in words a customer understands.

    A staff offer is a decision the store already made: it is never refused by the policy (the staff
    page warns before an offer outside it), and needs no approval.
    """
    items = list(request.get("items") or [])
    if not items:
        return Decision(False, "The request names no items to return.")
    by_staff = request.get("source") == "staff"
    problems = outside_policy(items, config, delivered_at, now)
    if problems and not by_staff:
        return Decision(False, problems[0])
    amount = Decimal(str(request["amount"])) if request.get("amount") is not None else amount_of(items)
    outcome = str(request.get("outcome", Outcome.REFUND))
    keep_it = _keeps_item(config, amount, outcome, by_staff)
    auto = by_staff or amount < config.returns.auto_approve_below
    notes = [f"outside the return policy, offered by staff anyway: {p}" for p in problems]
    notes.extend(_notes(config, keep_it, by_staff, auto))
    return Decision(True, "", auto_approve=auto, needs_return=not keep_it, amount=amount, notes=notes)


def _keeps_item(config: StoreConfig, amount: Decimal, outcome: str, by_staff: bool) -> bool:
    """Whether the customer keeps the item (too cheap to send back, or a staff refund without return)."""
    if by_staff and outcome in (Outcome.REFUND, Outcome.RETURN):
        return outcome == Outcome.REFUND  # staff chose: a refund now, or a refund once the item is back
    return amount < config.returns.keep_it_below and outcome != Outcome.RETURN


def _notes(config: StoreConfig, keep_it: bool, by_staff: bool, auto: bool) -> list[str]:
    policy = config.returns
    notes = []
    if keep_it:
        notes.append(f"below {policy.keep_it_below} {config.currency}: the customer keeps the item")
    if by_staff:
        notes.append("offered by staff, so approved")
    elif auto:
        notes.append(f"below {policy.auto_approve_below} {config.currency}: approved automatically")
    return notes
