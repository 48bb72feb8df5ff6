"""What the survey page needs, handed in by ``functions.composition.response_ports``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from functions.responses.store import Answer
    from functions.stores.models import Store


class StoreDirectory(Protocol):
    def get(self, store_id: str, *, cached: bool = False) -> Store: ...


class OutreachRequests(Protocol):
    """The outreach owner: the request a link belongs to, and the note that it was answered."""

    def get(self, pk: str, sk: str) -> dict[str, Any] | None: ...

    def mark_answered(self, pk: str, outreach_id: str, at: datetime) -> None: ...


class Answers(Protocol):
    def get(self, store_id: str, order_id: str, sk: str) -> dict[str, Any] | None: ...

    def record(self, answer: Answer, at: datetime, *, keep: timedelta) -> bool: ...


class Now(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class Ports:
    stores: StoreDirectory
    outreach: OutreachRequests
    responses: Answers
    signing_key: bytes
    clock: Now
