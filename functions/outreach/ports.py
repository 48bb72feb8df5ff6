"""What the due sweep needs from the world, as Protocols, and the ``Ports`` bundle it is handed; and
what the workspace's request history needs (``HistoryPorts``: the history reads plus the sweep's ports,
since "send now" goes through the sweep's own path).

The composition root (``functions.composition.sweep_ports``) fills these with the DynamoDB, SES and
Secrets Manager adapters; the service tests fill them with in-memory fakes (``tests/fakes/outreach.py``)
that implement the same Protocols, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from functions.orders.store import StoredOrder
    from functions.outreach.models import Due, Listing, OutreachStatus, Position
    from functions.shared.mailer import Mailer
    from functions.stores.models import Store


class Queue(Protocol):
    """The Outreach table as the sweep uses it (``functions.outreach.store.OutreachQueue``)."""

    @property
    def shards(self) -> int: ...

    def due(self, shard: int, now: datetime, limit: int) -> list[Due]: ...

    def get(self, pk: str, sk: str) -> dict[str, Any] | None: ...

    def claim(self, due: Due, claim: str) -> None: ...

    def release(
        self, due: Due, claim: str, until: datetime, note: str, attempts: int | None = None
    ) -> None: ...

    def finish(
        self, due: Due, claim: str, status: OutreachStatus, note: str, attempts: int | None = None
    ) -> None: ...

    def interrupted(self, due: Due) -> None: ...

    def sent(
        self, due: Due, claim: str, message_id: str, remind_at: datetime | None, header_id: str, subject: str
    ) -> None: ...


class Stores(Protocol):
    def get(self, store_id: str, *, cached: bool = False) -> Store: ...


class Orders(Protocol):
    """What the sweep reads of an order before sending: its facts and quantity ledger."""

    def get_order(self, store_id: str, order_id: str) -> StoredOrder | None: ...


class Customers(Protocol):
    """Customer records: suppression and the frequency cap's contact slot."""

    def get(self, store_id: str, key: str) -> dict[str, Any] | None: ...

    def reserve_contact(self, store_id: str, email: str, at: datetime, not_before: datetime) -> bool: ...

    def release_contact(self, store_id: str, email: str, at: datetime) -> None: ...


class Now(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class SweepSettings:
    base_url: str  # links in emails start here
    batch: int = 100  # items read per query of a shard
    max_emails: int = 20_000  # emails one worker sends per invocation; the rest waits for the next run
    max_attempts: int = 5  # transient failures before an item is failed
    concurrency: int = 1  # customer groups one worker sends at the same time (threads)


@dataclass
class Ports:
    queue: Queue
    stores: Stores
    orders: Orders
    customers: Customers
    mailer: Mailer
    signing_key: bytes
    clock: Now
    settings: SweepSettings


class History(Protocol):
    """The Outreach table as the request history reads and changes it (``OutreachQueue``)."""

    def get(self, pk: str, sk: str) -> dict[str, Any] | None: ...

    def for_order(self, store_id: str, order_id: str) -> list[dict[str, Any]]: ...

    def for_customer(
        self, store_id: str, email: str, limit: int = 25, start: Position | None = None
    ) -> Listing: ...

    def history_page(
        self, store_id: str, limit: int, start: Position | None, oldest_month: str
    ) -> Listing: ...

    def cancel_pending(self, pk: str, sk: str, by: str, reason: str) -> dict[str, Any]: ...

    def record_action(self, pk: str, sk: str, seen_due_key: str, by: str, action: str, note: str) -> None: ...


@dataclass
class HistoryPorts:
    history: History
    sweep: Ports  # "send now" is the sweep's path; its signing key also signs the history's cursors
