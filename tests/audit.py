"""One store's whole life in one language, told through the public routes, for the audit of what people see.

``audit_story`` runs an order from delivery to refund as a customer, staff and the owner live it: review and
NPS requests, a reminder, a bad answer, the alert and its escalation, a staff reply, unsubscribing and
coming back, returns (approved and sent back, refused, kept, refund refused by the store), the workspace
and the weekly digest. It collects every email sent and every page a person opens on the way, each named
by what it is; ``tests/browser/test_audit.py`` renders them all in Chromium and judges them.

Names the store and the customer wrote are in ``WRITTEN``: they are the only Latin words allowed in a
page or an email of another language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any
from urllib.parse import urlencode

from functions.shared import clock
from tests.world import FORM, Shop, World, form_values, store_config, token_of

LOCALES = ("en", "ar", "fa", "kk", "ka")
TIMEZONES = {
    "en": "Europe/London",
    "ar": "Asia/Riyadh",
    "fa": "Asia/Tehran",
    "kk": "Asia/Almaty",
    "ka": "Asia/Tbilisi",
}
CUSTOMER = "Nour Haddad"
STORE_NAME = "Kiwi Goods"
ACCENT = "#f2b705"  # a light amber: white text on it would not read, so the templates must adapt
# What people of each language write: the customer's comment, staff's reply, a refusal note and the store's
# address (Arabic and Persian comments mix in a Latin product code, as customers do).
WRITTEN_BY_PEOPLE = {
    "en": (
        "The guide never came.",
        "We are sorry, Nour. A new date is booked.",
        "Worn outside",
        "Kiwi Goods, 1 Main Street, Springfield 12345",
    ),
    "ar": (
        "المرشد لم يأتِ أبدًا، الجولة City-7 أُلغيت.",
        "نعتذر منك يا نور، حجزنا لك موعدًا جديدًا.",
        "تم ارتداؤه في الخارج",
        "كيوي غودز، شارع الملك فهد 12، الرياض 12345",
    ),
    "fa": (
        "راهنما اصلاً نیامد، تور City-7 لغو شد.",
        "پوزش می‌خواهیم نور جان، یک تاریخ تازه رزرو کردیم.",
        "بیرون پوشیده شده",
        "کیوی گودز، خیابان ولیعصر ۱۲، تهران",
    ),
    "kk": (
        "Гид мүлдем келмеді.",
        "Кешіріңіз, Нұр. Жаңа күнге жазып қойдық.",
        "Сыртта киілген",
        "Киви Гудс, Абай даңғылы 12, Алматы 050000",
    ),
    "ka": (
        "გიდი საერთოდ არ მოვიდა.",
        "ბოდიშს გიხდით, ნურ. ახალი თარიღი დავჯავშნეთ.",
        "გარეთ ნახმარია",
        "კივი გუდსი, რუსთაველის გამზირი 12, თბილისი 0108",
    ),
}
SHIRT = ("l1", "p-shirt", "Linen shirt - M", "clothing", 1, "120.00")  # above auto-approval: staff decide
SCARF = ("l2", "p-scarf", "Wool scarf", "clothing", 1, "10.00")  # below keep-it: refunded, kept
TOUR = ("l3", "p-tour", "City tour", "experience", 1, "30.00")  # not returnable; reviewed after a day
CARD = ("l4", "p-card", "Gift card", "gift card", 1, "25.00")  # never reviewed: NPS only
BOOTS = ("l5", "p-boots", "Rain boots", "clothing", 1, "80.00")
# What the store and the customer wrote (names, addresses, ids): allowed in any language.
WRITTEN = frozenset(
    re.findall(
        r"[A-Za-z]+",
        " ".join(
            [CUSTOMER, STORE_NAME, "example.com"]
            + [text for texts in WRITTEN_BY_PEOPLE.values() for text in texts]
            + ["clothing", "experience", "gift card"]  # the store's product types
            + [line[2] for line in (SHIRT, SCARF, TOUR, CARD, BOOTS)]
        ),
    )
)


@dataclass
class Seen:
    """An email or a page, as the person received it."""

    name: str
    html: str
    text: str = ""  # an email's text part
    subject: str = ""
    mime: bytes = b""  # an email as SES sent it
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def is_email(self) -> bool:
        return bool(self.mime)


@dataclass
class Story:
    locale: str
    emails: list[Seen] = field(default_factory=list)
    pages: list[Seen] = field(default_factory=list)


def raw_messages(start: int) -> list[bytes]:
    """The messages SES (moto) took, as sent, from the ``start``-th on."""
    from moto.ses.models import RawMessage, ses_backends

    from aftercare.devstack.outbox import ACCOUNT, REGION

    sent = list(ses_backends[ACCOUNT][REGION].sent_messages)[start:]
    return [
        m.raw_data.encode() if isinstance(m.raw_data, str) else m.raw_data
        for m in sent
        if isinstance(m, RawMessage)
    ]


def _parts(message: Message) -> tuple[str, str]:
    text = html = ""
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        body = payload.decode(part.get_content_charset() or "utf-8")
        if part.get_content_type() == "text/plain" and not text:
            text = body
        elif part.get_content_type() == "text/html" and not html:
            html = body
    return text, html


def seen_email(name: str, raw: bytes) -> Seen:
    from email.header import decode_header, make_header

    message = message_from_bytes(raw)
    text, html = _parts(message)
    headers = {key: str(make_header(decode_header(str(value)))) for key, value in message.items()}
    return Seen(name, html, text, headers.get("Subject", ""), raw, headers)


class Recorder:
    """Collects every email sent since the last look, named by the step that sent it."""

    def __init__(self, world: World, story: Story) -> None:
        self.world = world
        self.story = story
        self.start = len(raw_messages(0))

    def emails(self, step: str) -> list[Seen]:
        new = raw_messages(self.start)
        self.start += len(new)
        found = []
        for raw in new:
            seen = seen_email(step, raw)
            seen.name = f"{step}: {email_kind(seen)}"
            found.append(seen)
        self.story.emails.extend(found)
        return found

    def emails_until(self, step: str, part: str, seconds: float = 30) -> list[Seen]:
        """The emails of ``step``, waiting until one carries a ``/part/`` link (a return workflow sends its
        staff email from Step Functions, which may still be at it when the request is parked)."""
        import time

        found: list[Seen] = []
        deadline = time.monotonic() + seconds
        while not any(links(seen, part) for seen in found):
            assert time.monotonic() < deadline, f"{step}: no email with a /{part}/ link"
            time.sleep(0.05)
            found.extend(self.emails(step))
        return found

    def page(self, name: str, html: str) -> str:
        self.story.pages.append(Seen(name, html))
        return html


def email_kind(seen: Seen) -> str:
    to = seen.headers.get("To", "")
    return "to staff" if "@audit-" in to else "to the customer"


def links(seen: Seen, part: str) -> list[str]:
    return [
        str(href).removeprefix("https://care.example.com")
        for href in re.findall(r'href="([^"]+)"', seen.html)
        if f"/{part}/" in href
    ]


def audit_shop(world: World, locale: str) -> Shop:
    store_id = f"audit-{locale}"
    config = store_config(store_id, world.desk.url)
    config["name"] = STORE_NAME
    config["sender"] = {"email": f"hello@{store_id}.example.com", "name": STORE_NAME}
    config["postal_address"] = WRITTEN_BY_PEOPLE[locale][3]
    config["default_locale"] = locale
    config["timezone"] = TIMEZONES[locale]
    config["staff"]["owners"] = [f"owner@{store_id}.example.com"]
    config["emails"] = {"accent_color": ACCENT}
    shop = Shop(world, store_id, config)
    shop.create()
    return shop


def deliver(shop: Shop, order_id: str, lines: list[tuple[str, str, str, str, int, str]], email: str) -> None:
    at = clock.isoformat(clock.now())
    event = {
        "id": f"evt-{order_id}-delivered",
        "type": "order.delivered",
        "occurred_at": at,
        "order": {
            "id": order_id,
            "name": f"#{order_id}",
            "currency": "EUR",
            "customer": {"email": email, "name": CUSTOMER, "locale": shop.config["default_locale"]},
            "line_items": [
                {
                    "id": lid,
                    "product_id": pid,
                    "name": name,
                    "product_type": kind,
                    "quantity": q,
                    "price": price,
                }
                for lid, pid, name, kind, q, price in lines
            ],
            "delivered_at": at,
        },
    }
    assert shop.generic(event).status == 200


def ask_for_return(shop: Shop, world: World, rec: Recorder, order_id: str, line: str, name: str) -> str:
    """Open the order's return page, tick ``line`` and send; the page the customer sees after."""
    path = shop.return_path(order_id)
    page = rec.page(f"return request page ({name})", world.call("GET", path).text)
    reasons = re.findall(r'<option value="([^"]+)"', page)
    answer = world.form(
        path,
        {
            **form_values(page),
            f"item-{line}": "1",
            f"quantity-{line}": "1",
            "reason": reasons[0] if reasons else "Does not fit",
            "outcome": "refund",
        },
    )
    assert answer.status == 200, answer.text
    world.settle()
    return rec.page(f"return requested page ({name})", answer.text)


