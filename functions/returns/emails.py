"""The emails a return sends: updates to the customer (in their language) and notes to the store's staff.

Both go through the one email builder (``functions.shared.email``) with the return id as the
Message-ID prefix, so every message of one return is recognisable in a mailbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from functions.shared import email, links
from functions.shared.i18n import Translator, choose_locale
from functions.shared.mailer import PermanentSendError, TransientSendError
from functions.shared.templating import direction

if TYPE_CHECKING:
    from functions.returns.models import ReturnRequest
    from functions.returns.ports import Ports
    from functions.stores.models import Store

DONE = "return_done_text"


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


def what_was_said(key: str) -> str:
    """The audit step's words for a customer email text key (``return_refused_text`` -> ``refused``)."""
    return key.removeprefix("return_").removesuffix("_text").replace("_", " ")


def for_customer(store: Store, request: ReturnRequest, key: str, **values: Any) -> email.Email | None:
    """The customer's update for text ``key``; None when the request has no customer email."""
    to = request.customer.get("email")
    if not to:
        return None
    config = store.config
    t = translator(store, request)
    order = request.order_label
    address = config.returns.return_address or config.postal_address
    lines = [t(key, order=order, id=request.return_id, address=address, **values)]
    if key == DONE and not request.decision.get("needs_return", True):
        lines.append(t("return_keep_text"))
    subject = t("return_subject", order=order)
    context = {
        "lines": lines,
        "store_name": config.name,
        "postal_address": config.postal_address,
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


def for_staff(
    store: Store, request: ReturnRequest, note: StaffNote, to: str, link: str | None
) -> email.Email:
    context = {
        "heading": note.heading,
        "lines": note.lines,
        "link": link,
        "link_label": note.link_label or "Review and decide",
        "request": request.item,
        "title": note.heading,
    }
    return email.to_staff(
        store,
        to=to,
        subject=f"{note.heading} ({request.return_id})",
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
