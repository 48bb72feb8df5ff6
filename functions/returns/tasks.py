"""The returns workflow's task handlers: one function per step, each recording what it did."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from functions.outreach import mailer
from functions.outreach.compose import Email, address, one_line
from functions.returns import policy
from functions.returns.store import ReturnRepository
from functions.shared import clock, tokens
from functions.shared.errors import NotFound
from functions.shared.i18n import Translator, choose_locale
from functions.shared.observability import metrics
from functions.shared.templating import direction, render
from functions.stores.models import Store

APPROVE = "return-approval"
APPROVE_TTL = timedelta(days=14)


class EmailNotSent(Exception):
    """SES did not take an email; the state machine retries the step."""


class RefundEndpointUnavailable(Exception):
    """The store's refund endpoint timed out or answered 5xx: worth retrying with the same key."""


class RefundRejected(Exception):
    """The store's refund endpoint refused the refund (4xx) or none is configured."""


class RefundNotAllowed(Exception):
    """Aftercare must not refund: the order closed, or the store refunded these units itself meanwhile."""


class Context:
    def __init__(self, store: Store, request: dict[str, Any], repository: ReturnRepository) -> None:
        self.store, self.request, self.repository = store, request, repository

    @property
    def return_id(self) -> str:
        return str(self.request["return_id"])

    def step(self, actor: str, step: str, outcome: str, **details: Any) -> None:
        self.repository.step(self.store.id, self.return_id, actor, step, outcome, **details)

    def set(self, **fields: Any) -> None:
        self.repository.update(self.store.id, self.return_id, fields)


def _load(store_id: str, return_id: str) -> Context:
    from functions.returns.store import default_repository
    from functions.stores.store import default_repository as stores

    repository = default_repository()
    request, _ = repository.get(store_id, return_id)
    if request is None:
        raise NotFound(f"no return {return_id}")
    return Context(stores().get(store_id, cached=True), request, repository)


def _send(email: Email, kind: str) -> None:
    from functions.shared.settings import get_settings

    settings = get_settings()
    try:
        mailer.send(
            email, settings.ses_configuration_set, kind, settings.send_retries, settings.send_retry_base_ms
        )
    except (mailer.TransientSendError, mailer.PermanentSendError) as error:
        raise EmailNotSent(str(error)) from error


def _email_customer(ctx: Context, key: str, **values: Any) -> None:
    customer = ctx.request.get("customer") or {}
    email = customer.get("email")
    if not email:
        ctx.step("system", "customer not emailed", "the request has no customer email")
        return
    config = ctx.store.config
    language = choose_locale(customer.get("locale"), config.default_locale)
    t = Translator(language, config.emails.texts)
    order = str(ctx.request.get("order_name") or ctx.request["order_id"])
    lines = [
        t(
            key,
            order=order,
            id=ctx.return_id,
            address=config.returns.return_address or config.postal_address,
            **values,
        )
    ]
    if key == "return_done_text" and not ctx.request.get("decision", {}).get("needs_return", True):
        lines.append(t("return_keep_text"))
    sender = str(config.sender.email)
    headers = {
        "From": address(config.sender.name, sender),
        "To": address(customer.get("name"), str(email)),
        "Date": mailer_date(),
        "Message-ID": f"<{ctx.return_id}.{uuid.uuid4().hex}@{sender.rsplit('@', 1)[-1]}>",
    }
    if config.reply_to:
        headers["Reply-To"] = str(config.reply_to)
    context = {
        "lines": lines,
        "store_name": config.name,
        "postal_address": config.postal_address,
        "locale": language,
        "dir": direction(language),
        "title": t("return_subject", order=order),
    }
    _send(
        Email(
            store_id=ctx.store.id,
            sender=sender,
            to=str(email),
            subject=one_line(t("return_subject", order=order)),
            html=render("emails/return_update.html", **context),
            text=render("emails/return_update.txt", **context),
            headers=headers,
            locale=language,
        ),
        "return-customer",
    )
    ctx.step(
        "system",
        "customer emailed",
        key.removeprefix("return_").removesuffix("_text").replace("_", " "),
        to=str(email),
    )


def mailer_date() -> str:
    from email.utils import format_datetime

    return format_datetime(clock.now())


