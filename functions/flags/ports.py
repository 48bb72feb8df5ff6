"""What the flags capability needs from the world, as narrow Protocols, and the ``Ports`` that carry them.

``functions.composition.flag_ports()`` builds the real ones (DynamoDB tables, SES, the sentiment
analyzer, the returns workflow); the service tests pass in-memory fakes (``tests/fakes/flags.py``) that
implement the same Protocols.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from functions.flags.sentiment import Analyzer
    from functions.orders.store import StoredOrder
    from functions.returns.service import Requested, Started
    from functions.shared.mailer import Mailer
    from functions.stores.models import Store


class Flags(Protocol):
    """The Flags table: one flag per negative answer, its alert claim and its staff action log."""

    @property
    def shards(self) -> int: ...

    def create(self, flag: dict[str, Any], *, keep: timedelta) -> bool: ...

    def get(self, store_id: str, flag: str) -> dict[str, Any] | None: ...

    def claim_alert(self, store_id: str, flag: str) -> None: ...

    def release_alert(self, store_id: str, flag: str) -> None: ...

    def alert_sent(self, store_id: str, flag: str, recipients: list[str]) -> None: ...

    def claim_action(
        self, store_id: str, flag: str, action_id: str, *, reply_digest: str | None = None, since: str = ""
    ) -> None: ...

    def release_action(
        self, store_id: str, flag: str, action_id: str, *, reply_digest: str | None = None
    ) -> None: ...

    def reopen(self, store_id: str, flag: str, actor: str) -> None: ...

    def record_action(
        self,
        store_id: str,
        flag: str,
        action: dict[str, Any],
        *,
        reply: bool,
        resolve: bool,
        created_at: datetime,
        keep: timedelta,
    ) -> None: ...

    def mark_escalated(self, store_id: str, flag: str) -> None: ...

    def overdue(self, shard: int, now: datetime, limit: int = 100) -> list[dict[str, Any]]: ...

    def list(self, store_id: str, status: str, now: datetime, limit: int = 100) -> list[dict[str, Any]]: ...


class Stores(Protocol):
    def get(self, store_id: str, *, cached: bool = False) -> Store: ...


class Responses(Protocol):
    """The Responses table, read: the flagged answer, the order's other answers, a store's answers by time."""

    def get(self, store_id: str, order_id: str, sk: str) -> dict[str, Any] | None: ...

    def for_order(self, store_id: str, order_id: str) -> list[dict[str, Any]]: ...

    def by_time(
        self,
        store_id: str,
        start: datetime,
        end: datetime,
        limit: int,
        keep: Callable[[dict[str, Any]], bool] = ...,
    ) -> list[dict[str, Any]]: ...


class Customers(Protocol):
    def get(self, store_id: str, key: str) -> dict[str, Any] | None: ...


class Orders(Protocol):
    """The order owner: the order with its review plan (``load``) or alone with its ledger (``get_order``)."""

    def load(self, store_id: str, order_id: str) -> StoredOrder | None: ...

    def get_order(self, store_id: str, order_id: str) -> StoredOrder | None: ...


class Returns(Protocol):
    """The returns owner: start a request for a staff offer, read the ones a flag offered."""

    def start(self, store: Store, requested: Requested, actor: str) -> Started:
        """Hold the units and start the workflow; ``ledger.NotReturnable``/``NotFound`` when it cannot."""
        ...

    def get(self, store_id: str, return_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class Ports:
    flags: Flags
    stores: Stores
    customers: Customers
    responses: Responses
    orders: Orders
    returns: Returns
    mailer: Mailer
    analyzer: Analyzer
    clock: Clock
    signing_key: Callable[[], bytes]  # read on first use (Secrets Manager)
    base_url: str  # where staff reach Aftercare's pages
