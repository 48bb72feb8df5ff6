"""Returns and refunds: start a request (customer, staff or store), decide on it, resume its workflow.

Every request is one item in the Returns table with its audit steps beside it; a Step Functions
execution (named after the request, so a repeated start is the same execution) carries it through
eligibility, approval, the parcel and the store's refund call. Deadlines (approval, parcel) are kept on
the item and enforced by a schedule with Aftercare's clock, so the local stack's clock moves through them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from functions.orders import ledger
from functions.orders.models import OrderFacts, ReturnEvent
from functions.orders.store import OrderRepository
from functions.returns.store import Conflict, ReturnRepository
from functions.shared import aws, clock
from functions.shared.errors import NotFound
from functions.shared.observability import logger, metrics
from functions.stores.models import Store

APPROVAL, PARCEL = "approval", "parcel"
REFUND_FAILED_STATUS = "failed: refund not issued"


def return_id_for(store_id: str, *parts: str) -> str:
    return "ret-" + hashlib.sha256("/".join((store_id, *parts)).encode()).hexdigest()[:16]


def _state_machine_arn() -> str:
    from functions.shared.settings import get_settings

    return get_settings().returns_state_machine_arn


@dataclass(frozen=True)
class Requested:
    """A return someone asks for: which units of which line items, and what they want instead."""

    return_id: str
    order_id: str
    lines: dict[str, int]
    outcome: str
    reason: str
    source: str  # customer, staff or store
    extra: dict[str, Any] = field(default_factory=dict)  # details, flag_id, store_return_id ...


def start(
    store: Store,
    requested: Requested,
    repository: ReturnRepository,
    orders: OrderRepository,
    actor: str,
) -> dict[str, Any]:
    """Hold the units on the order's ledger, record the request and start its workflow.

    The same request again changes nothing. Raises ``ledger.NotReturnable`` (or ``OrderClosed``) when
    the units are not there to return, and ``NotFound`` for an order Aftercare never saw: nothing is
    recorded then.
    """
    from botocore.exceptions import ClientError

    now = clock.isoformat(clock.now())
    facts, _ = orders.change_ledger(
        store.id,
        requested.order_id,
        lambda f, led: ledger.reserve(f, led, requested.return_id, requested.lines, requested.source, now),
    )
    known, _ = repository.get(store.id, requested.return_id)
    if known is not None and known.get("execution_arn"):  # the same request again: nothing changes
        return {"return_id": requested.return_id, "status": known.get("status"), "duplicate": True}
    items = _priced_items(facts, requested.lines)
    customer = facts.customer.customer.model_dump() if facts.customer else None
    request = {
        **requested.extra,
        "return_id": requested.return_id,
        "order_id": requested.order_id,
        "order_name": facts.name,
        "items": items,
        "amount": str(ledger.amount_for(facts, requested.lines)),
        "currency": facts.currency or store.config.currency,
        "outcome": requested.outcome,
        "reason": requested.reason,
        "source": requested.source,
        "customer": customer,
        "store_id": store.id,
        "status": "requested",
        "requested_at": now,
    }
    created = repository.create(request)
    if created:
        repository.step(
            store.id,
            requested.return_id,
            actor,
            "requested",
            f"{requested.outcome} requested for {sum(requested.lines.values())} item(s)",
            reason=requested.reason,
        )
    current, _ = repository.get(store.id, requested.return_id)
    if current is not None and current.get("execution_arn"):
        return {"return_id": requested.return_id, "status": current.get("status"), "duplicate": True}
    payload = json.dumps(
        {
            "store_id": store.id,
            "return_id": requested.return_id,
            "safety_timeout_seconds": _safety_timeout(store),
            "retry_refund": False,
        }
    )
    try:
        execution = aws.stepfunctions().start_execution(
            stateMachineArn=_state_machine_arn(), name=requested.return_id, input=payload
        )
        arn = execution["executionArn"]
    except ClientError as error:
        if aws.error_code(error) != "ExecutionAlreadyExists":
            raise aws.domain_error(error, "starting the return workflow") from error
        arn = f"{_state_machine_arn().replace(':stateMachine:', ':execution:')}:{requested.return_id}"
    repository.update(store.id, requested.return_id, {"execution_arn": arn, "status": "in progress"})
    metrics.add_metric(name="ReturnStarted", unit="Count", value=1)
    return {"return_id": requested.return_id, "status": "in progress", "duplicate": not created}


def _safety_timeout(store: Store) -> int:
    policy = store.config.returns
    return int(policy.approval_timeout.total_seconds() + policy.return_timeout.total_seconds()) * 3


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


def release(store_id: str, request: dict[str, Any], orders: OrderRepository) -> None:
    """The return ended without a refund: give its units back to the order's ledger."""
    try:
        orders.change_ledger(
            store_id, str(request["order_id"]), lambda f, led: ledger.release(led, str(request["return_id"]))
        )
    except NotFound:
        logger.warning("return of an order that no longer exists", extra={"return_id": request["return_id"]})


