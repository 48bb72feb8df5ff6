"""Tenants: one store's broken data never stops another store's email, flags or returns.

The broken items here are written straight into the tables, as data written by an older version or by
hand would be: the point is that nothing a store's data can contain stops the machinery for everyone.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest

from functions.composition import adapters
from functions.shared import clock
from functions.shared.dynamo import to_item
from tests.world import Shop, World, store_config

pytestmark = pytest.mark.integration


@pytest.fixture
def good(world: World) -> Shop:
    shop = Shop(world, "good-shop", store_config("good-shop", world.desk.url))
    shop.create()
    return shop


@pytest.fixture
def broken(world: World) -> Shop:
    shop = Shop(world, "broken-shop", store_config("broken-shop", world.desk.url))
    shop.create()
    return shop


def corrupt_outreach(shop: Shop, order_id: str, **customer: Any) -> None:
    """Give every planned request of an order customer data no email can be composed from."""
    client = boto3.client("dynamodb")
    table = adapters().settings.outreach_table
    items = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"{shop.id}#{order_id}"}},
    )["Items"]
    for item in items:
        client.update_item(
            TableName=table,
            Key={"pk": item["pk"], "sk": item["sk"]},
            UpdateExpression="SET customer = :c, ordered_at = :bad",
            ExpressionAttributeValues={
                ":c": to_item({"c": {"email": "x@example.com", **customer}})["c"],
                ":bad": {"S": "the year nine hundred"},
            },
        )


@pytest.mark.parametrize(
    "customer",
    [{"locale": "e\x00n"}, {"locale": "../../etc/passwd"}, {"name": "n" * 100_000}],
    ids=["nul-locale", "path-locale", "huge-name"],
)
def test_a_group_that_cannot_be_composed_fails_alone(
    good: Shop, broken: Shop, world: World, customer: dict[str, str]
) -> None:
    # Given the broken store's request comes due first, and the good store's one a minute later
    broken.delivered("B-1", [("l1", "p1", "experience", 1, "30.00")], email="b@example.com", days_ago=0)
    corrupt_outreach(broken, "B-1", **customer)
    clock.clock.freeze(clock.now() + timedelta(minutes=1))
    good.delivered("G-1", [("l1", "p1", "experience", 1, "30.00")], email="g@example.com", days_ago=0)
    # When the sweeps run
    world.advance(timedelta(days=1, minutes=2))
    world.advance(timedelta(hours=1))
    # Then the good store's customer is emailed, and the broken request is failed with its reason
    assert [m["to"] for m in good.mails()] == [["g@example.com"]]
    review = next(i for i in broken.order("B-1")["plan"] if i["kind"] == "review")  # type: ignore[index]
    assert review["status"] == "failed"
    assert review["history"][-1]["note"].startswith("could not prepare the email (")


def test_one_poison_answer_does_not_stop_flagging_the_others(good: Shop, world: World) -> None:
    client = boto3.client("dynamodb")
    table = adapters().settings.responses_table
    now = clock.isoformat(clock.now())

    def answer(store_id: str, order_id: str) -> dict[str, Any]:
        return to_item(
            {
                "pk": f"{store_id}#{order_id}",
                "sk": "store-review#p1",
                "store_id": store_id,
                "order_id": order_id,
                "outreach_id": "store-review",
                "product_id": "p1",
                "kind": "review",
                "score": 1,
                "comment": "broken on arrival",
                "customer": {"email": "c@example.com"},
                "responded_at": now,
                "history": [],
            }
        )

    client.put_item(TableName=table, Item=answer("no-such-store", "X-1"))
    client.put_item(TableName=table, Item=answer(good.id, "G-2"))
    world.run_schedules()
    world.pump.pump_until_quiet()
    assert [m["subject"][:16] for m in good.mails()] == ["[Needs a reply] "]
    [mapping] = world.pump.mappings
    assert len(mapping.failed) == 1  # set aside after its retries, as Lambda's on-failure destination would


def test_escalation_goes_on_past_a_flag_whose_store_is_gone(good: Shop, world: World) -> None:
    client = boto3.client("dynamodb")
    table = adapters().settings.flags_table
    overdue = clock.isoformat(clock.now() - timedelta(hours=1))
    for store_id, flag_id in (("gone-store", "f00000000aaaa"), (good.id, "f00000000bbbb")):
        client.put_item(
            TableName=table,
            Item=to_item(
                {
                    "pk": store_id,
                    "sk": flag_id,
                    "store_id": store_id,
                    "flag_id": flag_id,
                    "status": "open",
                    "sla_shard": "0",
                    "open_store": store_id,
                    "sla_deadline": overdue,
                    "order_id": "O-1",
                    "order_name": "#O-1",
                    "kind": "review",
                    "score": 1,
                    "created_at": overdue,
                    "customer": {"email": "c@example.com"},
                    "comment": "It broke.",
                    "reasons": ["1 star"],
                    "history": {"emails_received": 1, "other_answers_on_this_order": []},
                    "reply_digests": {},
                }
            ),
        )
    world.run_schedules()
    assert [m["to"] for m in good.mails() if m["subject"].startswith("[Overdue]")] == [
        ["lead@good-shop.example.com"]
    ]


def test_return_deadlines_go_on_past_a_broken_request(good: Shop, world: World) -> None:
    from functions.composition import returns_ports
    from functions.returns.service import enforce_deadlines

    client = boto3.client("dynamodb")
    past = clock.isoformat(clock.now() - timedelta(hours=1))
    client.put_item(
        TableName=adapters().settings.returns_table,
        Item=to_item(
            {
                "pk": "gone-store#ret-0000000000000000",
                "sk": "RETURN",
                "store_id": "gone-store",
                "return_id": "ret-0000000000000000",
                "waiting_for": "approval",
                "task_token": "not-a-real-token",
                "wait_deadline": past,
                "wait_shard": "0",
            }
        ),
    )
    assert enforce_deadlines(returns_ports()) == 0  # the broken one is logged and skipped, nothing raised
