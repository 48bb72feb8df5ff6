"""The insights report: a store's weekly figures over 4, 13 or 52 weeks, from its counters alone.

``build`` reads one query over the week range (every counter of a week lives in one item), so a 52-week
report reads at most 52 items whatever the number of answers. Weeks are ISO weeks (Monday start) in the
store's timezone; the current, partial week is the last one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from functions.insights import counting as c
from functions.insights.counting import WeekCounts, bucket_bound, week_of

if TYPE_CHECKING:
    from functions.insights.ports import Counters
    from functions.stores.models import Store

RANGES = (4, 13, 52)


class InvalidRange(ValueError):
    """A report over a number of weeks the page does not offer."""

    def __init__(self, weeks: object) -> None:
        super().__init__(f"weeks must be one of {', '.join(map(str, RANGES))}, not {weeks!r}")


def nps(promoters: int, passives: int, detractors: int) -> float | None:
    """Net Promoter Score: % promoters minus % detractors (-100 to 100); ``None`` without answers."""
    total = promoters + passives + detractors
    return round((promoters - detractors) * 100 / total, 1) if total else None


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _int(amount: Decimal) -> int:
    return int(amount)


def _ints(amounts: Mapping[str, Decimal]) -> dict[str, int]:
    return {name: int(amount) for name, amount in sorted(amounts.items()) if amount}


@dataclass(frozen=True)
class Week:
    start: date  # Monday, store timezone
    promoters: int
    passives: int
    detractors: int
    nps: float | None
    reviews: int
    average_stars: float | None
    sent: dict[str, int]  # requests sent, per email kind
    answered: dict[str, int]  # of those, answered (counted in the week they were sent)
    response_rate: dict[str, float | None]
    flags: dict[str, int]  # by reason
    returns: dict[str, int]  # by reason
    outcomes: dict[str, int]  # returns that reached a final state, by outcome
    refunded: Decimal  # in the store's currency
    reminders: dict[str, int] = field(default_factory=dict)  # reminder emails sent, per kind
    refunded_other: dict[str, Decimal] = field(default_factory=dict)  # other currencies, if any
    stars: int = 0  # the sum of the week's star ratings

    @property
    def total_sent(self) -> int:
        return sum(self.sent.values())

    @property
    def total_answered(self) -> int:
        return sum(self.answered.values())

    @property
    def overall_response_rate(self) -> float | None:
        return rate(self.total_answered, self.total_sent)

    @property
    def total_flags(self) -> int:
        return sum(self.flags.values())

    @property
    def total_returns(self) -> int:
        return sum(self.returns.values())

    @property
    def answers(self) -> int:
        return self.promoters + self.passives + self.detractors + self.reviews


def week_from(start: date, counts: WeekCounts | None, currency: str) -> Week:
    """One week's figures from its stored counters (an empty week when nothing was stored)."""
    found = counts or WeekCounts(start, {})
    promoters, passives, detractors = (
        _int(found.number(name)) for name in (c.NPS_PROMOTERS, c.NPS_PASSIVES, c.NPS_DETRACTORS)
    )
    reviews, stars = _int(found.number(c.STARS_COUNT)), found.number(c.STARS_SUM)
    sent, answered = _ints(found.named(c.SENT)), _ints(found.named(c.ANSWERED))
    refunds = {name: amount for name, amount in found.named(c.REFUNDED).items() if amount}
    return Week(
        start=start,
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        nps=nps(promoters, passives, detractors),
        reviews=reviews,
        average_stars=round(float(stars) / reviews, 2) if reviews else None,
        sent=sent,
        answered=answered,
        response_rate={kind: rate(answered.get(kind, 0), count) for kind, count in sent.items()},
        flags=_ints(found.named(c.FLAGS)),
        returns=_ints(found.named(c.RETURNS)),
        outcomes=_ints(found.named(c.OUTCOMES)),
        refunded=refunds.pop(currency, Decimal(0)),
        reminders=_ints(found.named(c.REMINDED)),
        refunded_other=refunds,
        stars=int(stars),
    )


@dataclass(frozen=True)
class Rated:
    """Average stars of one product or product type over the report's range."""

    key: str  # product id, or product type ("" when products had no type)
    name: str
    count: int
    average: float | None


def _products(weeks: Iterable[WeekCounts]) -> tuple[dict[str, Decimal], dict[str, str]]:
    """Packed totals per product id over the weeks, and each product's newest name."""
    totals: dict[str, Decimal] = {}
    names: dict[str, str] = {}
    for week in weeks:  # oldest first, so the newest name wins (the busiest one within a week)
        for suffix, amount in sorted(week.named(c.PRODUCT).items(), key=lambda item: item[1]):
            product_id, name = c.parse_product(suffix)
            totals[product_id] = totals.get(product_id, Decimal(0)) + amount
            names[product_id] = name or names.get(product_id) or product_id
    return totals, names


