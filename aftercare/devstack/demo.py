"""Demo data for ``aftercare dev --demo``: eight weeks of a small shop's life, made through the public flows.

How history is made: before the demo store is created, the simulated clock is pinned eight weeks and a
few days back (:func:`rewind`). The :class:`Seeder` then walks it forward through a scripted timeline,
acting as the shop's platform (signed generic webhooks: orders paid, fulfilled, delivered, one cancelled,
a returned parcel received), its customers (answering with stars and NPS through the rating links in the
emails the real sweep sent, one returning a shirt through the return link) and its staff (replying from
the links in the alerts the real stream consumer sent, one offering a refund). Every morning on the way
the app's schedules run (sweep daily; escalation after alerts; the rest on Mondays). At the end the
clock reaches the real now, one customer answers "just now" (so the inbox shows a reply still due), and
:func:`land` lets the clock run with the wall again; then the banner is printed and the background loop
starts. Nothing is written to a table directly: every item is the one a live store would have.

Why before the banner and not in the background: there is one simulated clock, and it is weeks in the
past while history is made. Anything served meanwhile (a developer's click, a test's webhook, the
background loop's sweep, which would send or skip the history's due emails at the real time) would land
in the wrong time or spoil the history. So the stack says it is ready only when it is.

Deterministic: orders come from a fixed seed, and every customer's or staff member's decision from a
generator keyed by what is decided (the order, the email's survey items, the flag), so the order in which
emails happen to be read changes nothing. Times are whole days from midnight UTC of the first day: the
platform at 08:00, customers at 18:00, staff a few hours after an alert. Few distinct times mean few clock
stops, and the stops are most of the cost. Nothing is scheduled after midnight UTC of today, so the data
depends on the date only (and the "just now" answer on the time).

Cost: about 2,300 AWS calls to moto, 18-20 s on a 2-core machine (most of it moto's own per-call work).
"""

from __future__ import annotations

import functools
import heapq
import itertools
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import requests

from aftercare.devstack import outbox
from aftercare.devstack.stack import DevStack
from functions.shared import clock, tokens
from functions.shared.signatures import sign_generic

SEED = 20_260_101
WEEKS = 8
LEAD_DAYS = 4  # the first orders are paid before the first week of history starts
PLATFORM_HOUR = 8  # (UTC) the shop's platform reports the day's orders; what comes due, comes due then
EVENING_HOUR = 18  # (UTC) customers read their email and answer
CUSTOMER_DOMAIN = "customers.demo.example"  # no test or example uses it: demo customers never collide
SETTLED_RETURN = ("awaiting", "completed", "closed", "failed", "refused", "rejected", "expired")


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    product_type: str
    price: str
    quality: float  # how well customers like it: shifts their stars and their comments


