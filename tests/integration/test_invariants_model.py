"""Model-based test of the whole system: after every step, every invariant of docs/invariants.md holds.

A Hypothesis state machine plays platforms (generic and Shopify webhooks in any order, duplicated,
replayed with new ids, late), the catalog (product types learnt after the order), time, customers
(answers, returns: repeated, reloaded, concurrent; unsubscribes), staff (replies, resolves, reopens,
offers: also concurrent; approvals; refund retries) and the store (return events, parcels, its refund
endpoint refusing). The checks read only what a store, customer or auditor could see: emails, the refund
endpoint's calls, the order and return APIs and the tables.

``make test`` runs the "ci" profile (about two minutes); ``make soak`` runs a long one
(``AFTERCARE_MODEL_PROFILE=soak``). Every failure it finds becomes a plain regression test.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from functions.composition import adapters
from functions.shared import clock, tokens
from tests.webhooks import shopify_line, shopify_order
from tests.world import EPOCH, EXAMPLE_SPAN, Shop, World, claims_of, form_values, store_config, token_of

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("model")]

# name -> (examples, steps per example, shrink failures); "probe" finds a failure fast, without shrinking it.
PROFILES = {"ci": (16, 40, True), "soak": (300, 60, True), "probe": (25, 40, False)}
EXAMPLES, STEPS, SHRINK = PROFILES[os.environ.get("AFTERCARE_MODEL_PROFILE", "ci")]

CAP = timedelta(days=1)
MAX_LATENESS = timedelta(days=7)
REPLY_WINDOW = timedelta(minutes=15)
RELEASED = {
    "refused",
    "rejected",
    "expired",
    "closed: item not received",
    "closed: not refunded",
    "failed: workflow error",
}  # units given back to the order
OPEN_RETURN = {"requested", "in progress", "awaiting approval", "awaiting the item", "retrying the refund"}
PRICES = [Decimal("9.50"), Decimal("40.00"), Decimal("80.00"), Decimal("0")]
TYPES = ["clothing", "experience", "gift card", None]
NAMES = [
    "Ana Lima",
    "Zoë O'Brien",
    "李 小龍",
    "Sam\u202eRivera",
    "Bo <bo@evil.example>",
    "\u0645\u0631\u064a\u0645",
]
REPLIES = ["Sorry about that, we will make it right.", "Thanks for telling us. A new one is on its way."]
counter = itertools.count()


@dataclass
class Line:
    id: str
    product_id: str
    product_type: str | None
    quantity: int
    price: Decimal

    @property
    def product_key(self) -> str:
        return self.product_id


@dataclass
class Order:
    id: str
    integration: str
    customer: str
    name: str
    lines: list[Line]
    test: bool = False
    delivered: bool = False
    closed_after_calls: int | None = None  # refund-endpoint calls seen when the order closed
    events: list[tuple[str, Any, str]] = field(default_factory=list)  # (kind, payload, event id)

    def line(self, line_id: str) -> Line:
        return next(line for line in self.lines if line.id == line_id)


def parallel(actions: list[Callable[[], Any]]) -> list[Any]:
    """Run the actions at the same moment in threads; re-raise the first failure."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = actions[index]()
        except BaseException as error:  # surfaced below, with the others' results
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