def retry_refund(store: Store, return_id: str, actor: str, repository: ReturnRepository) -> str:
    """Staff ask to call the store's refund endpoint again (same idempotency key); returns the run name."""
    from botocore.exceptions import ClientError

    request, _ = repository.get(store.id, return_id)
    if request is None:
        raise NotFound(f"no return {return_id}")
    attempt = int(request.get("refund_retries", 0)) + 1
    repository.update(
        store.id,
        return_id,
        {"status": "retrying the refund", "refund_retries": attempt},
        condition="#status = :failed",
        values={":failed": REFUND_FAILED_STATUS},
        names={"#status": "status"},
    )
    repository.step(store.id, return_id, actor, "refund retried", f"retry {attempt} asked for by staff")
    name = f"{return_id}-retry-{attempt}"
    payload = json.dumps(
        {
            "store_id": store.id,
            "return_id": return_id,
            "safety_timeout_seconds": _safety_timeout(store),
            "retry_refund": True,
        }
    )
    try:
        aws.stepfunctions().start_execution(stateMachineArn=_state_machine_arn(), name=name, input=payload)
    except ClientError as error:
        raise aws.domain_error(error, "starting the refund retry") from error
    return name


def settle(
    store: Store, return_id: str, actor: str, note: str, repository: ReturnRepository, orders: OrderRepository
) -> None:
    """Staff settled a failed refund in their own admin: close the return and release its units.

    The store's own refund then reaches Aftercare as a platform refund and is counted once, there.
    """
    request, _ = repository.get(store.id, return_id)
    if request is None:
        raise NotFound(f"no return {return_id}")
    repository.update(
        store.id,
        return_id,
        {"status": "closed: settled by staff"},
        condition="#status = :failed",
        values={":failed": REFUND_FAILED_STATUS},
        names={"#status": "status"},
    )
    orders.change_ledger(store.id, str(request["order_id"]), lambda f, led: ledger.release(led, return_id))
    repository.step(store.id, return_id, actor, "settled", note or "settled outside Aftercare")