CATALOG = (
    Product("kayak-trip", "Harbour kayak trip", "experience", "45.00", 0.6),
    Product("cooking-class", "Pasta cooking class", "experience", "60.00", 0.3),
    Product("linen-shirt", "Linen shirt", "clothing", "39.00", 0.4),
    Product("merino-socks", "Merino socks", "clothing", "12.00", 0.5),
    Product("rain-jacket", "Rain jacket", "clothing", "89.00", 0.1),
    Product("earbuds", "Wireless earbuds", "electronics", "59.00", 0.2),
    Product("travel-charger", "Travel charger", "electronics", "25.00", -0.6),
    Product("ceramic-mug", "Ceramic mug", "homeware", "18.00", 0.2),
    Product("gift-card", "Gift card", "gift card", "25.00", 0.0),
)
FIRST_NAMES = (
    "Lena", "Omar", "Mia", "Jonas", "Sara", "Yusuf", "Aigerim", "Nino", "Paul", "Dara", "Ines", "Tariq",
    "Clara", "Levan", "Hana", "Emil", "Leyla", "Noah", "Mariam", "Ravi",
)  # fmt: skip
LAST_NAMES = (
    "Fischer", "Haddad", "Novak", "Berg", "Costa", "Demir", "Sadykova", "Beridze", "Klein", "Rahimi",
    "Moreau", "Aziz", "Lindqvist", "Kapanadze", "Sato", "Vogel",
)  # fmt: skip
LOCALES = ("en",) * 13 + ("ar", "fa", "kk", "ka")  # the store's five locales, mostly English
GOOD = (
    "Exactly as described, would buy again.",
    "Lovely quality and it arrived quickly.",
    "Great value. Thank you!",
    "Perfect fit and very comfortable.",
    "Friendly service, well packed.",
    "",
)
MIXED = (
    "Good, but delivery took a while.",
    "Nice, though smaller than I expected.",
    "Does the job. Nothing special.",
    "The box was damaged but the product is fine.",  # a keyword flags it although the stars are fine
    "",
)
BAD = (
    "It arrived damaged and nobody answered my email.",
    "Stopped working after a week. Broken.",
    "Much lower quality than the photos suggest.",
    "Wrong size sent, and the return label was missing.",
    "Not worth the price, I want a refund.",
)
STAFF_REPLIES = (
    "Thank you for telling us, and we are sorry. We are sending a replacement today at no cost.",
    "We are sorry this happened. A colleague will call you tomorrow to put it right.",
    "Thanks for the honest feedback. We have passed it on to our product team and refunded the shipping.",
)


RETURNABLE = {p.name for p in CATALOG if p.product_type in ("clothing", "electronics", "homeware")}


@dataclass(frozen=True)
class Line:
    line_id: str
    product: Product


@dataclass(frozen=True)
class OrderPlan:
    order_id: str
    email: str
    name: str
    locale: str
    lines: tuple[Line, ...]
    day: int  # delivery day, counted from the first day of history
    mood: str  # delighted, fine or unhappy: how this customer answers
    fate: str = "delivered"  # delivered | unscanned (the carrier never reports delivery) | cancelled

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.order_id,
            "name": f"#{self.order_id}",
            "currency": "EUR",
            "customer": {"email": self.email, "name": self.name, "locale": self.locale},
            "line_items": [
                {
                    "id": line.line_id,
                    "product_id": line.product.product_id,
                    "name": line.product.name,
                    "product_type": line.product.product_type,
                    "quantity": 1,
                    "price": line.product.price,
                }
                for line in self.lines
            ],
        }


def plan_orders(rng: random.Random, first_day: int, last_day: int) -> list[OrderPlan]:
    """A shop growing a little week by week, about one order a day, delivered on days ``first_day`` to
    ``last_day`` (counted from the first day of history). Many orders hold two products of one type (a
    shirt and socks): one email asks about both, so the history gets more answers per email sent."""
    plans: list[OrderPlan] = []
    number = itertools.count(3001)  # (examples/events use 1001: a developer sending them gets a new order)
    reviewed = [p for p in CATALOG if p.product_type != "gift card"]
    weights = [9, 8, 12, 10, 12, 9, 5, 8]  # kayak .. mug
    middle = (first_day + last_day) // 2
    for day in range(first_day, last_day + 1):
        for _ in range(rng.choice((0, 1, 1, 1, 1) if day < middle else (0, 1, 1, 1, 1, 2))):
            order_id = str(next(number))
            first = rng.choices(reviewed, weights=weights)[0]
            products = [first]
            companions = [p for p in reviewed if p.product_type == first.product_type and p != first]
            if companions and rng.random() < 0.5:
                products.append(rng.choice(companions))
            if rng.random() < 0.1:
                products.append(CATALOG[-1])  # a gift card: never reviewed, never returned
            given, family = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            plans.append(
                OrderPlan(
                    order_id=order_id,
                    email=f"{given}.{family}.{order_id}@{CUSTOMER_DOMAIN}".lower(),
                    name=f"{given} {family}",
                    locale=rng.choice(LOCALES),
                    lines=tuple(Line(f"{order_id}-{i}", p) for i, p in enumerate(products, start=1)),
                    day=day,
                    mood=rng.choices(("delighted", "fine", "unhappy"), weights=(55, 30, 15))[0],
                    fate=rng.choices(("delivered", "unscanned", "cancelled"), weights=(85, 13, 2))[0],
                )
            )
    return plans


