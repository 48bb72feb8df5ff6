"""What the returns capability needs from the world, as narrow Protocols, and the ``Ports`` that carry them.

``functions.composition.returns_ports()`` builds the real ones (DynamoDB, SES, Step Functions, the
store's refund endpoint); the service tests pass in-memory fakes (``tests/fakes/returns.py``) that
implement the same Protocols.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from functions.orders.ledger import Ledger
    from functions.orders.models import OrderFacts
    from functions.orders.store import StoredOrder
    from functions.returns.refund_client import RefundClient
    from functions.shared.mailer import Mailer
    from functions.stores.models import Store, StoreSecrets


class Returns(Protocol):
    """The Returns table: one request item per return and its audit steps."""

    def create(self, request: dict[str, Any], *, keep: timedelta) -> bool: ...

    def get(self, store_id: str, return_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]: ...

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
    ) -> None: ...

    def update(
        self, store_id: str, return_id: str, fields: dict[str, Any], *, only_if_status: str | None = None
    ) -> None: ...

    def record_refund(self, store_id: str, return_id: str, reference: str, at: datetime) -> None: ...

    def wait(
        self, store_id: str, return_id: str, kind: str, token: str, deadline: datetime, status: str
    ) -> None: ...

    def resume(self, store_id: str, return_id: str, kind: str) -> str: ...

    def overdue(self, shard: int, now: datetime) -> list[dict[str, Any]]: ...


class Orders(Protocol):
    """What returns reads and changes on an order: its facts and its quantity ledger."""

    def get_order(self, store_id: str, order_id: str) -> StoredOrder | None: ...

    def change_ledger(
        self, store_id: str, order_id: str, change: Callable[[OrderFacts, Ledger], Ledger]
    ) -> tuple[OrderFacts, Ledger]: ...


class OrderPlan(Protocol):
    """The orders capability's answer to a completed return: its items leave the review plan."""

    def return_completed(self, store: Store, return_id: str, order_id: str, lines: dict[str, int]) -> int: ...


class Stores(Protocol):
    def get(self, store_id: str, *, cached: bool = False) -> Store: ...

    def get_secrets(self, store_id: str) -> StoreSecrets: ...


class Workflow(Protocol):
    """The returns state machine (Step Functions)."""

    def start(self, name: str, payload: dict[str, Any]) -> str:
        """Start an execution named ``name`` (the same name again is the same execution); its ARN."""
        ...

    def start_retry(self, name: str, payload: dict[str, Any]) -> None: ...

    def resume(self, token: str, output: dict[str, Any]) -> None: ...

    def time_out(self, token: str, error: str, cause: str) -> bool:
        """Fail a waiting task; False when the workflow no longer takes it (logged by the adapter)."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class Ports:
    returns: Returns
    orders: Orders
    order_plan: OrderPlan
    stores: Stores
    mailer: Mailer
    workflow: Workflow
    refunds: RefundClient
    signing_key: Callable[[], bytes]  # read on first use (Secrets Manager)
    clock: Clock
    base_url: str  # where customers and staff reach Aftercare's pages
