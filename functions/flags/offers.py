"""Staff offers from a flag: a refund, return or replacement of the flagged item, started as a return.

A staff decision is never refused by the store's return policy, but an offer outside it must be
confirmed; the page shows beforehand whether an offer is possible and what the policy would say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.flags.models import OfferKind, OfferMade
from functions.flags.staff import Refused, StaffView, claim, log_action
from functions.shared.errors import NotFound

if TYPE_CHECKING:
    from functions.flags.ports import Ports
    from functions.orders.models import LineItem, OrderFacts
    from functions.orders.store import StoredOrder
    from functions.shared.i18n import Translator

NO_LINES = "staff_offer_no_lines"  # catalog keys of why no offer is possible
NOTHING_LEFT = "staff_offer_nothing_left"


@dataclass(frozen=True)
class OfferContext:
    """What a staff offer on this flag would return: the order line, and how the policy sees it."""

    line_item_id: str | None
    problem: str  # why no offer is possible at all, in English (empty: possible)
    warnings: list[str]  # why the store's policy would refuse a customer asking for the same
    refusal: Refused | None = field(default=None, compare=False)  # the problem, to say in any language

    def said(self, t: Translator) -> str:
        """Why no offer is possible, in ``t``'s language (empty: possible)."""
        return self.refusal.said(t) if self.refusal is not None else self.problem

    def warnings_said(self, t: Translator) -> str:
        """The policy's warnings, in ``t``'s language, as one text."""
        from functions.returns.wording import policy_said

        return " ".join(policy_said(t, warning) for warning in self.warnings)


def _unavailable(line_item_id: str | None, key: str, **keys: str) -> OfferContext:
    refusal = Refused(key, keys=keys)
    return OfferContext(line_item_id, refusal.message, [], refusal)


def _closed_key(facts: OrderFacts) -> str:
    """Why nothing of the order can be offered any more, as a catalog key (``ledger.closed_because``)."""
    if facts.cancelled_at is not None:
        return "staff_offer_order_cancelled"
    if facts.fully_refunded_at is not None:
        return "staff_offer_order_refunded"
    return "staff_offer_all_held"


def _flagged_line(view: StaffView, stored: StoredOrder | None) -> LineItem | None:
    if stored is None or stored.facts.items is None:
        return None
    product = view.flag.get("product") or {}
    return next((i for i in stored.facts.items.items if i.product_key == product.get("id")), None)


def _delivered_at(view: StaffView, stored: StoredOrder) -> datetime | None:
    facts = stored.facts
    if facts.delivered_at or not facts.fulfilled_at:
        return facts.delivered_at
    return facts.fulfilled_at + view.store.config.outreach.transit_time


def offer_context(view: StaffView, ports: Ports) -> OfferContext:
    from functions.orders import ledger
    from functions.returns import policy

    stored = ports.orders.get_order(view.store.id, str(view.flag["order_id"]))
    line = _flagged_line(view, stored)
    if stored is None or line is None:
        return _unavailable(None, NO_LINES)
    if ledger.returnable(stored.facts, stored.ledger).get(line.id, 0) < 1:
        return _unavailable(line.id, NOTHING_LEFT, why=_closed_key(stored.facts))
    described = [{"name": line.name, "product_type": line.product_type}]
    warnings = policy.outside_policy(
        described, view.store.config, _delivered_at(view, stored), ports.clock.now()
    )
    return OfferContext(line.id, "", warnings)


def _offerable(view: StaffView, kind: str, ports: Ports, outside_policy_ok: bool) -> tuple[OfferKind, str]:
    """The offer's kind and line item, or ``ActionRefused`` saying why it cannot be made."""
    if kind not in set(OfferKind):
        raise Refused("staff_error_choose_offer")
    context = offer_context(view, ports)
    if context.problem or context.line_item_id is None:
        raise context.refusal or Refused(NO_LINES)
    if context.warnings and not outside_policy_ok:
        raise Refused("staff_error_outside_policy", words={"warnings": context.warnings_said})
    return OfferKind(kind), context.line_item_id


def offer(
    view: StaffView, kind: str, note: str, action_id: str, ports: Ports, *, outside_policy_ok: bool = False
) -> OfferMade:
    """Offer a refund, return or replacement of the flagged item: the units are held, the workflow starts."""
    from functions.orders import ledger
    from functions.returns.service import Requested, known_return_id
    from functions.returns.wording import problem_said

    offered, line_item_id = _offerable(view, kind, ports, outside_policy_ok)
    claim(view, action_id, ports)
    requested = Requested(
        return_id=known_return_id(ports.returns, view.store.id, view.flag_id, offered.value),
        order_id=str(view.flag["order_id"]),
        lines={line_item_id: 1},
        outcome=offered.value,
        reason=f"offered by staff: {note or 'no note'}",
        source="staff",
        extra={"flag_id": view.flag_id},
    )
    try:
        started = ports.returns.start(view.store, requested, view.actor)
    except (ledger.NotReturnable, NotFound) as refused:
        ports.flags.release_action(view.store.id, view.flag_id, action_id)
        why = refused.message
        raise Refused("staff_error_offer_failed", words={"reason": lambda t: problem_said(t, why)}) from None
    action = {"action": f"offer {offered.value}", "text": note[:1000], "return_id": started["return_id"]}
    log_action(view, action, ports, reply=False, resolve=False)
    return OfferMade(offered, started["return_id"])


def offered_returns(view: StaffView, ports: Ports) -> list[dict[str, Any]]:
    """Returns offered from this flag, with their audit trail, for the page."""
    found = []
    for action in view.flag.get("actions") or []:
        if action.get("return_id"):
            request, steps = ports.returns.get(view.store.id, str(action["return_id"]))
            if request is not None:
                found.append({"request": request, "steps": steps})
    return found
