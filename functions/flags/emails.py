"""The emails about a flag: the staff alert (and, once overdue, the escalation) and staff's reply."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from functions.shared import links
from functions.shared.email import Email, one_line, to_customer, to_staff

if TYPE_CHECKING:
    from functions.flags.ports import Ports
    from functions.stores.models import Store


def staff_link(ports: Ports, store: Store, flag: dict[str, Any], person: str) -> str:
    """The recipient's own link to the flag's staff page (the page logs actions under their address)."""
    token = links.STAFF.mint(ports.signing_key(), store.id, {"f": flag["flag_id"], "a": person})
    return links.STAFF.url(ports.base_url, token)


def _subject(flag: dict[str, Any], prefix: str) -> str:
    what = f"{flag['score']}★" if flag["kind"] == "review" else f"NPS {flag['score']}"
    about = (flag.get("product") or {}).get("name") or "the store"
    return f"{prefix} {what} for {one_line(str(about), 80)}, order {one_line(str(flag['order_name']), 40)}"


def flag_email(ports: Ports, store: Store, flag: dict[str, Any], person: str, *, overdue: bool) -> Email:
    """The alert (or, once overdue, the escalation) about a flag, with the recipient's own staff link."""
    return to_staff(
        store,
        to=person,
        subject=_subject(flag, "[Overdue]" if overdue else "[Needs a reply]"),
        template="staff_alert",
        context={
            "accent": store.config.emails.accent_color,
            "flag": flag,
            "link": staff_link(ports, store, flag, person),
            "deadline": flag["sla_deadline"],
            "overdue": overdue,
        },
        kind="escalation" if overdue else "staff-alert",
    )


def reply_email(store: Store, flag: dict[str, Any], body: str) -> Email:
    """Staff's reply to the customer, from the store, threaded under the email the customer answered."""
    config = store.config
    customer = flag.get("customer") or {}
    subject = str(flag.get("original_subject") or f"Your order {flag['order_name']}")
    locale = str(customer.get("locale") or config.default_locale)
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
