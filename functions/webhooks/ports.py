"""What receiving a webhook needs from the rest of the system, handed in by the composition root.

``receive`` authenticates and decodes a delivery, then applies it exactly once: ``once`` runs the
write under the idempotency table (a redelivery gets the first answer back, marked duplicate), and
the write itself goes to the stores, orders, responses and returns owners named here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from functions.orders.store import OrderRepository
    from functions.responses.store import Answer
    from functions.returns.ports import Ports as ReturnPorts
    from functions.stores.models import Store, StoreSecrets

Outcome = dict[str, Any]  # the JSON body the platform gets back


class StoreDirectory(Protocol):
    def get(self, store_id: str, *, cached: bool = False) -> Store: ...

    def get_secrets(self, store_id: str) -> StoreSecrets: ...


class AnswerLog(Protocol):
    def record(self, answer: Answer, at: datetime, *, keep: timedelta) -> bool: ...


class Once(Protocol):
    """Run ``work(event)`` at most once per event identity; a repeat returns the first outcome."""

    def run(
        self, event: dict[str, Any], work: Callable[[dict[str, Any]], Outcome], lambda_context: Any = None
    ) -> Outcome: ...


class Now(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class Ports:
    stores: StoreDirectory
    orders: OrderRepository
    responses: AnswerLog
    returns: ReturnPorts  # the returns capability's own ports: a return event starts or resumes a workflow
    once: Once
    clock: Now
