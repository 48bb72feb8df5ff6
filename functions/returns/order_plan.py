"""Adapter to the orders capability: a completed return's items leave the order's review plan.

The return reaches the order as an internal event (``aftercare/return.completed``), merged and
re-planned like any store event, so replaying it changes nothing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from functions.shared import clock

if TYPE_CHECKING:
    from functions.orders.store import OrderRepository
    from functions.stores.models import Store


class OrderPlanAdapter:
    def __init__(self, orders: OrderRepository) -> None:
        self.orders = orders

    def return_completed(self, store: Store, return_id: str, order_id: str, lines: dict[str, int]) -> int:
        """Apply the returned units to the order; the number of plan changes it caused."""
        from functions.orders.models import NormalizedEvent, OrderFacts
        from functions.orders.service import apply_event
        from functions.orders.store import EventRecord

        now = clock.now()
        topic, key = "aftercare/return.completed", f"return-{return_id}"
        facts = OrderFacts(order_id=order_id, returned={return_id: lines})
        summary = json.dumps({"return_id": return_id, "lines": lines}).encode()
        result = apply_event(
            NormalizedEvent(
                store_id=store.id,
                integration="generic",
                topic=topic,
                event_key=key,
                occurred_at=now,
                facts=facts,
            ),
            EventRecord(
                integration="generic",
                topic=topic,
                event_key=key,
                occurred_at=now,
                raw_body=summary,
                verification={"valid": True, "scheme": "internal"},
                headers={},
            ),
            store.config,
            self.orders,
        )
        return int(result.get("plan_changes", 0))