def _email_staff(
    ctx: Context,
    heading: str,
    lines: list[str],
    *,
    escalate: bool = False,
    approval_links: bool = False,
    link_label: str = "Review and decide",
) -> list[str]:
    from functions.shared.settings import get_settings

    config = ctx.store.config
    people = (
        (config.staff.escalation_emails or config.staff.alert_emails)
        if escalate
        else config.staff.alert_emails
    )
    sender = str(config.sender.email)
    base = get_settings().public_base_url.rstrip("/")
    sent = []
    for person in people:
        link = None
        if approval_links:
            token = tokens.sign(
                tokens.signing_key(),
                purpose=APPROVE,
                store_id=ctx.store.id,
                ttl=APPROVE_TTL,
                claims={"r": ctx.return_id, "a": str(person)},
            )
            link = f"{base}/approve/{token}"
        headers = {
            "From": address(f"Aftercare for {config.name}", sender),
            "To": address(None, str(person)),
            "Date": mailer_date(),
            "Message-ID": f"<{ctx.return_id}.{uuid.uuid4().hex}@{sender.rsplit('@', 1)[-1]}>",
            "Auto-Submitted": "auto-generated",
        }
        context = {
            "heading": heading,
            "lines": lines,
            "link": link,
            "link_label": link_label,
            "request": ctx.request,
            "store_name": config.name,
            "locale": "en",
            "title": heading,
        }
        _send(
            Email(
                store_id=ctx.store.id,
                sender=sender,
                to=str(person),
                subject=one_line(f"{heading} ({ctx.return_id})"),
                html=render("emails/return_staff.html", **context),
                text=render("emails/return_staff.txt", **context),
                headers=headers,
            ),
            "return-staff",
        )
        sent.append(str(person))
    return sent


# ------------------------------------------------------------------------------------- tasks


def validate(ctx: Context, event: dict[str, Any]) -> dict[str, Any]:
    from functions.orders.store import default_repository as orders

    stored = orders().load(ctx.store.id, str(ctx.request["order_id"]))
    delivered = None
    if stored is not None:
        facts = stored.facts
        delivered = facts.delivered_at or (
            facts.fulfilled_at + ctx.store.config.outreach.transit_time if facts.fulfilled_at else None
        )
    decision = policy.decide(ctx.request, ctx.store.config, delivered, clock.now())
    ctx.set(decision=decision.as_dict(), amount=str(decision.amount))
    ctx.request["decision"] = decision.as_dict()
    if decision.eligible:
        ctx.step("system", "eligible", "; ".join(decision.notes) or "within the return policy")
    else:
        ctx.step("system", "not eligible", decision.reason)
    return {
        "eligible": decision.eligible,
        "auto_approve": decision.auto_approve,
        "needs_return": decision.needs_return,
    }


def _release(ctx: Context) -> None:
    """The return ends without a refund: its units become returnable again."""
    from functions.orders.store import default_repository as orders
    from functions.returns.service import release

    release(ctx.store.id, ctx.request, orders())


def refuse(ctx: Context, event: dict[str, Any]) -> None:
    reason = str(ctx.request.get("decision", {}).get("reason", ""))
    ctx.set(status="refused", outcome_reason=reason)
    _release(ctx)
    _email_customer(ctx, "return_refused_text", reason=reason)


def request_approval(ctx: Context, event: dict[str, Any]) -> None:
    escalated = bool(event.get("escalated"))
    deadline = clock.now() + ctx.store.config.returns.approval_timeout
    ctx.repository.wait(ctx.store.id, ctx.return_id, "approval", str(event["token"]), deadline)
    ctx.set(status="awaiting approval")
    heading = "Overdue: approve or reject a return" if escalated else "Approve or reject a return"
    lines = [
        f"Order {ctx.request.get('order_name') or ctx.request['order_id']}: {ctx.request.get('outcome')} "
        f"for {len(ctx.request.get('items', []))} item(s), {ctx.request.get('amount', '')} "
        f"{ctx.store.config.currency}.",
        f"Reason: {ctx.request.get('reason') or 'not given'}.",
        f"Please decide by {clock.isoformat(deadline)} (UTC).",
    ]
    sent = _email_staff(ctx, heading, lines, escalate=escalated, approval_links=True)
    ctx.step(
        "system",
        "escalated for approval" if escalated else "approval requested",
        f"emailed {', '.join(sent)}",
    )


