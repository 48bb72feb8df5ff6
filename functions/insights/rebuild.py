"""Recompute a store's counters from the source tables (``aftercare insights rebuild``).

The counters are the sum of every stored item's contribution (``functions.insights.counting``), which
is what this computes, then writes in place of the stored counters: running it twice leaves what one
run leaves, and it agrees with incremental counting. It reads:

* Outreach through the ``by_store`` index, month by month (``OutreachQueue.planned_in_month``);
* Responses through the ``by_store_time`` index, month by month;
* Flags by their partition (``pk = store id``);
* Returns by a paginated Scan filtered on the store: the table has no per-store index and this offline,
  operator-run rebuild is its only reader that needs one (see the notes in docs).

Counts only what the tables still hold: items leave them after the store's ``retention`` (TTL, decision
81). So it rebuilds only the weeks whose data is all still there (those starting after the shortest
retention, counted back from now) and leaves older weeks' counters as incremental counting left them:
insights keep their counts after the answers are gone (decision 84).
Stream records that arrive while it runs may be lost or counted twice; run it when the store is quiet.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from functions.insights.counting import Contribution, Product, Source, week_of
from functions.insights.service import StoreFacts, answer_product, contribution
from functions.shared import clock

if TYPE_CHECKING:
    from functions.insights.ports import Ports
    from functions.stores.models import Store

LOOK_BACK = timedelta(days=760)  # at least this far back, or to the store's start
EVERY_ANSWER = 10**9  # no limit: a month's answers are all read


@dataclass(frozen=True)
class Rebuilt:
    store_id: str
    weeks: int
    requests: int
    answers: int
    flags: int
    returns: int
    writes: int
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "store_id": self.store_id,
            "weeks": self.weeks,
            "read": {
                "requests": self.requests,
                "answers": self.answers,
                "flags": self.flags,
                "returns": self.returns,
            },
            "writes": self.writes,
            "seconds": round(self.seconds, 3),
        }


def months(since: datetime, until: datetime) -> list[str]:
    """Every ``YYYY-MM`` (UTC) from ``since`` to ``until``, oldest first."""
    found = []
    year, month = since.year, since.month
    while (year, month) <= (until.year, until.month):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
    return found


def month_span(month: str) -> tuple[datetime, datetime]:
    """The first and the last second of a month (UTC)."""
    year, number = int(month[:4]), int(month[5:7])
    start = datetime(year, number, 1, tzinfo=UTC)
    following = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, following - timedelta(seconds=1)


def complete_since(store: Store, now: datetime) -> date:
    """The first week (its Monday, in the store's timezone) whose source items no retention has deleted:
    the week after the one the shortest of the store's retention lengths reaches back to."""
    kept = store.config.retention
    shortest = min(kept.orders, kept.answers, kept.returns)
    return week_of(now - shortest, store.config.timezone) + timedelta(days=7)


def _since(store: Store, now: datetime) -> datetime:
    created = clock.parse_iso(store.created_at) if store.created_at else now
    return min(created, now - LOOK_BACK)


@dataclass
class _Tally:
    total: Contribution
    facts: StoreFacts
    read: dict[str, int]

    def count(self, source: Source, item: Mapping[str, Any], product: Product | None = None) -> None:
        self.total.merge(contribution(source, item, self.facts, product))
        self.read[source.value] = self.read.get(source.value, 0) + 1


def _requests(store: Store, spans: list[str], ports: Ports, tally: _Tally) -> dict[tuple[str, str], Any]:
    known: dict[tuple[str, str], Any] = {}
    for month in spans:
        for item in ports.outreach.planned_in_month(store.id, month):
            known[(str(item.get("order_id")), str(item.get("outreach_id")))] = item
            tally.count(Source.OUTREACH, item)
    return known


def _answers(store: Store, spans: list[str], ports: Ports, tally: _Tally, known: dict[Any, Any]) -> None:
    def request(order_id: str, outreach_id: str) -> Mapping[str, Any] | None:
        if (order_id, outreach_id) not in known:  # planned before the history index: read it directly
            known[(order_id, outreach_id)] = ports.outreach.get(f"{store.id}#{order_id}", outreach_id)
        found: Mapping[str, Any] | None = known[(order_id, outreach_id)]
        return found

    for month in spans:
        start, end = month_span(month)
        for answer in ports.responses.by_time(store.id, start, end, EVERY_ANSWER):
            tally.count(Source.RESPONSES, answer, answer_product(answer, request))


def rebuild(store: Store, ports: Ports) -> Rebuilt:
    """Recompute every counter of ``store`` from the source tables and store them in place of the old."""
    started = time.perf_counter()
    now = ports.clock.now()
    spans = months(_since(store, now), now)
    tally = _Tally(Contribution(), StoreFacts.of(store), {})
    known = _requests(store, spans, ports, tally)
    _answers(store, spans, ports, tally, known)
    for flag in ports.flags.every_flag(store.id):
        tally.count(Source.FLAGS, flag)
    for request in ports.returns.every_request(store.id):
        tally.count(Source.RETURNS, request)
    complete = complete_since(store, now)
    weeks = {start: week for start, week in tally.total.weeks().items() if start >= complete}
    writes = ports.insights.replace(store.id, weeks.values(), since=complete)
    read = tally.read
    return Rebuilt(
        store_id=store.id,
        weeks=len(weeks),
        requests=read.get(Source.OUTREACH.value, 0),
        answers=read.get(Source.RESPONSES.value, 0),
        flags=read.get(Source.FLAGS.value, 0),
        returns=read.get(Source.RETURNS.value, 0),
        writes=writes,
        seconds=time.perf_counter() - started,
    )
