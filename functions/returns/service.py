"""Returns and refunds: start a request (customer, staff or store), decide on it, resume its workflow.

Every request is one item in the Returns table with its audit steps beside it; a Step Functions
execution (named after the request, so a repeated start is the same execution) carries it through
eligibility, approval, the parcel and the store's refund call. Deadlines (approval, parcel) are kept on
the item and enforced by a schedule with Aftercare's clock, so the local stack's clock moves through them.

Every function takes the capability's ``Ports``; none knows about HTTP or DynamoDB.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from functions.orders import ledger
from functions.returns import policy
from functions.returns.models import Requested, ReturnRequest, StaffAction, Status, Waiting
from functions.returns.store import SHARDS, Conflict
from functions.shared import clock, isolation
from functions.shared.errors import NotFound
from functions.shared.observability import metrics

if TYPE_CHECKING:
    from functions.orders.models import LineItem, OrderFacts, ReturnEvent
    from functions.returns.ports import Ports
    from functions.stores.models import Store

__all__ = [  # what flags, webhooks and outreach use
    "Requested",
    "ReturnableItem",
    "Started",
    "UnusableReturn",
    "known_return_id",
    "return_id_for",
    "returnable_items",
    "start",
    "store_return_event",
]


class Started(TypedDict):
    """The answer to a start: the return's id and status, and whether it was the same request again."""

    return_id: str
    status: str
    duplicate: bool


