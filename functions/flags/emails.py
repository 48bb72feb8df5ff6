"""The emails about a flag: the staff alert (and, once overdue, the escalation) and staff's reply.

Staff read everything in the store's language (``default_locale``) and time (``timezone``): the
helpers here are shared by the alert email and the staff page. What the customer wrote, names and
product names are shown as written (escaped by the templates).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.shared import clock, links
from functions.shared.business_hours import business_time_between
from functions.shared.email import Email, one_line, to_customer, to_staff
from functions.shared.i18n import Translator, choose_locale, format_duration, format_moment, format_relative

if TYPE_CHECKING:
    from functions.flags.ports import Ports
    from functions.stores.models import Store

KINDS = {"review": "staff_kind_review", "nps": "staff_kind_nps"}
ACTION_WORDS = {  # a flag's logged action -> its catalog text
    "reply": "staff_action_reply",
    "resolve": "staff_action_resolve",
    "reopen": "staff_action_reopen",
    "offer refund": "staff_action_offer_refund",
    "offer return": "staff_action_offer_return",
    "offer replacement": "staff_action_offer_replacement",
}
# The words ``functions.flags.evaluate`` stores as a flag's reasons, and the catalog text for each.
REASONS = (
    (
        re.compile(r"^(?P<score>\d+) of 5 stars \(the store flags (?P<limit>\d+) or fewer\)$"),
        "staff_reason_stars",
    ),
    (re.compile(r"^NPS (?P<score>\d+): a detractor \(0 to (?P<limit>\d+)\)$"), "staff_reason_detractor"),
    (re.compile(r'^mentions "(?P<keyword>.*)"$', re.DOTALL), "staff_reason_keyword"),
    (
        re.compile(r"^negative text \((?P<analyzer>.+), (?P<language>.+), (?P<confidence>\d+)% confident\)$"),
        "staff_reason_sentiment",
    ),
)


def staff_translator(store: Store) -> Translator:
    """The store's language (its ``default_locale``), with the store's own texts where it has any."""
    config = store.config
    return Translator(choose_locale(None, config.default_locale), config.emails.texts)


def moment(t: Translator, store: Store, at: datetime | str) -> str:
    """A time as staff read it: in the store's timezone, with the zone named."""
    when = clock.parse_iso(at) if isinstance(at, str) else at
    return format_moment(when, t.language, store.config.timezone)


def due(t: Translator, store: Store, deadline: str, now: datetime) -> tuple[bool, str]:
    """Whether the reply is overdue, and the sentence saying by when it is (or was) due."""
    at = clock.parse_iso(deadline)
    when = moment(t, store, at)
    if at <= now:
        return True, t("staff_overdue_by", duration=format_duration(now - at, t.language), moment=when)
    return False, t("staff_due_by", moment=when, relative=format_relative(at - now, t.language))


def business_left(t: Translator, store: Store, deadline: str, now: datetime) -> str:
    """How much of the store's opening time is left before the deadline (empty without business hours)."""
    config = store.config
    at = clock.parse_iso(deadline)
    if config.business_hours is None or at <= now:
        return ""
    try:
        left = business_time_between(now, at, config.business_hours, config.timezone)
    except ValueError:
        return ""
    return t("staff_business_left", duration=format_duration(left, t.language))


def verdict(t: Translator, flag: dict[str, Any], score: Any = None) -> str:
    """ "2 of 5 stars for Organic tee" / "NPS 3 of 10", in the store's language."""
    product = (flag.get("product") or {}).get("name")
    key = "staff_stars" if flag["kind"] == "review" else "staff_nps"
    value = flag["score"] if score is None else score
    return t(f"{key}_for" if product else key, score=value, product=product or "")


def reasons(t: Translator, flag: dict[str, Any]) -> list[str]:
    """Why the answer was flagged, each reason in the store's language (an unknown one as stored)."""
    said = []
    for reason in flag.get("reasons") or []:
        text = str(reason)
        found = next(((m, key) for pattern, key in REASONS if (m := pattern.match(text))), None)
        said.append(t(found[1], **found[0].groupdict()) if found else text)
    return said


def kind(t: Translator, name: str) -> str:
    return t(KINDS[name]) if name in KINDS else name


def history(t: Translator, flag: dict[str, Any]) -> str:
    """Emails the customer received and the order's other answers, in one line."""
    known = flag.get("history") or {}
    others = [f"{kind(t, str(o['kind']))} {o['score']}" for o in known.get("other_answers_on_this_order", [])]
    answers = ", ".join(others) or t("staff_history_none")
    return t("staff_history_text", emails=known.get("emails_received", 0), answers=answers)


def staff_link(ports: Ports, store: Store, flag: dict[str, Any], person: str) -> str:
    """The recipient's own link to the flag's staff page (the page logs actions under their address)."""
    token = links.STAFF.mint(ports.signing_key(), store.id, {"f": flag["flag_id"], "a": person})
    return links.STAFF.url(ports.base_url, token)


def _subject(t: Translator, flag: dict[str, Any], overdue: bool) -> str:
    what_key = "staff_subject_stars" if flag["kind"] == "review" else "staff_subject_nps"
    about = (flag.get("product") or {}).get("name") or t("staff_subject_the_store")
    return t(
        "staff_overdue_subject" if overdue else "staff_alert_subject",
        what=t(what_key, score=flag["score"]),
        about=one_line(str(about), 80),
        order=one_line(str(flag["order_name"]), 40),
    )


def flag_email(ports: Ports, store: Store, flag: dict[str, Any], person: str, *, overdue: bool) -> Email:
    """The alert (or, once overdue, the escalation) about a flag, with the recipient's own staff link."""
    t = staff_translator(store)
    now = ports.clock.now()
    late, due_text = due(t, store, str(flag["sla_deadline"]), now)
    return to_staff(
        store,
        to=person,
        subject=_subject(t, flag, overdue),
        template="staff_alert",
        context={
            "t": t,
            "locale": t.language,
            "accent": store.config.emails.accent_color,
            "flag": flag,
            "link": staff_link(ports, store, flag, person),
            "overdue": overdue or late,
            "due": due_text,
            "business_left": business_left(t, store, str(flag["sla_deadline"]), now),
            "verdict": verdict(t, flag),
            "reasons": reasons(t, flag),
            "history": history(t, flag),
            "link_days": links.STAFF.ttl.days,
        },
        kind="escalation" if overdue else "staff-alert",
    )


def reply_email(store: Store, flag: dict[str, Any], body: str) -> Email:
    """Staff's reply to the customer, from the store, threaded under the email the customer answered, in the
    language staff wrote it in (the flag's customer locale: ``staff.reply`` sets it)."""
    config = store.config
    customer = flag.get("customer") or {}
    locale = str(customer.get("locale") or config.default_locale)
    subject = str(flag.get("original_subject") or "")
    if not subject:  # the answered email's subject is unknown: "Your order #1001" in the reply's language
        t = Translator(choose_locale(locale, config.default_locale), config.emails.texts)
        subject = t("reply_subject", order=one_line(str(flag["order_name"]), 40))
    original = flag.get("original_message_id")
    return to_customer(
        store,
        to=str(customer["email"]),
        name=customer.get("name"),
        subject=subject if subject.lower().startswith("re:") else f"Re: {subject}",
        template="staff_reply",
        context={
            "store_name": config.name,
            "postal_address": config.postal_address,
            "body": body,
            "locale": locale,
            "accent": config.emails.accent_color,
        },
        kind="staff-reply",
        locale=locale,
        in_reply_to=str(original) if original else None,
    )