def keyed(*parts: object) -> random.Random:
    """A generator for one decision, the same whenever and in whatever order it is made."""
    return random.Random(f"{SEED}:" + ":".join(str(p) for p in parts))


def stars(plan: OrderPlan, product: Product, rng: random.Random) -> int:
    base = {"delighted": 4.8, "fine": 3.9, "unhappy": 1.7}[plan.mood] + product.quality
    return max(1, min(5, round(base + rng.uniform(-0.9, 0.6))))


def nps(plan: OrderPlan, rng: random.Random) -> int:
    low, high = {"delighted": (8, 10), "fine": (6, 9), "unhappy": (0, 6)}[plan.mood]
    return rng.randint(low, high)


def comment_for(score: int, kind: str, locale: str, rng: random.Random) -> str:
    if locale != "en" or rng.random() < 0.35:
        return ""  # not everyone writes; comments are in English
    negative = score <= (2 if kind == "review" else 6)
    pool = BAD if negative else GOOD if score >= (5 if kind == "review" else 9) else MIXED
    return rng.choice(pool)


# ---------------------------------------------------------------------------------------------- pages


class _Forms(HTMLParser):
    """The forms of a page: each one's hidden inputs, the buttons' name/value and the select options."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"hidden": {}, "buttons": [], "checkboxes": [], "options": []})
        elif self.forms and tag == "input" and values.get("type") == "hidden":
            self.forms[-1]["hidden"][values.get("name", "")] = values.get("value", "")
        elif self.forms and tag == "input" and values.get("type") == "checkbox":
            self.forms[-1]["checkboxes"].append(values.get("name", ""))
        elif self.forms and tag == "button" and values.get("name"):
            self.forms[-1]["buttons"].append((values["name"], values.get("value", "")))
        elif self.forms and tag == "option":
            self.forms[-1]["options"].append(values.get("value", ""))


def forms_of(html: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def form_with(html: str, button: tuple[str, str]) -> dict[str, Any]:
    for form in forms_of(html):
        if button in form["buttons"]:
            return form
    raise LookupError(f"no form with the button {button}")


def link_claims(href: str) -> dict[str, Any]:
    """What a link's token says about itself (the signature is not checked here: the service checks it
    when the link is used)."""
    claims = tokens.unverified_body(href.rstrip("/").rsplit("/", 1)[-1]).get("c")
    return claims if isinstance(claims, dict) else {}


# --------------------------------------------------------------------------------------------- seeder


@dataclass
class Summary:
    weeks: int = WEEKS
    orders: int = 0
    cancelled: int = 0
    emails: int = 0
    answers: int = 0
    reviews: int = 0
    nps: int = 0
    alerts: int = 0
    staff_replies: int = 0
    returns: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {**asdict(self), "seconds": round(self.seconds, 1), "line": self.line()}

    def line(self) -> str:
        text = (
            f"{self.weeks} weeks of history: {self.orders} orders ({self.cancelled} cancelled), "
            f"{self.emails} emails, {self.answers} answers ({self.reviews} reviews, {self.nps} NPS), "
            f"{self.alerts} flagged, {self.staff_replies} staff replies, {self.returns} returns; "
            f"made in {self.seconds:.1f} s"
        )
        return text + (f"; {len(self.problems)} problems: {self.problems[0]}" if self.problems else "")


@dataclass(frozen=True)
class Demo:
    """The demo store as the generator uses it (its public URLs and secrets from ``create_demo_store``)."""

    base_url: str
    store_id: str
    webhook_secret: str
    admin_key: str
    alert_emails: tuple[str, ...]  # staff who get the alerts (and answer them)


Action = Callable[[], None]


class Seeder:
    """Walks the simulated clock through the history, acting for the shop's platform, customers and staff."""

    def __init__(self, stack: DevStack, demo: Demo, start: datetime, horizon: datetime) -> None:
        self.stack = stack
        self.demo = demo
        self.start = start
        self.horizon = horizon
        self.http = requests.Session()
        self.summary = Summary()
        self.timeline: list[tuple[datetime, int, Action, bool]] = []
        self._sequence = itertools.count()
        self.first_message = self.seen = outbox.count()
        self.plans: dict[str, OrderPlan] = {}
        self.customer_return: str | None = None  # the order whose shirt comes back
        self.offered = False
        self.alerted = False  # an alert came since the last morning (escalation has something to check)
        self.unanswered: tuple[OrderPlan, str, dict[tuple[str, int], str]] | None = None

    # -------------------------------------------------------------------- the timeline

    def at(self, day: int, hour: float = PLATFORM_HOUR) -> datetime:
        return self.start + timedelta(days=day, hours=hour)

    def evening(self, after: datetime, days: int) -> datetime:
        """The evening ``days`` days after ``after`` (0: the same evening, or the next if it is over)."""
        day = (after - self.start).days + days
        return (
            self.at(day, EVENING_HOUR)
            if self.at(day, EVENING_HOUR) > after
            else self.at(day + 1, EVENING_HOUR)
        )

    def schedule(self, moment: datetime, action: Action, *, reacting: bool = False) -> None:
        """Do ``action`` at ``moment``. ``reacting``: it makes others act soon (an answer alerts staff), so
        the streams are pumped right after it; other stream records wait for the next pump (which is
        equally correct: consumers read the times in the records, not the clock)."""
        if moment <= self.horizon:  # nothing from today on: the data depends on the date alone
            entry = (max(moment, clock.now()), next(self._sequence), action, reacting)
            heapq.heappush(self.timeline, entry)

    def run(self, plans: list[OrderPlan]) -> Summary:
        began = time.monotonic()
        for plan in plans:
            self._plan(plan)
        while self.timeline:
            moment = self.timeline[0][0]
            self._advance_to(moment)
            pump = False
            while self.timeline and self.timeline[0][0] <= moment:  # all that happens at this moment
                _, _, action, reacting = heapq.heappop(self.timeline)
                pump = pump or reacting
                try:
                    action()
                except (requests.RequestException, LookupError, AssertionError) as error:
                    self.summary.problems.append(f"{type(error).__name__}: {error}")
            if pump:
                self._settle()
        self._advance_to(clock.wall_now())  # through the rest of today, to the real now
        self._settle(quiet=True)
        try:
            self._just_now()
        except (requests.RequestException, LookupError, AssertionError) as error:
            self.summary.problems.append(f"{type(error).__name__}: {error}")
        self.http.close()
        self.summary.emails = outbox.count() - self.first_message
        self.summary.seconds = time.monotonic() - began
        return self.summary

    def _advance_to(self, target: datetime) -> None:
        """Move the clock to ``target``. Each morning on the way (``PLATFORM_HOUR``: everything the demo
        plans comes due then) the app's schedules run (:meth:`_morning`); nothing runs in between.
        ``DevStack.advance`` stops wherever an email comes due and runs every schedule there: right for
        a developer's clicks, but eight weeks of it would take minutes, and the time goes into those
        stops, not into the history."""
        with self.stack.lock:
            while clock.now() < target:
                morning = self.at((clock.now() - self.start).days)
                morning += timedelta(days=1) if morning <= clock.now() else timedelta(0)
                stop = min(target, morning)
                clock.clock.advance(stop - clock.now())
                if stop == morning:
                    self._morning()

    def _morning(self) -> None:
        """The sweep every morning; escalation the morning after an alert (staff have had the night); the
        rest (return deadlines, the weekly digest, any other schedule) on Monday mornings."""
        monday = clock.now().weekday() == 0
        for schedule in self.stack.scheduler.schedules:
            name = schedule.name.rsplit("-", 1)[-1]
            if name == "sweep" or monday or (name == "escalate" and self.alerted):
                self.stack.scheduler.run(schedule)
        self.alerted = False
        self._read_mail()

    def _settle(self, *, quiet: bool = False) -> None:
        """Deliver stream records, then read the mail they caused. One pass is enough for an answer to
        alert staff; what that pass caused in turn (insights counters) waits for the next pump, and
        ``quiet`` pumps until nothing is left."""
        with self.stack.lock:
            if quiet:
                self.stack.pump.pump_until_quiet()
            else:
                self.stack.pump.pump()
        self._read_mail()

    # -------------------------------------------------------------------- the store's platform

    def _plan(self, plan: OrderPlan) -> None:
        self.plans[plan.order_id] = plan
        self.summary.orders += 1
        if plan.fate == "cancelled" or int(plan.order_id) % 3 == 0:  # (each webhook costs startup time)
            self.schedule(self.at(plan.day - 3), lambda: self._event(plan, "order.paid"))
        if plan.fate == "cancelled":
            self.summary.cancelled += 1
            self.schedule(self.at(plan.day - 2), lambda: self._event(plan, "order.cancelled"))
            return
        if plan.fate == "unscanned" or int(plan.order_id) % 4 == 0:  # the platform does not always say
            self.schedule(self.at(plan.day - 2), lambda: self._event(plan, "order.fulfilled"))
        if plan.fate == "delivered":
            self.schedule(self.at(plan.day), lambda: self._event(plan, "order.delivered"))
        shirt = any(line.product.product_id == "linen-shirt" for line in plan.lines)
        if shirt and self.customer_return is None and plan.day < WEEKS * 7 - 21:
            self.customer_return = plan.order_id  # this customer sends the shirt back (it does not fit)

    def _webhook(self, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload).encode("utf-8")
        signature = sign_generic(self.demo.webhook_secret, raw, clock.epoch_seconds(clock.wall_now()))
        response = self.http.post(
            f"{self.demo.base_url}/webhooks/{self.demo.store_id}/events",
            data=raw,
            headers={"content-type": "application/json", "x-aftercare-signature": signature},
            timeout=30,
        )
        if response.status_code != 200:
            raise AssertionError(f"{payload['type']} {payload.get('id')}: {response.status_code}")

    def _event(self, plan: OrderPlan, event_type: str) -> None:
        self._webhook(
            {
                "id": f"evt_demo_{plan.order_id}_{event_type.split('.')[1]}",
                "type": event_type,
                "occurred_at": clock.isoformat(clock.now()),
                "order": plan.payload(),
            }
        )

    # -------------------------------------------------------------------- reading the outbox

    def _read_mail(self) -> None:
        fresh = outbox.messages(self.seen)
        self.seen += len(fresh)
        for message in fresh:
            recipient = (message["to"] or [""])[0]
            if recipient.endswith("@" + CUSTOMER_DOMAIN):
                self._customer_reads(message)
            elif recipient in self.demo.alert_emails:
                self._staff_reads(message)

    @staticmethod
    def _sent_at(message: dict[str, Any]) -> datetime:
        return clock.parse_iso(message["sent_at"]) if message.get("sent_at") else clock.now()

    def _customer_reads(self, message: dict[str, Any]) -> None:
        links: dict[tuple[str, int], str] = {}
        order_id = ""
        for link in message["links"]:
            claims = link_claims(link["href"]) if "/s/" in link["href"] else {}
            if claims:
                links[(str(claims.get("o")), int(claims.get("s", -1)))] = link["href"]
                order_id = str(claims.get("r"))
        plan = self.plans.get(order_id)
        if plan is None:
            return
        items = sorted({item for item, _ in links})
        rng = keyed("answers", order_id, *items)
        when = self.evening(self._sent_at(message), rng.choice((0, 0, 1, 1, 2, 4)))
        returns = next((link["href"] for link in message["links"] if "/r/" in link["href"]), None)
        if order_id == self.customer_return and returns:
            self.customer_return = None  # once
            self.schedule(when, functools.partial(self._return, plan, returns), reacting=True)
        reminder = all(item.endswith("-reminder") for item in items if item != "nps")
        if rng.random() > (0.45 if reminder else 0.7):
            reviews = [item for item in items if item != "nps"]
            if reviews and plan.locale == "en":
                self.unanswered = (plan, reviews[0], links)  # the latest is answered on landing
            return  # many people never answer
        for item in items:
            if item == "nps" and rng.random() < 0.1:
                continue  # rated the product, skipped the NPS question
            self.schedule(when, functools.partial(self._answer, plan, item, links), reacting=True)

    def _choose(self, plan: OrderPlan, item: str, links: dict[tuple[str, int], str]) -> tuple[int, str]:
        """The score and comment this customer gives this item."""
        rng = keyed("score", plan.order_id, item)
        if item == "nps":
            score = nps(plan, rng)
            return score, comment_for(score, "nps", plan.locale, rng)
        product_id = next(
            (str(link_claims(href).get("p")) for (name, _), href in links.items() if name == item), ""
        )
        product = next((p for p in CATALOG if p.product_id == product_id), CATALOG[0])
        score = stars(plan, product, rng)
        return score, comment_for(score, "review", plan.locale, rng)

    def _answer(
        self,
        plan: OrderPlan,
        item: str,
        links: dict[tuple[str, int], str],
        chosen: tuple[int, str] | None = None,
    ) -> None:
        """The customer clicks the score in the email and confirms on the page that opens."""
        score, comment = chosen or self._choose(plan, item, links)
        href = links.get((item, score))
        if href is None:
            raise LookupError(f"no {score} link for {item} of order {plan.order_id}")
        response = self.http.post(href, data={"score": str(score), "comment": comment}, timeout=30)
        if response.status_code != 200:
            raise AssertionError(f"answer {plan.order_id} {item}: {response.status_code}")
        self.summary.answers += 1
        if item == "nps":
            self.summary.nps += 1
        else:
            self.summary.reviews += 1

    def _just_now(self) -> None:
        """One unhappy customer answers the latest unanswered request just now, so the inbox shows a flag
        with its reply still due (every flag from the history is past its 4-hour SLA)."""
        if self.unanswered is None:
            return
        plan, item, links = self.unanswered
        self._answer(plan, item, links, (2, "The lid arrived cracked. Disappointing for a gift."))
        self._settle(quiet=True)

    # -------------------------------------------------------------------- staff

    def _staff_reads(self, message: dict[str, Any]) -> None:
        """Staff answer most alerts within hours (some after the 4-hour SLA); one slips through now and
        then (it escalates); some of the last few days' still wait; the first about an order with
        something returnable gets a refund offered instead of a reply."""
        staff = next((link["href"] for link in message["links"] if "/staff/" in link["href"]), None)
        if staff is None:
            return
        self.summary.alerts += 1
        self.alerted = True
        rng = keyed("staff", link_claims(staff).get("f") or message["subject"])
        sent = self._sent_at(message)
        if sent > self.horizon - timedelta(days=3) and rng.random() < 0.5:
            return
        order = re.search(r"#(\d+)", message["subject"])
        plan = self.plans.get(order.group(1)) if order else None
        if (
            plan is not None
            and not self.offered
            and any(line.product.name in RETURNABLE for line in plan.lines)
        ):
            self.offered = True
            self.schedule(sent + timedelta(hours=2), functools.partial(self._offer, staff), reacting=True)
            return
        if rng.random() < 0.12:
            return
        reply = rng.choice(STAFF_REPLIES)
        hours = rng.choice((1, 1, 2, 2, 3, 6, 9))
        self.schedule(
            sent + timedelta(hours=hours), functools.partial(self._reply, staff, reply), reacting=True
        )

    def _reply(self, staff: str, reply: str) -> None:
        page = self.http.get(staff, timeout=30).text
        form = form_with(page, ("action", "reply_resolve"))
        response = self.http.post(
            staff, data={**form["hidden"], "action": "reply_resolve", "reply": reply}, timeout=30
        )
        if response.status_code != 200:
            raise AssertionError(f"staff reply: {response.status_code}")
        self.summary.staff_replies += 1

    def _offer(self, staff: str) -> None:
        """Offer a refund of the flagged item; a flag with nothing to offer on (an NPS answer, say) gets a
        reply instead, and the offer waits for the next alert."""
        page = self.http.get(staff, timeout=30).text
        try:
            form = form_with(page, ("action", "offer"))
        except LookupError:
            self.offered = False
            self._reply(staff, STAFF_REPLIES[0])
            return
        checks = {name: "1" for name in form["checkboxes"]}  # "offer it anyway", if outside the policy
        data = {**form["hidden"], **checks, "action": "offer", "offer": "refund", "note": "Arrived damaged"}
        response = self.http.post(staff, data=data, timeout=30)
        found = re.search(r"(ret-[0-9]{16})", response.text)
        if response.status_code != 200 or not found:
            raise AssertionError(f"staff offer: {response.status_code}")
        self.summary.returns += 1
        self._wait_for_return(found.group(1))

    # -------------------------------------------------------------------- returns

    def _return(self, plan: OrderPlan, href: str) -> None:
        page = self.http.get(href, timeout=30)
        form = forms_of(page.text)[0]
        shirt = next(line for line in plan.lines if line.product.product_id == "linen-shirt")
        reason = next((o for o in form["options"] if "fit" in o.lower()), form["options"][0])
        data = {
            **form["hidden"],
            f"item-{shirt.line_id}": "1",
            f"quantity-{shirt.line_id}": "1",
            "reason": reason,
            "outcome": "refund",
            "details": "Lovely fabric, but a size too small.",
        }
        response = self.http.post(href, data=data, timeout=30)
        found = re.search(r"(ret-[0-9]{16})", response.text)
        if response.status_code != 200 or not found:
            raise AssertionError(f"return request: {response.status_code}")
        self.summary.returns += 1
        return_id = found.group(1)
        self._wait_for_return(return_id)
        self.schedule(
            self.at((clock.now() - self.start).days + 3), lambda: self._parcel_back(plan, return_id)
        )

    def _parcel_back(self, plan: OrderPlan, return_id: str) -> None:
        self._webhook(
            {
                "id": f"evt_demo_{plan.order_id}_received",
                "type": "return.received",
                "occurred_at": clock.isoformat(clock.now()),
                "return": {"aftercare_id": return_id},
            }
        )
        self._wait_for_return(return_id)

    def _wait_for_return(self, return_id: str, seconds: float = 15) -> None:
        """Let the workflow (running in moto's own threads) park or finish before the clock moves on."""
        deadline = time.monotonic() + seconds
        url = f"{self.demo.base_url}/v1/stores/{self.demo.store_id}/returns/{return_id}"
        headers = {"Authorization": f"Bearer {self.demo.admin_key}"}
        while time.monotonic() < deadline:
            status = str(self.http.get(url, headers=headers, timeout=30).json()["return"].get("status", ""))
            if status.startswith(SETTLED_RETURN):
                return
            time.sleep(0.05)
        raise AssertionError(f"return {return_id} did not settle")


# ------------------------------------------------------------------------------------------ the clock


def history_start(now: datetime | None = None) -> datetime:
    """Midnight UTC ``WEEKS`` weeks (and a few lead days) before today."""
    today = (now or clock.wall_now()).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=WEEKS * 7 + LEAD_DAYS)


def rewind(start: datetime) -> None:
    """Pin the simulated clock at ``start`` (in the past); it moves only when the generator advances it."""
    clock.clock.freeze(start)


def land() -> None:
    """Let the clock run with the wall again (the generator has brought it up to the real now; the wall
    clock is at or after it, so time never runs backwards)."""
    clock.clock.reset()


def generate(stack: DevStack, demo: Demo, start: datetime) -> Summary:
    """Eight weeks of history for the demo store, from ``start`` (where the clock is pinned) to now."""
    days = WEEKS * 7 + LEAD_DAYS
    seeder = Seeder(stack, demo, start, start + timedelta(days=days))
    return seeder.run(plan_orders(random.Random(SEED), LEAD_DAYS, days - 1))