def no_decision(ctx: Context, event: dict[str, Any]) -> None:
    ctx.set(status="expired")
    _release(ctx)
    _email_staff(
        ctx,
        "A return expired without a decision",
        ["Nobody approved or rejected it, even after escalation."],
        escalate=True,
    )
    ctx.step("system", "expired", "no decision after escalation")


def reject(ctx: Context, event: dict[str, Any]) -> None:
    ctx.set(status="rejected")
    _release(ctx)
    _email_customer(ctx, "return_rejected_text")


def await_parcel(ctx: Context, event: dict[str, Any]) -> None:
    returns = ctx.store.config.returns
    reminded = bool(event.get("reminded"))
    wait = returns.return_timeout - returns.return_reminder if reminded else returns.return_reminder
    ctx.repository.wait(ctx.store.id, ctx.return_id, "parcel", str(event["token"]), clock.now() + wait)
    ctx.set(status="awaiting the item")
    _email_customer(ctx, "return_reminder_text" if reminded else "return_instructions_text")


def not_received(ctx: Context, event: dict[str, Any]) -> None:
    ctx.set(status="closed: item not received")
    _release(ctx)
    _email_customer(ctx, "return_not_received_text")
    _email_staff(ctx, "A return was never sent back", ["The customer was told the return is closed."])


MONEY_OUTCOMES = frozenset({"refund", "store_credit"})


def _refund_problem(ctx: Context, problem: str, step: str = "refund call failed", **details: Any) -> None:
    """Keep, in plain words, why the refund did not happen (the staff email and page show it)."""
    ctx.set(refund_problem=problem)
    ctx.step("system", step, problem, **details)


def _begin_refund(ctx: Context) -> None:
    """The last check before money moves, on the order's ledger (raises ``RefundNotAllowed``)."""
    from functions.orders import ledger
    from functions.orders.store import default_repository as orders

    try:
        orders().change_ledger(
            ctx.store.id,
            str(ctx.request["order_id"]),
            lambda f, led: ledger.begin_refund(f, led, ctx.return_id),
        )
    except (ledger.NotReturnable, NotFound) as refused:
        _refund_problem(ctx, refused.message, "refund not called")
        raise RefundNotAllowed(refused.message) from None


def _record_refund(ctx: Context, reference: str, note: str) -> dict[str, Any]:
    from functions.orders import ledger
    from functions.orders.store import default_repository as orders

    ctx.repository.update(
        ctx.store.id,
        ctx.return_id,
        {"refund_status": "done", "refund_reference": reference, "refunded_at": clock.isoformat(clock.now())},
        condition="attribute_not_exists(refund_status) OR refund_status <> :done",
        values={":done": "done"},
    )
    orders().change_ledger(
        ctx.store.id,
        str(ctx.request["order_id"]),
        lambda f, led: ledger.refund_done(led, ctx.return_id, reference),
    )
    ctx.step(f"store {ctx.store.id}", "refund issued", note, reference=reference)
    metrics.add_metric(name="RefundIssued", unit="Count", value=1)
    return {"status": "done", "reference": reference}


def _endpoint(ctx: Context) -> str:
    from functions.shared.endpoints import UnsafeEndpoint, resolve_and_check
    from functions.shared.settings import get_settings

    endpoint = ctx.store.config.returns.refund_endpoint
    if not endpoint:
        _refund_problem(ctx, "the store has no refund endpoint configured", "refund not called")
        raise RefundRejected("no refund endpoint configured for this store")
    try:
        resolve_and_check(endpoint, allow_loopback=get_settings().allow_loopback_endpoints)
    except UnsafeEndpoint as unsafe:
        _refund_problem(ctx, f"the refund endpoint's address is not allowed ({unsafe})", "refund not called")
        raise RefundRejected("refund endpoint not allowed") from None
    return endpoint


