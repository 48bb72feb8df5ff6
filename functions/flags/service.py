"""Negative answers: flag them, alert staff, let staff reply or act, escalate what waits too long."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

from functions.customers.store import CustomerRepository, customer_key
from functions.flags import evaluate
from functions.flags.sentiment import Analyzer
from functions.flags.store import AlreadyDone, FlagRepository, FlagResolved, flag_id
from functions.orders.store import OrderRepository
from functions.outreach import mailer
from functions.outreach.compose import Email, address, one_line
from functions.responses.store import ResponseRepository
from functions.shared import clock, tokens
from functions.shared.errors import NotFound
from functions.shared.observability import logger, metrics
from functions.shared.templating import render
from functions.stores.models import Store
from functions.stores.store import StoreRepository

STAFF = "staff"
STAFF_TTL = timedelta(days=14)
OFFERS = ("refund", "return", "replacement")
MAX_REPLY = 5000


@dataclass
class Ports:
    flags: FlagRepository
    stores: StoreRepository
    customers: CustomerRepository
    responses: ResponseRepository
    orders: OrderRepository
    analyzer: Analyzer
    signing_key: bytes
    base_url: str
    configuration_set: str
    retries: int = 3
    retry_base_ms: int = 200


class ActionRefused(Exception):
    """A staff action that cannot be done; ``message`` is shown on the staff page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ------------------------------------------------------------------------------------- flagging


def process_answer(answer: dict[str, Any], ports: Ports) -> str:
    """Flag an answer if it is negative and alert the store's staff. Safe to repeat for the same answer."""
    if "score" not in answer or "store_id" not in answer:
        return "not an answer"
    store = ports.stores.get(str(answer["store_id"]), cached=True)
    verdict = evaluate.evaluate(answer, store.config.alerts, ports.analyzer)
    if not verdict.negative:
        return "not negative"
    flag = _build_flag(answer, store, verdict, ports)
    created = ports.flags.create(flag)
    metrics.add_metric(name="ResponseFlagged", unit="Count", value=1 if created else 0)
    stored = flag if created else ports.flags.get(store.id, flag["flag_id"]) or flag
    if stored.get("alert_status") == "sent":
        return "already flagged"
    _alert(stored, store, ports)
    return "flagged" if created else "alerted again"


def _build_flag(
    answer: dict[str, Any], store: Store, verdict: evaluate.Verdict, ports: Ports
) -> dict[str, Any]:
    now = clock.now()
    order_id = str(answer["order_id"])
    order = ports.orders.load(store.id, order_id)
    outreach = next(
        (o for o in (order.outreach if order else []) if o["outreach_id"] == answer["outreach_id"]), {}
    )
    customer = dict(outreach.get("customer") or answer.get("customer") or {})
    products: list[dict[str, Any]] = list(outreach.get("products", []))
    product = next((p for p in products if p.get("product_id") == answer.get("product_id")), {})
    if not product and answer.get("product_id"):
        product = {
            "product_id": answer["product_id"],
            "name": answer.get("product_name") or answer["product_id"],
        }
    profile = (
        ports.customers.get(store.id, customer_key(str(customer.get("email", ""))))
        if customer.get("email")
        else None
    )
    others = [
        r
        for r in ports.responses.for_order(store.id, order_id)
        if (r["pk"], r["sk"]) != (answer["pk"], answer["sk"])
    ]
    history = {
        "emails_received": int((profile or {}).get("emails_sent", 0)),
        "other_answers_on_this_order": [
            {"kind": r["kind"], "score": r["score"], "at": r["responded_at"]} for r in others
        ],
        "answers_to_this_request": len(answer.get("history", [])),
    }
    return {
        "store_id": store.id,
        "flag_id": flag_id(str(answer["pk"]), str(answer["sk"])),
        "response_pk": answer["pk"],
        "response_sk": answer["sk"],
        "order_id": order_id,
        "order_name": outreach.get("order_name") or order_id,
        "outreach_id": answer["outreach_id"],
        "kind": answer["kind"],
        "score": int(answer["score"]),
        "comment": str(answer.get("comment") or ""),
        "product": {"id": product.get("product_id"), "name": product.get("name")} if product else None,
        "customer": customer,
        "original_subject": outreach.get("subject"),
        "original_message_id": outreach.get("email_message_id"),
        "reasons": verdict.reasons,
        "sentiment": {"label": verdict.sentiment.label, "language": verdict.sentiment.language}
        if verdict.sentiment
        else None,
        "history": history,
        "created_at": clock.isoformat(now),
        "sla_deadline": clock.isoformat(now + store.config.alerts.sla),
    }


