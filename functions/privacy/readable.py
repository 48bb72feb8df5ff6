"""The export said in the store's language: what the readable page shows, row by row.

Aftercare's own values (field names, request kinds and statuses, flag statuses and staff actions, return
statuses, steps and outcomes, event topics, times) become catalog texts and the store's time, through the
same wording the workspace, the staff page and the returns pages use. What people wrote (comments,
replies, notes, subjects, product names, addresses) stays as written; the template isolates it. The page
is for reading: the complete machine-readable copy is the JSON export itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from functions.shared import clock
from functions.shared.i18n import Translator, choose_locale, format_moment

if TYPE_CHECKING:
    from functions.stores.models import Store

# The customer record's fields (``functions.customers.store.PROFILE_FIELDS``) and their labels;
# ``suppressed`` has its own sentence under the table.
PROFILE = {
    "email": "ws_cfg_email",
    "emails_sent": "dg_sent",
    "last_contacted_at": "privacy_field_last_contacted_at",
    "updated_at": "privacy_field_updated_at",
}
# Why emails to the address are stopped (``functions.customers.store.Suppression`` and ``ERASED``).
SUPPRESSIONS = {
    "unsubscribed": "rq_reason_unsubscribed",
    "bounced": "rq_reason_bounced",
    "complained": "rq_reason_complained",
    "erased": "privacy_reason_erased",
}
# Who asked for an erasure (``functions.privacy.routes``); an owner's address is shown as written.
REQUESTERS = {"operator": "privacy_by_operator", "store admin key": "privacy_by_admin_key"}
# What an order's event was, by topic: the platforms' (generic, Shopify, WooCommerce) and Aftercare's own.
TOPICS = {
    "order.created": "privacy_event_created",
    "orders/create": "privacy_event_created",
    "order.updated": "privacy_event_updated",
    "orders/updated": "privacy_event_updated",
    "order.restored": "privacy_event_updated",
    "order.paid": "privacy_event_paid",
    "orders/paid": "privacy_event_paid",
    "order.fulfilled": "privacy_event_fulfilled",
    "orders/fulfilled": "privacy_event_fulfilled",
    "orders/partially_fulfilled": "privacy_event_fulfilled",
    "fulfillments/create": "privacy_event_fulfilled",
    "fulfillments/update": "privacy_event_shipping",
    "fulfillment_events/create": "privacy_event_shipping",
    "order.delivered": "privacy_event_delivered",
    "order.cancelled": "rq_reason_order_cancelled",
    "orders/cancelled": "rq_reason_order_cancelled",
    "order.refunded": "rq_reason_order_refunded",
    "refunds/create": "rq_reason_order_refunded",
    "review.submitted": "privacy_event_review",
    "return.requested": "privacy_event_return_requested",
    "returns/request": "privacy_event_return_requested",
    "return.received": "privacy_event_return_received",
    "aftercare/return.completed": "privacy_event_return_completed",  # Aftercare's own, on the order
    "aftercare/product.type_learned": "privacy_event_type_learned",
}
REQUEST_KINDS = {"review": "rq_kind_review", "nps": "rq_kind_nps", "reminder": "rq_kind_reminder"}
FLAG_STATUSES = {"open": "staff_badge_open", "resolved": "staff_badge_resolved"}


@dataclass
class Row:
    cells: list[str]
    written: str = ""  # what a person wrote (a comment, a reply, a note, a subject): shown as written
    machine: str = ""  # an id of Aftercare's inside ``written`` (a refund's idempotency key): shown as code

    def parts(self) -> tuple[str, str, str]:
        """``written`` around its machine id: (before, id, after); the id is empty when there is none."""
        before, found, after = (
            self.written.partition(self.machine) if self.machine else (self.written, "", "")
        )
        return before, found, after


@dataclass
class Section:
    caption: str
    rows: list[Row] = field(default_factory=list)


@dataclass
class Order:
    heading: str
    products: list[str]
    events: list[Row]
    requests: list[Row]
    answers: list[Row]
    flags: list[Section]
    returns: list[Section]


class Words:
    """The store's language and time for one export."""

    def __init__(self, store: Store) -> None:
        self.t = Translator(choose_locale(None, store.config.default_locale))
        self.zone = store.config.timezone

    def moment(self, value: Any) -> str:
        """A stored time in the store's timezone and language; anything else as it is."""
        if not value:
            return ""
        try:
            return format_moment(clock.parse_iso(str(value)), self.t.language, self.zone)
        except ValueError:
            return str(value)

    def known(self, table: dict[str, str], value: Any) -> str:
        """The catalog text of a stored value ``table`` knows; anything else as stored."""
        text = str(value or "")
        return self.t(table[text]) if text in table else text

    def topic(self, value: Any) -> str:
        """What a delivery from the store's platform was about (its topic said in words)."""
        name = str(value or "")
        if name in TOPICS:
            return self.t(TOPICS[name])
        product = name.startswith(("product.", "products/"))
        return self.t("privacy_event_product" if product else "privacy_event_other")


def _profile(w: Words, profile: dict[str, Any] | None) -> list[Row]:
    rows = []
    for name, value in (profile or {}).items():
        if name == "suppressed":
            continue
        shown = w.moment(value) if name.endswith("_at") else str(value)
        rows.append(Row([w.known(PROFILE, name), shown]))
    return rows


def _suppression(w: Words, suppression: dict[str, Any] | None) -> str:
    if not suppression:
        return w.t("privacy_not_suppressed")
    reason = w.known(SUPPRESSIONS, suppression.get("reason"))
    return w.t("privacy_suppressed", time=w.moment(suppression.get("at")), reason=reason)


