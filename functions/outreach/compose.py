"""Compose one review/NPS email for one customer: subject, HTML and text parts, and headers.

Every rating link carries a signed token naming the store, order, outreach, product and score; the
unsubscribe link carries one naming the store and customer. Nothing in a link is guessable.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any

from functions.customers.store import customer_key
from functions.shared import clock, tokens
from functions.shared.i18n import Translator, choose_locale, format_date
from functions.shared.templating import direction, render
from functions.stores.models import Store

SURVEY_TTL = timedelta(days=60)
UNSUBSCRIBE_TTL = timedelta(days=400)
RETURN_TTL = timedelta(days=120)
SURVEY = "survey"
UNSUBSCRIBE = "unsubscribe"


@dataclass
class Email:
    store_id: str
    sender: str
    to: str
    subject: str
    html: str
    text: str
    headers: dict[str, str] = field(default_factory=dict)
    locale: str = "en"

    def mime(self) -> bytes:
        message = EmailMessage(policy=SMTP)
        message.set_content(self.text)
        message.add_alternative(self.html, subtype="html")  # set_* replace Content-* headers: add ours after
        for name, value in self.headers.items():
            message[name] = value
        message["Subject"] = self.subject
        return message.as_bytes()


def one_line(value: str | None, limit: int = 200) -> str:
    """Header-safe text: CR, LF and other control characters can never start a new header."""
    text = "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in (value or ""))
    return " ".join(text.split())[:limit]


def address(name: str | None, email: str) -> str:
    """``Name <email>`` with a display name reduced to plain text (no brackets, quotes or line breaks)."""
    local, _, domain = email.partition("@")
    display = "".join(ch for ch in one_line(name, 80) if ch not in '<>"\\;,').strip()
    return str(Address(display_name=display, username=local, domain=domain))


def _ordered_at(items: list[dict[str, Any]], fallback: datetime) -> datetime:
    """When the customer ordered (payment, else fulfilment or delivery), for the "why you get this" line."""
    times = [
        clock.parse_iso(str(item.get("ordered_at") or item.get("created_at")))
        for item in items
        if item.get("ordered_at") or item.get("created_at")
    ]
    return min(times) if times else fallback


def compose(
    store: Store,
    items: list[dict[str, Any]],
    signing_key: bytes,
    base_url: str,
    return_order: str | None = None,
) -> Email:
    """The email for ``items`` (all for the same customer of ``store``, due now).

    ``return_order`` is the order a "Start a return" link opens; without one there is no such link
    (nothing on the customer's orders is left to return).
    """
    config = store.config
    customer = items[0].get("customer") or {}
    email = str(customer["email"])
    language = choose_locale(customer.get("locale"), config.default_locale)
    t = Translator(language, config.emails.texts)
    base = base_url.rstrip("/")
    now = clock.now()

    def survey_link(item: dict[str, Any], score: int, product: str | None = None) -> str:
        claims = {"r": item["order_id"], "o": item["outreach_id"], "s": score}
        if product is not None:
            claims["p"] = product
        token = tokens.sign(signing_key, purpose=SURVEY, store_id=store.id, ttl=SURVEY_TTL, claims=claims)
        return f"{base}/s/{token}"

    reviews: list[dict[str, Any]] = []
    nps: dict[str, Any] | None = None
    review_items = [item for item in items if item["kind"] == "review"]
    reminder = bool(review_items) and all(item.get("reminder_of") for item in review_items)
    orders: list[str] = []
    for item in items:
        orders.append(str(item.get("order_name") or item["order_id"]))
        if item["kind"] == "nps":
            nps = {
                "links": [
                    {"score": s, "url": survey_link(item, s), "label": t("score_label", score=s)}
                    for s in range(11)
                ]
            }
            continue
        for product in item.get("products", []):
            reviews.append(
                {
                    "name": product.get("name") or product["product_id"],
                    "links": [
                        {
                            "score": s,
                            "url": survey_link(item, s, str(product["product_id"])),
                            "label": t("star_label", stars=s),
                        }
                        for s in range(1, 6)
                    ],
                }
            )
    store_name = one_line(config.name, 120)
    order_label = ", ".join(dict.fromkeys(orders))
    if reviews and reminder:
        subject, intro = (
            t("review_reminder_subject", store=store_name),
            t("review_reminder_intro", order=order_label),
        )
    elif len(reviews) > 1:
        subject, intro = (
            t("review_subject_many", store=store_name, count=len(reviews)),
            t("review_intro_many", order=order_label),
        )
    elif reviews:
        subject, intro = t("review_subject", store=store_name), t("review_intro", order=order_label)
    else:
        subject, intro = t("nps_subject", store=store_name), ""

    unsubscribe_token = tokens.sign(
        signing_key,
        purpose=UNSUBSCRIBE,
        store_id=store.id,
        ttl=UNSUBSCRIBE_TTL,
        claims={"c": customer_key(email)},
    )
    unsubscribe_url = f"{base}/u/{unsubscribe_token}"
    return_url = None
    if return_order is not None:
        return_token = tokens.sign(
            signing_key, purpose="return", store_id=store.id, ttl=RETURN_TTL, claims={"o": return_order}
        )
        return_url = f"{base}/r/{return_token}"
    name = one_line(customer.get("name"), 80)
    context = {
        "t": t,
        "locale": language,
        "dir": direction(language),
        "title": one_line(subject),
        "store_name": store_name,
        "postal_address": config.postal_address,
        "accent": config.emails.accent_color,
        "logo_url": config.emails.logo_url,
        "greeting": t("greeting", name=name.split(" ")[0]) if name else t("greeting_anonymous"),
        "intro": intro,
        "reviews": reviews,
        "nps": nps,
        "unsubscribe_url": unsubscribe_url,
        "return_url": return_url,
        "footer_reason": t(
            "footer_reason",
            store=store_name,
            date=format_date(_ordered_at(items, now), language, config.timezone),
        ),
    }
    list_unsubscribe = f"<{unsubscribe_url}>"
    if config.emails.unsubscribe_mailto:
        list_unsubscribe += f", <mailto:{config.emails.unsubscribe_mailto}?subject=unsubscribe>"
    sender_domain = str(config.sender.email).rsplit("@", 1)[-1]
    headers = {
        "From": address(config.sender.name, str(config.sender.email)),
        "To": address(name, email),
        "Date": format_datetime(now),
        "Message-ID": f"<{uuid.uuid4().hex}@{sender_domain}>",
        "List-Unsubscribe": list_unsubscribe,
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Content-Language": language,
    }
    if config.reply_to:
        headers["Reply-To"] = str(config.reply_to)
    return Email(
        store_id=store.id,
        sender=str(config.sender.email),
        to=email,
        subject=one_line(subject, 200),
        html=render("emails/request.html", **context),
        text=render("emails/request.txt", **context),
        headers=headers,
        locale=language,
    )
