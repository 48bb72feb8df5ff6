"""The returns service and workflow steps on in-memory fakes: what customers, staff and stores notice."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from functions.orders import ledger
from functions.orders.models import Customer, CustomerSnapshot, ItemsSnapshot, LineItem, OrderFacts
from functions.returns import service, steps
from functions.returns.models import Requested, Status
from functions.returns.ports import Ports
from functions.returns.refund_client import RefundAnswer, Reply
from functions.stores.models import Store, StoreConfig
from tests.fakes.returns import FakeMailer, FakeOrders, FakeRefunds, FakeReturns, FakeWorkflow, fake_ports

pytestmark = pytest.mark.unit

STORE = "acme-goods"


def a_store() -> Store:
    config = StoreConfig.model_validate(
        {
            "id": STORE,
            "name": "Acme Goods",
            "sender": {"email": f"hello@{STORE}.example.com", "name": "Acme Goods"},
            "postal_address": "Acme Goods, 1 Main Street, Springfield 12345",
            "staff": {"alert_emails": [f"care@{STORE}.example.com"]},
            "integrations": {"generic": {}},
            "returns": {
                "non_returnable_types": ["gift card"],
                "refund_endpoint": "https://refunds.acme.example.com/refund",
            },
        }
    )
    return Store(config=config, created_at="2026-01-01T00:00:00Z", admin_key_hash="x")


def given_an_order(ports: Ports) -> None:
    at = ports.clock.now() - timedelta(days=3)
    facts = OrderFacts(
        order_id="1001",
        name="#1001",
        currency="EUR",
        customer=CustomerSnapshot(
            as_of=at, customer=Customer(email="ada@example.com", name="Ada", locale="en")
        ),
        items=ItemsSnapshot(
            as_of=at,
            items=[
                LineItem(
                    id="L1", product_id="P1", name="Wool scarf", product_type="clothing", price=Decimal("20")
                ),
                LineItem(
                    id="L2", product_id="P2", name="Gift card", product_type="gift card", price=Decimal("50")
                ),
            ],
        ),
        delivered_at=at,
    )
    orders = ports.orders
    assert isinstance(orders, FakeOrders)
    orders.add(STORE, facts)


def request_for(line: str, return_id: str = "ret-00000000000000a1") -> Requested:
    return Requested(return_id, "1001", {line: 1}, "refund", "Does not fit", "customer")


def fakes(ports: Ports) -> tuple[FakeReturns, FakeWorkflow, FakeMailer]:
    assert isinstance(ports.returns, FakeReturns)
    assert isinstance(ports.workflow, FakeWorkflow)
    assert isinstance(ports.mailer, FakeMailer)
    return ports.returns, ports.workflow, ports.mailer


def run(ports: Ports, task: str, return_id: str = "ret-00000000000000a1", **event: Any) -> Any:
    return steps.run({"task": task, "store_id": STORE, "return_id": return_id, **event}, ports)


@pytest.fixture
def ports() -> Ports:
    ports = fake_ports(a_store())
    given_an_order(ports)
    return ports


def test_given_an_eligible_item_when_the_customer_asks_then_one_workflow_starts(ports: Ports) -> None:
    returns, workflow, _ = fakes(ports)

    started = service.start(a_store(), request_for("L1"), ports, "customer ada@example.com")

    assert started == {"return_id": "ret-00000000000000a1", "status": "in progress", "duplicate": False}
    assert list(workflow.started) == ["ret-00000000000000a1"]
    request, _ = returns.get(STORE, "ret-00000000000000a1")
    assert request is not None and request["status"] == Status.IN_PROGRESS and request["amount"] == "20"
    assert returns.step_names(STORE, "ret-00000000000000a1") == ["requested"]


def test_given_a_started_return_when_the_same_request_comes_again_then_nothing_changes(ports: Ports) -> None:
    _, workflow, _ = fakes(ports)
    service.start(a_store(), request_for("L1"), ports, "customer")

    again = service.start(a_store(), request_for("L1"), ports, "customer")

    assert again["duplicate"] is True
    assert len(workflow.started) == 1


def test_given_a_return_of_the_only_unit_when_another_return_asks_for_it_then_it_is_refused(
    ports: Ports,
) -> None:
    _, workflow, _ = fakes(ports)
    service.start(a_store(), request_for("L1"), ports, "customer")

    with pytest.raises(ledger.NotReturnable):
        service.start(a_store(), request_for("L1", "ret-00000000000000b2"), ports, "customer")

    assert list(workflow.started) == ["ret-00000000000000a1"]  # no second workflow, so no second refund


def test_given_a_non_returnable_item_when_validated_then_it_is_refused_and_the_customer_told(
    ports: Ports,
) -> None:
    returns, _, mailer = fakes(ports)
    service.start(a_store(), request_for("L2"), ports, "customer")

    decided = run(ports, "validate")
    run(ports, "refuse")

    assert decided["eligible"] is False
    request, _ = returns.get(STORE, "ret-00000000000000a1")
    assert request is not None and request["status"] == Status.REFUSED
    assert "Gift card cannot be returned" in request["outcome_reason"]
    assert [mail.to for mail in mailer.sent] == ["ada@example.com"]
    stored = ports.orders.get_order(STORE, "1001")
    assert stored is not None
    rows, nothing = service.returnable_items(a_store(), stored.facts, stored.ledger, ports.clock.now())
    assert {row.line_item_id: (row.left, row.blocked) for row in rows} == {
        "L1": (1, ""),
        "L2": (0, "not returnable"),
    }
    assert nothing == ""  # the scarf may still be returned: the gift card's return was released


def test_given_an_approved_return_when_the_refund_step_runs_twice_then_the_store_refunds_once(
    ports: Ports,
) -> None:
    returns, _, _ = fakes(ports)
    refunds = ports.refunds
    assert isinstance(refunds, FakeRefunds)
    service.start(a_store(), request_for("L1"), ports, "customer")
    run(ports, "validate")

    first = run(ports, "refund")
    retried = run(ports, "refund")

    assert first == {"status": "done", "reference": "re_1"}
    assert retried["already"] is True
    assert len(refunds.calls) == 1
    _, body, key = refunds.calls[0]
    assert key == "ret-00000000000000a1:refund" and json.loads(body)["amount"] == "20"
    request, _ = returns.get(STORE, "ret-00000000000000a1")
    assert (
        request is not None and request["refund_status"] == "done" and request["refund_reference"] == "re_1"
    )
    stored = ports.orders.get_order(STORE, "1001")
    assert stored is not None and stored.ledger.claims["ret-00000000000000a1"].state == ledger.REFUNDED


def test_given_a_refusing_endpoint_when_the_refund_fails_then_it_is_recorded_and_staff_are_emailed() -> None:
    ports = fake_ports(a_store(), refunds=FakeRefunds(RefundAnswer(Reply.REFUSED, 402)))
    given_an_order(ports)
    returns, _, mailer = fakes(ports)
    service.start(a_store(), request_for("L1"), ports, "customer")

    with pytest.raises(steps.RefundRejected):
        run(ports, "refund")
    run(ports, "refund_failed", error={"Error": "RefundRejected"})

    request, _ = returns.get(STORE, "ret-00000000000000a1")
    assert request is not None and request["status"] == Status.REFUND_FAILED
    assert request["refund_problem"] == "the refund endpoint refused the refund (HTTP 402)"
    assert "refund_status" not in request
    staff = [mail for mail in mailer.sent if mail.to == f"care@{STORE}.example.com"]
    assert len(staff) == 1 and "A refund could not be issued" in staff[0].subject
    assert "refused the refund (HTTP 402)" in staff[0].text and "/approve/" in staff[0].text
    assert service.staff_actions(request) == ["retry_refund", "settle"]


def test_customer_and_staff_emails_carry_the_return_id(ports: Ports) -> None:
    _, _, mailer = fakes(ports)
    service.start(a_store(), request_for("L1"), ports, "customer")

    run(ports, "request_approval", token="task-1", escalated=False)
    run(ports, "reject")

    received, staff, customer = mailer.sent  # the customer hears the request is in, staff decide, then no
    assert staff.to == f"care@{STORE}.example.com" and customer.to == received.to == "ada@example.com"
    assert received.subject != customer.subject  # each state its own subject
    for mail in (received, staff, customer):
        assert mail.headers["Message-ID"].startswith("<ret-00000000000000a1.")
    assert "(ret-00000000000000a1)" in staff.subject
    assert "Request ret-00000000000000a1" in staff.text
    assert staff.kind == "return-staff" and customer.kind == "return-customer"


def test_a_decision_resumes_the_waiting_workflow_once(ports: Ports) -> None:
    _, workflow, _ = fakes(ports)
    service.start(a_store(), request_for("L1"), ports, "customer")
    run(ports, "request_approval", token="task-1", escalated=False)

    service.decide(a_store(), "ret-00000000000000a1", True, "care@acme", "", ports)

    assert workflow.resumed == [("task-1", {"approved": True, "by": "care@acme", "note": ""})]
    with pytest.raises(service.Conflict):
        service.decide(a_store(), "ret-00000000000000a1", False, "care@acme", "", ports)


def test_an_overdue_approval_is_timed_out_by_the_schedule(ports: Ports) -> None:
    _, workflow, _ = fakes(ports)
    service.start(a_store(), request_for("L1"), ports, "customer")
    run(ports, "request_approval", token="task-1", escalated=False)
    clock = ports.clock
    assert hasattr(clock, "advance")
    clock.advance(timedelta(days=3))

    assert service.enforce_deadlines(ports) == 1
    assert workflow.failed == [("task-1", "ApprovalTimeout")]


def test_a_parcel_reported_the_moment_the_workflow_parks_is_not_undone_by_the_parking_step(
    ports: Ports, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a return whose workflow is about to wait for the parcel
    returns, workflow, _ = fakes(ports)
    service.start(a_store(), request_for("L1"), ports, "customer")
    parked = returns.wait

    def park_then_receive(*args: Any) -> None:
        parked(*args)
        # When the store reports the parcel before the parking step has finished
        service.parcel_received(a_store(), "ret-00000000000000a1", ports)
        ports.returns.update(STORE, "ret-00000000000000a1", {"status": Status.COMPLETED})

    monkeypatch.setattr(returns, "wait", park_then_receive)
    run(ports, "await_parcel", token="task-9")

    # Then the workflow was resumed once and the later status stands
    request, _ = ports.returns.get(STORE, "ret-00000000000000a1")
    assert request is not None and request["status"] == Status.COMPLETED
    assert [token for token, _ in workflow.resumed] == ["task-9"]
