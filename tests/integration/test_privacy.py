"""Customer data rights: one export and one erase across everything Aftercare holds (issue 15).

A customer is given data in every table through the public flows only (webhooks, the sweep, a rating
click with a comment, the flag and a staff reply, a return whose workflow waits for the parcel, a
store-submitted review, the one-click unsubscribe, and every stream delivered to its consumers), then
erased; every table of the account is scanned for anything that names them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import json
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import pytest

from functions.shared import clock, tokens
from tests.helpers import bearer
from tests.insights_story import infra_pump
from tests.world import Shop, StoreDesk, World, form_values, store_config, token_of

pytestmark = pytest.mark.integration

EMAIL = "quillon.marchetti@example.com"
NAME = "Quillon Marchetti"
ORDER = "PRIV-ORDER-99173"  # a delivered tour and shirt: a review request, a flag, a return
REVIEWED = "PRIV-ORDER-99174"  # the store's own review of another order (an idempotency record)
TOUR = ("l1", "p-tour", "experience", 1, "30.00")  # review a day after delivery
SHIRT = ("l2", "p-shirt", "clothing", 1, "40.00")  # must come back before the refund
COMMENT = "Awful <script>alert(1)</script> & cancelled on the day."
REPLY = "We are so sorry, Quillon. The tour is refunded."


@pytest.fixture
def world(frozen: Any, api: Any, operator_key: str) -> Iterator[World]:
    """The whole system in this process with every stream mapping of infra/ (insights counters too)."""
    from tests.conftest import shut_down_at_once

    desk = StoreDesk()
    yield World(api, operator_key, desk, infra_pump(frozen))
    shut_down_at_once(desk.close, desk.server.server_address)


def new_shop(world: World, store_id: str = "privacy-shop") -> Shop:
    config = store_config(store_id, world.desk.url)
    config["staff"]["owners"] = [f"owner@{store_id}.example.com"]
    shop = Shop(world, store_id, config)
    shop.create()
    return shop


def customer(email: str = EMAIL, name: str = NAME) -> dict[str, str]:
    return {"email": email, "name": name, "locale": "en"}


def staff(world: World, path: str, **values: str) -> Any:
    return world.form(path, {**form_values(world.call("GET", path).text), **values})


def mails_to(shop: Shop, email: str = EMAIL) -> list[dict[str, Any]]:
    return [m for m in shop.mails() if email in m["to"]]


@dataclasses.dataclass
class Lived:
    """What a customer's life in a store left in the customer's hands: links and their token ids."""

    token_ids: set[str]
    unsubscribe: str


def live(shop: Shop, world: World, email: str = EMAIL, order: str = ORDER, reviewed: str = REVIEWED) -> Lived:
    """Orders, a request, a one-star answer with a comment, a flag and a staff reply, a return waiting
    for the parcel, a store-submitted review, an unsubscribe: each through its public route."""
    shop.delivered(order, [TOUR, SHIRT], email=email, days_ago=0, customer=customer(email))
    world.advance(timedelta(days=1, minutes=1))  # the tour's review request goes out
    [request] = mails_to(shop, email)
    star = next(link["href"] for link in request["links"] if "/s/" in link["href"])
    answered = world.form("/s/" + token_of(star), {"score": "1", "comment": COMMENT})
    assert answered.status == 200, answered.text
    world.run_schedules()  # the answer's stream flags it and alerts staff
    alert = [m for m in shop.mails() if m["subject"].startswith("[Needs a reply]")][-1]
    path = "/staff/" + token_of(next(link["href"] for link in alert["links"] if "/staff/" in link["href"]))
    assert staff(world, path, action="reply", reply=REPLY).status == 200
    returning = shop.return_path(order)
    form = form_values(world.call("GET", returning).text)
    started = world.form(
        returning, {**form, "item-l2": "1", "quantity-l2": "1", "reason": "Does not fit", "outcome": "refund"}
    )
    assert started.status == 200, started.text
    world.settle()  # the return workflow now waits for the parcel
    submitted = shop.event(
        "review.submitted",
        review={
            "id": f"rev-{reviewed}",
            "rating": 2,
            "body": f"Shrunk in the wash. {NAME}",
            "product": {"id": "p-tee", "name": "Organic tee"},
            "order": {"id": reviewed},
            "customer": customer(email),
        },
    )
    assert submitted.status == 200, submitted.text
    broken = {"id": 5000000000000099173, "email": email, "line_items": "not a list"}  # authentic, unusable
    assert shop.shopify("orders/updated", broken, f"evt-broken-{order}").json["status"] == "quarantined"
    unsubscribe = (
        dict(request["headers"])["List-Unsubscribe"].split(">")[0].removeprefix("<https://care.example.com")
    )
    world.run_schedules()
    links = [link["href"] for m in mails_to(shop, email) for link in m["links"]] + [returning, unsubscribe]
    token_ids = set()
    for link in links:
        try:
            token_ids.add(str(tokens.unverified_body(token_of(link.split("?")[0]))["j"]))
        except (tokens.TokenError, KeyError, ValueError):
            continue
    return Lived(token_ids, unsubscribe)


def unsubscribed(world: World, path: str) -> None:
    response = world.call(
        "POST",
        path,
        body="List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 200, response.text


def later(world: World, delta: timedelta) -> None:
    """Time passes and the sweep runs, without waiting for return workflows to settle: moto keeps an
    execution stopped while it waits for a task token listed as running (AWS stops it at once)."""
    from functions import composition
    from functions.outreach import sweep

    clock.clock.freeze(clock.now() + delta)
    world.pump.pump_until_quiet()
    sweep.run(composition.sweep_ports())
    world.pump.pump_until_quiet()


def late_bounce(shop: Shop, email: str) -> Any:
    """What SES publishes (through SNS) when an earlier email to ``email`` bounces for good."""
    from aftercare.devstack.lambdas import LocalLambdaContext
    from app import ses_events  # the packaged handler, as Lambda calls it

    notification = {
        "eventType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": email}]},
        "mail": {"tags": {"store": [shop.id], "kind": ["review"]}, "destination": [email]},
    }
    return ses_events(
        {"Records": [{"Sns": {"Message": json.dumps(notification)}}]},
        LocalLambdaContext(function_name="ses_events"),
    )


def erase(world: World, shop: Shop, email: str = EMAIL) -> Any:
    response = world.call(
        "POST",
        f"/v1/stores/{shop.id}/customers/erase",
        json_body={"email": email},
        headers=bearer(shop.admin_key),
    )
    assert response.status == 200, response.text
    return response.json


def export(world: World, shop: Shop, email: str = EMAIL) -> dict[str, Any]:
    response = world.call(
        "POST",
        f"/v1/stores/{shop.id}/customers/export",
        json_body={"email": email},
        headers=bearer(shop.admin_key),
    )
    assert response.status == 200, response.text
    return dict(response.json)


# ------------------------------------------------------------------------------ scanning the account
def texts_of(value: Mapping[str, Any]) -> Iterator[str]:
    """Every string of one DynamoDB attribute value, nested maps and lists included (map keys too);
    binary values are read gunzipped when they are gzip (stored webhook bodies) and as bytes otherwise."""
    for kind, inner in value.items():
        if kind in {"S", "N"}:
            yield str(inner)
        elif kind in {"SS", "NS"}:
            yield from (str(v) for v in inner)
        elif kind in {"B", "BS"}:
            for blob in [inner] if kind == "B" else inner:
                data = bytes(blob)
                with contextlib.suppress(OSError, EOFError):
                    data = gzip.decompress(data)
                yield data.decode("utf-8", "replace")
        elif kind == "M":
            for key, nested in inner.items():
                yield key
                yield from texts_of(nested)
        elif kind == "L":
            for nested in inner:
                yield from texts_of(nested)


@dataclasses.dataclass
class Scan:
    items: dict[str, int]  # table -> items scanned
    hits: dict[str, list[str]]  # needle -> where it was found ("table: attribute")
    named: dict[str, int]  # table -> items naming the customer

    @property
    def scanned(self) -> int:
        return sum(self.items.values())


def scan_account(needles: dict[str, str]) -> Scan:
    """Every table of the account (listed from DynamoDB, so a new table is covered) and every item in it."""
    import boto3

    client = boto3.client("dynamodb")
    tables = [name for page in client.get_paginator("list_tables").paginate() for name in page["TableNames"]]
    scan = Scan({}, {}, {})
    for table in tables:
        short = table.removeprefix("test-").removesuffix("Table")
        scan.items[short] = 0
        for page in client.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                scan.items[short] += 1
                named = False
                for attribute, value in item.items():
                    found = " ".join([attribute, *texts_of(value)]).lower()
                    for label, needle in needles.items():
                        if needle.lower() in found:
                            scan.hits.setdefault(label, []).append(f"{short}: {attribute}")
                            named = True
                scan.named[short] = scan.named.get(short, 0) + named
    return scan


def needles_for(lived: Lived, email: str = EMAIL) -> dict[str, str]:
    found = {
        "address": email,
        "address hash": hashlib.sha256(email.encode()).hexdigest(),
        "name": NAME,
        "order": ORDER,
        "reviewed order": REVIEWED,
    }
    found.update({f"token {token_id}": token_id for token_id in lived.token_ids})
    return found


# ------------------------------------------------------------------------------ the proof
def test_erasing_a_customer_leaves_nothing_in_any_table_but_the_suppression_hash(
    world: World, record_property: Any
) -> None:
    from functions import composition
    from functions.customers.store import customer_key

    # Given a customer with data in every table, all of it made through the public flows
    shop = new_shop(world)
    lived = live(shop, world)
    unsubscribed(world, lived.unsubscribe)
    world.run_schedules()
    needles = needles_for(lived)
    before = scan_account(needles)
    # (the Workspace table holds only staff sign-ins and digests: nothing a customer's life writes there)
    assert {table for table, count in before.items.items() if count == 0} <= {"Workspace"}, before.items
    holding = {"Orders", "Outreach", "Customers", "Responses", "Flags", "Returns", "Idempotency"}
    assert {table for table, count in before.named.items() if count} == holding, before.named
    assert set(before.hits) >= {"address", "address hash", "name", "order", "reviewed order"}
    assert any(label.startswith("token ") for label in before.hits), "no token id was stored: a weak proof"

    # When the store erases them, and later their old email's unsubscribe link is opened and posted
    result = erase(world, shop)
    world.pump.pump_until_quiet()  # the removals reach the stream consumers (which ignore them)
    assert "resubscribe" not in world.call("GET", lived.unsubscribe).text
    unsubscribed(world, lived.unsubscribe)
    refused = world.form(lived.unsubscribe + "/resubscribe", {})
    assert refused.status == 200 and "resubscribe" not in refused.text
    assert late_bounce(shop, EMAIL) == {"suppressed": 1}  # SES reports a bounce of an earlier email

    # Then no attribute of any item in any table names them, their orders or their tokens
    kept_hash = composition.adapters().customers.kept_hash(shop.id, customer_key(EMAIL))
    after = scan_account({**needles, "suppression hash": kept_hash})
    record_property("tables", len(after.items))
    record_property("items scanned before and after", (before.scanned, after.scanned))
    record_property("hits before", sum(len(where) for where in before.hits.values()))
    record_property("items per table after", after.items)
    assert after.hits == {"suppression hash": ["Customers: pk"]}
    assert result["removed"]["workflows stopped"] == 1
    # and the only thing kept is the erasure record under that hash, which still stops every email
    kept = export(world, shop)
    assert kept["orders"] == [] and kept["customer"] is None and kept["quarantined_deliveries"] == []
    assert kept["erasure"]["status"] == "done"
    assert kept["suppression"]["reason"] == "unsubscribed"
    assert [entry["requested_by"] for entry in kept["erasure"]["history"]] == ["store admin key"]


def test_an_erased_customer_is_never_emailed_again_after_a_new_order(world: World) -> None:
    # Given a customer who never unsubscribed, erased
    shop = new_shop(world)
    shop.delivered("PRIV-1", [TOUR], email=EMAIL, days_ago=0, customer=customer())
    world.advance(timedelta(days=1, minutes=1))
    assert len(mails_to(shop)) == 1
    erase(world, shop)
    # When they order again and the request comes due
    shop.delivered("PRIV-2", [TOUR], email=EMAIL.upper(), days_ago=0, customer=customer(EMAIL.upper()))
    world.advance(timedelta(days=3))
    # Then nothing is sent, and the plan says why
    assert len(mails_to(shop)) == 1
    plan = shop.order("PRIV-2")["plan"]  # type: ignore[index]
    [review] = [request for request in plan if request["kind"] == "review"]
    assert (review["status"], review["history"][-1]["note"]) == ("skipped", "erased")


def test_erasing_twice_changes_nothing_the_second_time(world: World) -> None:
    # Given a customer erased once
    shop = new_shop(world)
    live(shop, world)
    first = erase(world, shop)
    items = scan_account({}).items
    # When the erasure is asked for again, by the operator this time (what the CLI does)
    again = world.call(
        "POST",
        f"/v1/admin/stores/{shop.id}/customers/erase",
        json_body={"email": EMAIL},
        headers=bearer(world.operator_key),
    )
    assert again.status == 200, again.text
    second = again.json
    # Then it finds nothing left to remove, every table holds what it held, and the record says it ran twice
    assert sum(first["removed"].values()) > 0
    assert set(second["removed"].values()) == {0}
    assert scan_account({}).items == items
    history = export(world, shop)["erasure"]["history"]
    assert len(history) == 2 and history[1]["removed"] == {kind: 0 for kind in second["removed"]}
    assert [entry["requested_by"] for entry in history] == ["store admin key", "operator"]


@pytest.mark.parametrize(
    ("port", "method", "step"),
    [
        ("returns", "erase", "returns"),
        ("flags", "erase", "flags"),
        ("answers", "erase_order", "answers"),
        ("requests", "erase_order", "requests"),
        ("deliveries", "forget", "deliveries"),
        ("orders", "erase_order", "orders"),
        ("customers", "erase_profile", "customer"),
    ],
)
def test_an_erasure_that_stops_half_way_is_finished_by_the_next_call(
    world: World, port: str, method: str, step: str
) -> None:
    from functions import composition
    from functions.privacy import service
    from functions.privacy.service import STEPS
    from functions.shared.errors import DependencyFailed

    # Given a customer, and an erasure that crashes in one step right after its first deletion
    shop = new_shop(world)
    lived = live(shop, world)
    ports = composition.privacy_ports()
    owner = getattr(ports, port)

    class Crashing:
        def __getattr__(self, name: str) -> Any:
            return getattr(owner, name)

    def crash(*args: Any) -> Any:
        getattr(owner, method)(*args)
        raise DependencyFailed("the Lambda ran out of time")

    crashing = Crashing()
    setattr(crashing, method, crash)
    store = composition.adapters().stores.get(shop.id)
    with pytest.raises(DependencyFailed):
        service.erase(dataclasses.replace(ports, **{port: crashing}), store, EMAIL, "operator")
    half = export(world, shop)
    before = [name for name, _ in STEPS][: [name for name, _ in STEPS].index(step)]
    assert half["erasure"]["status"] == "in progress"
    assert [done["step"] for done in half["erasure"]["steps_done"]] == before
    assert half["suppression"]["reason"] == "erased"  # no email from the moment it started

    # When it is called again
    resumed = erase(world, shop)

    # Then it finishes what was left and nothing names the customer any more; the record counts it once
    assert resumed["resumed"] is (before != [])
    assert scan_account(needles_for(lived)).hits == {}
    [finished] = export(world, shop)["erasure"]["history"]
    assert finished["requested_by"] == "operator"


def test_erasing_in_one_store_never_touches_another(world: World) -> None:
    # Given the same customer, with the same order id, in two stores
    first, second = new_shop(world, "privacy-one"), new_shop(world, "privacy-two")
    live(first, world)
    live(second, world)
    kept = export(world, second)
    # When the first store erases them
    erase(world, first)
    # Then the second store holds exactly what it held, and still emails them
    again = export(world, second)
    assert {k: v for k, v in again.items() if k != "exported_at"} == {
        k: v for k, v in kept.items() if k != "exported_at"
    }
    assert export(world, first)["orders"] == []
    sent = len(mails_to(second))
    second.delivered("PRIV-3", [TOUR], email=EMAIL, days_ago=0, customer=customer())
    later(world, timedelta(days=3))
    assert len(mails_to(second)) == sent + 1


def test_the_export_of_a_customer_holds_everything_about_them(world: World) -> None:
    # Given a customer with an order, a request, an answer, a flag with a reply, a return and a review
    shop = new_shop(world)
    live(shop, world)
    other = new_shop(world, "privacy-other")
    other.delivered("OTHER-1", [TOUR], email="someone.else@example.com", days_ago=0)

    # When the store exports them
    document = export(world, shop)

    # Then one document holds each of those, and nothing of anybody else's
    assert document["email"] == EMAIL and document["suppression"] is None
    assert document["customer"]["emails_sent"] == 1
    orders = {order["order_id"]: order for order in document["orders"]}
    assert set(orders) == {ORDER, REVIEWED}
    order = orders[ORDER]
    assert order["facts"]["customer"]["customer"]["name"] == NAME
    assert {event["topic"] for event in order["events"]} >= {"order.delivered"}
    assert any(
        event["body"]["order"]["id"] == ORDER for event in order["events"] if isinstance(event["body"], dict)
    )
    [sent] = [r for r in order["requests"] if r["status"] == "sent"]
    assert sent["subject"] and sent["sent_at"]
    [answer] = order["answers"]
    assert (answer["score"], answer["comment"], len(answer["history"])) == (1, COMMENT, 1)
    [flag] = order["flags"]
    assert any(action.get("text") == REPLY for action in flag["actions"])
    [returned] = order["returns"]
    assert returned["status"] == "awaiting the item" and returned["audit_trail"]
    assert "task_token" not in json.dumps(document)
    [quarantined] = document["quarantined_deliveries"]
    assert quarantined["body"]["email"] == EMAIL and quarantined["quarantined"]
    assert orders[REVIEWED]["answers"][0]["channel"] == "store"
    assert "someone.else" not in json.dumps(document)

    # and its readable form says the same in the store's language, every value escaped
    page = world.call(
        "POST",
        f"/v1/stores/{shop.id}/customers/export",
        query={"format": "html"},
        json_body={"email": EMAIL},
        headers=bearer(shop.admin_key),
    )
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert "Data held about a customer" in page.text and f"Order {ORDER}" in page.text
    assert (
        "<script>alert(1)</script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    )
    # in words, not as stored: labels, kinds, statuses, steps and times in the store's language and zone
    for said in (
        "Last emailed",  # the profile's last_contacted_at
        "Order delivered",  # the event's topic, order.delivered
        "Review request",  # a request's kind
        "Planned",  # a pending request
        "1 of 5 stars",  # the answer
        "replied",  # the staff action
        REPLY,
        "awaiting the item",  # the return's status
        "Nov 3, 2026, 9:01\u202fAM (UTC)",  # 2026-11-03T09:01:00Z in the store's zone
        "JSON file",  # the complete copy is the JSON export, not dumped on the page
    ):
        assert said in page.text, said
    for stored in ("last_contacted_at", "order.delivered", "pending", "2026-11-03T09:01:00Z", "task_token"):
        assert stored not in page.text, stored
    assert f'<span class="written" dir="auto">{REPLY}</span>' in page.text  # what people wrote, isolated


@pytest.mark.parametrize(
    ("path", "body", "key", "status", "code"),
    [
        (
            "/v1/stores/privacy-shop/customers/export",
            {"email": "not an address"},
            "admin",
            422,
            "validation_failed",
        ),
        (
            "/v1/stores/privacy-shop/customers/erase",
            {"email": "a@b.example.com, c@d.example.com"},
            "admin",
            422,
            "validation_failed",
        ),
        ("/v1/stores/privacy-shop/customers/erase", {"address": EMAIL}, "admin", 422, "validation_failed"),
        ("/v1/stores/privacy-shop/customers/erase", None, "admin", 400, "empty_body"),
        (
            "/v1/stores/privacy-shop/customers/export",
            {"email": EMAIL, "format": "pdf"},
            "admin",
            422,
            "validation_failed",
        ),
        ("/v1/stores/privacy-shop/customers/erase", {"email": EMAIL}, "none", 401, "unauthorized"),
        ("/v1/stores/no-such-store/customers/erase", {"email": EMAIL}, "admin", 403, "forbidden"),
        ("/v1/admin/stores/no-such-store/customers/erase", {"email": EMAIL}, "operator", 404, "not_found"),
        ("/v1/admin/stores/privacy-shop/customers/export", {"email": EMAIL}, "admin", 401, "unauthorized"),
    ],
)
def test_bad_input_gets_a_clear_error_and_changes_nothing(
    world: World, path: str, body: Any, key: str, status: int, code: str
) -> None:
    shop = new_shop(world)
    headers = {"admin": bearer(shop.admin_key), "operator": bearer(world.operator_key), "none": {}}[key]
    response = (
        world.call("POST", path, json_body=body, headers=headers)
        if body is not None
        else world.call("POST", path, headers=headers)
    )
    assert (response.status, response.json["error"]) == (status, code), response.text
    assert response.json["message"]
    assert export(world, shop)["erasure"] is None


def test_an_owner_exports_and_erases_in_the_workspace_and_staff_cannot(world: World) -> None:
    from tests.integration.test_workspace_security import Browser, hidden

    # Given a customer with an order, a staff member and an owner signed in to the workspace
    shop = new_shop(world)
    shop.delivered("PRIV-W", [TOUR], email=EMAIL, days_ago=0, customer=customer())
    staff_member, owner = Browser(world.api), Browser(world.api)
    assert staff_member.sign_in(shop.id, f"care@{shop.id}.example.com").status == 303
    assert owner.sign_in(shop.id, f"owner@{shop.id}.example.com").status == 303

    # Then the page and its forms are the owners' alone
    assert staff_member.get("/workspace/customers").status == 403
    staff_csrf = hidden(staff_member.get("/workspace").text, "csrf")
    form = {"csrf": staff_csrf, "email": EMAIL, "email_again": EMAIL, "confirm": "yes"}
    assert staff_member.post("/workspace/customers/erase", form).status == 403
    assert export(world, shop)["erasure"] is None
    page = owner.get("/workspace/customers")
    assert page.status == 200 and "Customer data" in page.text
    csrf = hidden(page.text, "csrf")

    # When the owner downloads the export (a form without the session's CSRF value is refused)
    assert owner.post("/workspace/customers/export", {"email": EMAIL, "format": "json"}).status == 403
    download = owner.post("/workspace/customers/export", {"csrf": csrf, "email": EMAIL, "format": "json"})
    assert download.status == 200
    assert download.headers["content-disposition"].startswith("attachment")
    assert [order["order_id"] for order in json.loads(download.text)["orders"]] == ["PRIV-W"]

    # and asks to erase without confirming, nothing is erased
    unconfirmed = owner.post(
        "/workspace/customers/erase", {"csrf": csrf, "email": EMAIL, "email_again": EMAIL}
    )
    assert unconfirmed.status == 422 and "Nothing was erased" in unconfirmed.text
    assert export(world, shop)["orders"] != []

    # When the owner confirms
    form = {"csrf": csrf, "email": EMAIL, "email_again": EMAIL.upper(), "confirm": "yes"}
    erased = owner.post("/workspace/customers/erase", form)

    # Then the customer is erased, and the record names the owner, not the customer
    assert erased.status == 200 and "Erased:" in erased.text
    kept = export(world, shop)
    assert kept["orders"] == []
    assert [entry["requested_by"] for entry in kept["erasure"]["history"]] == [f"owner@{shop.id}.example.com"]


def test_the_readable_export_of_an_erased_customer_is_in_the_stores_language(world: World) -> None:
    # Given an Arabic-speaking store that erased a customer
    config = store_config("privacy-ar", world.desk.url)
    config["default_locale"] = "ar"
    shop = Shop(world, "privacy-ar", config)
    shop.create()
    shop.delivered("PRIV-AR", [TOUR], email=EMAIL, days_ago=0, customer=customer())
    erase(world, shop)
    # When the store asks for the readable export
    page = world.call(
        "POST",
        f"/v1/stores/{shop.id}/customers/export",
        query={"format": "html"},
        json_body={"email": EMAIL},
        headers=bearer(shop.admin_key),
    )
    # Then it is right-to-left, in Arabic, and says only that the customer was erased
    assert page.status == 200 and 'dir="rtl"' in page.text
    assert "\u0627\u0644\u0628\u064a\u0627\u0646\u0627\u062a" in page.text  # "the data", in the title
    assert "\u062a\u0645 \u0627\u0644\u0645\u062d\u0648" in page.text  # "erased"
    assert "PRIV-AR" not in page.text and NAME not in page.text
    # who asked and why the address stays blocked are said in Arabic too, not as stored
    by_the_store = "\u0627\u0644\u0645\u062a\u062c\u0631\u060c \u0628\u0645\u0641\u062a\u0627\u062d"
    data_erased = "\u062a\u0645 \u0645\u062d\u0648 \u0628\u064a\u0627\u0646\u0627\u062a"
    assert by_the_store in page.text and data_erased in page.text  # "the store, with its key", "data erased"
    assert "store admin key" not in page.text and "erased" not in page.text