def _refund_body(ctx: Context, key: str) -> bytes:
    return json.dumps(
        {
            "return_id": ctx.return_id,
            "order_id": ctx.request["order_id"],
            "outcome": ctx.request.get("outcome"),
            "amount": ctx.request.get("amount"),
            "currency": ctx.request.get("currency") or ctx.store.config.currency,
            "items": ctx.request.get("items", []),
            "idempotency_key": key,
            "item_returned": bool(ctx.request.get("decision", {}).get("needs_return")),
        },
        separators=(",", ":"),
    ).encode()


def refund(ctx: Context, event: dict[str, Any]) -> dict[str, Any]:
    """Call the store's refund endpoint, signed, with one idempotency key; never issue a refund twice.

    Before the call the order's ledger is checked once more (order not cancelled or refunded in full,
    units not refunded by the store meanwhile) and the claim is marked as being refunded.
    """
    import requests

    from functions.stores.store import default_repository as stores
    from functions.webhooks.signatures import sign_generic

    if ctx.request.get("refund_status") == "done":
        return {"status": "done", "already": True, "reference": ctx.request.get("refund_reference")}
    _begin_refund(ctx)
    amount = Decimal(str(ctx.request.get("amount") or "0"))
    outcome_kind = str(ctx.request.get("outcome", "refund"))
    if outcome_kind in MONEY_OUTCOMES and amount <= 0:
        return _record_refund(ctx, "", "nothing to refund: the items cost nothing")
    endpoint = _endpoint(ctx)
    secret = (stores().get_secrets(ctx.store.id).webhook.get("generic") or [""])[0]
    key = f"{ctx.return_id}:{outcome_kind}"
    body = _refund_body(ctx, key)
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": key,
        "User-Agent": "Aftercare",
        "X-Aftercare-Signature": sign_generic(secret, body, int(time.time())),
    }
    attempt = int(ctx.request.get("refund_attempts", 0)) + 1
    ctx.set(refund_attempts=attempt)
    try:
        from functions.shared.settings import get_settings

        response = requests.post(
            endpoint,
            data=body,
            headers=headers,
            timeout=get_settings().refund_timeout_seconds,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        what = "did not answer in time" if isinstance(error, requests.Timeout) else "could not be reached"
        _refund_problem(ctx, f"the refund endpoint {what} (attempt {attempt})", idempotency_key=key)
        raise RefundEndpointUnavailable(f"{type(error).__name__} calling the store") from None
    status = response.status_code
    if status >= 500 or status in (408, 429):
        _refund_problem(
            ctx, f"the refund endpoint answered HTTP {status} (attempt {attempt})", idempotency_key=key
        )
        raise RefundEndpointUnavailable(f"the store answered {status}")
    if status >= 300:
        why = "redirected the call, which Aftercare does not follow" if status < 400 else "refused the refund"
        _refund_problem(
            ctx, f"the refund endpoint {why} (HTTP {status})", "refund refused", idempotency_key=key
        )
        raise RefundRejected(f"the store answered {status}")
    reference = ""
    with contextlib.suppress(ValueError, AttributeError):  # the store may answer without a JSON object
        reference = str(response.json().get("reference", ""))[:200]
    return _record_refund(ctx, reference, f"{outcome_kind} issued on attempt {attempt} (key {key})")


_PLAIN_FAILURES = {
    "States.Timeout": "the refund step took too long",
    "Lambda.ServiceException": "the refund step could not run",
    "Lambda.TooManyRequestsException": "the refund step could not run",
}


def refund_failed(ctx: Context, event: dict[str, Any]) -> None:
    """Tell staff, in plain words, why the refund did not happen, and how to go on."""
    from functions.orders import ledger
    from functions.orders.store import default_repository as orders
    from functions.returns.service import REFUND_FAILED_STATUS

    error = str((event.get("error") or {}).get("Error") or "")
    current, _ = ctx.repository.get(ctx.store.id, ctx.return_id)
    problem = str((current or {}).get("refund_problem") or _PLAIN_FAILURES.get(error, "")) or (
        "the refund step stopped unexpectedly"
    )
    order = ctx.request.get("order_name") or ctx.request["order_id"]
    money = f"{ctx.request.get('amount', '')} {ctx.request.get('currency') or ctx.store.config.currency}"
    if error == "RefundNotAllowed":
        ctx.set(status="closed: not refunded")
        _release(ctx)
        _email_staff(
            ctx,
            "A refund was not issued",
            [
                f"Aftercare did not issue the {ctx.request.get('outcome')} of {money} for order {order}: "
                f"{problem}.",
                "Nothing was sent to your refund endpoint, and the customer was not emailed about it.",
            ],
        )
        ctx.step("system", "refund not issued", problem)
        return
    orders().change_ledger(
        ctx.store.id, str(ctx.request["order_id"]), lambda f, led: ledger.refund_failed(led, ctx.return_id)
    )
    ctx.set(status=REFUND_FAILED_STATUS)
    _email_staff(
        ctx,
        "A refund could not be issued",
        [
            f"Aftercare could not issue the {ctx.request.get('outcome')} of {money} for order {order}.",
            f"What happened: {problem}.",
            "Nothing was refunded twice: a retry sends the same idempotency key, so your endpoint can tell "
            "it is the same refund.",
            "Fix the endpoint and retry from the page, or settle it in your store's admin and mark it "
            "settled there.",
        ],
        approval_links=True,
        link_label="Open the return to retry the refund",
    )
    ctx.step("system", "refund failed", problem)


def outcome(ctx: Context, event: dict[str, Any]) -> None:
    config = ctx.store.config
    customer = ctx.request.get("customer") or {}
    t = Translator(choose_locale(customer.get("locale"), config.default_locale), config.emails.texts)
    name = t(f"outcome_{ctx.request.get('outcome', 'refund')}")
    _email_customer(ctx, "return_done_text", outcome=name)


def complete(ctx: Context, event: dict[str, Any]) -> None:
    """Close the request; the returned items leave the order's plan like refunded ones (re-planned once)."""
    from functions.orders.models import NormalizedEvent, OrderFacts
    from functions.orders.service import apply_event
    from functions.orders.store import EventRecord
    from functions.orders.store import default_repository as orders

    lines: dict[str, int] = {}
    for item in ctx.request.get("items", []):
        if item.get("line_item_id"):
            lines[str(item["line_item_id"])] = lines.get(str(item["line_item_id"]), 0) + int(
                item.get("quantity") or 1
            )
    changes = 0
    if lines:
        now = clock.now()
        facts = OrderFacts(order_id=str(ctx.request["order_id"]), returned={ctx.return_id: lines})
        summary = json.dumps({"return_id": ctx.return_id, "lines": lines}).encode()
        result = apply_event(
            NormalizedEvent(
                store_id=ctx.store.id,
                integration="generic",
                topic="aftercare/return.completed",
                event_key=f"return-{ctx.return_id}",
                occurred_at=now,
                facts=facts,
            ),
            EventRecord(
                integration="generic",
                topic="aftercare/return.completed",
                event_key=f"return-{ctx.return_id}",
                occurred_at=now,
                raw_body=summary,
                verification={"valid": True, "scheme": "internal"},
                headers={},
            ),
            ctx.store.config,
            orders(),
        )
        changes = int(result.get("plan_changes", 0))
    ctx.step("system", "completed", f"closed; the returned items left the review plan ({changes} change(s))")
    ctx.set(status="completed", completed_at=clock.isoformat(clock.now()))  # last: readers see a full trail


def broken(ctx: Context, event: dict[str, Any]) -> None:
    error = str((event.get("error") or {}).get("Error") or "unknown")
    ctx.set(status="failed: workflow error")
    _release(ctx)
    _email_staff(
        ctx,
        "A return stopped with an error",
        [
            f"The return workflow for order {ctx.request.get('order_name') or ctx.request['order_id']} "
            f"stopped at an unexpected error ({error}).",
            "No refund was issued by this step. The audit trail on the page shows how far it got.",
        ],
        approval_links=True,
        link_label="Open the return",
    )
    ctx.step("system", "workflow error", error)


TASKS = {
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


def run(event: dict[str, Any]) -> Any:
    task = TASKS.get(str(event.get("task")))
    if task is None:
        raise ValueError(f"unknown returns task {event.get('task')!r}")
    ctx = _load(str(event["store_id"]), str(event["return_id"]))
    return task(ctx, event)