def _types(weeks: Iterable[WeekCounts]) -> tuple[dict[str, Decimal], dict[str, str]]:
    totals: dict[str, Decimal] = {}
    for week in weeks:
        for product_type, amount in week.named(c.PRODUCT_TYPE).items():
            totals[product_type] = totals.get(product_type, Decimal(0)) + amount
    return totals, {product_type: product_type for product_type in totals}


def rated(totals: dict[str, Decimal], names: dict[str, str]) -> list[Rated]:
    """Average stars per product (or type) from packed totals, most reviewed first, then by name."""
    found = []
    for key, total in totals.items():
        count, stars = c.unpack(total)
        if count > 0:
            found.append(Rated(key, names.get(key, key), count, round(stars / count, 2)))
    return sorted(found, key=lambda item: (-item.count, item.name.casefold(), item.key))


def percentile(histogram: list[int], share: float) -> timedelta | None:
    """The bucket bound that ``share`` of the replies took at most ("at most X"); ``None`` when none."""
    total = sum(histogram)
    if not total:
        return None
    wanted = max(1, math.ceil(share * total))
    seen = 0
    for index, count in enumerate(histogram):
        seen += count
        if seen >= wanted:
            return bucket_bound(index)
    return None


@dataclass(frozen=True)
class Report:
    store_id: str
    timezone: str
    currency: str
    weeks: list[Week]  # oldest first, one per week, the current (partial) week last
    products: list[Rated]
    product_types: list[Rated]
    first_reply_p50: timedelta | None  # at most this long ("None": no replies, or slower than every bound)
    first_reply_p90: timedelta | None
    sla: timedelta
    within_sla: float | None  # share of first replies sent before the flag's SLA deadline
    reads: int  # DynamoDB items read to build it
    replies: int = 0  # first replies in the range
    reply_histogram: list[int] = field(default_factory=list)  # per counting.BUCKETS bucket (+ slower)

    @property
    def first(self) -> date:
        return self.weeks[0].start

    @property
    def last(self) -> date:
        return self.weeks[-1].start

    def total(self, figure: str) -> int:
        """A count summed over the range: promoters, passives, detractors, reviews, total_sent..."""
        return sum(int(getattr(week, figure)) for week in self.weeks)

    def summed(self, figure: str) -> dict[str, int]:
        """A per-kind/reason figure (sent, answered, flags, returns, outcomes) summed over the range."""
        found: dict[str, int] = {}
        for week in self.weeks:
            for name, count in getattr(week, figure).items():
                found[name] = found.get(name, 0) + count
        return dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))

    @property
    def nps(self) -> float | None:
        return nps(self.total("promoters"), self.total("passives"), self.total("detractors"))

    @property
    def average_stars(self) -> float | None:
        reviews = self.total("reviews")
        return round(self.total("stars") / reviews, 2) if reviews else None

    @property
    def response_rate(self) -> dict[str, float | None]:
        answered = self.summed("answered")
        return {kind: rate(answered.get(kind, 0), sent) for kind, sent in sorted(self.summed("sent").items())}

    @property
    def overall_response_rate(self) -> float | None:
        return rate(self.total("total_answered"), self.total("total_sent"))

    @property
    def refunded(self) -> Decimal:
        return sum((week.refunded for week in self.weeks), Decimal(0))


def _histogram(weeks: Iterable[WeekCounts]) -> tuple[list[int], int, int]:
    buckets = [0] * (len(c.BUCKETS) + 1)
    replies = within = 0
    for week in weeks:
        for index, count in week.named(c.REPLY_BUCKET).items():
            if index.isdigit() and int(index) < len(buckets):
                buckets[int(index)] += int(count)
        replies += int(week.number(c.REPLIES))
        within += int(week.number(c.REPLIES_IN_SLA))
    return buckets, replies, within


def week_range(weeks: int, now: datetime, timezone: str) -> tuple[date, date]:
    """The first and last Monday of a report over ``weeks`` weeks ending with the current one."""
    if isinstance(weeks, bool) or weeks not in RANGES:
        raise InvalidRange(weeks)
    last = week_of(now, timezone)
    return last - timedelta(weeks=weeks - 1), last


def build(store: Store, weeks: int, now: datetime, insights: Counters) -> Report:
    """The report over the ``weeks`` weeks ending with the current one (``InvalidRange`` otherwise)."""
    config = store.config
    first, last = week_range(weeks, now, config.timezone)
    stored, reads = insights.weeks(store.id, first, last)
    stored = sorted(stored, key=lambda week: week.start)
    by_start = {week.start: week for week in stored}
    starts = [first + timedelta(weeks=index) for index in range(weeks)]
    histogram, replies, within = _histogram(stored)
    return Report(
        store_id=store.id,
        timezone=config.timezone,
        currency=config.currency,
        weeks=[week_from(start, by_start.get(start), config.currency) for start in starts],
        products=rated(*_products(stored)),
        product_types=rated(*_types(stored)),
        first_reply_p50=percentile(histogram, 0.5),
        first_reply_p90=percentile(histogram, 0.9),
        sla=config.alerts.sla,
        within_sla=rate(within, replies),
        reads=reads,
        replies=replies,
        reply_histogram=histogram,
    )
