"""Put a store's ``retention`` on the customer data it already holds (``aftercare store apply-retention``).

Every covered write sets ``expires_at`` from the store's configuration at that moment (decision 81), so
a changed setting reaches an item at its next write. This puts it on everything at once: items written
before the setting existed (answers, flags and returns had no expiry; orders and requests two years),
and items written under an earlier setting. Each item's expiry counts from when it was last written,
as if the setting had always been this one; an item whose expiry is then already past goes at
DynamoDB's next TTL pass. Running it twice changes nothing the second time. Operator-run and offline:
the owners read the store's items with filtered Scans (``functions.shared.retention``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from functions.stores.models import Store


class Keeper(Protocol):
    """A table owner that can put an expiry on one store's items."""

    def keep_store(self, store_id: str, keep: timedelta) -> int: ...


@dataclass(frozen=True)
class Ports:
    orders: Keeper
    requests: Keeper
    answers: Keeper
    flags: Keeper
    returns: Keeper


@dataclass(frozen=True)
class Applied:
    store_id: str
    changed: dict[str, int]
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {"store_id": self.store_id, "changed": self.changed, "seconds": round(self.seconds, 3)}


def apply(store: Store, ports: Ports) -> Applied:
    """Set every covered item of ``store`` to expire per its current ``retention``; items changed per kind."""
    started = time.monotonic()
    kept = store.config.retention
    changed = {
        "orders": ports.orders.keep_store(store.id, kept.orders),
        "requests": ports.requests.keep_store(store.id, kept.orders),
        "answers": ports.answers.keep_store(store.id, kept.answers),
        "flags": ports.flags.keep_store(store.id, kept.answers),
        "returns": ports.returns.keep_store(store.id, kept.returns),
    }
    return Applied(store.id, changed, time.monotonic() - started)
