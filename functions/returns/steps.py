"""The returns workflow's steps: one function per task of the state machine, each recording what it did.

``run(event, ports)`` loads the request and calls the step ``event["task"]`` names. Errors a step raises
are matched by class name in ``infra/statemachines/returns.asl.json`` (``EmailNotSent``,
``RefundEndpointUnavailable``, ``RefundNotAllowed`` …), so these names are part of the contract.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.orders import ledger
from functions.returns import emails, policy, status
from functions.returns.emails import StaffNote
from functions.returns.models import MONEY_OUTCOMES, ReturnRequest, Status, Waiting
from functions.returns.refund_client import RefundAnswer, Reply
from functions.shared import clock
from functions.shared.errors import NotFound
from functions.shared.observability import logger, metrics

if TYPE_CHECKING:
    from functions.returns.ports import Ports
    from functions.stores.models import Store


class RefundEndpointUnavailable(Exception):
    """The store's refund endpoint timed out or answered 5xx: worth retrying with the same key."""


class RefundRejected(Exception):
    """The store's refund endpoint refused the refund (4xx) or none is configured."""


class RefundNotAllowed(Exception):
    """Aftercare must not refund: the order closed, or the store refunded these units itself meanwhile."""


@dataclass
class Context:
    """One step's view of its return: the ports, the store and the request as loaded for this step."""

    ports: Ports
    store: Store
    request: ReturnRequest

    @property
    def return_id(self) -> str:
        return self.request.return_id

    @property
    def currency(self) -> str:
        return self.request.currency(self.store.config.currency)

    def step(self, actor: str, step: str, outcome: str, **details: Any) -> None:
        self.ports.returns.step(
            self.store.id,
            self.return_id,
            actor,
            step,
            outcome,
            keep=self.store.config.retention.returns,
            **details,
        )

    def set(self, **fields: Any) -> None:
        self.ports.returns.update(self.store.id, self.return_id, fields)

    def change_ledger(self, change: Callable[[ledger.Ledger], ledger.Ledger]) -> None:
        self.ports.orders.change_ledger(self.store.id, self.request.order_id, lambda f, led: change(led))

    def release(self) -> None:
        """The return ends without a refund: its units become returnable again."""
        release(self.ports, self.store.id, self.request)

    def email_customer(self, kind: str, deadline: datetime | None = None) -> None:
        """Email the customer ``kind`` (``emails.CUSTOMER_EMAILS``), with a fresh link to the status page."""
        link = status.link(self.ports, self.store, self.return_id)
        message = emails.for_customer(self.store, self.request, kind, link, deadline=deadline)
        if message is None:
            self.step("system", "customer not emailed", "the request has no customer email")
            return
        emails.send(self.ports, message)
        self.step("system", "customer emailed", kind, to=message.to)

    def email_staff(self, note: StaffNote) -> list[str]:
        return emails.email_staff(self.ports, self.store, self.request, note)


def release(ports: Ports, store_id: str, request: ReturnRequest) -> None:
    """The return ended without a refund: give its units back to the order's ledger."""
    try:
        ports.orders.change_ledger(
            store_id, request.order_id, lambda f, led: ledger.release(led, request.return_id)
        )
    except NotFound:
        logger.warning("return of an order that no longer exists", extra={"return_id": request.return_id})


# ------------------------------------------------------------------------------ decide and wait


def validate(ctx: Context, event: dict[str, Any]) -> dict[str, Any]:
    stored = ctx.ports.orders.get_order(ctx.store.id, ctx.request.order_id)
    delivered = policy.delivered_at(stored.facts, ctx.store.config) if stored is not None else None
    decision = policy.decide(ctx.request.item, ctx.store.config, delivered, ctx.ports.clock.now())
    ctx.set(decision=decision.as_dict(), amount=str(decision.amount))
    if decision.eligible:
        ctx.step("system", "eligible", "; ".join(decision.notes) or "within the return policy")
    else:
        ctx.step("system", "not eligible", decision.reason)
    return {
        "eligible": decision.eligible,
        "auto_approve": decision.auto_approve,
        "needs_return": decision.needs_return,
    }


def refuse(ctx: Context, event: dict[str, Any]) -> None:
    reason = str(ctx.request.decision.get("reason", ""))
    ctx.set(status=Status.REFUSED, outcome_reason=reason)
    ctx.release()
    ctx.email_customer("refused")