def staff_token(ports: Ports, store: Store, flag: dict[str, Any], staff_email: str) -> str:
    return tokens.sign(
        ports.signing_key,
        purpose=STAFF,
        store_id=store.id,
        ttl=STAFF_TTL,
        claims={"f": flag["flag_id"], "a": staff_email},
    )


def _staff_email(store: Store, to: str, subject: str, template: str, **context: Any) -> Email:
    sender = str(store.config.sender.email)
    headers = {
        "From": address(f"Aftercare for {store.config.name}", sender),
        "To": address(None, to),
        "Date": format_datetime(clock.now()),
        "Message-ID": f"<{uuid.uuid4().hex}@{sender.rsplit('@', 1)[-1]}>",
        "Auto-Submitted": "auto-generated",
    }
    base = {"store_name": store.config.name, "locale": "en", "accent": store.config.emails.accent_color}
    return Email(
        store_id=store.id,
        sender=sender,
        to=to,
        subject=one_line(subject, 200),
        html=render(f"emails/{template}.html", **base, **context),
        text=render(f"emails/{template}.txt", **base, **context),
        headers=headers,
    )


def _flag_subject(flag: dict[str, Any], prefix: str) -> str:
    what = f"{flag['score']}★" if flag["kind"] == "review" else f"NPS {flag['score']}"
    about = (flag.get("product") or {}).get("name") or "the store"
    return f"{prefix} {what} for {one_line(str(about), 80)}, order {one_line(str(flag['order_name']), 40)}"


def _flag_email(ports: Ports, store: Store, flag: dict[str, Any], person: str, *, overdue: bool) -> Email:
    """The alert (or, once overdue, the escalation) about a flag, with the recipient's own staff link."""
    link = f"{ports.base_url.rstrip('/')}/staff/{staff_token(ports, store, flag, person)}"
    subject = _flag_subject(flag, "[Overdue]" if overdue else "[Needs a reply]")
    return _staff_email(
        store,
        person,
        subject,
        "staff_alert",
        flag=flag,
        link=link,
        deadline=flag["sla_deadline"],
        overdue=overdue,
    )


def _alert(flag: dict[str, Any], store: Store, ports: Ports) -> None:
    try:
        ports.flags.claim_alert(store.id, flag["flag_id"])
    except AlreadyDone:
        return  # another delivery of this record is alerting (or did)
    sent_to: list[str] = []
    try:
        for staff in store.config.staff.alert_emails:
            email = _flag_email(ports, store, flag, str(staff), overdue=False)
            mailer.send(email, ports.configuration_set, "staff-alert", ports.retries, ports.retry_base_ms)
            sent_to.append(str(staff))
    except (mailer.TransientSendError, mailer.PermanentSendError):
        if not sent_to:
            ports.flags.release_alert(store.id, flag["flag_id"])  # nothing went out: the retry may alert
            raise
        logger.exception("staff alert reached only some recipients", extra={"sent_to": sent_to})
    ports.flags.alert_sent(store.id, flag["flag_id"], sent_to)
    metrics.add_metric(name="StaffAlertSent", unit="Count", value=len(sent_to))


# ------------------------------------------------------------------------------------- staff page


