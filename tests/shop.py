"""A store on the sending path: create it, deliver orders to it, sweep, read the outbox (shared by tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aftercare.devstack import outbox
from functions.outreach import sweep
from functions.shared import clock
from tests.helpers import ApiClient, bearer, minimal_store_config
from tests.webhooks import body_of, generic_event, generic_headers, generic_order

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class Shop:
    def __init__(
        self, api: ApiClient, operator_key: str, store_id: str = "acme-goods", **outreach: Any
    ) -> None:
        config = minimal_store_config(store_id)
        config["outreach"] = {
            "default": {"review_delay": "P7D", "reminder_delay": "P5D", "nps_delay": "P14D"},
            "frequency_cap": "P7D",
            "product_types": {"clothing": {"review_delay": "P14D"}, "experience": {"review_delay": "P1D"}},
            **outreach,
        }
        config["emails"] = {"unsubscribe_mailto": f"unsubscribe@{store_id}.example.com"}
        created = api.post("/v1/admin/stores", json_body={"config": config}, headers=bearer(operator_key))
        assert created.status == 201, created.text
        self.api, self.id = api, store_id
        self.secret = created.json["webhook_secrets"]["generic"]
        self.admin_key = created.json["admin_key"]

    def delivered(
        self,
        order_id: str,
        items: list[tuple[str, str, str]],
        *,
        email: str = "sam@example.com",
        locale: str = "en",
        at: datetime = T0,
    ) -> None:
        order = generic_order(
            order_id, items, customer={"email": email, "name": "Sam Rivera", "locale": locale}
        )
        event = generic_event("order.delivered", order, occurred_at=clock.isoformat(at))
        raw = body_of(event)
        response = self.api.post(
            f"/webhooks/{self.id}/events", body=raw, headers=generic_headers([self.secret], raw)
        )
        assert response.status == 200, response.text

    def plan(self, order_id: str) -> list[dict[str, Any]]:
        response = self.api.get(f"/v1/stores/{self.id}/orders/{order_id}", headers=bearer(self.admin_key))
        return list(response.json["plan"])


def run_sweep() -> sweep.Report:
    from functions import composition

    return sweep.run(composition.sweep_ports())


def at(delta: timedelta) -> None:
    clock.clock.freeze(T0 + delta)


def mails() -> list[dict[str, Any]]:
    return outbox.messages()


def header(message: dict[str, Any], name: str) -> str:
    return str(next(value for key, value in message["headers"] if key.lower() == name.lower()))


def review_links(message: dict[str, Any]) -> list[str]:
    return [link["href"] for link in message["links"] if "/s/" in link["href"]]