def audit_story(world: World, locale: str) -> Story:
    story = Story(locale)
    rec = Recorder(world, story)
    shop = audit_shop(world, locale)
    customer = f"nour.{locale}@example.com"

    # A tour, a shirt and a scarf are delivered: the tour is asked about after a day
    deliver(shop, "1001", [SHIRT, SCARF, TOUR], customer)
    deliver(shop, "1002", [CARD], f"card.{locale}@example.com")
    deliver(shop, "1003", [BOOTS], f"boots.{locale}@example.com")
    world.advance(timedelta(days=1, minutes=1))
    [tour] = rec.emails("review request, one product")

    # The customer opens a star, sees the survey, answers one star with a comment: staff are alerted
    star = links(tour, "s")[0]
    rec.page("survey page, review", world.call("GET", star).text)
    missing = world.form(star, {"score": "", "comment": ""})
    rec.page("survey page, an answer without a score", missing.text)
    comment, reply, _, _ = WRITTEN_BY_PEOPLE[locale]
    answered = world.form(star, {"score": "1", "comment": comment})
    rec.page("survey page, thanks", answered.text)
    world.run_schedules()
    [alert] = rec.emails("bad answer")
    world.advance(timedelta(hours=5))
    rec.emails("reply overdue")

    # Staff open the alert's page, reply from a template and resolve
    staff = links(alert, "staff")[0]
    page = rec.page("staff page", world.call("GET", staff).text)
    replied = world.form(staff, {**form_values(page), "action": "reply", "reply": reply})
    rec.page("staff page, replied", replied.text)
    rec.emails("staff reply")
    resolved = world.form(staff, {**form_values(replied.text), "action": "resolve", "action_id": "resolve-1"})
    rec.page("staff page, resolved", resolved.text)

    # Days later: the clothes and the gift card are asked about, then a reminder
    world.advance(timedelta(days=4))
    sent = rec.emails("review and NPS requests")
    world.advance(timedelta(days=2, hours=1))
    rec.emails("reminder")
    nps = next(seen for seen in sent if f"card.{locale}@" in seen.headers.get("To", ""))
    rec.page("survey page, NPS", world.call("GET", links(nps, "s")[9]).text)

    # The customer unsubscribes and changes their mind
    unsubscribe = links(nps, "u")[0]
    ask = rec.page("unsubscribe page, asking", world.call("GET", unsubscribe).text)
    done = world.form(unsubscribe, {**form_values(ask), "List-Unsubscribe": "One-Click"})
    rec.page("unsubscribe page, done", done.text)
    again = world.form(unsubscribe + "/resubscribe", form_values(done.text))
    rec.page("unsubscribe page, subscribed again", again.text)

    # An expired or broken link
    rec.page("link that does not open", world.call("GET", "/s/not-a-token").text)
    return story


