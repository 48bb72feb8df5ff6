"""Retention per store: every covered item carries its store's expiry, and the local stack's clock honours it.

The data is made through the public flows (a delivered order, a review email answered with one star, a
return requested on the customer's page), never by writing items.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from aftercare.devstack.provision import Provisioned
from aftercare.devstack.schedules import Scheduler
from aftercare.devstack.stack import DevStack
from aftercare.devstack.streams import Mapping, StreamPump
from functions.composition import adapters
from functions.shared import clock
from tests.integration.test_money import request_return
from tests.world import Shop, World, scan, store_config, token_of

pytestmark = pytest.mark.integration

TOUR = ("l1", "p-tour", "experience", 1, "60.00")
SHIRT = ("l2", "p-shirt", "clothing", 1, "40.00")  # auto-approved, must come back: the return waits
DAY = 86400


def a_shop(world: World, store_id: str, **retention: str) -> Shop:
    config = store_config(store_id, world.desk.url)
    if retention:
        config["retention"] = retention
    shop = Shop(world, store_id, config)
    shop.create()
    return shop


def customer_story(shop: Shop, world: World, order_id: str) -> None:
    """An order delivered, a return started for the shirt, the tour's review answered with one star."""
    email = f"{order_id.lower()}@example.com"
    assert shop.delivered(order_id, [TOUR, SHIRT], email=email, days_ago=0).status == 200
    assert request_return(shop, order_id, "l2").status == 200
    world.advance(timedelta(days=1, minutes=1))
    [mail] = [m for m in shop.mails() if m["to"] == [email] and "/s/" in str(m["links"])]
    star = next(link["href"] for link in mail["links"] if "/s/" in link["href"])
    assert (
        world.form("/s/" + token_of(star), {"score": "1", "comment": "Cancelled on the day."}).status == 200
    )
    world.run_schedules()


def tables() -> dict[str, str]:
    settings = adapters().settings
    return {
        "orders": settings.orders_table,
        "outreach": settings.outreach_table,
        "responses": settings.responses_table,
        "flags": settings.flags_table,
        "returns": settings.returns_table,
    }


