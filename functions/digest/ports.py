"""What the digest needs from the world, as narrow Protocols, and the ``Ports`` that carry them.

``functions.composition.digest_ports()`` builds the real ones (the Stores, Workspace, Insights,
Responses and Flags tables, SES, the clock, the signing key); tests may pass anything implementing them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from functions.insights.ports import Counters
    from functions.shared.email import Email
    from functions.stores.models import Store


class Stores(Protocol):
    def list_ids(self) -> list[str]: ...

    def get(self, store_id: str, *, cached: bool = False) -> Store: ...


class Digests(Protocol):
    """The digest's items in the Workspace table (``functions.workspace.digest_items``)."""

    def claim_digest(
        self,
        store_id: str,
        week: str,
        claim_id: str,
        now: datetime,
        stale_before: datetime,
        keep_until: datetime,
    ) -> frozenset[str] | None: ...

    def digest_delivered(self, store_id: str, week: str, owner: str) -> None: ...

    def finish_digest(self, store_id: str, week: str, claim_id: str, now: datetime) -> bool: ...

    def release_digest(self, store_id: str, week: str, claim_id: str, now: datetime) -> bool: ...

    def digest_opt_outs(self, store_id: str) -> frozenset[str]: ...

    def opt_out_of_digest(self, store_id: str, owner: str, now: datetime, via: str) -> None: ...

    def opt_in_to_digest(self, store_id: str, owner: str) -> None: ...

    def digest_opted_out(self, store_id: str, owner: str) -> bool: ...


class Responses(Protocol):
    def by_time(
        self,
        store_id: str,
        start: datetime,
        end: datetime,
        limit: int,
        keep: Callable[[dict[str, Any]], bool] = ...,
    ) -> list[dict[str, Any]]: ...


class Flags(Protocol):
    def get(self, store_id: str, flag: str) -> dict[str, Any] | None: ...

    def list(self, store_id: str, status: str, now: datetime, limit: int = 100) -> list[dict[str, Any]]: ...


class Mailer(Protocol):
    def send(self, email: Email) -> str: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class Ports:
    stores: Stores
    digests: Digests
    insights: Counters  # the insights counters, read through functions.insights.report.build
    responses: Responses
    flags: Flags
    mailer: Mailer
    clock: Clock
    signing_key: Callable[[], bytes]
    base_url: str
