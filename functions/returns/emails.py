"""The emails a return sends: updates to the customer (in their language) and notes to the store's staff.

Both go through the one email builder (``functions.shared.email``) with the return id as the
Message-ID prefix, so every message of one return is recognisable in a mailbox.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.returns.models import Outcome, Status
from functions.shared import clock, email, links
from functions.shared.i18n import (
    Translator,
    choose_locale,
    format_date,
    format_moment,
    format_relative,
    isolate,
)
from functions.shared.mailer import PermanentSendError, TransientSendError
from functions.shared.templating import direction

if TYPE_CHECKING:
    from functions.returns.models import ReturnRequest
    from functions.returns.ports import Ports
    from functions.stores.models import Store


class EmailNotSent(Exception):
    """SES did not take an email; the state machine retries the step (it matches this class name)."""


def send(ports: Ports, message: email.Email) -> None:
    try:
        ports.mailer.send(message)
    except (TransientSendError, PermanentSendError) as error:
        raise EmailNotSent(str(error)) from error


def translator(store: Store, request: ReturnRequest) -> Translator:
    """The customer's language (or the store's default) with the store's own texts."""
    config = store.config
    return Translator(
        choose_locale(request.customer.get("locale"), config.default_locale), config.emails.texts
    )


@dataclass(frozen=True)
class CustomerEmail:
    """One kind of customer email about a return: its subject and the catalog texts of its body."""

    subject: str
    lines: tuple[str, ...]


# Every email a customer gets about a return, by what it says (the audit step "customer emailed" records
# the name: ``wording.TOLD`` says it to staff). Each kind has its own subject naming the order.
CUSTOMER_EMAILS = {
    "received": CustomerEmail("rt_subject_received", ("rt_received_text",)),
    "refused": CustomerEmail("rt_subject_refused", ("return_refused_text",)),
    "rejected": CustomerEmail("rt_subject_rejected", ("return_rejected_text",)),
    "instructions": CustomerEmail("rt_subject_instructions", ("return_instructions_text", "rt_send_by")),
    "reminder": CustomerEmail("rt_subject_reminder", ("return_reminder_text", "rt_send_by")),
    "kept": CustomerEmail("rt_subject_kept", ("return_done_text", "return_keep_text")),
    "done": CustomerEmail("rt_subject_done", ("return_done_text",)),
    "not received": CustomerEmail("rt_subject_not_received", ("return_not_received_text",)),
    "expired": CustomerEmail("rt_subject_expired", ("rt_expired_text",)),
}


WITH_NUMBER = frozenset({"instructions", "reminder"})  # bodies that say the request number themselves


def greeting(t: Translator, name: Any) -> str:
    """ "Hi Nour," or, without a name, the locale's own greeting ("Hello,")."""
    text = " ".join(str(name or "").split())
    return t("greeting", name=text) if text else t("greeting_anonymous")


def for_customer(
    store: Store,
    request: ReturnRequest,
    kind: str,
    status_link: str,
    *,
    deadline: datetime | None = None,
) -> email.Email | None:
    """The customer's email ``kind`` (``CUSTOMER_EMAILS``); None when the request has no customer email.

    In the customer's language: a greeting, what happened and what to do, the order named by the store's
    label, the request number and a link to the return's status page.
    """
    from functions.returns import wording

    to = request.customer.get("email")
    if not to:
        return None
    config = store.config
    t = translator(store, request)
    which = CUSTOMER_EMAILS[kind]
    values = {
        "order": request.order_label,
        "id": request.return_id,
        "address": config.returns.return_address or config.postal_address,
        "outcome": t(f"outcome_{request.outcome}"),
        "reason": wording.policy_said(t, str(request.decision.get("reason") or "")),
        "date": format_date(deadline, t.language, config.timezone) if deadline else "",
    }
    subject = t(which.subject, **values)
    context = {
        "greeting": greeting(t, request.customer.get("name")),
        "lines": [t(key, **values) for key in which.lines if key != "rt_send_by" or deadline],
        # the request number, unless the body already asks for it in the parcel
        "request_number": "" if kind in WITH_NUMBER else t("rt_request_number", id=request.return_id),
        "status_link": status_link,
        "status_label": t("rt_status_link"),
        "store_name": config.name,
        "postal_address": config.postal_address,
        "footer": f"{isolated(t, config.name)} · {isolated(t, config.postal_address)}",
        "locale": t.language,
        "dir": direction(t.language),
        "title": subject,
    }
    return email.to_customer(
        store,
        to=str(to),
        name=request.customer.get("name"),
        subject=subject,
        template="return_update",
        context=context,
        kind="return-customer",
        locale=t.language,
        id_prefix=request.return_id,
    )


