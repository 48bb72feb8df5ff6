"""One store's month, told through the real system: shared by the insights integration and browser tests.

A store in Berlin sells tours (reviewed a day after delivery) and socks (returned and refunded). The stream
records of the four source tables reach ``count_insights`` (and flagging) through the event source
mappings declared in infra/aftercare.yaml, as Lambda would deliver them.
"""

from __future__ import annotations

import re
import time
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote_plus

from aftercare import infra
from aftercare.devstack import lambdas
from aftercare.devstack.streams import Mapping, StreamPump
from functions.composition import adapters
from functions.insights import report as insights_report
from functions.shared import clock
from tests.helpers import ApiClient, bearer, minimal_store_config
from tests.shop import T0, mails, run_sweep
from tests.webhooks import body_of, generic_event, generic_headers, generic_order

FORM = {"content-type": "application/x-www-form-urlencoded"}
MONDAY = date(2026, 11, 2)  # T0 is Monday 2 November 2026, 09:00 UTC (10:00 in Berlin)


def infra_pump(provisioned: Any) -> StreamPump:
    """Every stream mapping of infra/aftercare.yaml, delivering to the app's registered handlers."""
    from chalice.utils import to_cfn_resource_name

    import app

    functions = {to_cfn_resource_name(f.name): f.name for f in app.app.pure_lambda_functions}
    mappings = []
    for resource in infra.resources_of_type(
        infra.load_template(), "AWS::Lambda::EventSourceMapping"
    ).values():
        properties = resource["Properties"]
        table = properties["EventSourceArn"]["Fn::GetAtt"][0]
        name = f"test-{functions[properties['FunctionName']['Ref']]}"
        mappings.append(
            Mapping(
                table=provisioned.tables[table],
                stream_arn=provisioned.stream_arns[table],
                function_name=name,
                handler=lambdas._handlers[name],
                batch_size=int(properties.get("BatchSize", 100)),
                max_retries=int(properties.get("MaximumRetryAttempts", 3)),
            )
        )
    return StreamPump(mappings)


class Store:
    """A store in Berlin selling tours (reviewed a day after delivery) and socks (returned, refunded)."""

    def __init__(
        self, api: ApiClient, operator_key: str, store_id: str, refund_url: str, reminder: str | None = None
    ) -> None:
        config = minimal_store_config(store_id)
        config.update(timezone="Europe/Berlin", currency="EUR")
        config["outreach"] = {
            "default": {"review_delay": "P3D", "reminder_delay": reminder, "nps_delay": "P8D"},
            "product_types": {"experience": {"review_delay": "P1D"}},
            "frequency_cap": "P1D",
            "send_window_days": 0,
        }
        config["returns"] = {
            "window": "P30D",
            "auto_approve_below": 50,
            "keep_it_below": 15,
            "refund_endpoint": refund_url,
            "reasons": ["Does not fit", '=HYPERLINK("http://evil.example")'],
        }
        created = api.post("/v1/admin/stores", json_body={"config": config}, headers=bearer(operator_key))
        assert created.status == 201, created.text
        self.api, self.id, self.operator_key = api, store_id, operator_key
        self.secret = created.json["webhook_secrets"]["generic"]
        self.admin_key = created.json["admin_key"]

    def event(self, event: dict[str, Any]) -> Any:
        raw = body_of(event)
        response = self.api.post(
            f"/webhooks/{self.id}/events", body=raw, headers=generic_headers([self.secret], raw)
        )
        assert response.status == 200, response.text
        return response

    def delivered(self, order_id: str, email: str = "sam@example.com", *, socks: bool = True) -> None:
        lines = [("l1", "tour", "experience"), ("l2", "socks", "clothing")][: 2 if socks else 1]
        order = generic_order(
            order_id, lines, customer={"email": email, "name": "Sam Rivera", "locale": "en"}
        )
        for line in order["line_items"][1:]:
            line["price"] = "9.00"
        self.event(generic_event("order.delivered", order, occurred_at=clock.isoformat(clock.now())))

    def returned(self, order_id: str, reason: str = "Does not fit") -> str:
        body: dict[str, Any] = {
            "id": f"R-{order_id}",
            "order_id": order_id,
            "items": [{"line_item_id": "l2"}],
        }
        response = self.event(
            generic_event("return.requested", {"id": order_id}, **{"return": {**body, "reason": reason}})
        )
        return str(response.json["return_id"])

    def report(self, weeks: int = 4) -> insights_report.Report:
        root = adapters()
        return insights_report.build(root.stores.get(self.id), weeks, clock.now(), root.insights)


def at(delta: timedelta) -> None:
    clock.clock.freeze(T0 + delta)


def links_to(email: str) -> list[str]:
    """The survey links of the newest email to ``email``, in score order."""
    message = [m for m in mails() if email in m["to"] and "/s/" in str(m["links"])][-1]
    return [link["href"] for link in message["links"] if "/s/" in link["href"]]


def answer(api: ApiClient, link: str, score: int, comment: str = "") -> None:
    path = link.removeprefix("https://care.example.com")
    response = api.post(path, body=f"score={score}&comment={quote_plus(comment)}", headers=FORM)
    assert response.status == 200, response.text


def reply_to_alert(api: ApiClient, text: str) -> None:
    alert = [m for m in mails() if m["subject"].startswith("[Needs a reply]")][-1]
    path = next(link["href"] for link in alert["links"] if "/staff/" in link["href"])
    path = path.removeprefix("https://care.example.com")
    page = api.get(path).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    action = re.search(r'name="action_id" value="([^"]+)"', page)
    assert csrf and action
    body = f"csrf={csrf.group(1)}&action_id={action.group(1)}&action=reply&reply={quote_plus(text)}"
    assert "Your reply was emailed" in api.post(path, body=body, headers=FORM).text


def wait_until(check: Any, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def refund_completed(store: Store, return_id: str) -> None:
    def done() -> bool:
        view = store.api.get(f"/v1/stores/{store.id}/returns/{return_id}", headers=bearer(store.admin_key))
        return bool(view.json["return"]["status"] == "completed")

    wait_until(done)


def story(store: Store, pump: StreamPump) -> None:
    """A month of one store: reviews (one changed), an NPS detractor with a staff reply, a refund."""
    store.delivered("A-1")
    store.delivered("A-2", email="kim@example.com")
    at(timedelta(days=1, minutes=1))
    run_sweep()
    answer(store.api, links_to("sam@example.com")[2], 3)
    answer(store.api, links_to("kim@example.com")[4], 5)
    pump.pump_until_quiet()
    at(timedelta(days=1, hours=3))
    answer(store.api, links_to("sam@example.com")[4], 5)  # Sam changes 3 stars to 5
    pump.pump_until_quiet()
    at(timedelta(days=8, minutes=1))
    run_sweep()
    answer(store.api, links_to("sam@example.com")[6], 6, "Took ages to arrive")
    pump.pump_until_quiet()
    at(timedelta(days=8, hours=2, minutes=1))
    reply_to_alert(store.api, "So sorry, Sam")
    return_id = store.returned("A-1")
    refund_completed(store, return_id)
    pump.pump_until_quiet()
