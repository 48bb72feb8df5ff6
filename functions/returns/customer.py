"""The customer's return page: what their link shows, and their request from it.

A page view is bound to the customer's link by a signed request id; the request id also names the
return (``return_id_for``), so a double click or a resubmitted form is the same return.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from functions.orders import ledger
from functions.returns import reasons
from functions.returns.models import CUSTOMER_OUTCOMES, Requested
from functions.returns.service import ReturnableItem, known_return_id, returnable_items, start
from functions.shared import links
from functions.shared.errors import NotFound

if TYPE_CHECKING:
    from functions.orders.models import Customer, OrderFacts
    from functions.returns.ports import Ports
    from functions.shared.tokens import Token
    from functions.stores.models import Store


@dataclass(frozen=True)
class CustomerView:
    """What the customer's link opens: their order's returnable items, or why nothing can be returned."""

    token: Token
    store: Store
    facts: OrderFacts
    customer: Customer | None
    items: list[ReturnableItem]
    nothing: str  # see ``service.returnable_items``: empty when something may be returned

    @property
    def order_label(self) -> str:
        return self.facts.name or self.facts.order_id


def customer_view(ports: Ports, token_text: str) -> CustomerView:
    """Open the customer's link; ``tokens.TokenError`` or ``NotFound`` when it opens nothing."""
    token = links.RETURN.open(ports.signing_key(), token_text)
    store = ports.stores.get(token.store_id, cached=True)
    order_id = str(token.claims.get("o", ""))
    stored = ports.orders.get_order(store.id, order_id)
    if stored is None or stored.facts.items is None:
        raise NotFound("the order this link belongs to does not exist")
    facts = stored.facts
    rows, nothing = returnable_items(store, facts, stored.ledger, ports.clock.now())
    customer = facts.customer.customer if facts.customer else None
    return CustomerView(token, store, facts, customer, rows, nothing)


@dataclass(frozen=True)
class ReturnForm:
    """What the customer posted: the page's request id, the units ticked, the outcome and reason."""

    request_id: str
    lines: dict[str, int]
    outcome: str
    reason: str
    details: str
    not_returnable: tuple[str, ...] = ()  # names of ticked items the store does not take back

    @classmethod
    def parse(cls, form: dict[str, list[str]], items: list[ReturnableItem]) -> ReturnForm:
        def first(name: str, default: str = "") -> str:
            return (form.get(name) or [default])[0]

        return cls(
            request_id=first("request_id")[:80],
            lines=_chosen_lines(form, items),
            outcome=first("outcome", "refund"),
            reason=first("reason"),
            details=first("details")[:2000],
            not_returnable=tuple(
                row.name for row in items if row.blocked and f"item-{row.line_item_id}" in form
            ),
        )


def _chosen_lines(form: dict[str, list[str]], items: list[ReturnableItem]) -> dict[str, int]:
    """Line item id -> units the customer ticked, each clamped to what is still returnable."""
    lines = {}
    for row in items:
        if f"item-{row.line_item_id}" in form and row.left > 0:
            raw = (form.get(f"quantity-{row.line_item_id}") or ["1"])[0].strip()
            quantity = int(raw) if raw.isdigit() and len(raw) <= 5 else 1
            lines[row.line_item_id] = max(1, min(quantity, row.left))
    return lines


class Refusal(StrEnum):
    FORM_EXPIRED = "form expired"  # the request id is not one this link's page issued
    BLOCKED = "blocked"  # the order closed, the window closed or nothing is left
    NOTHING_SELECTED = "nothing selected"  # no units, or an outcome the page does not offer
    NOT_RETURNABLE = "not returnable"  # an item the store does not take back (the page never offers it)
    NO_REASON = "no reason"  # a reason the store does not offer
    ALREADY_REQUESTED = "already requested"  # the units went into another return meanwhile


class RequestRefused(Exception):
    def __init__(self, why: Refusal, names: tuple[str, ...] = ()) -> None:
        super().__init__(str(why))
        self.why = why
        self.names = names  # the items a NOT_RETURNABLE refusal is about


def ask(ports: Ports, view: CustomerView, form: ReturnForm) -> str:
    """Start the customer's return (the same form again is the same return); its id.

    Raises ``RequestRefused`` saying why nothing was started.
    """
    if not request_id_valid(ports.signing_key(), view.token.token_id, form.request_id):
        raise RequestRefused(Refusal.FORM_EXPIRED)
    store = view.store
    return_id = known_return_id(ports.returns, store.id, view.facts.order_id, "customer", form.request_id)
    existing, _ = ports.returns.get(store.id, return_id)
    if existing is not None:  # the same form again (a double click, a resubmit): the same answer
        return return_id
    if view.nothing:  # everything was returned meanwhile, the order closed, or time ran out
        raise RequestRefused(Refusal.BLOCKED)
    if form.not_returnable:
        raise RequestRefused(Refusal.NOT_RETURNABLE, form.not_returnable)
    if not form.lines or form.outcome not in CUSTOMER_OUTCOMES:
        raise RequestRefused(Refusal.NOTHING_SELECTED)
    reason = reasons.accepted(store.config.returns.reasons, form.reason)
    if reason is None:
        raise RequestRefused(Refusal.NO_REASON)
    requested = Requested(
        return_id=return_id,
        order_id=view.facts.order_id,
        lines=form.lines,
        outcome=form.outcome,
        reason=reason,
        source="customer",
        extra={"details": form.details},
    )
    email = view.customer.email if view.customer and view.customer.email else ""
    try:
        started = start(store, requested, ports, f"customer {email}".strip())
    except ledger.NotReturnable:
        raise RequestRefused(Refusal.ALREADY_REQUESTED) from None
    return started["return_id"]


def issue_request_id(signing_key: bytes, token_id: str) -> str:
    """A return request id for one view of the return page, bound to the customer's link by a signature."""
    nonce = secrets.token_hex(8)
    return f"{nonce}.{_request_signature(signing_key, token_id, nonce)}"


def request_id_valid(signing_key: bytes, token_id: str, value: str) -> bool:
    nonce, _, signature = value.partition(".")
    if len(nonce) != 16 or not signature:
        return False
    expected = _request_signature(signing_key, token_id, nonce)
    return hmac.compare_digest(expected.encode(), signature.encode("ascii", "replace"))


def _request_signature(signing_key: bytes, token_id: str, nonce: str) -> str:
    message = f"return-request/{token_id}/{nonce}".encode()
    return hmac.new(signing_key, message, hashlib.sha256).hexdigest()[:24]