def returns_story(world: World, shop: Shop, story: Story) -> None:
    """Returns: the shirt waits for staff, who approve; the scarf is refunded and kept; the boots refused."""
    rec = Recorder(world, story)
    ask_for_return(shop, world, rec, "1001", "l1", "staff decide")
    decide = rec.emails_until("return requested, staff decide", "approve")
    approval = next(link for seen in decide for link in links(seen, "approve"))
    page = rec.page("return approval page", world.call("GET", approval).text)
    approved = world.form(approval, {**form_values(page), "decision": "approve"})
    rec.page("return approval page, approved", approved.text)
    world.settle()
    rec.emails("return approved")
    world.advance(timedelta(days=4, hours=1))
    rec.emails("return reminder")
    ask_for_return(shop, world, rec, "1001", "l2", "refunded at once")
    rec.emails("return refunded, kept")

    # The boots: refused by staff; then a refund the store's endpoint refuses
    ask_for_return(shop, world, rec, "1003", "l5", "refused")
    decide = rec.emails_until("return requested, to be refused", "approve")
    refusal = next(link for seen in decide for link in links(seen, "approve"))
    page = world.call("GET", refusal).text
    refused = world.form(
        refusal, {**form_values(page), "decision": "reject", "note": WRITTEN_BY_PEOPLE[story.locale][2]}
    )
    rec.page("return approval page, refused", refused.text)
    world.settle()
    rec.emails("return refused")