def request_approval(ctx: Context, event: dict[str, Any]) -> None:
    escalated = bool(event.get("escalated"))
    deadline = ctx.ports.clock.now() + ctx.store.config.returns.approval_timeout
    token = str(event["token"])
    if not escalated:  # the customer hears once that the store will decide, and by when (before parking)
        ctx.email_customer("received", deadline)
    ctx.ports.returns.wait(
        ctx.store.id, ctx.return_id, Waiting.APPROVAL, token, deadline, Status.AWAITING_APPROVAL
    )
    item = ctx.request.item
    note = StaffNote(
        "Overdue: approve or reject a return" if escalated else "Approve or reject a return",
        [
            f"Order {ctx.request.order_label}: {item.get('outcome')} for {len(ctx.request.items)} item(s), "
            f"{item.get('amount', '')} {ctx.store.config.currency}.",
            f"Reason: {item.get('reason') or 'not given'}.",
            f"Please decide by {clock.isoformat(deadline)} (UTC).",
        ],
        escalate=escalated,
        link_label="Review and decide",
    )
    sent = ctx.email_staff(note)
    ctx.step(
        "system",
        "escalated for approval" if escalated else "approval requested",
        f"emailed {', '.join(sent)}",
    )


def no_decision(ctx: Context, event: dict[str, Any]) -> None:
    ctx.set(status=Status.EXPIRED)
    ctx.release()
    ctx.email_customer("expired")
    ctx.email_staff(
        StaffNote(
            "A return expired without a decision",
            ["Nobody approved or rejected it, even after escalation."],
            escalate=True,
        )
    )
    ctx.step("system", "expired", "no decision after escalation")


def reject(ctx: Context, event: dict[str, Any]) -> None:
    ctx.set(status=Status.REJECTED)
    ctx.release()
    ctx.email_customer("rejected")


def await_parcel(ctx: Context, event: dict[str, Any]) -> None:
    returns = ctx.store.config.returns
    reminded = bool(event.get("reminded"))
    wait = returns.return_timeout - returns.return_reminder if reminded else returns.return_reminder
    now = ctx.ports.clock.now()
    deadline = now + wait
    return_by = status.return_by(ctx.request) if reminded else None
    if return_by is None:  # the day the items are due, kept for the reminder and the status page
        left = returns.return_timeout - returns.return_reminder if reminded else returns.return_timeout
        return_by = now + left
        ctx.set(return_by=clock.isoformat(return_by))
    # told before parking: once the request waits for its parcel, everything this step does is done
    ctx.email_customer("reminder" if reminded else "instructions", return_by)
    token = str(event["token"])
    ctx.ports.returns.wait(ctx.store.id, ctx.return_id, Waiting.PARCEL, token, deadline, Status.AWAITING_ITEM)


def not_received(ctx: Context, event: dict[str, Any]) -> None:
    ctx.set(status=Status.NOT_RECEIVED)
    ctx.release()
    ctx.email_customer("not received")
    ctx.email_staff(
        StaffNote("A return was never sent back", ["The customer was told the return is closed."])
    )


# ------------------------------------------------------------------------------ the refund


def _refund_problem(ctx: Context, problem: str, step: str = "refund call failed", **details: Any) -> None:
    """Keep, in plain words, why the refund did not happen (the staff email and page show it)."""
    ctx.set(refund_problem=problem)
    ctx.step("system", step, problem, **details)


def _begin_refund(ctx: Context) -> None:
    """The last check before money moves, on the order's ledger (raises ``RefundNotAllowed``)."""
    try:
        ctx.ports.orders.change_ledger(
            ctx.store.id, ctx.request.order_id, lambda f, led: ledger.begin_refund(f, led, ctx.return_id)
        )
    except (ledger.NotReturnable, NotFound) as refused:
        _refund_problem(ctx, refused.message, "refund not called")
        raise RefundNotAllowed(refused.message) from None


def _record_refund(ctx: Context, reference: str, note: str) -> dict[str, Any]:
    ctx.ports.returns.record_refund(ctx.store.id, ctx.return_id, reference, ctx.ports.clock.now())
    ctx.change_ledger(lambda led: ledger.refund_done(led, ctx.return_id, reference))
    ctx.step(f"store {ctx.store.id}", "refund issued", note, reference=reference)
    metrics.add_metric(name="RefundIssued", unit="Count", value=1)
    return {"status": "done", "reference": reference}