@dataclass
class StaffView:
    token: tokens.Token
    token_text: str
    store: Store
    flag: dict[str, Any]
    answer: dict[str, Any] | None
    signing_key: bytes

    @property
    def actor(self) -> str:
        return str(self.token.claims.get("a", "staff"))

    @property
    def csrf(self) -> str:
        digest = hmac.new(self.signing_key, f"staff-form/{self.token.token_id}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def check(self, presented: str) -> None:
        if not hmac.compare_digest(self.csrf.encode(), presented.encode("utf-8", "replace")):
            raise ActionRefused("This form is out of date. Reload the page and try again.")


def open_staff(token_text: str, ports: Ports) -> StaffView:
    token = tokens.verify(ports.signing_key, token_text, purpose=STAFF)
    store = ports.stores.get(token.store_id, cached=True)
    flag = ports.flags.get(store.id, str(token.claims.get("f", "")))
    if flag is None:
        raise NotFound("this flag does not exist")
    pk, sk = str(flag["response_pk"]), str(flag["response_sk"])
    answer = ports.responses.get(store.id, pk.split("#", 1)[1], sk)
    return StaffView(token, token_text, store, flag, answer, ports.signing_key)


REPLY_DEDUPE_WINDOW = timedelta(minutes=15)


def _once(view: StaffView, action_id: str, ports: Ports, reply_text: str | None = None) -> str | None:
    """Claim this form's action on the open flag (see ``FlagRepository.claim_action``); returns the digest."""
    if not action_id or len(action_id) > 64:
        raise ActionRefused("This form is incomplete. Reload the page and try again.")
    digest = None
    if reply_text is not None:
        normalised = " ".join(reply_text.split()).casefold()
        digest = "r" + hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:32]
    since = clock.isoformat(clock.now() - REPLY_DEDUPE_WINDOW)
    try:
        ports.flags.claim_action(
            view.store.id, view.flag["flag_id"], action_id, reply_digest=digest, since=since
        )
    except FlagResolved:
        raise ActionRefused(
            "This flag is resolved. Reopen it first if something still needs doing."
        ) from None
    return digest


def reply(view: StaffView, text: str, action_id: str, resolve: bool, ports: Ports) -> None:
    """Email the staff member's reply to the customer, threaded under the original email, once."""
    body = text.replace("\r\n", "\n").strip()
    if not body:
        raise ActionRefused("Write a reply before sending it.")
    if len(body) > MAX_REPLY:
        raise ActionRefused(f"Replies are limited to {MAX_REPLY} characters.")
    customer = view.flag.get("customer") or {}
    email = str(customer.get("email") or "")
    if not email:
        raise ActionRefused("This customer has no email address on file.")
    profile = ports.customers.get(view.store.id, customer_key(email)) or {}
    suppressed = (profile.get("suppressed") or {}).get("reason")
    if suppressed in {"bounced", "complained"}:
        raise ActionRefused(f"The customer's address {suppressed}; Aftercare will not email it.")
    digest = _once(view, action_id, ports, reply_text=body)
    message = _reply_email(view, body, customer, email)
    try:
        message_id = mailer.send(
            message, ports.configuration_set, "staff-reply", ports.retries, ports.retry_base_ms
        )
    except (mailer.TransientSendError, mailer.PermanentSendError):
        ports.flags.release_action(view.store.id, view.flag["flag_id"], action_id, reply_digest=digest)
        raise ActionRefused(
            "The reply could not be sent just now. Nothing was emailed; try again in a minute."
        ) from None
    action = {
        "at": clock.isoformat(clock.now()),
        "actor": view.actor,
        "action": "reply",
        "text": body,
        "message_id": message_id,
    }
    created = clock.parse_iso(str(view.flag["created_at"]))
    ports.flags.record_action(
        view.store.id, view.flag["flag_id"], action, reply=True, resolve=resolve, created_at=created
    )
    metrics.add_metric(
        name="SecondsToFirstReply", unit="Seconds", value=max(0.0, (clock.now() - created).total_seconds())
    )


