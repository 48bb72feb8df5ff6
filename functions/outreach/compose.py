"""Compose one review/NPS email for one customer: what to ask, in which words, with which links.

Every rating link carries a signed token naming the store, order, outreach, product and score; the
unsubscribe link carries one naming the store and customer. Nothing in a link is guessable. The message
itself (headers, List-Unsubscribe, Message-ID) is built by ``functions.shared.email.to_customer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.customers.store import customer_key
from functions.outreach.models import OutreachKind
from functions.shared import clock, links
from functions.shared.email import Email, Unsubscribe, one_line, to_customer
from functions.shared.i18n import Translator, choose_locale, format_date
from functions.shared.templating import direction
from functions.stores.models import Store


@dataclass(frozen=True)
class _Links:
    """Mints this email's links: survey answers, unsubscribe, and the return page."""

    store_id: str
    signing_key: bytes
    base_url: str

    def survey(self, item: dict[str, Any], score: int | None, product: str | None = None) -> str:
        """The survey page, with ``score`` chosen (a star or number link) or nothing chosen (None)."""
        claims: dict[str, Any] = {"r": item["order_id"], "o": item["outreach_id"]}
        if score is not None:
            claims["s"] = score
        if product is not None:
            claims["p"] = product
        return self._url(links.SURVEY, claims)

    def unsubscribe(self, email: str, language: str) -> str:
        """The unsubscribe page, in the language of the email it came in (claim ``l``)."""
        return self._url(links.UNSUBSCRIBE, {"c": customer_key(email), "l": language})

    def start_return(self, order_id: str | None) -> str | None:
        return self._url(links.RETURN, {"o": order_id}) if order_id is not None else None

    def _url(self, kind: links.LinkKind, claims: dict[str, Any]) -> str:
        return kind.url(self.base_url, kind.mint(self.signing_key, self.store_id, claims))


@dataclass
class _Asks:
    """What the email asks: star ratings per product, an NPS score, for which orders."""

    reviews: list[dict[str, Any]]
    nps: dict[str, Any] | None
    orders: list[str]
    reminder: bool


def _asks(items: list[dict[str, Any]], make: _Links, t: Translator) -> _Asks:
    review_items = [item for item in items if item["kind"] == OutreachKind.REVIEW]
    asks = _Asks([], None, [], bool(review_items) and all(item.get("reminder_of") for item in review_items))
    for item in items:
        asks.orders.append(str(item.get("order_name") or item["order_id"]))
        if item["kind"] == OutreachKind.NPS:
            scores = [
                {"score": s, "url": make.survey(item, s), "label": t("score_label", score=s)}
                for s in range(11)
            ]
            asks.nps = {"links": scores, "page": make.survey(item, None)}
            continue
        asks.reviews.extend(_review(item, product, make, t) for product in item.get("products", []))
    return asks


def _review(item: dict[str, Any], product: dict[str, Any], make: _Links, t: Translator) -> dict[str, Any]:
    product_id = str(product["product_id"])
    stars = [
        {"score": s, "url": make.survey(item, s, product_id), "label": t("star_label", stars=s)}
        for s in range(1, 6)
    ]
    name = product.get("name") or product["product_id"]
    return {"name": name, "links": stars, "page": make.survey(item, None, product_id)}


def _wording(asks: _Asks, store_name: str, t: Translator) -> tuple[str, str]:
    """The subject and the introduction line."""
    order_label = ", ".join(dict.fromkeys(asks.orders))
    if asks.reviews and asks.reminder:
        return t("review_reminder_subject", store=store_name), t("review_reminder_intro", order=order_label)
    if len(asks.reviews) > 1:
        return (
            t("review_subject_many", store=store_name, count=len(asks.reviews)),
            t("review_intro_many", order=order_label),
        )
    if asks.reviews:
        return t("review_subject", store=store_name), t("review_intro", order=order_label)
    return t("nps_subject", store=store_name), ""


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
    make = _Links(store.id, signing_key, base_url)
    asks = _asks(items, make, t)
    store_name = one_line(config.name, 120)
    subject, intro = _wording(asks, store_name, t)
    name = one_line(customer.get("name"), 80)
    unsubscribe_url = make.unsubscribe(email, language)
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
        "reviews": asks.reviews,
        "nps": asks.nps,
        "unsubscribe_url": unsubscribe_url,
        "return_url": make.start_return(return_order),
        "footer_reason": t(
            "footer_reason",
            store=store_name,
            date=format_date(_ordered_at(items, clock.now()), language, config.timezone),
        ),
    }
    return to_customer(
        store,
        to=email,
        name=name,
        subject=subject,
        template="request",
        context=context,
        kind="+".join(sorted({str(item["kind"]) for item in items})),
        locale=language,
        unsubscribe=Unsubscribe(unsubscribe_url, config.emails.unsubscribe_mailto),
    )