@dataclass(frozen=True)
class StaffNote:
    """What staff are told about a return; with ``link_label`` each person gets their own page link."""

    heading: str
    lines: list[str]
    escalate: bool = False
    link_label: str | None = None


def staff_recipients(store: Store, escalate: bool) -> list[str]:
    staff = store.config.staff
    people = (staff.escalation_emails or staff.alert_emails) if escalate else staff.alert_emails
    return [str(person) for person in people]


def approval_link(ports: Ports, store: Store, request: ReturnRequest, person: str) -> str:
    """The return's staff page for ``person`` (approve, reject, retry or settle, as its state allows)."""
    token = links.RETURN_APPROVAL.mint(ports.signing_key(), store.id, {"r": request.return_id, "a": person})
    return links.RETURN_APPROVAL.url(ports.base_url, token)


# ------------------------------------------------------------------ staff words, in the store's language

OUTCOMES = {o.value: f"staff_outcome_{o.value}" for o in Outcome}
STATUSES = {s.value: "staff_return_status_" + re.sub(r"[^a-z]+", "_", s.value).strip("_") for s in Status}
SOURCES = {"customer": "staff_source_customer", "staff": "staff_source_staff", "store": "staff_source_store"}


def staff_translator(store: Store) -> Translator:
    """Staff read the store's language (``default_locale``), with the store's own texts where it has any."""
    config = store.config
    return Translator(choose_locale(None, config.default_locale), config.emails.texts)


def link_translator(error: Exception, load: Callable[[str], Store]) -> Translator:
    """For the page of a staff link that did not open: the store's language when the link proves which
    store it belongs to (``links.store_of``) and the store loads, else English."""
    from functions.shared.errors import AftercareError
    from functions.shared.i18n import DEFAULT

    store_id = links.store_of(error)
    if store_id:
        try:
            return staff_translator(load(store_id))
        except AftercareError:
            pass
    return Translator(DEFAULT)


def isolated(t: Translator, value: Any) -> str:
    """``value`` kept in its own direction when set beside text of ``t``'s language outside a catalog
    sentence (a footer "store · address"); sentences isolate their values themselves (``Translator``)."""
    return isolate(value, direction(t.language) == "rtl")


def _word(t: Translator, words: dict[str, str], value: str) -> str:
    return t(words[value]) if value in words else value


def outcome_word(t: Translator, outcome: str) -> str:
    """ "Refund", "Store credit" … in ``t``'s language (an unknown outcome as stored)."""
    return _word(t, OUTCOMES, outcome)


def status_word(t: Translator, status: str) -> str:
    """A return's status ("awaiting approval") in ``t``'s language (an unknown status as stored)."""
    return _word(t, STATUSES, status)


def source_word(t: Translator, source: str) -> str:
    return _word(t, SOURCES, source)


