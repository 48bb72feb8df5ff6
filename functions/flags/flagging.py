"""Flagging: a negative answer becomes one flag, and the store's staff are alerted about it once."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.customers.store import customer_key
from functions.flags import evaluate
from functions.flags.emails import flag_email
from functions.flags.models import AlertStatus, AlreadyDone, Flagging
from functions.flags.store import flag_id
from functions.shared import clock
from functions.shared.business_hours import NoBusinessTime, add_business_time
from functions.shared.mailer import PermanentSendError, TransientSendError
from functions.shared.observability import logger, metrics

if TYPE_CHECKING:
    from functions.flags.ports import Ports
    from functions.stores.models import Store


def process_answer(answer: dict[str, Any], ports: Ports) -> Flagging:
    """Flag an answer if it is negative and alert the store's staff. Safe to repeat for the same answer."""
    if "score" not in answer or "store_id" not in answer:
        return Flagging.NOT_AN_ANSWER
    store = ports.stores.get(str(answer["store_id"]), cached=True)
    config = store.config
    verdict = evaluate.evaluate(answer, config.alerts, ports.analyzer, config.default_locale)
    if not verdict.negative:
        return Flagging.NOT_NEGATIVE
    flag = build_flag(answer, store, verdict, ports)
    created = ports.flags.create(flag, keep=config.retention.answers)
    metrics.add_metric(name="ResponseFlagged", unit="Count", value=1 if created else 0)
    stored = flag if created else ports.flags.get(store.id, flag["flag_id"]) or flag
    if stored.get("alert_status") == AlertStatus.SENT:
        return Flagging.ALREADY_FLAGGED
    alert(stored, store, ports)
    return Flagging.FLAGGED if created else Flagging.ALERTED_AGAIN


def _sent_for(answer: dict[str, Any], ports: Ports, store_id: str) -> dict[str, Any]:
    """The review request this answer answers (its customer, products, subject, Message-ID), if known."""
    order = ports.orders.load(store_id, str(answer["order_id"]))
    wanted = answer["outreach_id"]
    return next((o for o in (order.outreach if order else []) if o["outreach_id"] == wanted), {})


def _product(answer: dict[str, Any], outreach: dict[str, Any]) -> dict[str, Any] | None:
    products: list[dict[str, Any]] = list(outreach.get("products", []))
    product = next((p for p in products if p.get("product_id") == answer.get("product_id")), {})
    if not product and answer.get("product_id"):
        product = {
            "product_id": answer["product_id"],
            "name": answer.get("product_name") or answer["product_id"],
        }
    return {"id": product.get("product_id"), "name": product.get("name")} if product else None


def _history(answer: dict[str, Any], customer: dict[str, Any], store_id: str, ports: Ports) -> dict[str, Any]:
    """What staff should know before replying: emails received, the order's other answers."""
    email = str(customer.get("email") or "")
    profile = ports.customers.get(store_id, customer_key(email)) if email else None
    others = [
        r
        for r in ports.responses.for_order(store_id, str(answer["order_id"]))
        if (r["pk"], r["sk"]) != (answer["pk"], answer["sk"])
    ]
    return {
        "emails_received": int((profile or {}).get("emails_sent", 0)),
        "other_answers_on_this_order": [
            {"kind": r["kind"], "score": r["score"], "at": r["responded_at"]} for r in others
        ],
        "answers_to_this_request": len(answer.get("history", [])),
    }


def _sentiment(verdict: evaluate.Verdict) -> dict[str, str] | None:
    found = verdict.sentiment
    return {"label": found.label, "language": found.language} if found else None


def build_flag(
    answer: dict[str, Any], store: Store, verdict: evaluate.Verdict, ports: Ports
) -> dict[str, Any]:
    """The flag of a negative answer, with what staff need to reply without looking anything up."""
    now = ports.clock.now()
    order_id = str(answer["order_id"])
    outreach = _sent_for(answer, ports, store.id)
    customer = dict(outreach.get("customer") or answer.get("customer") or {})
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
        "product": _product(answer, outreach),
        "customer": customer,
        "original_subject": outreach.get("subject"),
        "original_message_id": outreach.get("email_message_id"),
        "reasons": verdict.reasons,
        "sentiment": _sentiment(verdict),
        "history": _history(answer, customer, store.id, ports),
        "created_at": clock.isoformat(now),
        "sla_deadline": clock.isoformat(sla_deadline(store, now)),
    }


def sla_deadline(store: Store, flagged_at: datetime) -> datetime:
    """When a reply is due: the store's SLA counted in its business hours (every hour without them).

    Opening hours that stay closed for years (holidays covering every open day) cannot give a deadline;
    the SLA then counts every hour rather than never escalating, and the problem is logged.
    """
    config = store.config
    try:
        return add_business_time(flagged_at, config.alerts.sla, config.business_hours, config.timezone)
    except NoBusinessTime as closed:
        logger.warning("SLA counts every hour", extra={"store_id": store.id, "why": str(closed)})
        return flagged_at + config.alerts.sla


def alert(flag: dict[str, Any], store: Store, ports: Ports) -> None:
    """Email each alert address once; a failure before anyone was reached lets a retry alert again."""
    try:
        ports.flags.claim_alert(store.id, flag["flag_id"])
    except AlreadyDone:
        return  # another delivery of this record is alerting (or did)
    sent_to: list[str] = []
    try:
        for staff in store.config.staff.alert_emails:
            ports.mailer.send(flag_email(ports, store, flag, str(staff), overdue=False))
            sent_to.append(str(staff))
    except (TransientSendError, PermanentSendError):
        if not sent_to:
            ports.flags.release_alert(store.id, flag["flag_id"])  # nothing went out: the retry may alert
            raise
        logger.exception("staff alert reached only some recipients", extra={"sent_to": sent_to})
    ports.flags.alert_sent(store.id, flag["flag_id"], sent_to)
    metrics.add_metric(name="StaffAlertSent", unit="Count", value=len(sent_to))
