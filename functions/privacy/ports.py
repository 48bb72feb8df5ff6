"""What the privacy capability needs from the owners of the data, as narrow Protocols.

Each table stays with its owner: the privacy service asks each capability's adapter for what it holds
about a customer and asks it to delete that. ``functions.composition.privacy_ports()`` builds the real
ones; tests may wrap one of them (an erasure interrupted half-way).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from functions.shared.clock import Clock
    from functions.stores.models import Store


class Stores(Protocol):
    def get(self, store_id: str, *, cached: bool = False) -> Store: ...


class Customers(Protocol):
    """The Customers table: the profile, and the erasure record with the suppression that outlives it."""

    def export(self, store_id: str, email: str) -> dict[str, Any] | None: ...

    def erasure(self, store_id: str, email: str) -> dict[str, Any] | None: ...

    def begin_erasure(
        self, store_id: str, email: str, by: str, erasure_id: str, order_ids: list[str]
    ) -> dict[str, Any]: ...

    def erasure_step_done(self, store_id: str, email: str, step: str, counts: dict[str, int]) -> None: ...

    def finish_erasure(self, store_id: str, email: str) -> dict[str, Any]: ...

    def erase_profile(self, store_id: str, email: str) -> int: ...


class Orders(Protocol):
    """The Orders table: orders, their events, product-type waits and quarantined deliveries."""

    def customer_orders(self, store_id: str, email: str) -> list[str]: ...

    def export_order(self, store_id: str, order_id: str) -> dict[str, Any] | None: ...

    def order_events(self, store_id: str, order_id: str) -> list[tuple[str, str]]: ...

    def erase_order(self, store_id: str, order_id: str) -> dict[str, int]: ...

    def quarantined_for(self, store_id: str, order_ids: set[str], email: str) -> list[dict[str, Any]]: ...

    def erase_quarantined(self, store_id: str, order_ids: set[str], email: str) -> int: ...


class Requests(Protocol):
    """The Outreach table: planned and sent review requests, surveys and reminders."""

    def customer_orders(self, store_id: str, email: str) -> list[str]: ...

    def for_order(self, store_id: str, order_id: str) -> list[dict[str, Any]]: ...

    def erase_order(self, store_id: str, order_id: str) -> dict[str, int]: ...


class Answers(Protocol):
    """The Responses table: ratings, scores and comments with their history."""

    def customer_orders(self, store_id: str, email: str) -> list[str]: ...

    def for_order(self, store_id: str, order_id: str) -> list[dict[str, Any]]: ...

    def erase_order(self, store_id: str, order_id: str) -> int: ...


class Flags(Protocol):
    """The Flags table: flagged answers with staff replies and actions."""

    def of_answers(self, store_id: str, answers: Sequence[tuple[str, str]]) -> Sequence[dict[str, Any]]: ...

    def erase(self, store_id: str, flags: Sequence[str]) -> int: ...


class Returns(Protocol):
    """The Returns table: return requests and their audit trail."""

    def of_order(self, store_id: str, order_id: str) -> list[dict[str, Any]]: ...

    def get(self, store_id: str, return_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]: ...

    def erase(self, store_id: str, return_id: str) -> int: ...


class Workflows(Protocol):
    """The returns state machine: a running return workflow is stopped before its data is erased."""

    def stop(self, name: str, cause: str) -> bool: ...


class Deliveries(Protocol):
    """The idempotency table: the remembered outcome of a delivery (it may name the order)."""

    def forget(self, store_id: str, integration: str, event_key: str) -> bool: ...


@dataclass(frozen=True)
class Ports:
    stores: Stores
    customers: Customers
    orders: Orders
    requests: Requests
    answers: Answers
    flags: Flags
    returns: Returns
    workflows: Workflows
    deliveries: Deliveries
    clock: Clock