def store_return_event(
    store: Store, event: ReturnEvent, repository: ReturnRepository, orders: OrderRepository
) -> dict[str, Any]:
    """A store's own return event: start the return it requested, or resume the one whose parcel arrived.

    Raises ``UnusableReturn`` naming the field when the event cannot be applied (unknown order or line
    items, nothing left to return, a return not waiting for its parcel).
    """
    return_id = event.aftercare_id or return_id_for(store.id, "store", str(event.store_return_id))
    if event.kind == "received":
        known, _ = repository.get(store.id, return_id)
        if known is None:
            raise UnusableReturn("return.id", f"Aftercare has no return {return_id}")
        try:
            parcel_received(store, return_id, repository)
        except Conflict:
            raise UnusableReturn("return.id", f"return {return_id} is not waiting for its parcel") from None
        return {
            "status": "accepted",
            "return_id": return_id,
            "order_id": known["order_id"],
            "duplicate": False,
        }
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
        started = start(store, requested, repository, orders, f"store {store.id}")
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
    store: Store, facts: OrderFacts, held: ledger.Ledger
) -> tuple[list[ReturnableItem], str]:
    """What the customer may still return from this order, per line item, and a page-wide reason if nothing.

    Quantities come from the order's ledger (purchased minus refunded, returned and in returns); product
    types the store does not take back and a closed return window are shown, not offered.
    """
    from functions.returns import policy

    closed = ledger.closed_because(facts)
    left = ledger.returnable(facts, held)
    delivered = facts.delivered_at or (
        facts.fulfilled_at + store.config.outreach.transit_time if facts.fulfilled_at else None
    )
    now = clock.now()
    window = ""
    if delivered is not None and now > delivered + store.config.returns.window:
        window = clock.isoformat(delivered + store.config.returns.window)[:10]
    rows = []
    for item in facts.items.items if facts.items else []:
        described = [{"name": item.name, "product_type": item.product_type}]
        blocked = policy.outside_policy(described, store.config, None, now)
        rows.append(
            ReturnableItem(
                line_item_id=item.id,
                name=item.name,
                purchased=item.quantity,
                left=0 if blocked else left.get(item.id, 0),
                taken=item.quantity - left.get(item.id, 0),
                blocked="not returnable" if blocked else "",
            )
        )
    if closed:
        return rows, "closed"
    if window:
        return rows, f"window:{window}"
    if not any(row.left for row in rows):
        return rows, "nothing left"
    return rows, ""


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


class UnusableReturn(Exception):
    """A store's return event that cannot be applied; ``field`` and ``problem`` say why."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def _resume(
    repository: ReturnRepository, store_id: str, return_id: str, kind: str, output: dict[str, Any]
) -> None:
    token = repository.resume(store_id, return_id, kind)
    aws.stepfunctions().send_task_success(taskToken=token, output=json.dumps(output))


def decide(
    store: Store, return_id: str, approve: bool, staff: str, note: str, repository: ReturnRepository
) -> None:
    """A staff member approves or rejects from their link; a second decision is a ``Conflict``."""
    _resume(repository, store.id, return_id, APPROVAL, {"approved": approve, "by": staff, "note": note})
    repository.step(store.id, return_id, staff, "approved" if approve else "rejected", note or "no note")


def parcel_received(store: Store, return_id: str, repository: ReturnRepository) -> None:
    """The store reports the returned item arrived (``return.received``)."""
    _resume(repository, store.id, return_id, PARCEL, {"received": True, "at": clock.isoformat(clock.now())})
    repository.step(
        store.id, return_id, f"store {store.id}", "received", "the store received the returned item"
    )


def enforce_deadlines(repository: ReturnRepository) -> int:
    """Fail the waiting task of every request past its deadline, so the workflow escalates or moves on.

    One request that cannot be timed out (a stale token, a store that is gone) is logged and skipped;
    the others proceed.
    """
    from functions.returns.store import SHARDS

    expired = 0
    now = clock.now()
    for shard in range(SHARDS):
        for request in repository.overdue(shard, now):
            try:
                expired += _time_out(request, repository)
            except Exception:
                logger.exception("could not time out a return", extra={"return_id": request.get("return_id")})
                metrics.add_metric(name="ReturnTimeoutFailed", unit="Count", value=1)
    return expired


def _time_out(request: dict[str, Any], repository: ReturnRepository) -> int:
    from botocore.exceptions import ClientError

    kind = str(request.get("waiting_for"))
    try:
        token = repository.resume(str(request["store_id"]), str(request["return_id"]), kind)
    except Conflict:
        return 0
    error = "ApprovalTimeout" if kind == APPROVAL else "ReturnTimeout"
    try:
        aws.stepfunctions().send_task_failure(
            taskToken=token, error=error, cause=f"no {kind} by {request.get('wait_deadline')}"
        )
    except ClientError as failure:
        logger.warning("could not time out a return task", extra={"error": aws.error_code(failure)})
        return 0
    repository.step(
        str(request["store_id"]),
        str(request["return_id"]),
        "system",
        f"{kind} timed out",
        f"nothing happened by {request.get('wait_deadline')}",
    )
    return 1