class UnusableReturn(Exception):
    """A store's return event that cannot be applied; ``field`` and ``problem`` say why."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def return_id_for(store_id: str, *parts: str) -> str:
    """The request number of the return these parts name: ``ret-`` and 16 decimal digits.

    Digits, because customers write the number on the parcel's slip and staff read it aloud, and
    because a run of hex letters inside Cyrillic or Georgian text reads to spam filters as mixed
    scripts. ``known_return_id`` also finds a return numbered the earlier, hexadecimal way.
    """
    digest = hashlib.sha256("/".join((store_id, *parts)).encode()).digest()
    return f"ret-{int.from_bytes(digest[:8], 'big') % 10**16:016d}"


def _hex_return_id(store_id: str, *parts: str) -> str:
    """The request number versions before decision 64 gave (``ret-`` and 16 hex digits)."""
    return "ret-" + hashlib.sha256("/".join((store_id, *parts)).encode()).hexdigest()[:16]


class _ReturnReader(Protocol):
    def get(self, store_id: str, return_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]: ...


def known_return_id(returns: _ReturnReader, store_id: str, *parts: str) -> str:
    """The id of the return these parts name: its earlier hexadecimal number when such a return exists.

    A store's later event about a return, a resubmitted form or a repeated offer that arrives after an
    upgrade then still finds the return it is about instead of starting a second one.
    """
    earlier = _hex_return_id(store_id, *parts)
    found, _ = returns.get(store_id, earlier)
    return earlier if found is not None else return_id_for(store_id, *parts)


# ------------------------------------------------------------------------------ start


def start(store: Store, requested: Requested, ports: Ports, actor: str) -> Started:
    """Hold the units on the order's ledger, record the request and start its workflow.

    The same request again changes nothing. Raises ``ledger.NotReturnable`` (or ``OrderClosed``) when
    the units are not there to return, and ``NotFound`` for an order Aftercare never saw: nothing is
    recorded then.
    """
    now = clock.isoformat(ports.clock.now())
    facts, _ = ports.orders.change_ledger(
        store.id,
        requested.order_id,
        lambda f, led: ledger.reserve(f, led, requested.return_id, requested.lines, requested.source, now),
    )
    known = _running(ports, store.id, requested.return_id)
    if known is not None:  # the same request again: nothing changes
        return known
    created = _record(ports, store, requested, facts, now, actor)
    known = _running(ports, store.id, requested.return_id)
    if known is not None:
        return known
    arn = ports.workflow.start(requested.return_id, _workflow_input(store, requested.return_id, retry=False))
    ports.returns.update(store.id, requested.return_id, {"execution_arn": arn, "status": Status.IN_PROGRESS})
    metrics.add_metric(name="ReturnStarted", unit="Count", value=1)
    return Started(return_id=requested.return_id, status=Status.IN_PROGRESS, duplicate=not created)


def _running(ports: Ports, store_id: str, return_id: str) -> Started | None:
    """The answer for a request whose workflow runs already (None while it has none)."""
    known, _ = ports.returns.get(store_id, return_id)
    if known is None or not ReturnRequest(known).has_workflow:
        return None
    return Started(return_id=return_id, status=str(known.get("status")), duplicate=True)


def _record(
    ports: Ports, store: Store, requested: Requested, facts: OrderFacts, now: str, actor: str
) -> bool:
    """Write the request (and its first audit step); False when it was written before."""
    request = {
        **requested.extra,
        "return_id": requested.return_id,
        "order_id": requested.order_id,
        "order_name": facts.name,
        "items": _priced_items(facts, requested.lines),
        "amount": str(ledger.amount_for(facts, requested.lines)),
        "currency": facts.currency or store.config.currency,
        "outcome": requested.outcome,
        "reason": requested.reason,
        "source": requested.source,
        "customer": facts.customer.customer.model_dump() if facts.customer else None,
        "store_id": store.id,
        "status": Status.REQUESTED,
        "requested_at": now,
    }
    keep = store.config.retention.returns
    created = ports.returns.create(request, keep=keep)
    if created:
        ports.returns.step(
            store.id,
            requested.return_id,
            actor,
            "requested",
            f"{requested.outcome} requested for {sum(requested.lines.values())} item(s)",
            keep=keep,
            reason=requested.reason,
        )
    return created


def _workflow_input(store: Store, return_id: str, *, retry: bool) -> dict[str, Any]:
    policy = store.config.returns
    safety = int(policy.approval_timeout.total_seconds() + policy.return_timeout.total_seconds()) * 3
    return {
        "store_id": store.id,
        "return_id": return_id,
        "safety_timeout_seconds": safety,
        "retry_refund": retry,
    }


def _priced_items(facts: OrderFacts, lines: dict[str, int]) -> list[dict[str, Any]]:
    """The request's items as the order describes them: names, types and prices come from the order."""
    by_id = {item.id: item for item in (facts.items.items if facts.items else [])}
    gone = sorted(line for line in lines if line not in by_id)
    if gone:  # the order was edited since these units were held
        raise ledger.NotReturnable(f"The order no longer has line item {', '.join(gone)}.")
    return [
        {
            "product_id": by_id[line].product_key,
            "line_item_id": line,
            "name": by_id[line].name,
            "product_type": by_id[line].product_type,
            "quantity": quantity,
            "price": str(by_id[line].price or 0),
        }
        for line, quantity in lines.items()
    ]


# ------------------------------------------------------------------------------ the store's own events


def store_return_event(store: Store, event: ReturnEvent, ports: Ports) -> dict[str, Any]:
    """A store's own return event: start the return it requested, or resume the one whose parcel arrived.

    Raises ``UnusableReturn`` naming the field when the event cannot be applied (unknown order or line
    items, nothing left to return, a return not waiting for its parcel).
    """
    return_id = event.aftercare_id or known_return_id(
        ports.returns, store.id, "store", str(event.store_return_id)
    )
    if event.kind == "received":
        order_id = _parcel_arrived(store, return_id, ports)
        return {"status": "accepted", "return_id": return_id, "order_id": order_id, "duplicate": False}
    lines: dict[str, int] = {}
    for line in event.lines:
        lines[line.line_item_id] = lines.get(line.line_item_id, 0) + line.quantity
    requested = Requested(
        return_id=return_id,
        order_id=str(event.order_id),
        lines=lines,
        outcome=event.outcome,
        reason=event.reason,
        source="store",
        extra={"store_return_id": event.store_return_id},
    )
    try:
        started = start(store, requested, ports, f"store {store.id}")
    except NotFound:
        raise UnusableReturn("return.order_id", f"Aftercare has no order {event.order_id}") from None
    except ledger.NotReturnable as refused:
        raise UnusableReturn("return.items", refused.message) from None
    return {
        "status": "accepted",
        "return_id": return_id,
        "order_id": requested.order_id,
        "duplicate": bool(started.get("duplicate")),
    }


