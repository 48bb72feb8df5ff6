"""What insights needs from the world, as narrow Protocols, and the ``Ports`` that carry them.

``functions.composition.insights_ports()`` builds the real ones (the Insights table and the four
source tables); tests may pass anything implementing the same Protocols.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from functions.insights.counting import Contribution, Source, WeekChange, WeekCounts
    from functions.shared.clock import Clock
    from functions.stores.models import Store


class Counters(Protocol):
    """The Insights table: weekly counters per store, and the markers that make each count happen once."""

    def apply(self, store_id: str, event_id: str, change: Contribution) -> bool: ...

    def weeks(self, store_id: str, first: date, last: date) -> tuple[list[WeekCounts], int]: ...

    def replace(self, store_id: str, weeks: Iterable[WeekChange], *, since: date) -> int: ...


class Stores(Protocol):
    def get(self, store_id: str, *, cached: bool = False) -> Store: ...


class Outreach(Protocol):
    def get(self, pk: str, sk: str) -> dict[str, Any] | None: ...

    def planned_in_month(self, store_id: str, month: str) -> Iterator[dict[str, Any]]: ...


class Responses(Protocol):
    def by_time(self, store_id: str, start: datetime, end: datetime, limit: int) -> list[dict[str, Any]]: ...


class Flags(Protocol):
    def every_flag(self, store_id: str) -> Sequence[dict[str, Any]]: ...


class Returns(Protocol):
    def every_request(self, store_id: str) -> Sequence[dict[str, Any]]: ...


@dataclass(frozen=True)
class Ports:
    insights: Counters
    stores: Stores
    outreach: Outreach
    responses: Responses
    flags: Flags
    returns: Returns
    clock: Clock
    sources: dict[str, Source]  # table name -> what its stream records are
