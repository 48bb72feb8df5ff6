"""The order's quantity ledger: how much of each line item may still be returned or refunded. Pure logic.

The money promise lives here: per line item, the units Aftercare holds for returns and refunds plus the
units the platform refunded on its own never exceed the units bought, whatever the channel (customer
page, staff offer, store return event) and whatever the request id. A *claim* holds units for one
return from the moment it is requested; it is released when the return ends without a refund and kept
when the refund is issued. The ledger lives on the order item and every change is one conditional
write on the order's version (``OrderRepository.change_ledger``), so two requests can never both take
the last unit, and a platform refund and a claim are always judged against the same facts.

A platform refund whose id equals the reference a store's refund endpoint returned for one of our
refunds is that same refund coming back as a webhook (an *echo*), and is not counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from functions.orders.models import OrderFacts
from functions.shared.errors import AftercareError

OPEN = "open"  # held: the return is under way
REFUNDING = "refunding"  # the store's refund endpoint is being called
REFUNDED = "refunded"  # the store confirmed the refund (or replacement, credit)
REFUND_FAILED = "refund failed"  # the call failed; the units stay held until staff retry or settle it
SETTLED = "settled"  # staff settled a failed refund outside Aftercare: the units stay counted for good
RELEASED = "released"  # ended without a refund: the units are returnable again
HOLDING = frozenset({OPEN, REFUNDING, REFUNDED, REFUND_FAILED, SETTLED})
DONE = frozenset({REFUNDED, SETTLED})  # the customer has been paid (or given what they chose) for these


class NotReturnable(AftercareError):
    """What was asked for is not (or no longer) returnable; ``left`` maps line ids to what is."""

    code = "not_returnable"

    def __init__(self, message: str, left: dict[str, int] | None = None) -> None:
        super().__init__(message)
        self.left = dict(left or {})


class OrderClosed(NotReturnable):
    """The order was cancelled or fully refunded: nothing more may be returned or refunded."""

    code = "order_closed"


@dataclass(frozen=True)
class Claim:
    return_id: str
    lines: dict[str, int]
    amount: Decimal  # what the customer paid for these units
    source: str
    state: str
    at: str
    reference: str = ""

    def as_item(self) -> dict[str, Any]:
        return {
            "lines": dict(self.lines),
            "amount": str(self.amount),
            "source": self.source,
            "state": self.state,
            "at": self.at,
            "reference": self.reference,
        }

    @classmethod
    def from_item(cls, return_id: str, data: dict[str, Any]) -> Claim:
        return cls(
            return_id=return_id,
            lines={str(k): int(v) for k, v in (data.get("lines") or {}).items()},
            amount=Decimal(str(data.get("amount") or "0")),
            source=str(data.get("source") or ""),
            state=str(data.get("state") or OPEN),
            at=str(data.get("at") or ""),
            reference=str(data.get("reference") or ""),
        )


@dataclass(frozen=True)
class Ledger:
    claims: dict[str, Claim] = field(default_factory=dict)

    def as_item(self) -> dict[str, Any]:
        return {"claims": {rid: claim.as_item() for rid, claim in self.claims.items()}}

    @classmethod
    def from_item(cls, data: dict[str, Any] | None) -> Ledger:
        claims = (data or {}).get("claims") or {}
        return cls({str(rid): Claim.from_item(str(rid), value) for rid, value in claims.items()})

    def with_claim(self, claim: Claim) -> Ledger:
        return Ledger({**self.claims, claim.return_id: claim})


def closed_because(facts: OrderFacts) -> str | None:
    if facts.cancelled_at is not None:
        return "the order was cancelled"
    if facts.fully_refunded_at is not None:
        return "the order was refunded in full"
    return None


def _add(total: dict[str, int], lines: dict[str, int]) -> None:
    for line, quantity in lines.items():
        total[line] = total.get(line, 0) + quantity


def purchased(facts: OrderFacts) -> dict[str, int]:
    bought: dict[str, int] = {}
    for item in facts.items.items if facts.items else []:
        bought[item.id] = bought.get(item.id, 0) + item.quantity
    return bought


def platform_refunded(facts: OrderFacts, ledger: Ledger) -> dict[str, int]:
    """Units the platform refunded, leaving out echoes of refunds Aftercare asked the store for."""
    ours = {c.reference for c in ledger.claims.values() if c.state == REFUNDED and c.reference}
    refunded: dict[str, int] = {}
    for refund_id, lines in facts.refunds.items():
        if refund_id not in ours:
            _add(refunded, lines)
    return refunded


def held(ledger: Ledger, *, besides: str | None = None) -> dict[str, int]:
    total: dict[str, int] = {}
    for claim in ledger.claims.values():
        if claim.state in HOLDING and claim.return_id != besides:
            _add(total, claim.lines)
    return total


def returnable(facts: OrderFacts, ledger: Ledger, *, besides: str | None = None) -> dict[str, int]:
    """Units of each line item that may still be returned (never negative; zero once the order closed)."""
    bought = purchased(facts)
    if closed_because(facts):
        return dict.fromkeys(bought, 0)
    platform = platform_refunded(facts, ledger)
    holding = held(ledger, besides=besides)
    return {
        line: max(0, quantity - platform.get(line, 0) - holding.get(line, 0))
        for line, quantity in bought.items()
    }


def amount_for(facts: OrderFacts, lines: dict[str, int]) -> Decimal:
    """What the customer paid for these units (unit price times quantity; unknown prices count 0)."""
    prices = {item.id: item.price or Decimal("0") for item in (facts.items.items if facts.items else [])}
    return sum((prices.get(line, Decimal("0")) * quantity for line, quantity in lines.items()), Decimal("0"))


def _check_available(facts: OrderFacts, ledger: Ledger, lines: dict[str, int], besides: str | None) -> None:
    why = closed_because(facts)
    if why:
        raise OrderClosed(f"Nothing can be returned: {why}.")
    left = returnable(facts, ledger, besides=besides)
    unknown = [line for line in lines if line not in left]
    if unknown:
        raise NotReturnable(f"The order has no line item {', '.join(sorted(unknown))}.", left)
    short = {line: left[line] for line, quantity in lines.items() if quantity > left[line]}
    if short:
        described = ", ".join(f"{line}: {count} left" for line, count in sorted(short.items()))
        raise NotReturnable(f"Already returned or refunded ({described}).", left)


def reserve(
    facts: OrderFacts, ledger: Ledger, return_id: str, lines: dict[str, int], source: str, at: str
) -> Ledger:
    """Hold ``lines`` for a new return. The same return id again changes nothing."""
    if not lines or any(quantity < 1 for quantity in lines.values()):
        raise NotReturnable("Choose at least one unit of one item.")
    existing = ledger.claims.get(return_id)
    if existing is not None:
        if existing.lines != lines:
            raise NotReturnable("This return request was already made with other items.")
        return ledger
    _check_available(facts, ledger, lines, besides=None)
    claim = Claim(return_id, dict(lines), amount_for(facts, lines), source, OPEN, at)
    return ledger.with_claim(claim)


def release(ledger: Ledger, return_id: str) -> Ledger:
    """The return ended without a refund: its units are returnable again (a refunded claim stays)."""
    claim = ledger.claims.get(return_id)
    if claim is None or claim.state in {RELEASED, REFUNDING} | DONE:
        return ledger
    return ledger.with_claim(replace(claim, state=RELEASED))


def settle(ledger: Ledger, return_id: str) -> Ledger:
    """Staff settled a failed refund in the store's own admin: the units stay counted, never returnable again.

    Settling means the customer was paid or compensated some way Aftercare cannot see (a refund in the
    platform's admin, store credit, cash at the till), so the units are done with. If the settlement
    comes back as a platform refund it is counted too: that can only leave fewer units returnable,
    never more, and staff decide such a case by hand (decision 69).
    """
    claim = ledger.claims.get(return_id)
    if claim is None or claim.state != REFUND_FAILED:
        return ledger
    return ledger.with_claim(replace(claim, state=SETTLED))


def begin_refund(facts: OrderFacts, ledger: Ledger, return_id: str) -> Ledger:
    """Check again, at the last moment, that these units may be refunded; mark the call under way.

    Refuses when the order was cancelled or refunded in full since, or when the platform refunded the
    units on its own meanwhile. A claim already refunded is returned unchanged (never refunded twice).
    """
    claim = ledger.claims.get(return_id)
    if claim is None:
        raise NotReturnable("This return holds no items on the order.")
    if claim.state == REFUNDED:
        return ledger
    if claim.state == RELEASED:
        raise NotReturnable("This return was closed; its items were released.")
    if claim.state == SETTLED:
        raise NotReturnable("Staff settled this return outside Aftercare.")
    _check_available(facts, ledger, claim.lines, besides=return_id)
    return ledger.with_claim(replace(claim, state=REFUNDING))


def refund_done(ledger: Ledger, return_id: str, reference: str) -> Ledger:
    claim = ledger.claims.get(return_id)
    if claim is None:
        raise NotReturnable("This return holds no items on the order.")
    if claim.state == REFUNDED:
        return ledger  # recorded once; the first reference stays
    return ledger.with_claim(replace(claim, state=REFUNDED, reference=reference[:200]))


def refund_failed(ledger: Ledger, return_id: str) -> Ledger:
    claim = ledger.claims.get(return_id)
    if claim is None or claim.state != REFUNDING:
        return ledger
    return ledger.with_claim(replace(claim, state=REFUND_FAILED))


def summary(facts: OrderFacts, ledger: Ledger) -> list[dict[str, Any]]:
    """Per line item: bought, refunded by the store, held or refunded by Aftercare, still returnable."""
    platform = platform_refunded(facts, ledger)
    left = returnable(facts, ledger)
    rows = []
    for item in facts.items.items if facts.items else []:
        ours = {
            state: sum(c.lines.get(item.id, 0) for c in ledger.claims.values() if c.state == state)
            for state in (OPEN, REFUNDING, REFUNDED, REFUND_FAILED, SETTLED)
        }
        rows.append(
            {
                "line_item_id": item.id,
                "name": item.name,
                "purchased": item.quantity,
                "refunded_by_store": platform.get(item.id, 0),
                "in_returns": ours[OPEN] + ours[REFUNDING] + ours[REFUND_FAILED],
                "returned": ours[REFUNDED] + ours[SETTLED],
                "returnable": left.get(item.id, 0),
            }
        )
    return rows