def _parcel_arrived(store: Store, return_id: str, ports: Ports) -> Any:
    known, _ = ports.returns.get(store.id, return_id)
    if known is None:
        raise UnusableReturn("return.id", f"Aftercare has no return {return_id}")
    try:
        parcel_received(store, return_id, ports)
    except Conflict:
        raise UnusableReturn("return.id", f"return {return_id} is not waiting for its parcel") from None
    return known["order_id"]


# ------------------------------------------------------------------------------ waiting and deciding


def decide(store: Store, return_id: str, approve: bool, staff: str, note: str, ports: Ports) -> None:
    """A staff member approves or rejects from their link; a second decision is a ``Conflict``."""
    token = ports.returns.resume(store.id, return_id, Waiting.APPROVAL)
    ports.workflow.resume(token, {"approved": approve, "by": staff, "note": note})
    ports.returns.step(
        store.id,
        return_id,
        staff,
        "approved" if approve else "rejected",
        note or "no note",
        keep=store.config.retention.returns,
    )


def parcel_received(store: Store, return_id: str, ports: Ports) -> None:
    """The store reports the returned item arrived (``return.received``)."""
    token = ports.returns.resume(store.id, return_id, Waiting.PARCEL)
    ports.workflow.resume(token, {"received": True, "at": clock.isoformat(ports.clock.now())})
    ports.returns.step(
        store.id,
        return_id,
        f"store {store.id}",
        "received",
        "the store received the returned item",
        keep=store.config.retention.returns,
    )


def staff_actions(request: dict[str, Any]) -> list[StaffAction]:
    """What staff may do with a return in its current state."""
    if request.get("waiting_for") == Waiting.APPROVAL:
        return [StaffAction.APPROVE, StaffAction.REJECT]
    if request.get("status") == Status.REFUND_FAILED:
        return [StaffAction.RETRY_REFUND, StaffAction.SETTLE]
    return []


def act(store: Store, return_id: str, action: StaffAction, actor: str, note: str, ports: Ports) -> None:
    """Carry out a staff member's choice on the approval page; ``Conflict`` when the return moved on."""
    if action in (StaffAction.APPROVE, StaffAction.REJECT):
        decide(store, return_id, action == StaffAction.APPROVE, actor, note, ports)
    elif action == StaffAction.RETRY_REFUND:
        retry_refund(store, return_id, actor, ports)
    else:
        settle(store, return_id, actor, note, ports)


def retry_refund(store: Store, return_id: str, actor: str, ports: Ports) -> str:
    """Staff ask to call the store's refund endpoint again (same idempotency key); returns the run name."""
    request, _ = ports.returns.get(store.id, return_id)
    if request is None:
        raise NotFound(f"no return {return_id}")
    attempt = int(request.get("refund_retries", 0)) + 1
    ports.returns.update(
        store.id,
        return_id,
        {"status": Status.RETRYING_REFUND, "refund_retries": attempt},
        only_if_status=Status.REFUND_FAILED,
    )
    ports.returns.step(
        store.id,
        return_id,
        actor,
        "refund retried",
        f"retry {attempt} asked for by staff",
        keep=store.config.retention.returns,
    )
    name = f"{return_id}-retry-{attempt}"
    ports.workflow.start_retry(name, _workflow_input(store, return_id, retry=True))
    return name


