"""In-memory fakes of the returns ports (``functions.returns.ports``), checked against its Protocols.

``FakeReturns`` keeps the adapter's conditions (one request per return id, a refund recorded once,
status-guarded updates, a waiting task resumed once); ``FakeOrders`` applies ledger changes like
``OrderRepository.change_ledger``; ``FakeRefunds`` answers with the replies queued in ``answers``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from functions.orders.ledger import Ledger
from functions.orders.models import OrderFacts
from functions.orders.store import StoredOrder
from functions.returns.models import REFUND_DONE
from functions.returns.ports import Clock, OrderPlan, Orders, Ports, Returns, Stores, Workflow
from functions.returns.refund_client import RefundAnswer, RefundClient, Reply
from functions.returns.store import Conflict, wait_shard
from functions.shared import clock as clocks
from functions.shared.email import Email
from functions.shared.errors import NotFound
from functions.shared.mailer import Mailer, TransientSendError
from functions.stores.models import Store, StoreSecrets
from tests.fakes.clock import FakeClock

Item = dict[str, Any]


class FakeReturns:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.items: dict[tuple[str, str], Item] = {}
        self.steps: dict[tuple[str, str], list[Item]] = {}

    def _item(self, store_id: str, return_id: str) -> Item:
        item = self.items.get((store_id, return_id))
        if item is None:
            raise Conflict(f"return {return_id} changed")  # the adapter's conditions need the item
        return item

    def create(self, request: Item, *, keep: timedelta) -> bool:
        key = (str(request["store_id"]), str(request["return_id"]))
        if key in self.items:
            return False
        self.items[key] = {**copy.deepcopy(request), "expires_at": int((self.clock.now() + keep).timestamp())}
        return True

    def get(self, store_id: str, return_id: str) -> tuple[Item | None, list[Item]]:
        item = self.items.get((store_id, return_id))
        steps = self.steps.get((store_id, return_id), [])
        return (copy.deepcopy(item) if item else None), copy.deepcopy(steps)

    def step(
        self,
        store_id: str,
        return_id: str,
        actor: str,
        step: str,
        outcome: str,
        *,
        keep: timedelta,
        **details: Any,
    ) -> None:
        expires = int((self.clock.now() + keep).timestamp())
        entry: Item = {
            "at": clocks.isoformat(self.clock.now()),
            "actor": actor,
            "step": step,
            "outcome": outcome,
        }
        entry.update({k: v for k, v in details.items() if v is not None})
        entry["expires_at"] = expires
        self.steps.setdefault((store_id, return_id), []).append(entry)
        if (store_id, return_id) in self.items:
            self.items[(store_id, return_id)]["expires_at"] = expires

    def update(
        self, store_id: str, return_id: str, fields: Item, *, only_if_status: str | None = None
    ) -> None:
        item = self._item(store_id, return_id)
        if only_if_status is not None and item.get("status") != only_if_status:
            raise Conflict(f"return {return_id} changed")
        item.update(copy.deepcopy(fields))

    def record_refund(self, store_id: str, return_id: str, reference: str, at: datetime) -> None:
        item = self._item(store_id, return_id)
        if item.get("refund_status") == REFUND_DONE:
            raise Conflict(f"return {return_id} changed")
        item.update(refund_status=REFUND_DONE, refund_reference=reference, refunded_at=clocks.isoformat(at))

    def wait(
        self, store_id: str, return_id: str, kind: str, token: str, deadline: datetime, status: str
    ) -> None:
        item = self._item(store_id, return_id)
        item.update(
            status=status,
            waiting_for=kind,
            task_token=token,
            wait_deadline=clocks.isoformat(deadline),
            wait_shard=wait_shard(return_id),
        )

    def resume(self, store_id: str, return_id: str, kind: str) -> str:
        item = self.items.get((store_id, return_id))
        if item is None or item.get("waiting_for") != kind or not item.get("task_token"):
            raise Conflict(f"return {return_id} is not waiting for {kind}")
        token = str(item["task_token"])
        for name in ("waiting_for", "task_token", "wait_deadline", "wait_shard"):
            item.pop(name, None)
        item["resumed_at"] = clocks.isoformat(self.clock.now())
        return token

    def overdue(self, shard: int, now: datetime) -> list[Item]:
        return [
            copy.deepcopy(item)
            for item in self.items.values()
            if item.get("wait_shard") == str(shard)
            and str(item.get("wait_deadline")) <= clocks.isoformat(now)
        ]

    def step_names(self, store_id: str, return_id: str) -> list[str]:
        return [step["step"] for step in self.steps.get((store_id, return_id), [])]


class FakeOrders:
    def __init__(self) -> None:
        self.orders: dict[tuple[str, str], StoredOrder] = {}

    def add(self, store_id: str, facts: OrderFacts) -> None:
        self.orders[(store_id, facts.order_id)] = StoredOrder(facts, 1)

    def get_order(self, store_id: str, order_id: str) -> StoredOrder | None:
        return self.orders.get((store_id, order_id))

    def change_ledger(
        self, store_id: str, order_id: str, change: Callable[[OrderFacts, Ledger], Ledger]
    ) -> tuple[OrderFacts, Ledger]:
        stored = self.orders.get((store_id, order_id))
        if stored is None:
            raise NotFound(f"no order {order_id} for this store")
        ledger = change(stored.facts, stored.ledger)
        if ledger != stored.ledger:
            self.orders[(store_id, order_id)] = replace(stored, ledger=ledger, version=stored.version + 1)
        return stored.facts, ledger


class FakeOrderPlan:
    def __init__(self) -> None:
        self.completed: list[tuple[str, str, dict[str, int]]] = []

    def return_completed(self, store: Store, return_id: str, order_id: str, lines: dict[str, int]) -> int:
        self.completed.append((return_id, order_id, lines))
        return len(lines)


class FakeStores:
    def __init__(self, *stores: Store) -> None:
        self.stores = {store.id: store for store in stores}
        self.secret = "generic-" + "secret"  # the store's generic webhook secret (signs refund calls)

    def get(self, store_id: str, *, cached: bool = False) -> Store:
        store = self.stores.get(store_id)
        if store is None:
            raise NotFound(f"no store {store_id}")
        return store

    def get_secrets(self, store_id: str) -> StoreSecrets:
        return StoreSecrets(webhook={"generic": [self.secret]})


class FakeMailer:
    def __init__(self) -> None:
        self.sent: list[Email] = []
        self.failing = False

    def send(self, email: Email) -> str:
        if self.failing:
            raise TransientSendError("SES: Throttling")
        self.sent.append(email)
        return f"message-{len(self.sent)}"


class FakeWorkflow:
    """Records executions by name; the same name again is the same execution (like Step Functions)."""

    def __init__(self) -> None:
        self.started: dict[str, dict[str, Any]] = {}
        self.resumed: list[tuple[str, dict[str, Any]]] = []
        self.failed: list[tuple[str, str]] = []

    def start(self, name: str, payload: dict[str, Any]) -> str:
        self.started.setdefault(name, payload)
        return f"arn:aws:states:eu-west-1:000000000000:execution:returns:{name}"

    def start_retry(self, name: str, payload: dict[str, Any]) -> None:
        self.started[name] = payload

    def resume(self, token: str, output: dict[str, Any]) -> None:
        self.resumed.append((token, output))

    def time_out(self, token: str, error: str, cause: str) -> bool:
        self.failed.append((token, error))
        return True


class FakeRefunds:
    """The store's refund endpoint: answers with ``answers`` in turn (then with the last one)."""

    def __init__(self, *answers: RefundAnswer) -> None:
        self.answers = list(answers) or [RefundAnswer(Reply.ISSUED, 200, "re_1")]
        self.calls: list[tuple[str, bytes, str]] = []

    def unsafe(self, endpoint: str) -> str | None:
        return "a private address" if "internal" in endpoint else None

    def post(self, endpoint: str, body: bytes, key: str, secret: str) -> RefundAnswer:
        self.calls.append((endpoint, body, key))
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


def fake_ports(store: Store, *, refunds: FakeRefunds | None = None) -> Ports:
    clock = FakeClock()
    return Ports(
        returns=FakeReturns(clock),
        orders=FakeOrders(),
        order_plan=FakeOrderPlan(),
        stores=FakeStores(store),
        mailer=FakeMailer(),
        workflow=FakeWorkflow(),
        refunds=refunds or FakeRefunds(),
        signing_key=lambda: b"k" * 32,
        clock=clock,
        base_url="https://aftercare.example.com",
    )


_returns: Returns = FakeReturns(FakeClock())
_orders: Orders = FakeOrders()
_plan: OrderPlan = FakeOrderPlan()
_stores: Stores = FakeStores()
_mailer: Mailer = FakeMailer()
_workflow: Workflow = FakeWorkflow()
_refunds: RefundClient = FakeRefunds()
_clock: Clock = FakeClock()
