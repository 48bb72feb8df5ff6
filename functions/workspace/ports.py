"""What the workspace needs from the world, as narrow Protocols, and the ``Ports`` that carry them.

``functions.composition.workspace_ports()`` builds the real ones (the Stores, Workspace, Flags and
Returns tables, SES, the clock, the signing key).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from functions.shared.email import Email
    from functions.stores.models import ConfigChange, Store


class Stores(Protocol):
    def get(self, store_id: str, *, cached: bool = False) -> Store: ...

    def history(self, store_id: str, limit: int = 50) -> list[ConfigChange]: ...


class Workspace(Protocol):
    """The Workspace table: used sign-in links, sign-in rate windows, signed-out sessions."""

    def sign_out(self, store_id: str, session_id: str, until: datetime) -> None: ...

    def is_signed_out(self, store_id: str, session_id: str) -> bool: ...

    def use_sign_in_link(
        self, store_id: str, token_id: str, session_id: str, link_expires: datetime
    ) -> bool: ...

    def sign_in_link_used(self, store_id: str, token_id: str) -> bool: ...

    def count_sign_in_request(
        self, store_id: str, email: str, window_start: datetime, window: timedelta, limit: int
    ) -> bool: ...


class Flags(Protocol):
    def get(self, store_id: str, flag: str) -> dict[str, Any] | None: ...

    def list(self, store_id: str, status: str, now: datetime, limit: int = 100) -> list[dict[str, Any]]: ...


class Returns(Protocol):
    def get(self, store_id: str, return_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]: ...

    def needing_attention(self, store_id: str, limit: int = 50) -> list[dict[str, Any]]: ...


class Mailer(Protocol):
    def send(self, email: Email) -> str: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class Ports:
    stores: Stores
    workspace: Workspace
    flags: Flags
    returns: Returns
    mailer: Mailer
    clock: Clock
    signing_key: Callable[[], bytes]  # read on first use (Secrets Manager)
    base_url: str  # where people reach Aftercare's pages