def settle(store: Store, return_id: str, actor: str, note: str, ports: Ports) -> None:
    """Staff settled a failed refund outside Aftercare: close the return; its units stay counted.

    The customer was paid some way Aftercare cannot see, so the units are never returnable again.
    """
    request, _ = ports.returns.get(store.id, return_id)
    if request is None:
        raise NotFound(f"no return {return_id}")
    ports.returns.update(store.id, return_id, {"status": Status.SETTLED}, only_if_status=Status.REFUND_FAILED)
    ports.orders.change_ledger(
        store.id, str(request["order_id"]), lambda f, led: ledger.settle(led, return_id)
    )
    ports.returns.step(
        store.id,
        return_id,
        actor,
        "settled",
        note or "settled outside Aftercare",
        keep=store.config.retention.returns,
    )


# ------------------------------------------------------------------------------ deadlines


TIMEOUT_FAILED = isolation.OnFailure("could not time out a return", "ReturnTimeoutFailed", "return_id")


def enforce_deadlines(ports: Ports) -> int:
    """Fail the waiting task of every request past its deadline, so the workflow escalates or moves on.

    One request that cannot be timed out (a stale token, a store that is gone) is logged and skipped;
    the others proceed.
    """
    expired = 0
    now = ports.clock.now()
    for shard in range(SHARDS):
        expired += isolation.each(
            ports.returns.overdue(shard, now), lambda item: _time_out(item, ports), TIMEOUT_FAILED
        )
    return expired


def _time_out(request: dict[str, Any], ports: Ports) -> int:
    kind = str(request.get("waiting_for"))
    store_id, return_id = str(request["store_id"]), str(request["return_id"])
    try:
        token = ports.returns.resume(store_id, return_id, kind)
    except Conflict:
        return 0
    error = "ApprovalTimeout" if kind == Waiting.APPROVAL else "ReturnTimeout"
    deadline = request.get("wait_deadline")
    if not ports.workflow.time_out(token, error, f"no {kind} by {deadline}"):
        return 0
    keep = ports.stores.get(store_id, cached=True).config.retention.returns
    ports.returns.step(
        store_id, return_id, "system", f"{kind} timed out", f"nothing happened by {deadline}", keep=keep
    )
    return 1


# ------------------------------------------------------------------------------ what is returnable


@dataclass(frozen=True)
class ReturnableItem:
    """One line item as the customer's return page shows it."""

    line_item_id: str
    name: str
    purchased: int
    left: int  # units that may still be returned
    taken: int  # units already returned, refunded or in a return
    blocked: str = ""  # why the policy does not take it back at all


def returnable_items(
    store: Store, facts: OrderFacts, held: ledger.Ledger, now: datetime | None = None
) -> tuple[list[ReturnableItem], str]:
    """What the customer may still return from this order, per line item, and a page-wide reason if nothing.

    Quantities come from the order's ledger (purchased minus refunded, returned and in returns); product
    types the store does not take back and a closed return window are shown, not offered. The reason is
    ``closed`` (the order closed), ``window:<date>`` (the window closed that day), ``nothing left`` or
    empty when something may be returned.
    """
    now = now or clock.now()
    left = ledger.returnable(facts, held)
    rows = [
        _returnable(store, item, left.get(item.id, 0), now)
        for item in (facts.items.items if facts.items else [])
    ]
    if ledger.closed_because(facts):
        return rows, "closed"
    window = _window_closed_on(store, facts, now)
    if window:
        return rows, f"window:{window}"
    if not any(row.left for row in rows):
        return rows, "nothing left"
    return rows, ""


def _returnable(store: Store, item: LineItem, left: int, now: datetime) -> ReturnableItem:
    described = [{"name": item.name, "product_type": item.product_type}]
    blocked = policy.outside_policy(described, store.config, None, now)
    return ReturnableItem(
        line_item_id=item.id,
        name=item.name,
        purchased=item.quantity,
        left=0 if blocked else left,
        taken=item.quantity - left,
        blocked="not returnable" if blocked else "",
    )


def _window_closed_on(store: Store, facts: OrderFacts, now: datetime) -> str:
    """The day the return window closed (``YYYY-MM-DD``), or empty while it is open or unknown."""
    delivered = policy.delivered_at(facts, store.config)
    if delivered is not None and now > delivered + store.config.returns.window:
        return clock.isoformat(delivered + store.config.returns.window)[:10]
    return ""