def _reply_email(view: StaffView, body: str, customer: dict[str, Any], email: str) -> Email:
    config = view.store.config
    subject = str(view.flag.get("original_subject") or f"Your order {view.flag['order_name']}")
    headers = {
        "From": address(config.sender.name, str(config.sender.email)),
        "To": address(customer.get("name"), email),
        "Date": format_datetime(clock.now()),
        "Message-ID": f"<{uuid.uuid4().hex}@{str(config.sender.email).rsplit('@', 1)[-1]}>",
    }
    if config.reply_to:
        headers["Reply-To"] = str(config.reply_to)
    original = view.flag.get("original_message_id")
    if original:
        headers["In-Reply-To"] = str(original)
        headers["References"] = str(original)
    context = {
        "store_name": config.name,
        "postal_address": config.postal_address,
        "body": body,
        "locale": str(customer.get("locale") or config.default_locale),
        "accent": config.emails.accent_color,
    }
    return Email(
        store_id=view.store.id,
        sender=str(config.sender.email),
        to=email,
        subject=one_line(subject if subject.lower().startswith("re:") else f"Re: {subject}", 200),
        html=render("emails/staff_reply.html", **context),
        text=render("emails/staff_reply.txt", **context),
        headers=headers,
    )


def resolve(view: StaffView, note: str, action_id: str, ports: Ports) -> None:
    _once(view, action_id, ports)
    action = {
        "at": clock.isoformat(clock.now()),
        "actor": view.actor,
        "action": "resolve",
        "text": note[:1000],
    }
    ports.flags.record_action(
        view.store.id,
        view.flag["flag_id"],
        action,
        reply=False,
        resolve=True,
        created_at=clock.parse_iso(str(view.flag["created_at"])),
    )


def reopen(view: StaffView, ports: Ports) -> None:
    try:
        ports.flags.reopen(view.store.id, view.flag["flag_id"], view.actor)
    except AlreadyDone:
        raise AlreadyDone("this flag is open already") from None


@dataclass(frozen=True)
class OfferContext:
    """What a staff offer on this flag would return: the order line, and how the policy sees it."""

    line_item_id: str | None
    problem: str  # why no offer is possible at all (empty: possible)
    warnings: list[str]  # why the store's policy would refuse a customer asking for the same


def offer_context(view: StaffView, ports: Ports) -> OfferContext:
    from functions.orders import ledger
    from functions.returns import policy

    product = view.flag.get("product") or {}
    stored = ports.orders.get_order(view.store.id, str(view.flag["order_id"]))
    line = None
    if stored is not None and stored.facts.items is not None:
        line = next((i for i in stored.facts.items.items if i.product_key == product.get("id")), None)
    if stored is None or line is None:
        return OfferContext(
            None,
            "Aftercare has no line items for this order, so it cannot offer a refund or return here. "
            "Use your store's admin.",
            [],
        )
    left = ledger.returnable(stored.facts, stored.ledger).get(line.id, 0)
    if left < 1:
        why = ledger.closed_because(stored.facts) or "every unit of this item is in a return or refunded"
        return OfferContext(line.id, f"Nothing left to offer: {why}.", [])
    facts = stored.facts
    delivered = facts.delivered_at or (
        facts.fulfilled_at + view.store.config.outreach.transit_time if facts.fulfilled_at else None
    )
    described = [{"name": line.name, "product_type": line.product_type}]
    warnings = policy.outside_policy(described, view.store.config, delivered, clock.now())
    return OfferContext(line.id, "", warnings)


