"""Returns and refunds run as a Step Functions workflow executing the real task handlers on moto."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from functions.composition import adapters, returns_ports
from functions.returns.service import enforce_deadlines
from functions.shared import clock, tokens
from functions.shared.signatures import verify_generic
from tests.helpers import ApiClient, bearer, minimal_store_config
from tests.refund_receiver import RefundReceiver
from tests.shop import T0, mails
from tests.webhooks import body_of, generic_event, generic_headers, generic_order

pytestmark = pytest.mark.integration

FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def receiver() -> Iterator[RefundReceiver]:
    receiver = RefundReceiver()
    yield receiver
    receiver.close()


class Store:
    def __init__(
        self, api: ApiClient, operator_key: str, receiver: RefundReceiver, store_id: str = "acme-goods"
    ):
        config = minimal_store_config(store_id)
        config["staff"]["escalation_emails"] = [f"lead@{store_id}.example.com"]
        config["returns"] = {
            "window": "P30D",
            "non_returnable_types": ["experience"],
            "auto_approve_below": 50,
            "keep_it_below": 15,
            "approval_timeout": "P2D",
            "refund_endpoint": receiver.url,
            "return_address": "Returns, 1 Dock Road, Springfield",
        }
        created = api.post("/v1/admin/stores", json_body={"config": config}, headers=bearer(operator_key))
        assert created.status == 201, created.text
        self.api, self.id = api, store_id
        self.secret = created.json["webhook_secrets"]["generic"]
        self.admin_key = created.json["admin_key"]

    def event(self, event: dict[str, Any]) -> Any:
        raw = body_of(event)
        return self.api.post(
            f"/webhooks/{self.id}/events", body=raw, headers=generic_headers([self.secret], raw)
        )

    def delivered(self, order_id: str, days_ago: int = 3) -> None:
        items = [
            ("l1", "shirt", "clothing"),
            ("l2", "socks", "clothing"),
            ("l3", "jacket", "clothing"),
            ("l4", "tour", "experience"),
        ]
        order = generic_order(order_id, items)
        for line, price in zip(order["line_items"], ("49.00", "9.00", "120.00", "30.00"), strict=True):
            line["price"] = price
        response = self.event(
            generic_event(
                "order.delivered", order, occurred_at=clock.isoformat(clock.now() - timedelta(days=days_ago))
            )
        )
        assert response.status == 200, response.text

    def request(
        self, order_id: str, lines: list[str], outcome: str = "refund", store_return_id: str = "R1"
    ) -> str:
        response = self.event(
            generic_event(
                "return.requested",
                {"id": order_id},
                **{
                    "return": {
                        "id": store_return_id,
                        "order_id": order_id,
                        "items": [{"line_item_id": line} for line in lines],
                        "reason": "Does not fit",
                        "outcome": outcome,
                    }
                },
            )
        )
        assert response.status == 200, response.text
        return str(response.json["return_id"])

    def view(self, return_id: str) -> dict[str, Any]:
        response = self.api.get(f"/v1/stores/{self.id}/returns/{return_id}", headers=bearer(self.admin_key))
        assert response.status == 200, response.text
        return dict(response.json)


@pytest.fixture
def store(api: ApiClient, operator_key: str, frozen: Any, receiver: RefundReceiver) -> Store:
    clock.clock.freeze(T0)
    return Store(api, operator_key, receiver)


def wait_until(check: Any, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def execution(return_id: str) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions")
    [machine] = sfn.list_state_machines()["stateMachines"]
    runs = [
        e
        for e in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
        if e["name"] == return_id
    ]
    assert len(runs) == 1, runs
    return dict(sfn.describe_execution(executionArn=runs[0]["executionArn"]))


def finished(return_id: str) -> dict[str, Any]:
    return dict(wait_until(lambda: (e := execution(return_id))["status"] != "RUNNING" and e))


def status_is(store: Store, return_id: str, status: str) -> None:
    wait_until(lambda: store.view(return_id)["return"]["status"] == status)


def steps(store: Store, return_id: str) -> list[str]:
    return [step["step"] for step in store.view(return_id)["audit"]]


def customer_mails(text: str) -> list[dict[str, Any]]:
    return [m for m in mails() if m["to"] == ["sam@example.com"] and text in m["text"]]


def test_keep_it_refund_is_approved_and_paid_at_once(store: Store, receiver: RefundReceiver) -> None:
    store.delivered("A-1")
    return_id = store.request("A-1", ["l2"])  # socks, 9.00: approved automatically, no need to send them back

    assert finished(return_id)["status"] == "SUCCEEDED"
    [call] = receiver.calls
    assert call["json"]["outcome"] == "refund" and call["json"]["amount"] == "9.00"
    assert call["json"]["item_returned"] is False
    signature = verify_generic(
        call["body"], call["headers"]["x-aftercare-signature"], [store.secret], clock.wall_now()
    )
    assert signature.valid
    assert call["headers"]["idempotency-key"] == f"{return_id}:refund"
    assert customer_mails("Good news")
    assert steps(store, return_id) == [
        "requested",
        "eligible",
        "refund issued",
        "customer emailed",
        "completed",
    ]


def test_return_waits_for_the_parcel_then_refunds(store: Store, receiver: RefundReceiver) -> None:
    store.delivered("B-1")
    return_id = store.request("B-1", ["l1"])  # shirt, 49.00: approved automatically, must come back
    status_is(store, return_id, "awaiting the item")
    wait_until(lambda: customer_mails("Returns, 1 Dock Road"))  # the instructions name the return address
    assert receiver.calls == []

    received = store.event(
        generic_event("return.received", {"id": "B-1"}, **{"return": {"aftercare_id": return_id}})
    )
    assert received.status == 200, received.text

    assert finished(return_id)["status"] == "SUCCEEDED"
    assert len(receiver.successes()) == 1
    assert "received" in steps(store, return_id)
    plan = store.api.get(f"/v1/stores/{store.id}/orders/B-1", headers=bearer(store.admin_key)).json["plan"]
    pending = [[p["product_id"] for p in o["products"]] for o in plan if o["status"] == "pending"]
    assert ["socks", "jacket"] in pending or ["jacket", "socks"] in pending  # still asked about
    assert not [products for products in pending if "shirt" in products]  # the returned shirt is not


def test_return_numbers_are_digits_that_customers_can_write_on_a_slip(store: Store) -> None:
    store.delivered("N-1")
    return_id = store.request("N-1", ["l1"], store_return_id="R-digits")

    assert re.fullmatch(r"ret-[0-9]{16}", return_id)
    again = store.request("N-1", ["l1"], store_return_id="R-digits")
    assert again == return_id  # the same event again is the same return


def test_a_return_numbered_before_the_upgrade_is_found_by_the_stores_next_event(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a return that an earlier version numbered in hexadecimal
    from functions.returns import service

    store.delivered("H-1")
    with monkeypatch.context() as earlier:
        earlier.setattr(service, "return_id_for", service._hex_return_id)
        old_id = store.request("H-1", ["l1"], store_return_id="R-old")
    assert re.fullmatch(r"ret-[0-9a-f]{16}", old_id)
    assert old_id != service.return_id_for(store.id, "store", "R-old")
    status_is(store, old_id, "awaiting the item")

    # When the store's next events name that return by its own id only
    again = store.request("H-1", ["l1"], store_return_id="R-old")
    received = store.event(generic_event("return.received", {"id": "H-1"}, **{"return": {"id": "R-old"}}))

    # Then they find the same return: no second return holds the shirt, and the parcel resumes it
    assert again == old_id
    assert received.status == 200 and received.json["return_id"] == old_id, received.text
    assert finished(old_id)["status"] == "SUCCEEDED"


def test_refund_endpoint_failing_twice_is_retried_with_one_key(
    store: Store, receiver: RefundReceiver
) -> None:
    receiver.statuses = [503, 502]
    store.delivered("C-1")
    return_id = store.request("C-1", ["l2"])

    assert finished(return_id)["status"] == "SUCCEEDED"
    assert [c["status"] for c in receiver.calls] == [503, 502, 200]
    assert {c["headers"]["idempotency-key"] for c in receiver.calls} == {f"{return_id}:refund"}
    assert len(receiver.successes()) == 1
    assert steps(store, return_id).count("refund call failed") == 2


def test_refund_refused_by_the_store_fails_visibly_and_tells_staff(
    store: Store, receiver: RefundReceiver
) -> None:
    receiver.statuses = [400]
    store.delivered("D-1")
    return_id = store.request("D-1", ["l2"])

    run = finished(return_id)
    assert run["status"] == "FAILED"
    assert run["error"] == "RefundFailed"
    assert [m["subject"] for m in mails() if m["to"] == ["care@acme-goods.example.com"]] == [
        f"A refund could not be issued ({return_id})"
    ]
    assert store.view(return_id)["return"]["status"] == "failed: refund not issued"
    assert receiver.successes() == []


def test_out_of_window_and_non_returnable_are_refused_with_a_reason(
    store: Store, receiver: RefundReceiver
) -> None:
    store.delivered("E-1", days_ago=40)
    late = store.request("E-1", ["l1"], store_return_id="late")
    store.delivered("E-2")
    tour = store.request("E-2", ["l4"], store_return_id="tour")

    assert finished(late)["status"] == "SUCCEEDED" and finished(tour)["status"] == "SUCCEEDED"
    assert store.view(late)["return"]["status"] == "refused"
    refusals = customer_mails("cannot accept")  # the policy's reason in the customer's words and calendar
    assert any("return window closed on October 23, 2026" in m["text"] for m in refusals), refusals
    assert "Product tour cannot be returned" in store.view(tour)["return"]["outcome_reason"]
    assert receiver.calls == []


def approval_link(staff: str) -> str:
    message = wait_until(
        lambda: [
            m
            for m in mails()
            if (m["to"] == [staff] and "Approve or reject" in m["subject"])
            or (m["to"] == [staff] and "Overdue: approve" in m["subject"])
        ]
    )[-1]
    return str(next(link["href"] for link in message["links"] if "/approve/" in link["href"]))


def decide(store: Store, link: str, decision: str, times: int = 1) -> list[str]:
    path = link.removeprefix("https://care.example.com")
    page = store.api.get(path)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    return [
        store.api.post(path, body=f"csrf={csrf}&decision={decision}&note=ok", headers=FORM).text
        for _ in range(times)
    ]


def test_staff_approve_from_their_link(store: Store, receiver: RefundReceiver) -> None:
    store.delivered("F-1")
    return_id = store.request("F-1", ["l3"])  # jacket, 120.00: needs a decision
    status_is(store, return_id, "awaiting approval")

    first, again = decide(store, approval_link("care@acme-goods.example.com"), "approve", times=2)

    assert "Approved" in first
    assert "someone decided" in again  # a double click decides once
    status_is(store, return_id, "awaiting the item")
    assert steps(store, return_id).count("approved") == 1


def test_staff_reject_from_their_link(store: Store, receiver: RefundReceiver) -> None:
    store.delivered("G-1")
    return_id = store.request("G-1", ["l3"])
    status_is(store, return_id, "awaiting approval")

    decide(store, approval_link("care@acme-goods.example.com"), "reject")

    assert finished(return_id)["status"] == "SUCCEEDED"
    assert store.view(return_id)["return"]["status"] == "rejected"
    assert customer_mails("cannot accept this return")
    assert receiver.calls == []


def test_approval_times_out_escalates_then_expires(store: Store) -> None:
    store.delivered("H-1")
    return_id = store.request("H-1", ["l3"])
    status_is(store, return_id, "awaiting approval")

    clock.clock.advance(timedelta(days=2, minutes=1))
    assert enforce_deadlines(returns_ports()) == 1
    approval_link("lead@acme-goods.example.com")  # the escalation went to the escalation contact
    wait_until(lambda: store.view(return_id)["return"].get("waiting_for") == "approval")

    clock.clock.advance(timedelta(days=2, minutes=1))
    assert enforce_deadlines(returns_ports()) == 1
    run = finished(return_id)
    assert run["status"] == "FAILED" and run["error"] == "ApprovalExpired"
    assert steps(store, return_id).count("approval timed out") == 2


def test_the_same_request_twice_is_one_execution(store: Store) -> None:
    store.delivered("I-1")
    first = store.request("I-1", ["l1"], store_return_id="dup")
    again = store.event(
        generic_event(
            "return.requested",
            {"id": "I-1"},
            **{
                "return": {
                    "id": "dup",
                    "order_id": "I-1",
                    "items": [{"line_item_id": "l1"}],
                    "reason": "Does not fit",
                }
            },
        )
    )
    assert again.json["return_id"] == first
    assert again.json["duplicate"] is True
    execution(first)  # asserts exactly one execution with this name


def test_customer_return_page_starts_one_return(store: Store, receiver: RefundReceiver) -> None:
    store.delivered("J-1")
    link = tokens.sign(
        adapters().signing_key,
        purpose="return",
        store_id=store.id,
        ttl=timedelta(days=1),
        claims={"o": "J-1"},
    )
    page = store.api.get(f"/r/{link}")
    assert page.status == 200 and "Product socks" in page.text
    request_id = re.search(r'name="request_id" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    body = f"request_id={request_id}&item-l2=1&quantity-l2=1&reason=Does+not+fit&outcome=refund&details="

    first = store.api.post(f"/r/{link}", body=body, headers=FORM)
    twice = store.api.post(f"/r/{link}", body=body, headers=FORM)

    return_id = re.search(r"(ret-[0-9]{16})", first.text).group(1)  # type: ignore[union-attr]
    assert return_id in twice.text
    assert finished(return_id)["status"] == "SUCCEEDED"
    assert len(receiver.successes()) == 1
    fresh = re.search(r'name="request_id" value="([^"]+)"', store.api.get(f"/r/{link}").text).group(1)  # type: ignore[union-attr]
    empty = store.api.post(
        f"/r/{link}", body=f"request_id={fresh}&reason=Does+not+fit&outcome=refund", headers=FORM
    )
    assert empty.status == 422 and "Choose at least one item" in empty.text
    forged = store.api.post(f"/r/{link}", body="request_id=x&item-l1=1&reason=Does+not+fit", headers=FORM)
    assert forged.status == 422 and "out of date" in forged.text


def test_tokens_of_another_store_reach_nothing(
    store: Store, api: ApiClient, operator_key: str, receiver: RefundReceiver
) -> None:
    store.delivered("K-1")
    return_id = store.request("K-1", ["l3"])
    status_is(store, return_id, "awaiting approval")
    Store(api, operator_key, receiver, "other-shop")
    forged = tokens.sign(
        adapters().signing_key,
        purpose="return-approval",
        store_id="other-shop",
        ttl=timedelta(days=1),
        claims={"r": return_id, "a": "x@example.com"},
    )
    assert store.api.get(f"/approve/{forged}").status == 404
    other_order = tokens.sign(
        adapters().signing_key,
        purpose="return",
        store_id="other-shop",
        ttl=timedelta(days=1),
        claims={"o": "K-1"},
    )
    assert store.api.get(f"/r/{other_order}").status == 404
    assert (
        store.api.get(f"/v1/stores/other-shop/returns/{return_id}", headers=bearer(store.admin_key)).status
        == 403
    )


def test_shopify_return_request_starts_a_return(
    store: Store, receiver: RefundReceiver, api: ApiClient
) -> None:
    from tests.webhooks import shopify_headers

    store.delivered("S-1")
    shopify_secret = _shopify_secret(store)
    payload = {
        "id": 9001,
        "admin_graphql_api_id": "gid://shopify/Return/9001",
        "status": "requested",
        "order": {"id": "S-1", "admin_graphql_api_id": "gid://shopify/Order/1"},
        "return_line_items": [
            {
                "id": 1,
                "quantity": 1,
                "return_reason": "SIZE_TOO_SMALL",
                "customer_note": "Too small",
                "fulfillment_line_item": {"id": 5, "line_item": {"id": "l2"}},
            }
        ],
    }
    raw = body_of(payload)
    response = api.post(
        f"/webhooks/{store.id}/shopify",
        body=raw,
        headers=shopify_headers(shopify_secret, raw, "returns/request"),
    )
    assert response.status == 200, response.text

    return_id = response.json["return_id"]
    assert finished(return_id)["status"] == "SUCCEEDED"
    assert store.view(return_id)["return"]["source"] == "store"
    assert [c["json"]["items"][0]["product_id"] for c in receiver.successes()] == ["socks"]


def _shopify_secret(store: Store) -> str:

    return adapters().stores.get_secrets(store.id).webhook["shopify"][0]