def _endpoint(ctx: Context) -> str:
    endpoint = ctx.store.config.returns.refund_endpoint
    if not endpoint:
        _refund_problem(ctx, "the store has no refund endpoint configured", "refund not called")
        raise RefundRejected("no refund endpoint configured for this store")
    unsafe = ctx.ports.refunds.unsafe(endpoint)
    if unsafe is not None:
        _refund_problem(ctx, f"the refund endpoint's address is not allowed ({unsafe})", "refund not called")
        raise RefundRejected("refund endpoint not allowed")
    return str(endpoint)


def _refund_body(ctx: Context, key: str) -> bytes:
    item = ctx.request.item
    return json.dumps(
        {
            "return_id": ctx.return_id,
            "order_id": item["order_id"],
            "outcome": item.get("outcome"),
            "amount": item.get("amount"),
            "currency": ctx.currency,
            "items": item.get("items", []),
            "idempotency_key": key,
            "item_returned": bool(ctx.request.decision.get("needs_return")),
        },
        separators=(",", ":"),
    ).encode()


def _check_answer(ctx: Context, answer: RefundAnswer, attempt: int, key: str) -> None:
    """Record and raise what a failed call means: retry (``RefundEndpointUnavailable``) or stop."""
    status = answer.status
    if answer.reply in (Reply.TIMED_OUT, Reply.UNREACHABLE):
        what = "did not answer in time" if answer.reply is Reply.TIMED_OUT else "could not be reached"
        _refund_problem(ctx, f"the refund endpoint {what} (attempt {attempt})", idempotency_key=key)
        raise RefundEndpointUnavailable(f"{answer.error} calling the store")
    if answer.reply is Reply.BUSY:
        _refund_problem(
            ctx, f"the refund endpoint answered HTTP {status} (attempt {attempt})", idempotency_key=key
        )
        raise RefundEndpointUnavailable(f"the store answered {status}")
    if answer.reply in (Reply.REDIRECTED, Reply.REFUSED):
        why = (
            "redirected the call, which Aftercare does not follow"
            if answer.reply is Reply.REDIRECTED
            else "refused the refund"
        )
        _refund_problem(
            ctx, f"the refund endpoint {why} (HTTP {status})", "refund refused", idempotency_key=key
        )
        raise RefundRejected(f"the store answered {status}")


def refund(ctx: Context, event: dict[str, Any]) -> dict[str, Any]:
    """Call the store's refund endpoint, signed, with one idempotency key; never issue a refund twice.

    Before the call the order's ledger is checked once more (order not cancelled or refunded in full,
    units not refunded by the store meanwhile) and the claim is marked as being refunded.
    """
    if ctx.request.refunded:
        return {"status": "done", "already": True, "reference": ctx.request.item.get("refund_reference")}
    _begin_refund(ctx)
    outcome = ctx.request.outcome
    if outcome in MONEY_OUTCOMES and ctx.request.amount <= 0:
        return _record_refund(ctx, "", "nothing to refund: the items cost nothing")
    endpoint = _endpoint(ctx)
    secret = (ctx.ports.stores.get_secrets(ctx.store.id).webhook.get("generic") or [""])[0]
    key = f"{ctx.return_id}:{outcome}"
    attempt = int(ctx.request.item.get("refund_attempts", 0)) + 1
    ctx.set(refund_attempts=attempt)
    answer = ctx.ports.refunds.post(endpoint, _refund_body(ctx, key), key, secret)
    _check_answer(ctx, answer, attempt, key)
    return _record_refund(ctx, answer.reference, f"{outcome} issued on attempt {attempt} (key {key})")


_PLAIN_FAILURES = {
    "States.Timeout": "the refund step took too long",
    "Lambda.ServiceException": "the refund step could not run",
    "Lambda.TooManyRequestsException": "the refund step could not run",
}


def refund_failed(ctx: Context, event: dict[str, Any]) -> None:
    """Tell staff, in plain words, why the refund did not happen, and how to go on."""
    error = str((event.get("error") or {}).get("Error") or "")
    current, _ = ctx.ports.returns.get(ctx.store.id, ctx.return_id)
    problem = str((current or {}).get("refund_problem") or _PLAIN_FAILURES.get(error, "")) or (
        "the refund step stopped unexpectedly"
    )
    if error == "RefundNotAllowed":
        _not_refunded(ctx, problem)
    else:
        _refund_stuck(ctx, problem)


