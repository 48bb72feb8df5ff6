"""Store webhooks in: verification, idempotency, ordering and the resulting outreach plan."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from functions.shared import clock
from tests.helpers import ApiClient, bearer, minimal_store_config
from tests.webhooks import (
    BIG_ORDER_ID,
    body_of,
    generic_event,
    generic_headers,
    generic_order,
    shopify_delivered_event,
    shopify_fulfillment,
    shopify_headers,
    shopify_line,
    shopify_order,
    shopify_refund,
    woo_headers,
    woo_order,
)

pytestmark = pytest.mark.integration

SHIRT_LINE, SHIRT = 16000000000000000001, 8000000000000000001
LAMP_LINE, LAMP = 16000000000000000002, 8000000000000000002
TOUR_LINE, TOUR = 16000000000000000003, 8000000000000000003


class Store:
    def __init__(self, api: ApiClient, operator_key: str, store_id: str = "acme-goods") -> None:
        config = minimal_store_config(store_id)
        config["integrations"] = {"shopify": {}, "woocommerce": {}, "generic": {}}
        config["outreach"] = {
            "default": {"review_delay": "P7D", "reminder_delay": "P5D", "nps_delay": "P14D"},
            "transit_time": "P4D",
            "send_window_days": 2,
            "product_types": {
                "clothing": {"review_delay": "P14D"},
                "experience": {"review_delay": "P1D", "reminder_delay": "P3D"},
                "electronics": {"review_delay": "P30D"},
                "gift card": {"reviews": False},
            },
        }
        created = api.post("/v1/admin/stores", json_body={"config": config}, headers=bearer(operator_key))
        assert created.status == 201, created.text
        self.api = api
        self.id = store_id
        self.admin_key = created.json["admin_key"]
        self.secrets = created.json["webhook_secrets"]

    def shopify(
        self,
        topic: str,
        payload: Any,
        *,
        event_id: str | None = None,
        body: bytes | None = None,
        secret: str | None = None,
    ) -> Any:
        raw = body if body is not None else body_of(payload)
        headers = shopify_headers(secret or self.secrets["shopify"], raw, topic, event_id)
        return self.api.post(f"/webhooks/{self.id}/shopify", body=raw, headers=headers)

    def woo(self, topic: str, payload: Any) -> Any:
        raw = body_of(payload)
        return self.api.post(
            f"/webhooks/{self.id}/woocommerce",
            body=raw,
            headers=woo_headers(self.secrets["woocommerce"], raw, topic),
        )

    def generic(
        self, event: dict[str, Any], *, at: int | None = None, secrets: list[str] | None = None
    ) -> Any:
        raw = body_of(event)
        headers = generic_headers(secrets or [self.secrets["generic"]], raw, at)
        return self.api.post(f"/webhooks/{self.id}/events", body=raw, headers=headers)

    def order(self, order_id: Any) -> Any:
        return self.api.get(f"/v1/stores/{self.id}/orders/{order_id}", headers=bearer(self.admin_key))

    def plan(self, order_id: Any) -> list[dict[str, Any]]:
        response = self.order(order_id)
        assert response.status == 200, response.text
        return list(response.json["plan"])


RECEIVED = datetime(2026, 11, 6, 9, 0, tzinfo=UTC)  # the payloads below happen in early November 2026


@pytest.fixture
def store(api: ApiClient, operator_key: str) -> Store:
    clock.clock.freeze(RECEIVED)  # orders from weeks before receipt would be "too late" for outreach
    return Store(api, operator_key)


def stored_items(aws_stack: Any) -> int:
    client = boto3.client("dynamodb")
    return sum(
        client.scan(TableName=aws_stack.tables[t], Select="COUNT")["Count"]
        for t in ("OrdersTable", "OutreachTable")
    )


def pending(plan: list[dict[str, Any]]) -> list[tuple[str, str, list[str]]]:
    return [
        (o["kind"], o["due_at"], [p["product_id"] for p in o["products"]])
        for o in plan
        if o["status"] == "pending"
    ]


def two_item_order(**overrides: Any) -> dict[str, Any]:
    lines = [shopify_line(SHIRT_LINE, SHIRT, "Linen shirt"), shopify_line(LAMP_LINE, LAMP, "Desk lamp")]
    return shopify_order(lines=lines, **overrides)


def teach_types(store: Store) -> None:
    for product_id, product_type in ((SHIRT, "Clothing"), (LAMP, "Electronics"), (TOUR, "Experience")):
        response = store.shopify(
            "products/update", {"id": product_id, "title": "x", "product_type": product_type}
        )
        assert response.status == 200


# ------------------------------------------------------------------------------------- Shopify


def test_shopify_order_is_planned_from_fulfilment_then_from_delivery(store: Store) -> None:
    teach_types(store)
    # Given a paid order: nothing to plan before it ships
    assert store.shopify("orders/paid", two_item_order()).status == 200
    order = store.order(BIG_ORDER_ID).json
    assert order["plan"] == []
    assert order["order"]["not_planned_because"] == "not fulfilled yet"

    # When it is fulfilled, Then reviews are planned from fulfilment + transit time (4 days)
    store.shopify("fulfillments/create", shopify_fulfillment(BIG_ORDER_ID, "2026-11-02T10:00:00Z"))
    assert pending(store.plan(BIG_ORDER_ID)) == [
        ("review", "2026-11-20T10:00:00Z", [str(SHIRT)]),  # clothing: 2 + 4 + 14 days
        ("nps", "2026-11-20T10:00:00Z", []),
        ("review", "2026-12-06T10:00:00Z", [str(LAMP)]),  # electronics: 30 days
    ]

    # When delivery is reported, Then everything is re-planned from the real delivery time
    store.shopify("fulfillment_events/create", shopify_delivered_event(BIG_ORDER_ID, "2026-11-04T16:30:00Z"))
    plan = store.plan(BIG_ORDER_ID)
    assert pending(plan) == [
        ("review", "2026-11-18T16:30:00Z", [str(SHIRT)]),
        ("nps", "2026-11-18T16:30:00Z", []),
        ("review", "2026-12-04T16:30:00Z", [str(LAMP)]),
    ]
    assert all(o["anchor"] == "delivered" for o in plan)
    assert "rescheduled" in plan[0]["history"][-1]["note"]


def test_ids_above_2_53_keep_every_digit(store: Store) -> None:
    store.shopify("orders/paid", two_item_order())
    order = store.order(BIG_ORDER_ID).json["order"]
    assert order["id"] == "5678901234567890123"
    assert [item["id"] for item in order["line_items"]] == ["16000000000000000001", "16000000000000000002"]
    assert order["line_items"][0]["product_id"] == "8000000000000000001"
    assert store.order("5678901234567890124").status == 404


def test_tampered_body_is_401_and_nothing_is_stored(store: Store, aws_stack: Any) -> None:
    before = stored_items(aws_stack)
    raw = body_of(two_item_order())
    headers = shopify_headers(store.secrets["shopify"], raw, "orders/paid")
    tampered = raw.replace(b"ana@example.com", b"eve@example.com")

    response = store.api.post(f"/webhooks/{store.id}/shopify", body=tampered, headers=headers)

    assert response.status == 401
    assert response.json["error"] == "invalid_signature"
    assert stored_items(aws_stack) == before


def test_signature_over_reserialized_json_is_rejected(store: Store, aws_stack: Any) -> None:
    before = stored_items(aws_stack)
    payload = two_item_order()
    sent = json.dumps(payload, indent=2).encode()  # what the platform sent
    signed_over = json.dumps(json.loads(sent)).encode()  # a re-serialisation: same data, other bytes

    response = store.api.post(
        f"/webhooks/{store.id}/shopify",
        body=sent,
        headers=shopify_headers(store.secrets["shopify"], signed_over, "orders/paid"),
    )

    assert response.status == 401
    assert stored_items(aws_stack) == before


def test_another_stores_secret_is_rejected(
    store: Store, api: ApiClient, operator_key: str, aws_stack: Any
) -> None:
    other = Store(api, operator_key, "other-shop")
    before = stored_items(aws_stack)

    response = store.shopify("orders/paid", two_item_order(), secret=other.secrets["shopify"])

    assert response.status == 401
    assert stored_items(aws_stack) == before


def test_missing_signature_is_401(store: Store) -> None:
    raw = body_of(two_item_order())
    headers = shopify_headers(store.secrets["shopify"], raw, "orders/paid")
    del headers["x-shopify-hmac-sha256"]
    response = store.api.post(f"/webhooks/{store.id}/shopify", body=raw, headers=headers)
    assert response.status == 401
    assert "missing" in response.json["message"]


def test_duplicate_deliveries_make_exactly_one_plan(store: Store, aws_stack: Any) -> None:
    teach_types(store)
    store.shopify("orders/paid", two_item_order())
    fulfilled = two_item_order(
        fulfillments=[shopify_fulfillment(BIG_ORDER_ID, "2026-11-02T10:00:00Z")],
        fulfillment_status="fulfilled",
    )

    answers = [store.shopify("orders/fulfilled", fulfilled, event_id="evt-fulfilled-1") for _ in range(3)]

    assert [a.status for a in answers] == [200, 200, 200]
    assert [a.json["duplicate"] for a in answers] == [False, True, True]
    order = store.order(BIG_ORDER_ID).json
    assert len(order["plan"]) == 3
    assert all(len(o["history"]) == 1 for o in order["plan"])
    fulfilled_events = [e for e in order["events"] if e["topic"] == "orders/fulfilled"]
    assert len(fulfilled_events) == 1
    assert fulfilled_events[0]["redeliveries"] == 2


def test_same_facts_under_new_event_ids_change_nothing(store: Store) -> None:
    store.shopify("orders/paid", two_item_order())
    store.shopify("fulfillments/create", shopify_fulfillment(BIG_ORDER_ID, "2026-11-02T10:00:00Z"))
    first = store.plan(BIG_ORDER_ID)

    for _ in range(3):
        store.shopify("orders/updated", two_item_order())
        store.shopify("fulfillments/update", shopify_fulfillment(BIG_ORDER_ID, "2026-11-02T10:00:00Z"))

    assert store.plan(BIG_ORDER_ID) == first


def test_events_out_of_order_give_the_same_plan(api: ApiClient, operator_key: str) -> None:
    in_order = Store(api, operator_key, "in-order")
    shuffled = Store(api, operator_key, "shuffled")
    events = [
        ("products/update", {"id": SHIRT, "product_type": "clothing"}),
        ("orders/paid", two_item_order()),
        ("fulfillments/create", shopify_fulfillment(BIG_ORDER_ID, "2026-11-02T10:00:00Z")),
        ("fulfillment_events/create", shopify_delivered_event(BIG_ORDER_ID, "2026-11-04T16:30:00Z")),
    ]
    for topic, payload in events:
        in_order.shopify(topic, payload)
    for index in (0, 3, 2, 1):  # delivered before fulfilled before paid
        shuffled.shopify(*events[index])

    assert pending(shuffled.plan(BIG_ORDER_ID)) == pending(in_order.plan(BIG_ORDER_ID))
    assert shuffled.order(BIG_ORDER_ID).json["order"] == in_order.order(BIG_ORDER_ID).json["order"]


def test_cancellation_cancels_pending_outreach(store: Store) -> None:
    store.shopify("orders/paid", two_item_order())
    store.shopify("fulfillments/create", shopify_fulfillment(BIG_ORDER_ID, "2026-11-02T10:00:00Z"))
    assert pending(store.plan(BIG_ORDER_ID))

    store.shopify(
        "orders/cancelled", two_item_order(cancelled_at="2026-11-03T08:00:00Z", cancel_reason="customer")
    )

    plan = store.plan(BIG_ORDER_ID)
    assert pending(plan) == []
    assert {o["status"] for o in plan} == {"cancelled"}
    assert {o["cancel_reason"] for o in plan} == {"cancelled: order cancelled"}


def test_partial_refund_cancels_only_the_refunded_items(store: Store) -> None:
    teach_types(store)
    lines = [shopify_line(SHIRT_LINE, SHIRT, "Linen shirt"), shopify_line(TOUR_LINE, TOUR, "City tour")]
    store.shopify("orders/paid", shopify_order(lines=lines))
    store.shopify("fulfillment_events/create", shopify_delivered_event(BIG_ORDER_ID, "2026-11-04T16:30:00Z"))
    assert [p for _, _, p in pending(store.plan(BIG_ORDER_ID))] == [[str(TOUR)], [str(SHIRT)], []]

    store.shopify("refunds/create", shopify_refund(BIG_ORDER_ID, 7700000000000000001, SHIRT_LINE))

    plan = store.plan(BIG_ORDER_ID)
    assert [p for _, _, p in pending(plan)] == [[str(TOUR)], []]
    shirt = next(o for o in plan if o["products"] and o["products"][0]["product_id"] == str(SHIRT))
    assert shirt["status"] == "cancelled"


def test_test_orders_are_never_planned(store: Store) -> None:
    store.shopify("orders/paid", two_item_order(test=True))
    store.shopify("fulfillment_events/create", shopify_delivered_event(BIG_ORDER_ID, "2026-11-04T16:30:00Z"))
    order = store.order(BIG_ORDER_ID).json
    assert order["plan"] == []
    assert order["order"]["not_planned_because"] == "test order"


def test_an_order_cancelled_before_it_ships_is_never_planned(store: Store) -> None:
    store.shopify("orders/cancelled", two_item_order(cancelled_at="2026-11-01T11:00:00Z"))
    store.shopify("fulfillment_events/create", shopify_delivered_event(BIG_ORDER_ID, "2026-11-04T16:30:00Z"))
    assert store.plan(BIG_ORDER_ID) == []


def test_unhandled_topics_are_acknowledged_and_ignored(store: Store, aws_stack: Any) -> None:
    before = stored_items(aws_stack)
    response = store.shopify("customers/update", {"id": 1, "email": "x@example.com"})
    assert response.status == 200
    assert response.json["status"] == "ignored"
    assert stored_items(aws_stack) == before


def test_malformed_shopify_payload_is_accepted_and_quarantined_naming_the_field(store: Store) -> None:
    # Shopify retries any error and may remove the subscription: an authentic delivery is never refused.
    response = store.shopify("orders/paid", two_item_order(line_items=[{"id": 1, "quantity": "lots"}]))
    assert response.status == 200
    assert response.json["status"] == "quarantined"
    assert response.json["reason"].startswith("line_items[0].quantity: ")
    assert store.order(BIG_ORDER_ID).status == 404  # nothing was planned from it


def test_signed_but_invalid_json_is_accepted_and_quarantined(store: Store) -> None:
    response = store.shopify("orders/paid", None, body=b'{"id": 1,')
    assert response.status == 200
    assert response.json == {
        "status": "quarantined",
        "reason": "the body is not valid UTF-8 JSON",
        "order_id": None,
        "duplicate": False,
    }


def test_generic_invalid_json_is_400(store: Store) -> None:
    raw = b'{"id": 1,'
    response = store.api.post(
        f"/webhooks/{store.id}/events", body=raw, headers=generic_headers([store.secrets["generic"]], raw)
    )
    assert response.status == 400


def test_unknown_store_is_404(api: ApiClient) -> None:
    response = api.post(
        "/webhooks/ghost-shop/shopify", body=b"{}", headers={"x-shopify-topic": "orders/paid"}
    )
    assert response.status == 404


def test_oversized_body_is_413_for_the_generic_integration_and_quarantined_for_shopify(store: Store) -> None:
    raw = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    generic = store.api.post(
        f"/webhooks/{store.id}/events", body=raw, headers=generic_headers([store.secrets["generic"]], raw)
    )
    assert generic.status == 413
    shopify = store.shopify("orders/paid", None, body=raw)
    assert shopify.status == 200 and shopify.json["status"] == "quarantined"


# ------------------------------------------------------------------------------------- WooCommerce


def test_woocommerce_ping_is_answered_without_signature(store: Store, aws_stack: Any) -> None:
    before = stored_items(aws_stack)
    response = store.api.post(
        f"/webhooks/{store.id}/woocommerce",
        body=b"webhook_id=12",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 200
    assert response.json == {"status": "pong"}
    assert stored_items(aws_stack) == before


def test_woocommerce_completed_order_is_planned_with_catalog_types(store: Store) -> None:
    assert (
        store.woo(
            "product.updated",
            {
                "id": 77,
                "name": "Trail headlamp",
                "type": "simple",
                "categories": [{"id": 9, "name": "Electronics", "slug": "electronics"}],
            },
        ).status
        == 200
    )

    response = store.woo("order.updated", woo_order(meta=[{"id": 1, "key": "wpml_language", "value": "fa"}]))

    assert response.status == 200
    order = store.order(4242).json
    assert order["order"]["customer"] == {"email": "li@example.com", "name": "Li Wei", "locale": "fa"}
    assert order["order"]["line_items"][0]["product_type"] == "electronics"
    # completed 2026-11-03 + 4 days transit + 30 days (electronics)
    assert pending(order["plan"])[-1] == ("review", "2026-12-07T09:00:00Z", ["77"])


def test_woocommerce_bad_signature_is_401(store: Store) -> None:
    raw = body_of(woo_order())
    headers = woo_headers("not-the-secret-at-all", raw, "order.updated")
    assert store.api.post(f"/webhooks/{store.id}/woocommerce", body=raw, headers=headers).status == 401


def test_woocommerce_refunded_status_cancels_the_plan(store: Store) -> None:
    store.woo("order.updated", woo_order())
    assert pending(store.plan(4242))
    store.woo("order.updated", woo_order(status="refunded"))
    assert pending(store.plan(4242)) == []


# ------------------------------------------------------------------------------------- generic


def test_generic_delivered_order_groups_items_by_due_window(store: Store) -> None:
    items = [
        ("l1", "p-shirt", "clothing"),
        ("l2", "p-socks", "Clothing"),
        ("l3", "p-tour", "experience"),
        ("l4", "p-card", "gift card"),
        ("l5", "p-mug", None),
    ]
    event = generic_event("order.delivered", generic_order(items=items), occurred_at="2026-11-05T12:00:00Z")

    response = store.generic(event)

    assert response.status == 200, response.text
    assert pending(store.plan("A-1001")) == [
        ("review", "2026-11-06T12:00:00Z", ["p-tour"]),  # experience: a day
        ("review", "2026-11-12T12:00:00Z", ["p-mug"]),  # no type: store default, a week
        ("review", "2026-11-19T12:00:00Z", ["p-shirt", "p-socks"]),  # clothing together, one email
        ("nps", "2026-11-19T12:00:00Z", []),
    ]


def test_generic_full_refund_cancels_everything(store: Store) -> None:
    store.generic(generic_event("order.delivered", generic_order()))
    store.generic(generic_event("order.refunded", {"id": "A-1001"}))
    plan = store.plan("A-1001")
    assert pending(plan) == []
    assert {o["cancel_reason"] for o in plan} == {"cancelled: order refunded"}


def test_generic_stale_timestamp_is_401(store: Store, aws_stack: Any) -> None:
    before = stored_items(aws_stack)
    response = store.generic(generic_event("order.delivered", generic_order()), at=int(time.time()) - 301)
    assert response.status == 401
    assert "tolerance" in response.json["message"]
    assert stored_items(aws_stack) == before


def test_generic_accepts_any_of_several_signatures_during_rotation(store: Store) -> None:
    event = generic_event("order.delivered", generic_order())
    response = store.generic(event, secrets=["whsec_the_old_secret_being_retired", store.secrets["generic"]])
    assert response.status == 200


def test_generic_replayed_event_id_is_a_duplicate(store: Store) -> None:
    event = generic_event("order.delivered", generic_order(), event_id="evt_1")
    assert store.generic(event).json["duplicate"] is False
    assert store.generic(event).json["duplicate"] is True


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"id": "e1", "type": "order.delivered", "occurred_at": "2026-11-05T12:00:00Z"}, "(body)"),
        (
            {
                "id": "e1",
                "type": "order.teleported",
                "occurred_at": "2026-11-05T12:00:00Z",
                "order": {"id": "1"},
            },
            "type",
        ),
        (
            {"id": "e1", "type": "order.delivered", "occurred_at": "yesterday", "order": {"id": "1"}},
            "occurred_at",
        ),
        (
            {
                "id": "e1",
                "type": "order.delivered",
                "occurred_at": "2026-11-05T12:00:00Z",
                "order": {"id": 1.5},
            },
            "order.id",
        ),
        (
            {
                "id": "e1",
                "type": "order.delivered",
                "occurred_at": "2026-11-05T12:00:00Z",
                "order": {"id": "1", "customer": {"email": "nope"}},
            },
            "order.customer.email",
        ),
    ],
)
def test_generic_malformed_event_is_422_naming_the_field(
    store: Store, aws_stack: Any, event: dict[str, Any], field: str
) -> None:
    before = stored_items(aws_stack)
    response = store.generic(event)
    assert response.status == 422, response.text
    assert field in [f["field"] for f in response.json["fields"]]
    assert stored_items(aws_stack) == before


def test_disabled_integration_is_404(api: ApiClient, operator_key: str) -> None:
    config = minimal_store_config("only-generic")
    config["integrations"] = {"generic": {}}
    api.post("/v1/admin/stores", json_body={"config": config}, headers=bearer(operator_key))
    response = api.post(
        "/webhooks/only-generic/shopify", body=b"{}", headers={"x-shopify-topic": "orders/paid"}
    )
    assert response.status == 404
    assert "shopify" in response.json["message"]


def test_read_api_refuses_another_stores_key(store: Store, api: ApiClient, operator_key: str) -> None:
    other = Store(api, operator_key, "other-shop")
    store.generic(generic_event("order.delivered", generic_order()))
    response = api.get(f"/v1/stores/{store.id}/orders/A-1001", headers=bearer(other.admin_key))
    assert response.status == 403