# What the workflow's steps (``functions.returns.steps``) write to staff, in English, and the catalog text
# each becomes in the store's language; the variable parts are read back from the English line. A heading,
# link label or line not listed here is sent as written (tests/integration/test_staff_locale.py runs every
# note in Arabic and fails on any English left, so a step that changes its words is caught).
NOTE_HEADINGS = {
    "Approve or reject a return": "staff_return_approve",
    "Overdue: approve or reject a return": "staff_return_approve_overdue",
    "A return expired without a decision": "staff_return_expired",
    "A return was never sent back": "staff_return_not_sent",
    "A refund was not issued": "staff_return_not_refunded",
    "A refund could not be issued": "staff_return_refund_failed",
    "A return stopped with an error": "staff_return_broken",
}
LINK_LABELS = {
    "Review and decide": "staff_return_link_review",
    "Open the return to retry the refund": "staff_return_link_retry",
    "Open the return": "staff_return_link_open",
}
_MONEY = r"(?P<outcome>\S+) of (?P<amount>\S*) (?P<currency>\S+)"
NOTE_LINES = tuple(
    (re.compile(pattern, re.DOTALL), key)
    for pattern, key in (
        (
            r"^Order (?P<order>.+): (?P<outcome>\S+) for (?P<count>\d+) item\(s\), "
            r"(?P<amount>\S*) (?P<currency>\S+)\.$",
            "staff_return_line_request",
        ),
        (r"^Reason: (?P<reason>.*)\.$", "staff_return_line_reason"),
        (r"^Please decide by (?P<deadline>\S+) \(UTC\)\.$", "staff_return_line_decide_by"),
        (r"^Nobody approved or rejected it, even after escalation\.$", "staff_return_line_expired"),
        (r"^The customer was told the return is closed\.$", "staff_return_line_customer_told"),
        (
            rf"^Aftercare did not issue the {_MONEY} for order (?P<order>.+?): (?P<problem>.+)\.$",
            "staff_return_line_not_issued",
        ),
        (
            r"^Nothing was sent to your refund endpoint, and the customer was not emailed about it\.$",
            "staff_return_line_nothing_sent",
        ),
        (
            rf"^Aftercare could not issue the {_MONEY} for order (?P<order>.+)\.$",
            "staff_return_line_could_not",
        ),
        (r"^What happened: (?P<problem>.+)\.$", "staff_return_line_what_happened"),
        (r"^Nothing was refunded twice: .+same refund\.$", "staff_return_line_same_key"),
        (r"^Fix the endpoint and retry from the page, .+settled there\.$", "staff_return_line_fix"),
        (
            r"^The return workflow for order (?P<order>.+) stopped at an unexpected error "
            r"\((?P<error>.+)\)\.$",
            "staff_return_line_broken",
        ),
        (r"^No refund was issued by this step\. .+how far it got\.$", "staff_return_line_no_refund"),
    )
)


def _values(t: Translator, store: Store, found: dict[str, str]) -> dict[str, str]:
    """A line's values made readable: the outcome and Aftercare's own words in the store's language, a
    deadline in the store's time (a reason the customer or the store gave stays as written)."""
    from functions.returns import wording

    values = dict(found)  # each keeps its own direction in the sentence (``Translator`` isolates values)
    if "outcome" in values:
        values["outcome"] = outcome_word(t, values["outcome"])
    if "problem" in values:
        values["problem"] = wording.problem_said(t, values["problem"])
    if "reason" in values:
        values["reason"] = wording.reason_said(t, values["reason"])
    if "deadline" in values:
        at = clock.parse_iso(values.pop("deadline"))
        values["moment"] = format_moment(at, t.language, store.config.timezone)
        values["relative"] = format_relative(at - clock.now(), t.language)
    return values


def staff_line(t: Translator, store: Store, line: str) -> str:
    """One line of a staff note in the store's language (a line the catalog does not know, as written)."""
    for pattern, key in NOTE_LINES:
        found = pattern.match(line)
        if found:
            return t(key, **_values(t, store, found.groupdict()))
    return line


def for_staff(
    store: Store, request: ReturnRequest, note: StaffNote, to: str, link: str | None
) -> email.Email:
    t = staff_translator(store)
    heading = t(NOTE_HEADINGS[note.heading]) if note.heading in NOTE_HEADINGS else note.heading
    label = note.link_label or "Review and decide"
    context = {
        "t": t,
        "locale": t.language,
        "heading": heading,
        "lines": [staff_line(t, store, line) for line in note.lines],
        "link": link,
        "link_label": t(LINK_LABELS[label]) if label in LINK_LABELS else label,
        "request": request.item,
        "title": heading,
    }
    return email.to_staff(
        store,
        to=to,
        subject=f"{heading} ({request.return_id})",
        template="return_staff",
        context=context,
        kind="return-staff",
        id_prefix=request.return_id,
    )


def email_staff(ports: Ports, store: Store, request: ReturnRequest, note: StaffNote) -> list[str]:
    """Send ``note`` to the store's staff (escalation contacts if it escalates); who was emailed."""
    sent = []
    for person in staff_recipients(store, note.escalate):
        link = approval_link(ports, store, request, person) if note.link_label else None
        send(ports, for_staff(store, request, note, person, link))
        sent.append(person)
    return sent