def _money(ctx: Context) -> str:
    return f"{ctx.request.item.get('outcome')} of {ctx.request.item.get('amount', '')} {ctx.currency}"


def _not_refunded(ctx: Context, problem: str) -> None:
    """Aftercare decided not to refund (the order closed, the store refunded itself): close the return."""
    ctx.set(status=Status.NOT_REFUNDED)
    ctx.release()
    lines = [
        f"Aftercare did not issue the {_money(ctx)} for order {ctx.request.order_label}: {problem}.",
        "Nothing was sent to your refund endpoint, and the customer was not emailed about it.",
    ]
    ctx.email_staff(StaffNote("A refund was not issued", lines))
    ctx.step("system", "refund not issued", problem)


def _refund_stuck(ctx: Context, problem: str) -> None:
    """The store's endpoint did not take the refund: keep the units held until staff retry or settle."""
    metrics.add_metric(name="RefundFailed", unit="Count", value=1)  # RefundFailuresAlarm watches it
    ctx.change_ledger(lambda led: ledger.refund_failed(led, ctx.return_id))
    ctx.set(status=Status.REFUND_FAILED)
    lines = [
        f"Aftercare could not issue the {_money(ctx)} for order {ctx.request.order_label}.",
        f"What happened: {problem}.",
        "Nothing was refunded twice: a retry sends the same idempotency key, so your endpoint can tell "
        "it is the same refund.",
        "Fix the endpoint and retry from the page, or settle it in your store's admin and mark it "
        "settled there.",
    ]
    ctx.email_staff(
        StaffNote("A refund could not be issued", lines, link_label="Open the return to retry the refund")
    )
    ctx.step("system", "refund failed", problem)


# ------------------------------------------------------------------------------ the end


def outcome(ctx: Context, event: dict[str, Any]) -> None:
    """Tell the customer it is done (and, when nothing had to come back, that they keep the items)."""
    ctx.email_customer("done" if ctx.request.decision.get("needs_return", True) else "kept")


def complete(ctx: Context, event: dict[str, Any]) -> None:
    """Close the request; the returned items leave the order's plan like refunded ones (re-planned once)."""
    lines = ctx.request.lines()
    changes = (
        ctx.ports.order_plan.return_completed(ctx.store, ctx.return_id, ctx.request.order_id, lines)
        if lines
        else 0
    )
    ctx.step("system", "completed", f"closed; the returned items left the review plan ({changes} change(s))")
    ctx.set(
        status=Status.COMPLETED, completed_at=clock.isoformat(ctx.ports.clock.now())
    )  # last: a full trail


def broken(ctx: Context, event: dict[str, Any]) -> None:
    error = str((event.get("error") or {}).get("Error") or "unknown")
    ctx.set(status=Status.WORKFLOW_ERROR)
    ctx.release()
    lines = [
        f"The return workflow for order {ctx.request.order_label} stopped at an unexpected error ({error}).",
        "No refund was issued by this step. The audit trail on the page shows how far it got.",
    ]
    ctx.email_staff(StaffNote("A return stopped with an error", lines, link_label="Open the return"))
    ctx.step("system", "workflow error", error)


TASKS: dict[str, Callable[[Context, dict[str, Any]], Any]] = {
    f.__name__: f
    for f in (
        validate,
        refuse,
        request_approval,
        no_decision,
        reject,
        await_parcel,
        not_received,
        refund,
        refund_failed,
        outcome,
        complete,
        broken,
    )
}


def run(event: dict[str, Any], ports: Ports) -> Any:
    """Run the step ``event["task"]`` for the return ``event["return_id"]``."""
    task = TASKS.get(str(event.get("task")))
    if task is None:
        raise ValueError(f"unknown returns task {event.get('task')!r}")
    store_id, return_id = str(event["store_id"]), str(event["return_id"])
    request, _ = ports.returns.get(store_id, return_id)
    if request is None:
        raise NotFound(f"no return {return_id}")
    return task(Context(ports, ports.stores.get(store_id, cached=True), ReturnRequest(request)), event)
