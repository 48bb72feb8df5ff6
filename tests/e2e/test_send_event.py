"""A store developer posts events to the local stack with `aftercare send-event` and reads the plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from aftercare.infra import ROOT
from tests.conftest import DevStackProcess

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("devstack")]

EVENTS = ROOT / "examples" / "events"


def read_order(devstack: DevStackProcess, order_id: str) -> Any:
    key = devstack.state["demo"]["admin_key"]
    response = requests.get(
        f"{devstack.url}/v1/stores/demo/orders/{order_id}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_generic_event_through_the_cli_becomes_a_plan(devstack: DevStackProcess) -> None:
    result = devstack.cli(
        "send-event",
        "--store",
        "demo",
        "--integration",
        "generic",
        "--file",
        str(EVENTS / "generic-order-delivered.json"),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("200 ")
    plan = read_order(devstack, "1001")["plan"]
    assert [(o["kind"], o["due_at"], [p["product_id"] for p in o["products"]]) for o in plan] == [
        ("review", "2026-11-21T14:30:00Z", ["city-tour"]),
        ("review", "2026-12-04T14:30:00Z", ["linen-shirt"]),
        ("nps", "2026-12-04T14:30:00Z", []),
        ("review", "2026-12-20T14:30:00Z", ["headphones"]),
    ]


def test_shopify_events_through_the_cli_with_a_redelivery(devstack: DevStackProcess) -> None:
    def send(topic: str, name: str, *extra: str) -> Any:
        result = devstack.cli(
            "send-event",
            "--store",
            "demo",
            "--integration",
            "shopify",
            "--topic",
            topic,
            "--file",
            str(EVENTS / name),
            *extra,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return json.loads(result.stdout.split("\n", 1)[1])

    send("products/update", "shopify-product-update.json")
    send("orders/paid", "shopify-order-paid.json")
    first = send("fulfillment_events/create", "shopify-delivered.json", "--event-id", "delivery-1")
    again = send("fulfillment_events/create", "shopify-delivered.json", "--event-id", "delivery-1")

    assert (first["duplicate"], again["duplicate"]) == (False, True)
    view = read_order(devstack, "5678901234567890123")
    assert view["order"]["id"] == "5678901234567890123"
    assert view["order"]["customer"]["locale"] == "ar"
    assert view["order"]["line_items"][0]["product_type"] == "clothing"
    review = next(o for o in view["plan"] if o["kind"] == "review")
    assert review["due_at"] == "2026-12-05T16:30:00Z"  # delivered 2026-11-21 + 14 days for clothing
    assert sum(e["redeliveries"] for e in view["events"]) == 1


def test_wrong_secret_is_refused_by_the_stack(devstack: DevStackProcess) -> None:
    result = devstack.cli(
        "send-event",
        "--store",
        "demo",
        "--integration",
        "generic",
        "--secret",
        "whsec_wrong",
        "--file",
        str(EVENTS / "generic-order-delivered.json"),
    )
    assert result.returncode == 4
    assert result.stdout.startswith("401 ")


def test_created_store_can_receive_events_without_flags(devstack: DevStackProcess, tmp_path: Path) -> None:
    config = (ROOT / "examples" / "store.yaml").read_text().replace("id: demo-outfitters", "id: cli-shop")
    (tmp_path / "store.yaml").write_text(config)
    assert devstack.cli("store", "create", "--config", str(tmp_path / "store.yaml")).returncode == 0

    result = devstack.cli(
        "send-event",
        "--store",
        "cli-shop",
        "--integration",
        "generic",
        "--file",
        str(EVENTS / "generic-order-delivered.json"),
    )

    assert result.returncode == 0, result.stdout + result.stderr