def _erasure(w: Words, erasure: dict[str, Any] | None) -> list[Row]:
    if not erasure:
        return []
    rows = [
        Row([w.t("privacy_erasure_done"), w.moment(entry.get("finished_at")), ""], _by(w, entry))
        for entry in erasure.get("history") or []
    ]
    if erasure.get("status") != "done":
        started = w.moment(erasure.get("requested_at"))
        rows.append(Row([w.t("privacy_erasure_in_progress"), started, ""], _by(w, erasure)))
    return rows


def _by(w: Words, entry: dict[str, Any]) -> str:
    return w.known(REQUESTERS, entry.get("requested_by"))


def _products(order: dict[str, Any]) -> list[str]:
    items = ((order.get("facts") or {}).get("items") or {}).get("items") or []
    return [str(item.get("name") or item.get("product_id") or "") for item in items]


def _request_kind(request: dict[str, Any]) -> str:
    return "reminder" if request.get("reminder_of") else str(request.get("kind", ""))


def _request_status(w: Words, request: dict[str, Any]) -> str:
    from functions.outreach import history

    stored = str(request.get("status") or "")
    key = f"rq_status_{stored}"
    status = w.t(key) if w.t.text(key) != key else stored  # the workspace's request statuses
    reason = history.reason_of(request)
    if reason is None or reason.key is None:
        return status
    return w.t("privacy_status_reason", status=status, reason=w.t(reason.key))


def _requests(w: Words, order: dict[str, Any]) -> list[Row]:
    return [
        Row(
            [
                w.known(REQUEST_KINDS, _request_kind(request)),
                _request_status(w, request),
                w.moment(request.get("sent_at") or request.get("due_at")),
            ],
            str(request.get("subject") or ""),
        )
        for request in order.get("requests") or []
    ]


def _answers(w: Words, order: dict[str, Any]) -> list[Row]:
    from functions.flags import emails as flag_words

    rows = []
    for answer in order.get("answers") or []:
        product = {"name": answer["product_name"]} if answer.get("product_name") else {}
        said = {"kind": answer.get("kind"), "score": answer.get("score"), "product": product}
        rows.append(
            Row(
                [flag_words.verdict(w.t, said), w.moment(answer.get("responded_at"))],
                str(answer.get("comment") or ""),
            )
        )
    return rows


def _flags(w: Words, order: dict[str, Any]) -> list[Section]:
    from functions.flags import emails as flag_words
    from functions.flags.emails import ACTION_WORDS

    sections = []
    for flag in order.get("flags") or []:
        caption = w.t(
            "privacy_flag",
            verdict=flag_words.verdict(w.t, flag) if "kind" in flag and "score" in flag else "",
            status=w.known(FLAG_STATUSES, flag.get("status")),
        )
        reasons = "; ".join(flag_words.reasons(w.t, flag))
        rows = [Row([w.t("privacy_flag_raised", reasons=reasons), "", w.moment(flag.get("created_at"))])]
        for action in flag.get("actions") or []:
            word = w.known(ACTION_WORDS, action.get("action"))
            rows.append(
                Row(
                    [word, str(action.get("actor") or ""), w.moment(action.get("at"))],
                    str(action.get("text") or ""),
                )
            )
        sections.append(Section(caption, rows))
    return sections


def _returns(w: Words, order: dict[str, Any]) -> list[Section]:
    from functions.returns import wording
    from functions.returns.emails import outcome_word, status_word

    sections = []
    for ret in order.get("returns") or []:
        caption = w.t(
            "privacy_return",
            id=str(ret.get("return_id") or ""),
            outcome=outcome_word(w.t, str(ret.get("outcome") or "")),
            status=status_word(w.t, str(ret.get("status") or "")),
            reason=wording.reason_said(w.t, str(ret.get("reason") or "")),
        )
        rows = []
        for step in ret.get("audit_trail") or []:
            if not step.get("at"):
                continue
            said = wording.audit_row(w.t, w.zone, step)
            key = re.search(r"\(key (?P<key>[^)]+)\)", str(step.get("outcome") or ""))
            cells = [str(said["step"]), str(said["actor"]), str(said["at"])]
            rows.append(Row(cells, str(said["outcome"]), key["key"] if key else ""))
        sections.append(Section(caption, rows))
    return sections


def _order(w: Words, order: dict[str, Any]) -> Order:
    return Order(
        heading=w.t("privacy_order", order=str(order.get("order_id") or "")),
        products=_products(order),
        events=[
            Row([w.topic(event.get("topic")), w.moment(event.get("received_at"))])
            for event in order.get("events") or []
        ],
        requests=_requests(w, order),
        answers=_answers(w, order),
        flags=_flags(w, order),
        returns=_returns(w, order),
    )


def view(document: dict[str, Any], store: Store) -> dict[str, Any]:
    """Everything the page shows, in the store's language (``t`` included for the template's labels)."""
    w = Words(store)
    store_name = store.config.name
    return {
        "t": w.t,
        "locale": w.t.language,
        "title": w.t("privacy_title"),
        "intro": w.t(
            "privacy_intro",
            store=store_name,
            email=document.get("email", ""),
            time=w.moment(document.get("exported_at")),
        ),
        "profile": _profile(w, document.get("customer")),
        "suppression": _suppression(w, document.get("suppression")),
        "erasure": _erasure(w, document.get("erasure")),
        "orders": [_order(w, order) for order in document.get("orders") or []],
        "quarantined": [
            Row([w.topic(found.get("topic")), w.moment(found.get("received_at"))])
            for found in document.get("quarantined_deliveries") or []
        ],
        "machine_copy": w.t("privacy_machine_copy", store=store_name),
    }
