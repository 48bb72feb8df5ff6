"""What applying an order event needs from the world: the Orders table's owner, as a Protocol.

``functions.orders.store.OrderRepository`` implements it (and writes an order's plan diff through the
Outreach table's owner in the same transaction); callers pass it in (the webhook ports carry it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from functions.orders.store import OrderWrite, StoredOrder
    from functions.outreach.models import PlanDiff


class OrderStore(Protocol):
    def load(self, store_id: str, order_id: str) -> StoredOrder | None: ...

    def load_for_planning(
        self, store_id: str, order_id: str, product_ids: list[str], *, plan_without_order: bool = True
    ) -> tuple[StoredOrder | None, dict[str, str]]: ...

    def events(self, store_id: str, order_id: str) -> list[dict[str, Any]]: ...

    def product_types(self, store_id: str, product_ids: list[str]) -> dict[str, str]: ...

    def save_product_types(self, store_id: str, updates: dict[str, str | None]) -> None: ...

    def commit(self, write: OrderWrite, plan: PlanDiff, waiting: list[str]) -> None: ...

    def orders_waiting_for(self, store_id: str, product_id: str, limit: int) -> list[str]: ...

    def stop_waiting(self, store_id: str, product_id: str, order_id: str) -> None: ...
