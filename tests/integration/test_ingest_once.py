"""An order event is applied once by its own transaction (decision 57), and costs two or three calls.

The event's marker is written in the order's transaction with ``attribute_not_exists``, so DynamoDB
refuses a repeat: no idempotency record is written for an order event, and a redelivery is still a
duplicate. Product, review and return events change more than one transaction holds and keep the
idempotency table. An order's first event skips reading its plan; a plan that outlived its order item
(the order's TTL) makes that transaction fail, and the retry reads everything.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3
import pytest

from functions.shared import aws, clock
from functions.shared.dynamo import to_item
from tests.helpers import bearer
from tests.shop import T0, Shop
from tests.webhooks import body_of, generic_event, generic_headers, generic_order

pytestmark = pytest.mark.integration

TOUR = [("l1", "tour", "experience")]


def deliver(shop: Shop, event: dict[str, Any]) -> Any:
    raw = body_of(event)
    return shop.api.post(f"/webhooks/{shop.id}/events", body=raw, headers=generic_headers([shop.secret], raw))


def idempotency_records(stack: Any) -> list[dict[str, Any]]:
    table = stack.tables["IdempotencyTable"]
    return list(boto3.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"])


def counting_calls() -> Counter[str]:
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    aws.dynamodb().meta.events.register("before-call.dynamodb.*", count)
    return calls


def view(shop: Shop, order_id: str) -> Any:
    response = shop.api.get(f"/v1/stores/{shop.id}/orders/{order_id}", headers=bearer(shop.admin_key))
    assert response.status == 200, response.text
    return response.json


def test_an_order_event_needs_no_idempotency_record_and_a_redelivery_is_still_a_duplicate(
    shop: Shop, aws_stack: Any
) -> None:
    event = generic_event("order.delivered", generic_order("I-1", TOUR), occurred_at=clock.isoformat(T0))

    first, again = deliver(shop, event), deliver(shop, event)

    assert (first.json["status"], again.json["status"]) == ("accepted", "duplicate")
    assert again.json["duplicate"] is True
    assert idempotency_records(aws_stack) == []
    order = view(shop, "I-1")
    assert [(e["topic"], e["redeliveries"]) for e in order["events"]] == [("order.delivered", 1)]
    assert all(len(o["history"]) == 1 for o in order["plan"])


def test_product_events_keep_the_idempotency_table(shop: Shop, aws_stack: Any) -> None:
    event = {
        "id": "evt-product-1",
        "type": "product.updated",
        "occurred_at": clock.isoformat(T0),
        "product": {"id": "tour", "product_type": "experience"},
    }

    first, again = deliver(shop, event), deliver(shop, event)

    assert first.status == 200, first.text
    assert (first.json["duplicate"], again.json["duplicate"]) == (False, True)
    assert len(idempotency_records(aws_stack)) == 1


def test_an_orders_first_event_costs_two_calls_and_a_next_one_three(shop: Shop) -> None:
    order = generic_order("I-2", TOUR)
    deliver(shop, generic_event("order.paid", order, occurred_at=clock.isoformat(T0)))  # store now cached
    calls = counting_calls()

    deliver(shop, generic_event("order.delivered", generic_order("I-3", TOUR)))
    first = dict(calls)
    calls.clear()
    deliver(shop, generic_event("order.delivered", order))
    after = dict(calls)
    calls.clear()
    lines: list[Any] = [("l1", "tour", "experience"), ("l2", "mug", None)]  # the mug's type is not known
    untyped = generic_order("I-4", lines)
    deliver(shop, generic_event("order.delivered", untyped))

    assert first == {"GetItem": 1, "TransactWriteItems": 1}
    assert after == {"GetItem": 1, "Query": 1, "TransactWriteItems": 1}
    assert dict(calls) == {"BatchGetItem": 1, "TransactWriteItems": 1}  # the order and product types at once


def test_a_plan_that_outlived_its_order_item_is_read_before_the_order_is_planned_again(
    shop: Shop, aws_stack: Any
) -> None:
    # Given an order whose item is gone (its TTL passed) while its plan is still there
    order = generic_order("I-5", TOUR)
    deliver(shop, generic_event("order.delivered", order, occurred_at=clock.isoformat(T0)))
    plan_before = view(shop, "I-5")["plan"]
    boto3.client("dynamodb").delete_item(
        TableName=aws_stack.tables["OrdersTable"], Key=to_item({"pk": f"{shop.id}#I-5", "sk": "ORDER"})
    )
    calls = counting_calls()

    # When the same content arrives under a new event id
    again = deliver(shop, generic_event("order.delivered", order, occurred_at=clock.isoformat(T0)))

    # Then the first attempt's transaction is refused (its request exists), the retry reads the plan,
    # and the plan is the one it was: nothing planned twice
    assert again.status == 200 and again.json["status"] == "accepted", again.text
    assert dict(calls) == {"GetItem": 2, "TransactWriteItems": 2, "Query": 1}
    plan_after = view(shop, "I-5")["plan"]
    assert [(o["outreach_id"], o["status"], len(o["history"])) for o in plan_after] == [
        (o["outreach_id"], o["status"], len(o["history"])) for o in plan_before
    ]