def items_of(store_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every item of the store in the tables retention covers (tests may scan)."""
    mine = (f"{store_id}#", store_id)
    return {
        name: scan(table, lambda item: str(item["pk"]) == store_id or str(item["pk"]).startswith(mine[0]))
        for name, table in tables().items()
    }


def epoch(iso: Any) -> int:
    return int(clock.parse_iso(str(iso)).timestamp())


def test_each_item_a_flow_writes_expires_after_its_stores_retention_from_its_last_change(
    world: World,
) -> None:
    # Given a store that keeps orders 400 days, answers 200 and returns 1000
    shop = a_shop(world, "keeper", orders="P400D", answers="P200D", returns="P1000D")

    # When a customer's order, answer and return go through the public flows
    customer_story(shop, world, "K-1")
    found = items_of(shop.id)

    # Then the order and each of its events expire 400 days after they were written
    [order] = [i for i in found["orders"] if i["sk"] == "ORDER"]
    assert order["expires_at"] == epoch(order["updated_at"]) + 400 * DAY
    events = [i for i in found["orders"] if str(i["sk"]).startswith("EVENT#")]
    assert events and all(e["expires_at"] == epoch(e["received_at"]) + 400 * DAY for e in events)
    # and so do its requests, from when they were planned (a reminder with the request it reminds of)
    requests = {str(i["sk"]): i for i in found["outreach"]}
    firsts = [i for i in requests.values() if not i.get("reminder_of")]
    assert firsts and all(i["expires_at"] == epoch(i["created_at"]) + 400 * DAY for i in firsts)
    for reminder in (i for i in requests.values() if i.get("reminder_of")):
        assert reminder["expires_at"] == requests[str(reminder["reminder_of"])]["expires_at"]
    # the answer and its flag 200 days after the answer
    [answer] = found["responses"]
    assert answer["expires_at"] == epoch(answer["responded_at"]) + 200 * DAY
    [flag] = found["flags"]
    assert flag["expires_at"] == epoch(flag["created_at"]) + 200 * DAY
    # and the return with all its audit steps 1000 days after its last step
    [request] = [i for i in found["returns"] if i["sk"] == "RETURN"]
    steps = [i for i in found["returns"] if str(i["sk"]).startswith("STEP#")]
    last = max(epoch(step["at"]) for step in steps)
    assert request["expires_at"] == last + 1000 * DAY
    assert all(step["expires_at"] == epoch(step["at"]) + 1000 * DAY for step in steps)


def test_a_staff_reply_keeps_the_flag_from_the_reply_on(world: World) -> None:
    from tests.world import form_values

    # Given a flagged answer in a store that keeps answers 200 days
    shop = a_shop(world, "replier", answers="P200D")
    customer_story(shop, world, "P-1")
    [alert] = [m for m in shop.mails() if m["subject"].startswith("[Needs a reply]")]
    path = "/staff/" + token_of(next(link["href"] for link in alert["links"] if "/staff/" in link["href"]))

    # When staff reply ten days later
    world.advance(timedelta(days=10))
    page = world.call("GET", path)
    reply = world.form(path, {**form_values(page.text), "action": "reply", "reply": "We are so sorry."})
    assert reply.status == 200, reply.text

    # Then the flag (with the reply in it) is kept 200 days from the reply
    [flag] = items_of(shop.id)["flags"]
    assert flag["actions"], flag
    assert flag["expires_at"] == int(clock.now().timestamp()) + 200 * DAY


def test_moving_the_local_clock_past_a_stores_retention_deletes_its_data_and_nothing_of_a_longer_one(
    world: World, frozen: Provisioned
) -> None:
    # Given a store keeping everything 90 days and another keeping the defaults, each with a customer
    brief = a_shop(world, "brief", orders="P90D", answers="P90D", returns="P90D")
    lasting = a_shop(world, "lasting")
    customer_story(brief, world, "B-1")
    customer_story(lasting, world, "L-1")
    kept_before = items_of(lasting.id)
    assert all(items_of(brief.id).values()) and all(kept_before.values())

    # When the developer moves the local stack's clock 100 days ahead
    removals: list[dict[str, Any]] = []

    def record(event: dict[str, Any], context: Any) -> None:
        removals.extend(r for r in event["Records"] if r["eventName"] == "REMOVE")

    watch = Mapping(
        frozen.tables["ResponsesTable"], frozen.stream_arns["ResponsesTable"], "test-watch", record
    )
    stack = DevStack(frozen, Scheduler([]), StreamPump([watch]))
    summary = stack.advance(timedelta(days=100))

    # Then every item of the brief store's orders, requests, answers, flags and returns is gone
    assert {name: len(items) for name, items in items_of(brief.id).items()} == dict.fromkeys(tables(), 0)
    assert summary["expired_items"]
    # the other store keeps everything
    assert items_of(lasting.id) == kept_before
    # the answer left through the stream as a deletion by the DynamoDB service, as TTL's do on AWS
    [removed] = removals
    assert removed["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert removed["dynamodb"]["Keys"]["pk"]["S"] == "brief#B-1"


def test_applying_a_changed_retention_reaches_what_was_written_before_and_twice_changes_nothing(
    world: World,
) -> None:
    import boto3

    from tests.helpers import bearer

    # Given a store's customer data, some of it written before retention existed (no expiry at all)
    shop = a_shop(world, "changer")
    customer_story(shop, world, "C-1")
    client = boto3.client("dynamodb")
    for name in ("responses", "flags", "returns"):
        for item in items_of(shop.id)[name]:
            client.update_item(
                TableName=tables()[name],
                Key={"pk": {"S": str(item["pk"])}, "sk": {"S": str(item["sk"])}},
                UpdateExpression="REMOVE expires_at",
            )
    # and the owner then shortens every retention
    operator = bearer(world.operator_key)
    shown = world.call("GET", f"/v1/admin/stores/{shop.id}", headers=operator).json
    config = {**shop.config, "retention": {"orders": "P100D", "answers": "P95D", "returns": "P120D"}}
    changed = world.call(
        "PUT",
        f"/v1/admin/stores/{shop.id}",
        json_body={"config": config, "version": shown["version"]},
        headers=operator,
    )
    assert changed.status == 200, changed.text

    # When the operator applies the store's retention
    applied = world.call("POST", f"/v1/admin/stores/{shop.id}/retention/apply", headers=operator)

    # Then every item expires per the new setting, counted from when it was last written
    assert applied.status == 200, applied.text
    found = items_of(shop.id)
    [order] = [i for i in found["orders"] if i["sk"] == "ORDER"]
    assert order["expires_at"] == epoch(order["updated_at"]) + 100 * DAY
    requests = {str(i["sk"]): i for i in found["outreach"]}
    for request in requests.values():
        planned = requests[str(request.get("reminder_of") or request["sk"])]["created_at"]
        assert request["expires_at"] == epoch(planned) + 100 * DAY
    [answer] = found["responses"]
    assert answer["expires_at"] == epoch(answer["responded_at"]) + 95 * DAY
    [flag] = found["flags"]
    assert flag["expires_at"] == epoch(flag["created_at"]) + 95 * DAY
    steps = [i for i in found["returns"] if str(i["sk"]).startswith("STEP#")]
    [returned] = [i for i in found["returns"] if i["sk"] == "RETURN"]
    assert returned["expires_at"] == max(epoch(s["at"]) for s in steps) + 120 * DAY
    assert all(s["expires_at"] == epoch(s["at"]) + 120 * DAY for s in steps)
    assert all(applied.json["changed"].values()), applied.json
    # and applying it again changes nothing
    again = world.call("POST", f"/v1/admin/stores/{shop.id}/retention/apply", headers=operator)
    assert set(again.json["changed"].values()) == {0}, again.json


def test_only_the_operator_applies_a_retention(world: World) -> None:
    from tests.helpers import bearer

    shop = a_shop(world, "guarded")
    refused = world.call(
        "POST", f"/v1/admin/stores/{shop.id}/retention/apply", headers=bearer(shop.admin_key)
    )
    assert refused.status == 401, refused.text


def test_the_local_expiry_deletes_what_aws_ttl_would_and_nothing_else(frozen: Provisioned) -> None:
    import boto3

    from aftercare.devstack import expiry

    # Given items of a TTL table: expired, due later, a string, no expiry, and one expired six years ago
    client = boto3.client("dynamodb")
    table = frozen.tables["WorkspaceTable"]
    now = int(clock.now().timestamp())
    values: dict[str, dict[str, str] | None] = {
        "expired": {"N": str(now - 10)},
        "due-now": {"N": str(now)},
        "later": {"N": str(now + 10)},
        "text": {"S": str(now - 10)},
        "none": None,
        "ancient": {"N": str(now - 6 * 365 * DAY)},
    }
    for name, value in values.items():
        item = {"pk": {"S": "expiry-test"}, "sk": {"S": name}}
        if value is not None:
            item["expires_at"] = value
        client.put_item(TableName=table, Item=item)

    # When the local stack expires items at this moment
    deleted = expiry.expire([table, frozen.tables["StoresTable"]], clock.now())

    # Then exactly what DynamoDB's TTL deletes is gone: a number at most now, within five years
    left = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "expiry-test"}},
    )["Items"]
    assert sorted(item["sk"]["S"] for item in left) == ["ancient", "later", "none", "text"]
    assert deleted == {table: 2}  # a table without TTL (Stores) is left alone


def test_insights_keep_their_counts_after_retention_deleted_the_answers_even_through_a_rebuild(
    frozen: Provisioned, api: Any, operator_key: str
) -> None:
    from tests.insights_story import Store, infra_pump, story
    from tests.integration.test_insights import counters, rebuild
    from tests.refund_receiver import RefundReceiver

    # Given a store's week of answers, flags and returns, counted from the streams as Lambda would
    receiver = RefundReceiver()
    try:
        pump = infra_pump(frozen)
        store = Store(api, operator_key, "counted-tours", receiver.url)
        story(store, pump)
        counted = counters(frozen, store.id)
        assert counted

        # When the local clock moves past the answers' retention (two years), the streams delivering the
        # deletions to the insights consumer, and the operator rebuilds the counters afterwards
        stack = DevStack(frozen, Scheduler([]), pump)
        assert stack.advance(timedelta(days=800))["expired_items"]
        assert not items_of(store.id)["responses"]
        assert rebuild(store).status == 200
    finally:
        receiver.close()

    # Then the counts of those weeks are what they were: insights keep numbers, not people
    assert counters(frozen, store.id) == counted
