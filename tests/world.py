"""The whole system in one process, for the model-based test: stores, platforms, customers, staff, time.

Everything goes through the public HTTP routes (in-process gateway) and the real schedule, stream and
Step Functions handlers on moto, as on AWS. After every action ``settle`` waits until every return
workflow is parked (waiting for a person or the parcel) or finished, so the next check sees a quiet
system. A refund endpoint on 127.0.0.1 plays the store: it refunds once per idempotency key, or refuses.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

from aftercare.devstack import outbox
from functions.composition import adapters
from functions.shared import clock, tokens
from tests.helpers import ApiClient, ApiResponse, bearer, minimal_store_config

FORM = {"content-type": "application/x-www-form-urlencoded"}
EPOCH = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
EXAMPLE_SPAN = timedelta(days=60)  # each example's clock starts this far after the previous one


def store_config(store_id: str, refund_url: str) -> dict[str, Any]:
    """A store with short delays, a two-day cap, auto-approval below 50, keep-it below 15, a refund desk."""
    config = minimal_store_config(store_id)
    config["integrations"] = {"shopify": {}, "generic": {}}
    config["staff"] = {
        "alert_emails": [f"care@{store_id}.example.com"],
        "escalation_emails": [f"lead@{store_id}.example.com"],
    }
    config["alerts"] = {"sla": "PT4H"}
    config["outreach"] = {
        "default": {"review_delay": "P3D", "reminder_delay": "P2D", "nps_delay": "P5D"},
        "frequency_cap": "P2D",
        "max_lateness": "P7D",
        "send_window_days": 1,
        "product_types": {
            "clothing": {"review_delay": "P5D"},
            "experience": {"review_delay": "P1D"},
            "gift card": {"reviews": False},
        },
    }
    config["returns"] = {
        "window": "P30D",
        "non_returnable_types": ["experience", "gift card"],
        "auto_approve_below": 50,
        "keep_it_below": 15,
        "approval_timeout": "P2D",
        "return_timeout": "P10D",
        "return_reminder": "P4D",
        "refund_endpoint": refund_url,
    }
    return config


class StoreDesk:
    """A store's refund endpoint: refunds once per idempotency key, or refuses while told to."""

    def __init__(self) -> None:
        self.refusing = False
        self.calls: list[dict[str, Any]] = []
        self.references: dict[str, str] = {}
        desk = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the http.server API
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                call = json.loads(body)
                key = self.headers.get("idempotency-key", "")
                status = 422 if desk.refusing else 200
                replay = key in desk.references
                if status == 200 and not replay:
                    desk.references[key] = f"RF-{len(desk.references) + 1}"
                desk.calls.append(
                    {"key": key, "json": call, "status": status, "replay": replay, "at": clock.now()}
                )
                answer = json.dumps({"reference": desk.references.get(key, "")} if status == 200 else {})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/refunds"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def form_values(html: str) -> dict[str, str]:
    """The hidden inputs of a page's first form (csrf, action ids, request ids)."""
    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', html))


