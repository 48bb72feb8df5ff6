"""Counting: one source item's change becomes one atomic, exactly-once change of its store's counters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from functions.insights import counting
from functions.insights.counting import Contribution, Product, Source

if TYPE_CHECKING:
    from functions.insights.ports import Ports
    from functions.stores.models import Store


class Counted(StrEnum):
    """What processing one stream record came to (logged per record)."""

    COUNTED = "counted"
    NOTHING_TO_COUNT = "nothing to count"
    ALREADY_COUNTED = "already counted"  # a redelivered record: its marker exists
    UNKNOWN_STORE = "unknown store"


@dataclass(frozen=True)
class StoreFacts:
    """What counting needs to know about a store."""

    store_id: str
    timezone: str
    currency: str
    sla: timedelta

    @classmethod
    def of(cls, store: Store) -> StoreFacts:
        config = store.config
        return cls(store.id, config.timezone, config.currency, config.alerts.sla)


def product_of(answer: Mapping[str, Any], request: Mapping[str, Any] | None) -> Product | None:
    """The reviewed product: its name and type from the request the answer belongs to, if stored."""
    product_id = str(answer.get("product_id") or "")
    if not product_id:
        return None
    listed: Mapping[str, Any] = next(
        (p for p in (request or {}).get("products", []) if str(p.get("product_id")) == product_id), {}
    )
    name = str(listed.get("name") or answer.get("product_name") or product_id)
    return Product(product_id, name, str(listed.get("product_type") or ""))


def contribution(
    source: Source, item: Mapping[str, Any] | None, facts: StoreFacts, product: Product | None = None
) -> Contribution:
    """What one item, as stored, adds to the counters (nothing for ``None``: an item that is not there)."""
    if source is Source.RESPONSES:
        return counting.answer(item, facts.timezone, product)
    if source is Source.OUTREACH:
        return counting.outreach(item, facts.timezone)
    if source is Source.FLAGS:
        return counting.flag(item, facts.timezone, facts.sla)
    return counting.return_request(item, facts.timezone, facts.currency)


def _store_id(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> str:
    return str((new or {}).get("store_id") or (old or {}).get("store_id") or "")


def answer_product(
    answer: Mapping[str, Any], request: Callable[[str, str], Mapping[str, Any] | None]
) -> Product | None:
    """The product a review answer rates, its request found through ``request(order_id, outreach_id)``."""
    if answer.get("kind") != "review" or not answer.get("product_id"):
        return None
    return product_of(answer, request(str(answer.get("order_id")), str(answer.get("outreach_id") or "")))


def _product(source: Source, answer: Mapping[str, Any], ports: Ports) -> Product | None:
    """For a review answer: the product it rates, read from its request (one read per record)."""
    if source is not Source.RESPONSES:
        return None
    store_id = str(answer.get("store_id"))
    return answer_product(answer, lambda order, request: ports.outreach.get(f"{store_id}#{order}", request))


def count_change(
    source: Source,
    event_id: str,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    ports: Ports,
) -> Counted:
    """Move the counters by ``contribution(new) - contribution(old)``, once per ``event_id``."""
    from functions.shared.errors import NotFound

    store_id = _store_id(old, new)
    if not store_id:
        return Counted.NOTHING_TO_COUNT
    try:
        facts = StoreFacts.of(ports.stores.get(store_id, cached=True))
    except NotFound:
        return Counted.UNKNOWN_STORE
    product = _product(source, new or old or {}, ports)
    change = contribution(source, new, facts, product).minus(contribution(source, old, facts, product))
    if change.empty:
        return Counted.NOTHING_TO_COUNT
    if not ports.insights.apply(store_id, event_id, change):
        return Counted.ALREADY_COUNTED
    return Counted.COUNTED
