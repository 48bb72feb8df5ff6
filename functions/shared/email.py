"""Every email Aftercare sends is built here: customer messages and staff messages.

One place decides the headers: ``Message-ID`` (always, on the store's sending domain, optionally
prefixed so a workflow's messages are recognisable), threading (``In-Reply-To``/``References``),
one-click ``List-Unsubscribe``, ``Reply-To``, ``Auto-Submitted`` on staff mail, and display names
reduced to plain text so no store or customer text can start a header of its own. Callers give the
template and its context; the body is rendered from ``templates/emails/<template>.html`` and ``.txt``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from functions.shared import clock
from functions.shared.templating import render

if TYPE_CHECKING:
    from functions.stores.models import Store

# Python's folding of long headers that mix scripts sometimes drops the space at a fold (a Latin word and
# a Cyrillic one arrived glued together); headers may be 998 characters (RFC 5322): written without folding
# at 78. Bodies keep SMTP's 76-character base64 lines (longer ones score with spam filters).
_HEADERS = SMTP.clone(max_line_length=998)


@dataclass
class Email:
    """One message ready to send; ``kind`` tags it in SES (review, staff-alert, return-customer …)."""

    store_id: str
    sender: str
    to: str
    subject: str
    html: str
    text: str
    kind: str = "email"
    headers: dict[str, str] = field(default_factory=dict)
    locale: str = "en"

    def mime(self) -> bytes:
        message = EmailMessage(policy=SMTP)
        message.set_content(self.text)
        message.add_alternative(self.html, subtype="html")  # set_* replace Content-* headers: add ours after
        for name, value in self.headers.items():
            message[name] = value
        message["Subject"] = self.subject
        return message.as_bytes(policy=_HEADERS)


def one_line(value: str | None, limit: int = 200) -> str:
    """Header-safe text: CR, LF and other control characters can never start a new header."""
    text = "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in (value or ""))
    return " ".join(text.split())[:limit]


def address(name: str | None, email: str) -> str:
    """``Name <email>`` with a display name reduced to plain text (no brackets, quotes or line breaks)."""
    local, _, domain = email.partition("@")
    display = "".join(ch for ch in one_line(name, 80) if ch not in '<>"\\;,').strip()
    return str(Address(display_name=display, username=local, domain=domain))


def message_id(sender: str, prefix: str | None = None) -> str:
    """A fresh ``Message-ID`` on the sender's domain (``<prefix.hex@domain>`` when a prefix is given)."""
    local = f"{prefix}.{uuid.uuid4().hex}" if prefix else uuid.uuid4().hex
    return f"<{local}@{sender.rsplit('@', 1)[-1]}>"


@dataclass(frozen=True)
class Unsubscribe:
    """The one-click unsubscribe a bulk-style customer message carries (RFC 8058)."""

    url: str
    mailto: str | None = None

    def header(self) -> str:
        value = f"<{self.url}>"
        if self.mailto:
            value += f", <mailto:{self.mailto}?subject=unsubscribe>"
        return value


def _message(
    store: Store,
    headers: dict[str, str],
    to: str,
    subject: str,
    template: str,
    context: dict[str, Any],
    kind: str,
    locale: str,
) -> Email:
    """The message with its HTML and text parts rendered from ``templates/emails/<template>``."""
    return Email(
        store_id=store.id,
        sender=str(store.config.sender.email),
        to=to,
        subject=one_line(subject, 200),
        html=render(f"emails/{template}.html", **context),
        text=render(f"emails/{template}.txt", **context),
        kind=kind,
        headers=headers,
        locale=locale,
    )


def to_customer(
    store: Store,
    *,
    to: str,
    name: str | None,
    subject: str,
    template: str,
    context: dict[str, Any],
    kind: str,
    locale: str,
    unsubscribe: Unsubscribe | None = None,
    in_reply_to: str | None = None,
    id_prefix: str | None = None,
) -> Email:
    """A message from the store to a customer, in the customer's language, answerable at Reply-To."""
    config = store.config
    sender = str(config.sender.email)
    headers = {
        "From": address(config.sender.name, sender),
        "To": address(name, to),
        "Date": format_datetime(clock.now()),
        "Message-ID": message_id(sender, id_prefix),
    }
    if unsubscribe is not None:
        headers["List-Unsubscribe"] = unsubscribe.header()
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        headers["Content-Language"] = locale
    if config.reply_to:
        headers["Reply-To"] = str(config.reply_to)
    if in_reply_to:
        headers["In-Reply-To"] = in_reply_to
        headers["References"] = in_reply_to
    return _message(store, headers, to, subject, template, context, kind, locale)


def to_staff(
    store: Store,
    *,
    to: str,
    subject: str,
    template: str,
    context: dict[str, Any],
    kind: str,
    id_prefix: str | None = None,
) -> Email:
    """An automatic message to the store's staff, in the store's language, marked ``Auto-Submitted``.

    The sender's name ("Aftercare for <store>") is said in the store's language (``default_locale``).
    """
    from functions.shared.i18n import Translator, choose_locale

    config = store.config
    language = choose_locale(None, config.default_locale)
    t = Translator(language, config.emails.texts)
    sender = str(config.sender.email)
    headers = {
        "From": address(t("staff_sender_name", store=config.name), sender),
        "To": address(None, to),
        "Date": format_datetime(clock.now()),
        "Message-ID": message_id(sender, id_prefix),
        "Auto-Submitted": "auto-generated",
    }
    context = {"store_name": config.name, "locale": language, **context}
    return _message(store, headers, to, subject, template, context, kind, language)