def token_of(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[-1]


def claims_of(link: str) -> dict[str, Any]:
    """What a link's token says, read without checking it (links in old emails may have expired)."""
    return dict(tokens.unverified_body(token_of(link)).get("c") or {})


@dataclass
class World:
    """One moto account with everything provisioned; each model example gets a fresh store in it."""

    api: ApiClient
    operator_key: str
    desk: StoreDesk
    pump: Any
    checked: list[ApiResponse] = field(default_factory=list)
    parsed: list[dict[str, Any]] = field(default_factory=list)  # the outbox, parsed once per message

    # ------------------------------------------------------------------ HTTP, never a 5xx
    def call(self, method: str, path: str, **kwargs: Any) -> ApiResponse:
        response = self.api.request(method, path, **kwargs)
        assert response.status < 500, f"{method} {path} answered {response.status}: {response.text[:500]}"
        return response

    def form(self, path: str, values: dict[str, str]) -> ApiResponse:
        return self.call("POST", path, body=urlencode(values), headers=FORM)

    # ------------------------------------------------------------------ time and the machinery
    def run_schedules(self) -> None:
        """What EventBridge and the stream mapping do on AWS: sweep, escalate, time out, flag answers."""
        from functions import composition
        from functions.composition import flag_ports, returns_ports
        from functions.flags import escalation
        from functions.outreach import sweep
        from functions.returns import service as returns

        self.pump.pump_until_quiet()
        sweep.run(composition.sweep_ports())
        escalation.escalate(flag_ports())
        returns.enforce_deadlines(returns_ports())
        self.settle()

    def advance(self, delta: timedelta) -> None:
        clock.clock.freeze(clock.now() + delta)
        self.run_schedules()

    def settle(self, seconds: float = 60) -> None:
        """Wait until every return workflow waits for someone or has finished, and streams are drained."""
        deadline = time.monotonic() + seconds
        while True:
            self.pump.pump_until_quiet()
            busy = self._busy_workflows()
            if not busy:
                return
            assert time.monotonic() < deadline, f"return workflows never settled: {busy}"
            time.sleep(0.02)

    def _busy_workflows(self) -> list[str]:
        import boto3

        from functions.composition import adapters

        sfn = boto3.client("stepfunctions")
        busy = []
        for machine in sfn.list_state_machines()["stateMachines"]:
            pages = sfn.get_paginator("list_executions").paginate(
                stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING"
            )
            for page in pages:
                for execution in page["executions"]:
                    described = json.loads(
                        sfn.describe_execution(executionArn=execution["executionArn"])["input"]
                    )
                    request, _ = adapters().returns.get(described["store_id"], described["return_id"])
                    if request is None or not request.get("waiting_for"):
                        busy.append(execution["name"])
        return busy

    # ------------------------------------------------------------------ reading the system
    def mails(self) -> list[dict[str, Any]]:
        """Every email sent so far (moto's outbox only grows, so each message is parsed once)."""
        if outbox.count() > len(self.parsed):
            self.parsed.extend(outbox.messages(len(self.parsed)))
        return self.parsed


@dataclass
class Shop:
    """One store in the world, created through the operator API, with its signing secrets."""

    world: World
    id: str
    config: dict[str, Any]
    secrets: dict[str, str] = field(default_factory=dict)
    admin_key: str = ""

    def create(self) -> None:
        created = self.world.call(
            "POST",
            "/v1/admin/stores",
            json_body={"config": self.config},
            headers=bearer(self.world.operator_key),
        )
        assert created.status == 201, created.text
        self.secrets = dict(created.json["webhook_secrets"])
        self.admin_key = str(created.json["admin_key"])

    def generic(self, event: dict[str, Any], body: bytes | None = None) -> ApiResponse:
        from tests.webhooks import body_of, generic_headers

        raw = body if body is not None else body_of(event)
        return self.world.call(
            "POST",
            f"/webhooks/{self.id}/events",
            body=raw,
            headers=generic_headers([self.secrets["generic"]], raw),
        )

    def shopify(
        self, topic: str, payload: dict[str, Any], event_id: str, body: bytes | None = None
    ) -> ApiResponse:
        from tests.webhooks import body_of, shopify_headers

        raw = body if body is not None else body_of(payload)
        headers = shopify_headers(self.secrets["shopify"], raw, topic, event_id)
        headers["x-shopify-triggered-at"] = clock.isoformat(clock.now())
        response = self.world.call("POST", f"/webhooks/{self.id}/shopify", body=raw, headers=headers)
        assert response.status == 200, f"Shopify {topic} answered {response.status}: {response.text}"
        return response

    def delivered(
        self,
        order_id: str,
        lines: list[tuple[str, str, str | None, int, str]],
        *,
        email: str = "sam@example.com",
        days_ago: int = 1,
        **order: Any,
    ) -> ApiResponse:
        """A generic ``order.delivered``; lines are (line id, product id, product type, quantity, price)."""
        at = clock.isoformat(clock.now() - timedelta(days=days_ago))
        event = {
            "id": f"evt-{order_id}-delivered-{at}",
            "type": "order.delivered",
            "occurred_at": at,
            "order": {
                "id": order_id,
                "name": f"#{order_id}",
                "currency": "EUR",
                "customer": {"email": email, "name": "Sam Rivera", "locale": "en"},
                "line_items": [
                    {
                        "id": lid,
                        "product_id": pid,
                        "name": f"Product {pid}",
                        "product_type": kind,
                        "quantity": q,
                        "price": price,
                    }
                    for lid, pid, kind, q, price in lines
                ],
                "delivered_at": at,
                **order,
            },
        }
        return self.generic(event)

    def event(self, event_type: str, **body: Any) -> ApiResponse:
        """Any generic event, e.g. ``event("order.cancelled", order={...})``."""
        event = {
            "id": f"evt-{event_type}-{len(self.world.checked)}-{time.monotonic_ns()}",
            "type": event_type,
            "occurred_at": clock.isoformat(clock.now()),
            **body,
        }
        return self.generic(event)

    def return_path(self, order_id: str) -> str:
        return "/r/" + self.link("return", {"o": order_id})

    def returns(self, order_ids: list[str] | None = None) -> list[dict[str, Any]]:
        """Return requests of these orders (one index query each), or of the whole store (a scan)."""
        import boto3

        from functions.composition import adapters
        from functions.shared.dynamo import from_item

        table = adapters().settings.returns_table
        if order_ids is None:
            prefix = f"{self.id}#"
            return scan(table, lambda item: str(item["pk"]).startswith(prefix) and item["sk"] == "RETURN")
        client = boto3.client("dynamodb")
        found: list[dict[str, Any]] = []
        for order_id in order_ids:
            pages = client.get_paginator("query").paginate(
                TableName=table,
                IndexName="by_order",
                KeyConditionExpression="order_key = :o",
                ExpressionAttributeValues={":o": {"S": f"{self.id}#{order_id}"}},
            )
            found.extend(from_item(item) for page in pages for item in page["Items"])
        return found

    def flags(self) -> list[dict[str, Any]]:
        import boto3

        from functions.composition import adapters
        from functions.shared.dynamo import from_item

        pages = (
            boto3.client("dynamodb")
            .get_paginator("query")
            .paginate(
                TableName=adapters().settings.flags_table,
                KeyConditionExpression="pk = :store",
                ExpressionAttributeValues={":store": {"S": self.id}},
            )
        )
        return [from_item(item) for page in pages for item in page["Items"]]

    def return_view(self, return_id: str) -> dict[str, Any]:
        response = self.world.call(
            "GET", f"/v1/stores/{self.id}/returns/{return_id}", headers=bearer(self.admin_key)
        )
        assert response.status == 200, response.text
        return dict(response.json)

    def order(self, order_id: str) -> dict[str, Any] | None:
        response = self.world.call(
            "GET", f"/v1/stores/{self.id}/orders/{order_id}", headers=bearer(self.admin_key)
        )
        return dict(response.json) if response.status == 200 else None

    def mails(self) -> list[dict[str, Any]]:
        domain = f"@{self.id}.example.com"
        return [m for m in self.world.mails() if domain in m["from"]]

    # ------------------------------------------------------------------ signed links a person would hold
    def link(self, purpose: str, claims: dict[str, Any], days: int = 30) -> str:
        return tokens.sign(
            adapters().signing_key, purpose=purpose, store_id=self.id, ttl=timedelta(days=days), claims=claims
        )


def scan(table: str, keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """Every item of a table that ``keep`` accepts (tests may scan; the application never does)."""
    import boto3

    from functions.shared.dynamo import from_item

    client = boto3.client("dynamodb")
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table):
        items.extend(item for item in (from_item(i) for i in page["Items"]) if keep(item))
    return items