class Aftercare(RuleBasedStateMachine):
    world: World

    def __init__(self) -> None:
        super().__init__()
        number = next(counter)
        clock.clock.freeze(EPOCH + number * EXAMPLE_SPAN)
        store_id = f"model-{number}"
        config = store_config(store_id, self.world.desk.url)
        config["outreach"].update(  # a fast-paced store, so a few steps reach answers, flags and returns
            default={"review_delay": "P1D", "reminder_delay": "P1D", "nps_delay": "P2D"},
            frequency_cap="P1D",
            product_types={"clothing": {"review_delay": "P2D"}, "gift card": {"reviews": False}},
        )
        self.shop = Shop(self.world, store_id, config)
        self.shop.create()
        self.number = number
        self.orders: dict[str, Order] = {}
        self.customers = [f"ana-{number}@example.com", f"bo-{number}@example.com"]
        # order, line, quantity, refund calls before it, returns known before it
        self.platform_refunds: list[tuple[str, str, int, int, frozenset[str]]] = []
        self.mails_seen = 0
        self.rmas = 0
        self.return_ids: set[str] = set()
        self.sent_requests: set[tuple[str, str]] = set()
        self.last_contact: dict[str, datetime] = {}
        self.snapshot: dict[str, Any] = self._snapshot()
        self.view: dict[str, list[Any]] = {}
        self.replying_to: str | None = None  # the flag staff replied on in this step
        self.had_outage = False
        self.replies: dict[tuple[str, str, str], datetime] = {}  # (flag, recipient, text) -> when sent
        self._refresh_view()

    # ------------------------------------------------------------------ orders and platforms
    @initialize(data=st.data())
    def first_order(self, data: st.DataObject) -> None:
        self.new_order(data)

    @rule(data=st.data())
    def new_order(self, data: st.DataObject) -> None:
        index = len(self.orders)
        integration = data.draw(st.sampled_from(["generic", "shopify"]), label="integration")
        lines = []
        for number in range(data.draw(st.integers(1, 2), label="lines")):
            product_type = data.draw(st.sampled_from(TYPES), label="type")
            quantity = data.draw(st.integers(1, 3), label="quantity")
            price = data.draw(st.sampled_from(PRICES), label="price")
            if integration == "shopify":
                base = 10**17 * (self.number + 1) + index * 100 + number
                lines.append(Line(str(base + 10), str(base + 50), None, quantity, price))
            else:
                lines.append(Line(f"l{number}", f"p{index}-{number}", product_type, quantity, price))
        order_id = (
            str(10**18 + self.number * 1000 + index)
            if integration == "shopify"
            else f"G{self.number}-{index}"
        )
        order = Order(
            order_id,
            integration,
            data.draw(st.sampled_from(self.customers), label="customer"),
            data.draw(st.sampled_from(NAMES), label="name"),
            lines,
            test=integration == "generic" and data.draw(st.booleans(), label="test") and index % 4 == 3,
        )
        self.orders[order_id] = order
        self._send(order, "paid")
        if data.draw(st.sampled_from([True, True, False]), label="delivered now"):
            self._deliver(order, data.draw(st.sampled_from([0, 0, 2, 20]), label="days ago"))

    def _generic_order(self, order: Order, **extra: Any) -> dict[str, Any]:
        return {
            "id": order.id,
            "name": f"#{order.id}",
            "currency": "EUR",
            "test": order.test,
            "customer": {"email": order.customer, "name": order.name, "locale": "en"},
            "line_items": [
                {
                    "id": line.id,
                    "product_id": line.product_id,
                    "name": f"Product {line.product_id}",
                    "product_type": line.product_type,
                    "quantity": line.quantity,
                    "price": str(line.price),
                }
                for line in order.lines
            ],
            **extra,
        }

    def _shopify_order(self, order: Order, **extra: Any) -> dict[str, Any]:
        lines = [
            shopify_line(
                int(line.id), int(line.product_id), f"Item {line.product_id}", line.quantity, str(line.price)
            )
            for line in order.lines
        ]
        return shopify_order(
            int(order.id), lines, email=order.customer, updated_at=clock.isoformat(clock.now()), **extra
        )

    def _send(self, order: Order, kind: str, **details: Any) -> None:
        """One platform event about an order, as that order's platform sends it."""
        now = clock.isoformat(clock.now())
        event_id = f"evt-{self.number}-{len(order.events)}-{order.id}"
        if order.integration == "generic":
            payload = self._generic_event(order, kind, now, event_id, **details)
            order.events.append((kind, payload, event_id))
            response = self.shop.generic(payload)
            assert response.status == 200, response.text
            return
        topic, body = self._shopify_event(order, kind, now, **details)
        order.events.append((topic, body, event_id))
        self.shop.shopify(topic, body, event_id)

    def _generic_event(
        self, order: Order, kind: str, now: str, event_id: str, **details: Any
    ) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        body: dict[str, Any] = {}
        if kind == "paid":
            extra["paid_at"] = now
        elif kind == "delivered":
            extra["delivered_at"] = details["at"]
        elif kind == "refunded" and details.get("line"):
            body["refund"] = {
                "id": f"rf-{event_id}",
                "line_items": [{"line_item_id": details["line"], "quantity": details["quantity"]}],
            }
        event_type = {"paid": "order.paid", "delivered": "order.delivered", "cancelled": "order.cancelled"}
        return {
            "id": event_id,
            "type": event_type.get(kind, "order.refunded"),
            "occurred_at": details.get("at", now),
            "order": self._generic_order(order, **extra),
            **body,
        }

    def _shopify_event(self, order: Order, kind: str, now: str, **details: Any) -> tuple[str, dict[str, Any]]:
        if kind == "paid":
            return "orders/paid", self._shopify_order(order)
        if kind == "delivered":
            return "fulfillment_events/create", {
                "id": int(order.id) + 7,
                "status": "delivered",
                "happened_at": details["at"],
                "order_id": int(order.id),
            }
        if kind == "cancelled":
            return "orders/cancelled", self._shopify_order(
                order, cancelled_at=now, financial_status="refunded"
            )
        if details.get("line"):
            return "refunds/create", {
                "id": int(order.id) * 10 + len(order.events),
                "order_id": int(order.id),
                "refund_line_items": [
                    {"line_item_id": int(details["line"]), "quantity": details["quantity"]}
                ],
            }
        return "orders/updated", self._shopify_order(order, financial_status="refunded")

    def _deliver(self, order: Order, days_ago: int) -> None:
        order.delivered = True
        self._send(order, "delivered", at=clock.isoformat(clock.now() - timedelta(days=days_ago)))

    def deliver(self, data: st.DataObject) -> None:
        waiting = [o for o in self.orders.values() if not o.delivered]
        if waiting:
            self._deliver(data.draw(st.sampled_from(waiting)), data.draw(st.sampled_from([0, 1, 20])))

    def close_order(self, data: st.DataObject) -> None:
        """The platform cancels the order or refunds it in full."""
        if self.orders:
            order = data.draw(st.sampled_from(list(self.orders.values())))
            if order.closed_after_calls is None:
                order.closed_after_calls = len(self.world.desk.calls)
            self._send(order, data.draw(st.sampled_from(["cancelled", "refunded"])))

    def platform_refund(self, data: st.DataObject) -> None:
        """The store refunds some units on its own, in its admin."""
        if self.orders:
            order = data.draw(st.sampled_from(list(self.orders.values())))
            line = data.draw(st.sampled_from(order.lines))
            quantity = data.draw(st.integers(1, line.quantity))
            self.platform_refunds.append(
                (order.id, line.id, quantity, len(self.world.desk.calls), frozenset(self.return_ids))
            )
            self._send(order, "refunded", line=line.id, quantity=quantity)

    def replay(self, data: st.DataObject) -> None:
        """A platform retry: the same delivery again, or (generic) the same content under a new event id."""
        sent = [(o, e) for o in self.orders.values() for e in o.events]
        if not sent:
            return
        order, (kind, payload, event_id) = data.draw(st.sampled_from(sent))
        if order.integration == "shopify":
            self.shop.shopify(kind, payload, event_id)
            return
        fresh = data.draw(st.booleans(), label="new id")
        again = {**payload, "id": f"{event_id}-again-{len(order.events)}"} if fresh else payload
        response = self.shop.generic(again)
        assert response.status == 200, response.text

    def learn_product_type(self, data: st.DataObject) -> None:
        untyped = [line for o in self.orders.values() if o.integration == "shopify" for line in o.lines]
        if untyped:
            line = data.draw(st.sampled_from(untyped))
            line.product_type = data.draw(st.sampled_from(["clothing", "experience", "gift card"]))
            self.shop.shopify(
                "products/update",
                {"id": int(line.product_id), "title": "Item", "product_type": line.product_type.title()},
                f"prod-{self.number}-{line.product_id}-{line.product_type}",
            )

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data())
    def platform(self, data: st.DataObject) -> None:
        """Something happens on the platform: a delivery, a cancellation, refunds, retries, the catalog."""
        kinds = ["close_order", "platform_refund", "replay", "replay"]
        if any(not o.delivered for o in self.orders.values()):
            kinds += ["deliver", "deliver", "deliver"]
        if any(o.integration == "shopify" for o in self.orders.values()):
            kinds.append("learn_product_type")
        getattr(self, data.draw(st.sampled_from(kinds), label="platform event"))(data)

    def _returnable(self) -> list[tuple[Order, Line]]:
        """Delivered lines of a kind the store takes back (the model's view; the system decides)."""
        blocked = {"experience", "gift card"}
        return [
            (o, line)
            for o in self.orders.values()
            if o.delivered
            for line in o.lines
            if line.product_type not in blocked
        ]

    @precondition(lambda self: bool(self._returnable()))
    @rule(data=st.data())
    def a_return(self, data: st.DataObject) -> None:
        """A customer (from the return page) or the store (from its return feed) asks to return something."""
        getattr(self, data.draw(st.sampled_from(["customer_return", "customer_return", "store_return"])))(
            data
        )

    @precondition(lambda self: bool(self.view["staff"]))
    @rule(data=st.data())
    def staff_on_a_flag(self, data: st.DataObject) -> None:
        action = data.draw(
            st.sampled_from(["staff_reply", "staff_reply", "staff_resolve_or_reopen", "staff_offer"])
        )
        getattr(self, action)(data)

    # ------------------------------------------------------------------ time
    @rule(hours=st.sampled_from([1, 6, 24, 72]))
    def time_passes(self, hours: int) -> None:
        self.world.advance(timedelta(hours=hours))

    @rule(days=st.sampled_from([1, 2, 3, 5]))
    def days_pass(self, days: int) -> None:
        self.world.advance(timedelta(days=days))

    @precondition(lambda self: not self.had_outage)
    @rule(days=st.sampled_from([6, 9]))
    def schedules_stop(self, days: int) -> None:
        """An outage: no schedule runs for days; the next ones find requests due for longer than that."""
        self.had_outage = True
        clock.clock.freeze(clock.now() + timedelta(days=days))

    # ------------------------------------------------------------------ customers
    @precondition(lambda self: bool(self.view["surveys"]))
    @rule(data=st.data())
    def answer(self, data: st.DataObject) -> None:
        if data.draw(st.sampled_from([False, False, False, False, True]), label="unsubscribes instead"):
            self.unsubscribe(data)
            return
        link = data.draw(st.sampled_from(self.view["surveys"]), label="survey link")
        path = "/s/" + token_of(link)
        page = self.world.call("GET", path)
        if page.status != 200:
            return
        claims = tokens.verify(adapters().signing_key, token_of(link), purpose="survey").claims
        low = [0, 3, 6] if "p" not in claims else [1, 2]
        score = data.draw(st.sampled_from([*low, 5 if "p" in claims else 9]), label="score")
        comment = data.draw(
            st.sampled_from(["", "It arrived broken.", "Lovely, thank you!"]), label="comment"
        )
        self.world.form(path, {"score": str(score), "comment": comment})

    def unsubscribe(self, data: st.DataObject) -> None:
        from functions.customers.store import customer_key

        email = data.draw(st.sampled_from(self.customers))
        self.world.form("/u/" + self.shop.link("unsubscribe", {"c": customer_key(email)}), {})

    def customer_return(self, data: st.DataObject) -> None:
        """The customer asks to return some units; maybe twice at once, or again after reloading the page."""
        order, line = data.draw(st.sampled_from(self._returnable()))
        path = "/r/" + self.shop.link("return", {"o": order.id})
        quantity = data.draw(st.integers(1, line.quantity))
        copies = data.draw(st.sampled_from([1, 1, 2, 3]), label="submits at once")
        forms = []
        for _ in range(copies):
            page = self.world.call("GET", path)
            if page.status != 200 or f'name="item-{line.id}"' not in page.text:
                return
            forms.append(form_values(page.text))
        values = {
            f"item-{line.id}": "1",
            f"quantity-{line.id}": str(quantity),
            "reason": "Does not fit",
            "outcome": data.draw(st.sampled_from(["refund", "store_credit", "replacement"])),
        }
        self._note_returns(*parallel([lambda f=f: self.world.form(path, {**f, **values}) for f in forms]))  # type: ignore[misc]

    # ------------------------------------------------------------------ the store
    def store_return(self, data: st.DataObject) -> None:
        """The store's RMA feed opens a return (for a unit maybe already returned, under a new id)."""
        order, line = data.draw(st.sampled_from(self._returnable()))
        quantity = data.draw(st.integers(1, line.quantity))
        self.rmas += 1
        rma = f"RMA-{self.number}-{self.rmas}"
        if order.integration == "shopify":
            shopify_return = self.shop.shopify(
                "returns/request",
                {
                    "id": int(order.id) + 1000 + self.rmas,
                    "order": {"id": int(order.id)},
                    "return_line_items": [
                        {
                            "quantity": quantity,
                            "return_reason": "SIZE_TOO_SMALL",
                            "fulfillment_line_item": {"line_item": {"id": int(line.id)}},
                        }
                    ],
                },
                rma,
            )
            self._note_returns(shopify_return)
            return
        event = {
            "id": rma,
            "type": "return.requested",
            "occurred_at": clock.isoformat(clock.now()),
            "return": {
                "id": rma,
                "order_id": order.id,
                "items": [{"line_item_id": line.id, "quantity": quantity}],
                "reason": "Damaged",
                "outcome": data.draw(st.sampled_from(["refund", "return"])),
            },
        }
        response = self.shop.generic(event)
        assert response.status in (200, 422), response.text
        self._note_returns(response)

    def _note_returns(self, *answers: Any) -> None:
        """Remember the return ids the pages and webhooks answered (read by key later, never by scan)."""
        for answer in answers:
            self.return_ids.update(re.findall(r"ret-[0-9]{16}", answer.text))

    def _returns(self) -> list[dict[str, Any]]:
        from functions.composition import adapters

        found = (adapters().returns.get(self.shop.id, rid)[0] for rid in sorted(self.return_ids))
        return [request for request in found if request is not None]

    @staticmethod
    def _table(logical: str) -> str:
        from functions.composition import adapters

        names = {
            "ReturnsTable": adapters().settings.returns_table,
            "FlagsTable": adapters().settings.flags_table,
            "OutreachTable": adapters().settings.outreach_table,
        }
        return names[logical]

    @precondition(lambda self: bool(self.view["parcel"]))
    @rule(data=st.data())
    def parcel_arrives(self, data: st.DataObject) -> None:
        request = data.draw(st.sampled_from(self.view["parcel"]))
        if request:
            event = {
                "id": f"recv-{request['return_id']}",
                "type": "return.received",
                "occurred_at": clock.isoformat(clock.now()),
                "return": {"aftercare_id": request["return_id"]},
            }
            self.shop.generic(event)

    @precondition(lambda self: bool(self.view["approval"]))
    @rule(data=st.data())
    def approve_or_reject(self, data: st.DataObject) -> None:
        request = data.draw(st.sampled_from(self.view["approval"]))
        if request:
            self._return_page_action(request, data.draw(st.sampled_from(["approve", "reject"])))

    def _return_page_action(self, request: dict[str, Any], decision: str) -> None:
        token = self.shop.link(
            "return-approval", {"r": request["return_id"], "a": f"care@{self.shop.id}.example.com"}
        )
        page = self.world.call("GET", f"/approve/{token}")
        self.world.form(f"/approve/{token}", {**form_values(page.text), "decision": decision})

    @rule(refusing=st.booleans())
    def refund_endpoint_mood(self, refusing: bool) -> None:
        self.world.desk.refusing = refusing

    @precondition(lambda self: bool(self.view["failed"]))
    @rule(data=st.data())
    def staff_settle_failed_refund(self, data: st.DataObject) -> None:
        request = data.draw(st.sampled_from(self.view["failed"]))
        if request:
            self._return_page_action(request, data.draw(st.sampled_from(["retry_refund", "settle"])))

    # ------------------------------------------------------------------ staff on flags
    def _flags(self) -> list[dict[str, Any]]:
        return self.shop.flags()

    def _staff_path(self, data: st.DataObject) -> str | None:
        links = self.view["staff"]
        return "/staff/" + token_of(data.draw(st.sampled_from(links), label="alert link")) if links else None

    def staff_reply(self, data: st.DataObject) -> None:
        path = self._staff_path(data)
        if path is None:
            return
        self.replying_to = str(claims_of(path)["f"])  # one email can carry several surveys, so several flags
        text = data.draw(st.sampled_from(REPLIES), label="reply")
        copies = data.draw(st.sampled_from([1, 1, 2, 3]), label="reply forms at once")
        forms = [form_values(self.world.call("GET", path).text) for _ in range(copies)]
        action = data.draw(st.sampled_from(["reply", "reply_resolve"]))
        parallel([lambda f=f: self.world.form(path, {**f, "reply": text, "action": action}) for f in forms])  # type: ignore[misc]

    def staff_resolve_or_reopen(self, data: st.DataObject) -> None:
        path = self._staff_path(data)
        if path is not None:
            form = form_values(self.world.call("GET", path).text)
            self.world.form(path, {**form, "action": data.draw(st.sampled_from(["resolve", "reopen"]))})

    def staff_offer(self, data: st.DataObject) -> None:
        path = self._staff_path(data)
        if path is None:
            return
        copies = data.draw(st.sampled_from([1, 2]), label="offers at once")
        forms = [form_values(self.world.call("GET", path).text) for _ in range(copies)]
        values = {
            "action": "offer",
            "offer": data.draw(st.sampled_from(["refund", "return", "replacement"])),
            "note": "on us",
        }
        if data.draw(st.booleans(), label="confirms outside policy"):
            values["outside_policy_ok"] = "1"
        self._note_returns(*parallel([lambda f=f: self.world.form(path, {**f, **values}) for f in forms]))  # type: ignore[misc]

    # ------------------------------------------------------------------ invariants
    def teardown(self) -> None:
        self.world.desk.refusing = False

    @invariant()
    def every_promise_holds(self) -> None:
        self.world.settle()
        previous, current = self.snapshot, self._snapshot()
        new_mails = self.shop.mails()[self.mails_seen :]
        self.mails_seen += len(new_mails)
        for mail in new_mails:
            self._check_mail(mail, previous, current)
        self._check_money()
        self._check_returns(current["returns"])
        self.snapshot = current
        self.replying_to = None
        self._refresh_view()

    def _refresh_view(self) -> None:
        """What people could act on now (links in emails, returns waiting): the rules' preconditions."""
        mails = self.shop.mails()
        links = [link["href"] for m in mails for link in m["links"]]
        returns = self.snapshot["returns"]
        self.view = {
            "surveys": sorted({link for link in links if "/s/" in link}),
            "staff": sorted({link for link in links if "/staff/" in link}),
            "parcel": sorted(
                (r for r in returns if r.get("waiting_for") == "parcel"), key=lambda r: str(r["return_id"])
            ),
            "approval": sorted(
                (r for r in returns if r.get("waiting_for") == "approval"), key=lambda r: str(r["return_id"])
            ),
            "failed": sorted(
                (r for r in returns if r.get("status") == "failed: refund not issued"),
                key=lambda r: str(r["return_id"]),
            ),
        }

    def _snapshot(self) -> dict[str, Any]:
        """What the system says now: inactive products, lines in open returns, flags with a human on them."""
        from functions import composition
        from functions.orders.planning import active_items, why_not_planned

        inactive: set[tuple[str, str]] = set()
        for order in self.orders.values():
            orders = composition.adapters().orders
            stored = orders.get_order(self.shop.id, order.id)  # the order item, read by key
            if stored is None:
                continue
            facts = stored.facts
            closed = why_not_planned(facts) in {"test order", "order cancelled", "order refunded"}
            active = set() if closed else {item.product_key for item in active_items(facts)}
            for item in facts.items.items if facts.items else []:
                if item.product_key not in active:
                    inactive.add((order.id, item.product_key))
        returns = self._returns()
        open_lines = {
            (str(r["order_id"]), str(item["line_item_id"]))
            for r in returns
            if r.get("status") in OPEN_RETURN
            for item in r.get("items", [])
        }
        flags = {str(f["flag_id"]): f for f in self._flags()}
        return {"inactive": inactive, "open_lines": open_lines, "flags": flags, "returns": returns}

    def _check_mail(self, mail: dict[str, Any], previous: dict[str, Any], current: dict[str, Any]) -> None:
        headers = {name.lower(): value for name, value in mail["headers"]}
        sent_at = clock.parse_iso(mail["sent_at"])
        if "list-unsubscribe" in headers:
            self._check_request(mail, sent_at, previous, current)
        elif mail["subject"].startswith("[Overdue]"):
            flag = tokens.verify(
                adapters().signing_key, token_of(self._first(mail, "/staff/")), purpose="staff"
            )
            before = previous["flags"].get(str(flag.claims["f"]), {})
            assert not before.get("first_reply_at"), f"escalated after a reply: {flag.claims['f']}"
            assert before.get("status") != "resolved", f"escalated a resolved flag: {flag.claims['f']}"
        elif headers.get("in-reply-to"):
            self._check_reply(mail, sent_at, headers["in-reply-to"], previous)

    @staticmethod
    def _first(mail: dict[str, Any], part: str) -> str:
        return next(link["href"] for link in mail["links"] if part in link["href"])

    def _check_request(
        self, mail: dict[str, Any], sent_at: datetime, previous: dict[str, Any], current: dict[str, Any]
    ) -> None:
        import boto3

        from functions.shared.dynamo import from_item

        customer = mail["to"][0]
        last = self.last_contact.get(customer)
        assert last is None or sent_at - last >= CAP, f"{customer} emailed twice within the frequency cap"
        self.last_contact[customer] = sent_at
        seen_here: set[tuple[str, str]] = set()
        for link in mail["links"]:
            if "/s/" not in link["href"]:
                continue
            claims = tokens.verify(adapters().signing_key, token_of(link["href"]), purpose="survey").claims
            order_id, outreach_id = str(claims["r"]), str(claims["o"])
            product = claims.get("p")
            if product is not None:
                assert (order_id, str(product)) not in previous["inactive"], f"emailed about {product}, gone"
            order = self.orders.get(order_id)
            assert order is not None and not order.test, f"email for a test or unknown order {order_id}"
            seen_here.add((order_id, outreach_id))
            if outreach_id.endswith("-reminder") and product is not None:
                lines = {line.id for line in order.lines if line.product_key == product}
                for when in (previous, current):
                    assert not {(order_id, line) for line in lines} & when["open_lines"], (
                        "reminder during a return"
                    )
        for order_id, outreach_id in seen_here:
            assert (order_id, outreach_id) not in self.sent_requests, (
                f"{outreach_id} of {order_id} sent twice"
            )
            self.sent_requests.add((order_id, outreach_id))
            item = boto3.client("dynamodb").get_item(
                TableName=self._table("OutreachTable"),
                Key={"pk": {"S": f"{self.shop.id}#{order_id}"}, "sk": {"S": outreach_id}},
            )["Item"]
            first_due = clock.parse_iso(str(from_item(item).get("first_due_at") or from_item(item)["due_at"]))
            assert sent_at - first_due <= MAX_LATENESS, f"{outreach_id} sent {sent_at - first_due} late"

    def _check_reply(
        self, mail: dict[str, Any], sent_at: datetime, in_reply_to: str, previous: dict[str, Any]
    ) -> None:
        flag = previous["flags"].get(self.replying_to or "")
        if flag is None or flag.get("original_message_id") != in_reply_to:
            return  # not a staff reply to a customer
        assert flag.get("status") != "resolved", "a reply went out on a resolved flag"
        key = (str(flag["flag_id"]), mail["to"][0], " ".join(mail["text"].split()))
        earlier = self.replies.get(key)
        assert earlier is None or sent_at - earlier >= REPLY_WINDOW, "the same reply was sent twice"
        self.replies[key] = sent_at

    def _check_money(self) -> None:
        mine = [c for c in self.world.desk.calls if str(c["json"].get("order_id")) in self.orders]
        refunded: dict[tuple[str, str], int] = {}
        for index, call in enumerate(self.world.desk.calls):
            if str(call["json"].get("order_id")) not in self.orders:
                continue
            body = call["json"]
            order = self.orders[str(body["order_id"])]
            assert not call["replay"], f"refund {call['key']} called again after it succeeded"
            assert order.closed_after_calls is None or index < order.closed_after_calls, "refund after close"
            expected = sum(
                (order.line(str(i["line_item_id"])).price * int(i["quantity"]) for i in body["items"]),
                Decimal("0"),
            )
            assert Decimal(str(body["amount"])) == expected, f"amount {body['amount']} is not {expected}"
            if body["outcome"] in ("refund", "store_credit"):
                assert expected > 0, "a refund call for nothing"
            if call["status"] != 200:
                continue
            for item in body["items"]:
                key = (order.id, str(item["line_item_id"]))
                refunded[key] = refunded.get(key, 0) + int(item["quantity"])
                by_store = sum(
                    q
                    for o, line, q, before, _ in self.platform_refunds
                    if (o, line) == key and before <= index
                )
                bought = order.line(key[1]).quantity
                assert refunded[key] + by_store <= bought, f"{key}: {refunded[key]}+{by_store} > {bought}"
        assert len({c["key"] for c in mine if c["status"] == 200}) == len(
            [c for c in mine if c["status"] == 200]
        )

    def _check_returns(self, returns: list[dict[str, Any]]) -> None:
        claims: dict[tuple[str, str], dict[str, int]] = {}  # line -> return id -> units it holds
        for request in returns:
            if request.get("source") == "staff":
                assert request.get("status") not in {"refused"}, "the policy refused a staff offer"
            if request.get("status") in RELEASED:
                continue
            for item in request.get("items", []):
                key = (str(request["order_id"]), str(item["line_item_id"]))
                held = claims.setdefault(key, {})
                held[str(request["return_id"])] = held.get(str(request["return_id"]), 0) + int(
                    item["quantity"]
                )
        for key, held in claims.items():
            # When the latest of these returns was accepted, all of them and every platform refund sent
            # before it were already counted: together they never exceed what was bought.
            before_latest = max(
                sum(
                    q
                    for o, line, q, _, known in self.platform_refunds
                    if (o, line) == key and rid not in known
                )
                for rid in held
            )
            bought = self.orders[key[0]].line(key[1]).quantity
            assert sum(held.values()) + before_latest <= bought, (
                f"{key}: returns {held} + {before_latest} refunded by the store > {bought} bought"
            )


def test_every_invariant_holds_after_every_step(world: World) -> None:
    clock.clock.freeze(EPOCH)
    Aftercare.world = world
    run_state_machine_as_test(
        Aftercare,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            print_blob=True,
            phases=list(Phase) if SHRINK else [Phase.explicit, Phase.reuse, Phase.generate],
        ),
    )
