"""Platform etiquette: an authentic delivery is never answered with an error that gets a webhook disabled.

Shopify retries any non-2xx for hours and may remove the subscription; WooCommerce disables a webhook
after five failures in a row. So a correctly signed delivery Aftercare cannot use is answered 200 and
quarantined with its reason; only forged ones are refused, and transient AWS trouble answers 503.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.shared import aws, clock
from tests.helpers import bearer
from tests.webhooks import body_of, shopify_headers, shopify_line, shopify_order, woo_headers, woo_order
from tests.world import Shop, World, store_config

pytestmark = pytest.mark.integration


@pytest.fixture
def shop(world: World) -> Shop:
    config = store_config("platform-shop", world.desk.url)
    config["integrations"] = {"shopify": {}, "woocommerce": {}, "generic": {}}
    shop = Shop(world, "platform-shop", config)
    shop.create()
    return shop


def post_shopify(shop: Shop, raw: bytes, topic: str = "orders/paid", **headers: str) -> Any:
    signed = {**shopify_headers(shop.secrets["shopify"], raw, topic, "evt-1"), **headers}
    return shop.world.api.post(f"/webhooks/{shop.id}/shopify", body=raw, headers=signed)


def quarantined(shop: Shop) -> list[dict[str, Any]]:
    answer = shop.world.call("GET", f"/v1/stores/{shop.id}/quarantine", headers=bearer(shop.admin_key))
    assert answer.status == 200, answer.text
    return list(answer.json["quarantined"])


def test_a_shopify_return_for_an_unknown_order_is_accepted_and_quarantined(shop: Shop) -> None:
    request = {
        "id": 91,
        "order": {"id": 5999999999999999999},
        "return_line_items": [{"quantity": 1, "fulfillment_line_item": {"line_item": {"id": 1}}}],
    }
    answer = shop.shopify("returns/request", request, "evt-return")
    assert answer.json["status"] == "quarantined"
    [kept] = quarantined(shop)
    assert kept["quarantined"] == "return.order_id: Aftercare has no order 5999999999999999999"
    assert kept["topic"] == "returns/request"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"id": 1, "line_items": [{"id": 2, "quantity": "lots"}]}',
        b'{"id": 1, "line_items": "not a list"}',
        b'{"id": ' + b"9" * 5000 + b"}",
        b"[1, 2, 3]",
        b"not json at all",
        b'{"id": 1, "line_items": [{"id": 2, "quantity": 1, "price": NaN}]}',
    ],
    ids=["bad-quantity", "bad-lines", "5000-digit-id", "a-list", "not-json", "nan-price"],
)
def test_unusable_signed_shopify_payloads_are_accepted_and_quarantined(shop: Shop, raw: bytes) -> None:
    answer = post_shopify(shop, raw)
    assert answer.status == 200, answer.text
    assert answer.json["status"] == "quarantined"
    assert answer.json["reason"]
    assert len(quarantined(shop)) == 1


def test_an_unusable_payload_for_a_known_order_shows_in_its_history(shop: Shop) -> None:
    shop.shopify("orders/paid", shopify_order(5000000000000000031), "evt-ok")
    clock.clock.freeze(clock.now() + timedelta(minutes=5))  # the history lists events in the order received
    broken = {"id": 5000000000000000031, "line_items": [{"id": 2, "quantity": 10**9}]}
    answer = post_shopify(shop, body_of(broken), "orders/updated")
    assert answer.json["status"] == "quarantined"
    events = shop.order("5000000000000000031")["events"]  # type: ignore[index]
    assert [e["quarantined"] is not None for e in events] == [False, True]


def test_a_forged_shopify_delivery_is_refused(shop: Shop) -> None:
    raw = body_of(shopify_order())
    answer = post_shopify(shop, raw, **{"x-shopify-hmac-sha256": base64.b64encode(b"x" * 32).decode()})
    assert answer.status == 401
    assert quarantined(shop) == []


def test_shopify_events_style_headers_without_the_x_prefix_work(shop: Shop) -> None:
    raw = body_of(shopify_order(5000000000000000041))
    digest = base64.b64encode(
        hmac.new(shop.secrets["shopify"].encode(), raw, hashlib.sha256).digest()
    ).decode()
    headers = {
        "content-type": "application/json",
        "shopify-topic": "orders/paid",
        "shopify-hmac-sha256": digest,
        "shopify-event-id": "evt-events-style",
        "shopify-triggered-at": "2026-11-01T15:05:00.000Z",
    }
    answer = shop.world.call("POST", f"/webhooks/{shop.id}/shopify", body=raw, headers=headers)
    assert answer.status == 200, answer.text
    assert answer.json["status"] == "accepted"
    assert shop.order("5000000000000000041") is not None


def test_a_huge_event_id_header_is_kept_as_a_digest(shop: Shop) -> None:
    raw = body_of(shopify_order(5000000000000000051))
    headers = shopify_headers(shop.secrets["shopify"], raw, "orders/paid", "e" * 5000)
    answer = shop.world.call("POST", f"/webhooks/{shop.id}/shopify", body=raw, headers=headers)
    assert answer.json["status"] == "accepted"
    [event] = shop.order("5000000000000000051")["events"]  # type: ignore[index]
    assert event["event_key"].startswith("sha256-") and len(event["event_key"]) < 80
    again = shop.world.call("POST", f"/webhooks/{shop.id}/shopify", body=raw, headers=headers)
    assert again.json["duplicate"] is True


def test_an_unusable_woocommerce_payload_is_accepted_and_quarantined(shop: Shop) -> None:
    raw = body_of(woo_order(lines=[{"id": 1, "quantity": -4, "price": "1"}]))
    headers = woo_headers(shop.secrets["woocommerce"], raw, "order.updated")
    answer = shop.world.call("POST", f"/webhooks/{shop.id}/woocommerce", body=raw, headers=headers)
    assert answer.status == 200
    assert answer.json["status"] == "quarantined"


def test_the_generic_integration_gets_a_4xx_naming_each_bad_field(shop: Shop) -> None:
    answer = shop.delivered("G-1", [("l1", "p1", "clothing", 0, "NaN")])
    assert answer.status == 422
    fields = {f["field"] for f in answer.json["fields"]}
    assert any(f.endswith("quantity") for f in fields) and any(f.endswith("price") for f in fields)


def test_transient_aws_trouble_answers_503_so_the_platform_retries(shop: Shop, world: World) -> None:
    def throttle(**kwargs: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
            "TransactWriteItems",
        )

    aws.dynamodb().meta.events.register("before-call.dynamodb.TransactWriteItems", throttle)
    try:
        answer = post_shopify(shop, body_of(shopify_order(5000000000000000061)))
    finally:
        aws.dynamodb().meta.events.unregister("before-call.dynamodb.TransactWriteItems", throttle)
    assert answer.status == 503
    assert quarantined(shop) == []
    assert post_shopify(shop, body_of(shopify_order(5000000000000000061))).json["status"] == "accepted"


def test_a_line_item_with_an_unknown_type_still_plans_and_a_shopify_line_round_trips(shop: Shop) -> None:
    line = shopify_line(16000000000000000071, 8000000000000000071, "Mug", 2, "12.00")
    answer = shop.shopify("orders/paid", shopify_order(5000000000000000071, [line]), "evt-mug")
    assert answer.json["status"] == "accepted"
    [item] = shop.order("5000000000000000071")["order"]["line_items"]  # type: ignore[index]
    assert item["id"] == "16000000000000000071" and item["quantity"] == 2