def offer(
    view: StaffView, kind: str, note: str, action_id: str, ports: Ports, *, outside_policy_ok: bool = False
) -> dict[str, Any]:
    """Offer a refund, return or replacement of the flagged item: the units are held, the workflow starts.

    A staff decision is never refused by the store's policy, but an offer outside it must be confirmed.
    """
    from functions.orders import ledger
    from functions.returns.service import Requested, return_id_for, start
    from functions.returns.store import default_repository

    if kind not in OFFERS:
        raise ActionRefused("Choose a refund, a return or a replacement.")
    context = offer_context(view, ports)
    if context.problem or context.line_item_id is None:
        raise ActionRefused(context.problem)
    if context.warnings and not outside_policy_ok:
        raise ActionRefused(
            "This offer is outside the store's return policy: "
            + " ".join(context.warnings)
            + " Tick the confirmation box to offer it anyway."
        )
    _once(view, action_id, ports)
    flag = view.flag
    requested = Requested(
        return_id=return_id_for(view.store.id, str(flag["flag_id"]), kind),
        order_id=str(flag["order_id"]),
        lines={context.line_item_id: 1},
        outcome=kind,
        reason=f"offered by staff: {note or 'no note'}",
        source="staff",
        extra={"flag_id": flag["flag_id"]},
    )
    try:
        started = start(view.store, requested, default_repository(), ports.orders, view.actor)
    except (ledger.NotReturnable, NotFound) as refused:
        ports.flags.release_action(view.store.id, flag["flag_id"], action_id)
        raise ActionRefused(f"The offer was not made: {refused.message}") from None
    action = {
        "at": clock.isoformat(clock.now()),
        "actor": view.actor,
        "action": f"offer {kind}",
        "text": note[:1000],
        "return_id": started["return_id"],
    }
    ports.flags.record_action(
        view.store.id,
        flag["flag_id"],
        action,
        reply=False,
        resolve=False,
        created_at=clock.parse_iso(str(flag["created_at"])),
    )
    return started


# ------------------------------------------------------------------------------------- SLA


def escalate(ports: Ports) -> int:
    """Email the escalation contacts about every open, unanswered flag past its deadline, once per flag.

    One flag (or one store) that fails is logged and counted and never stops the others.
    """
    now = clock.now()
    escalated = 0
    for shard in range(ports.flags.shards):
        for flag in ports.flags.overdue(shard, now):
            try:
                escalated += _escalate_one(flag, ports)
            except Exception:
                logger.exception("could not escalate a flag", extra={"flag": flag.get("flag_id")})
                metrics.add_metric(name="EscalationFailed", unit="Count", value=1)
    if escalated:
        metrics.add_metric(name="FlagEscalated", unit="Count", value=escalated)
    return escalated


def _escalate_one(flag: dict[str, Any], ports: Ports) -> int:
    store = ports.stores.get(str(flag["store_id"]), cached=True)
    try:
        ports.flags.mark_escalated(store.id, str(flag["flag_id"]))
    except AlreadyDone:
        return 0
    recipients = store.config.staff.escalation_emails or store.config.staff.alert_emails
    for person in recipients:
        email = _flag_email(ports, store, flag, str(person), overdue=True)
        try:
            mailer.send(email, ports.configuration_set, "escalation", ports.retries, ports.retry_base_ms)
        except (mailer.TransientSendError, mailer.PermanentSendError):
            logger.exception("escalation email failed", extra={"flag": flag["flag_id"], "to": str(person)})
            metrics.add_metric(name="EscalationFailed", unit="Count", value=1)
    return 1


_shared: dict[str, Ports] = {}


def shared_ports() -> Ports:
    """The ports of this process, built on first use (a warm Lambda reuses them)."""
    if "ports" not in _shared:
        _shared["ports"] = default_ports()
    return _shared["ports"]


def reset_ports() -> None:
    _shared.clear()


def default_ports() -> Ports:
    from functions.customers.store import default_repository as customers
    from functions.flags.sentiment import analyzer
    from functions.flags.store import default_repository as flags
    from functions.orders.store import default_repository as orders
    from functions.responses.store import default_repository as responses
    from functions.shared.settings import get_settings
    from functions.stores.store import default_repository as stores

    settings = get_settings()
    return Ports(
        flags=flags(),
        stores=stores(),
        customers=customers(),
        responses=responses(),
        orders=orders(),
        analyzer=analyzer(settings.sentiment),
        signing_key=tokens.signing_key(),
        base_url=settings.public_base_url,
        configuration_set=settings.ses_configuration_set,
        retries=settings.send_retries,
        retry_base_ms=settings.send_retry_base_ms,
    )
