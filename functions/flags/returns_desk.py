"""The returns owner as the flags capability sees it (``ports.Returns``): start an offer, read it back."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from functions.returns.ports import Ports as ReturnPorts
    from functions.returns.service import Requested, Started
    from functions.stores.models import Store


class ReturnsDesk:
    """Starts returns through the returns service with its own ports (built only when an offer is made)."""

    def __init__(self, returns_ports: Callable[[], ReturnPorts]) -> None:
        self.returns_ports = returns_ports

    def start(self, store: Store, requested: Requested, actor: str) -> Started:
        from functions.returns.service import start

        return start(store, requested, self.returns_ports(), actor)

    def get(self, store_id: str, return_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        return self.returns_ports().returns.get(store_id, return_id)