def workspace_story(world: World, shop_id: str, story: Story) -> None:
    """The owner signs in by email and opens every page of the workspace."""
    rec = Recorder(world, story)
    owner = f"owner@{shop_id}.example.com"
    cookies: dict[str, str] = {}

    def keep(response: Any) -> Any:
        header = response.headers.get("set-cookie", "")
        if header:
            name, _, rest = header.partition("=")
            cookies[name] = rest.split(";", 1)[0]
        return response

    def get(path: str) -> str:
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        response = keep(world.call("GET", path, headers={"cookie": cookie} if cookie else {}))
        assert response.status == 200, (path, response.status, response.text[:300])
        return str(response.text)

    def post(path: str, values: dict[str, str]) -> Any:
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        return keep(world.call("POST", path, body=urlencode(values), headers={**FORM, "cookie": cookie}))

    sign_in = rec.page("workspace sign-in page", get(f"/workspace/sign-in?store={shop_id}"))
    sent = post("/workspace/sign-in", {**form_values(sign_in), "store": shop_id, "email": owner})
    rec.page("workspace sign-in, link sent", sent.text)
    [mail] = rec.emails("workspace sign-in")
    link = links(mail, "link")[0] if links(mail, "link") else ""
    link = link or next(
        str(h).removeprefix("https://care.example.com")
        for h in re.findall(r'href="([^"]+)"', mail.html)
        if "/workspace/sign-in/link/" in h
    )
    page = rec.page("workspace sign-in link page", get(link))
    assert post(link, form_values(page)).status in (200, 302, 303)
    for path, name in (
        ("/workspace", "workspace inbox"),
        ("/workspace/requests", "workspace requests"),
        ("/workspace/insights", "workspace insights"),
        ("/workspace/settings", "workspace settings"),
    ):
        rec.page(name, get(path))
    # The owner answers a customer's request for their data: everything held about them, readable
    customers = rec.page("workspace customer data", get("/workspace/customers"))
    customer = f"nour.{story.locale}@example.com"
    exported = post(
        "/workspace/customers/export", {**form_values(customers), "email": customer, "format": "html"}
    )
    assert exported.status == 200, exported.text[:300]
    rec.page("customer data export, readable", exported.text)


def digest_story(world: World, shop_id: str, story: Story) -> None:
    """The next Monday at 09:00 in the store's timezone the owner gets the weekly digest."""
    from functions.digest.handlers import digest

    rec = Recorder(world, story)
    for _ in range(24 * 8):
        world.advance(timedelta(hours=1))
        digest({})
        if rec.emails("weekly digest"):
            break
    mail = story.emails[-1]
    unsubscribe = next(
        str(h).removeprefix("https://care.example.com")
        for h in re.findall(r'href="([^"]+)"', mail.html)
        if "/digest/unsubscribe/" in h
    )
    page = rec.page("digest unsubscribe page", world.call("GET", unsubscribe).text)
    done = world.form(unsubscribe, form_values(page))
    rec.page("digest unsubscribe page, done", done.text)


class BrowserIn:
    """The in-process gateway as a browser set to one language sees it (its ``Accept-Language``)."""

    def __init__(self, api: Any, locale: str) -> None:
        self.api = api
        self.language = f"{locale},en;q=0.5"

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"accept-language": self.language, **(kwargs.pop("headers", None) or {})}
        return self.api.request(method, path, headers=headers, **kwargs)


def whole_story(world: World, locale: str) -> Story:
    world.api = BrowserIn(world.api, locale)  # type: ignore[assignment]
    story = audit_story(world, locale)
    returns_story(world, Shop(world, f"audit-{locale}", {}), story)
    workspace_story(world, f"audit-{locale}", story)
    digest_story(world, f"audit-{locale}", story)
    return story


__all__ = ["LOCALES", "WRITTEN", "Seen", "Story", "token_of", "whole_story"]
