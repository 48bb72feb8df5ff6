"""What each stored item contributes to its store's weekly counters, and what a change to it moves.

Every source item (an answer, an outreach request, a flag, a return request) maps to a *contribution*:
amounts added to named counters of the store's weeks (ISO weeks, Monday start, in the store's
timezone). A stream record moves ``contribution(new image) - contribution(old image)``, so a changed
answer takes its old stars out and puts its new stars in, and the counters always equal the sum of the
contributions of the items as they are now. ``aftercare insights rebuild`` sums the same contributions
from the source tables, so a rebuild and incremental counting agree by construction.

Pure: no AWS here. ``functions.insights.store`` writes the counters; ``report`` reads them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from functions.shared import clock

# ------------------------------------------------------------------------------ counter names
# One item per store and week holds every counter of that week as a top-level number attribute.
NPS_PROMOTERS, NPS_PASSIVES, NPS_DETRACTORS = "nps_p", "nps_a", "nps_d"
STARS_COUNT, STARS_SUM = "st_n", "st_s"
# Per product and per product type, one *packed* number: reviews * PACK + stars (see ``pack``), so a week
# item holds one attribute per product, whose name also carries the product's name (``product_key``).
PRODUCT = "p"  # + "#<len(id)>:<id><name>"
PRODUCT_TYPE = "t"  # + "#<product type>" ("" when the product has no type)
PACK = 2**32  # stars of one product in a report's range stay far below this
SENT, REMINDED, ANSWERED = "sent", "rem", "rq"  # + "#<email kind>"
FLAGS = "fl"  # + "#<reason>"
REPLIES, REPLIES_IN_SLA, REPLY_BUCKET = "fr_n", "fr_in", "fr"  # REPLY_BUCKET + "#<bucket index>"
RETURNS, OUTCOMES = "rt", "ro"  # + "#<reason>" / "#<outcome>"
REFUNDED = "rf"  # + "#<currency>"

# Time to first reply: fixed upper bounds (seconds). Bucket i holds replies that took at most
# BUCKETS[i] (and more than BUCKETS[i-1]); the last bucket, index len(BUCKETS), holds anything slower.
BUCKETS: tuple[int, ...] = (
    15 * 60,
    30 * 60,
    3600,
    2 * 3600,
    4 * 3600,
    8 * 3600,
    12 * 3600,
    86400,
    2 * 86400,
    3 * 86400,
    7 * 86400,
    14 * 86400,
    30 * 86400,
)
COUNTER_RETENTION = timedelta(days=3 * 365)  # a week's counters expire this long after the week starts
MAX_LABEL = 200  # reasons and product ids longer than this are cut (they name a counter)


class Source(StrEnum):
    """The table a stream record or a rebuilt item comes from."""

    RESPONSES = "responses"
    OUTREACH = "outreach"
    FLAGS = "flags"
    RETURNS = "returns"


def key(prefix: str, name: str) -> str:
    """A counter of one product, kind, reason...: ``<prefix>#<name>``."""
    return f"{prefix}#{name[:MAX_LABEL]}"


def week_of(moment: datetime, timezone: str) -> date:
    """The Monday (in the store's timezone) of the ISO week ``moment`` falls in."""
    local = moment.astimezone(ZoneInfo(timezone)).date()
    return local - timedelta(days=local.weekday())


def pack(reviews: int, stars: int | Decimal) -> Decimal:
    """Reviews and their stars as one number one atomic ``ADD`` moves together."""
    return Decimal(reviews) * PACK + Decimal(stars)


def unpack(value: Decimal) -> tuple[int, int]:
    """(reviews, stars) of a packed total (a sum of packed numbers is the packed sum)."""
    reviews, stars = divmod(int(value), PACK)
    return reviews, stars


def product_key(product_id: str, name: str) -> str:
    """The counter of a product: ``p#<length of id>:<id><name>`` (any characters in either)."""
    product_id, name = product_id[:MAX_LABEL], name[:MAX_LABEL]
    return f"{PRODUCT}#{len(product_id)}:{product_id}{name}"


def parse_product(suffix: str) -> tuple[str, str]:
    """(product id, name) from what follows ``p#`` in a product counter's name."""
    length, _, rest = suffix.partition(":")
    size = int(length) if length.isdigit() else len(rest)
    return rest[:size], rest[size:]


def bucket_of(seconds: float) -> int:
    """The histogram bucket of a time to first reply."""
    return next((index for index, bound in enumerate(BUCKETS) if seconds <= bound), len(BUCKETS))


def bucket_bound(index: int) -> timedelta | None:
    """A bucket's upper bound (``None`` for the last bucket: slower than every bound)."""
    return timedelta(seconds=BUCKETS[index]) if index < len(BUCKETS) else None


# ------------------------------------------------------------------------------ contributions


@dataclass
class Contribution:
    """Amounts per (week, counter)."""

    counts: dict[tuple[date, str], Decimal] = field(default_factory=dict)

    def add(self, week: date, counter: str, amount: int | Decimal = 1) -> None:
        self.counts[(week, counter)] = self.counts.get((week, counter), Decimal(0)) + Decimal(amount)

    def merge(self, other: Contribution) -> None:
        for (week, counter), amount in other.counts.items():
            self.add(week, counter, amount)

    def minus(self, old: Contribution) -> Contribution:
        """What turns ``old`` into this one: the counters that differ."""
        change = Contribution()
        for week_counter in self.counts.keys() | old.counts.keys():
            amount = self.counts.get(week_counter, Decimal(0)) - old.counts.get(week_counter, Decimal(0))
            if amount:
                change.counts[week_counter] = amount
        return change

    @property
    def empty(self) -> bool:
        return not self.counts

    def weeks(self) -> dict[date, WeekChange]:
        """The change split per week (one counter item each)."""
        found: dict[date, WeekChange] = {}
        for (week, counter), amount in self.counts.items():
            found.setdefault(week, WeekChange(week)).counts[counter] = amount
        return found


@dataclass
class WeekChange:
    """What to add to one week's counters."""

    start: date
    counts: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class WeekCounts:
    """One week's stored counters, as the report reads them."""

    start: date
    counts: Mapping[str, Decimal]

    def number(self, counter: str) -> Decimal:
        return self.counts.get(counter, Decimal(0))

    def named(self, prefix: str) -> dict[str, Decimal]:
        """Every ``<prefix>#<name>`` counter of the week, by name."""
        head = prefix + "#"
        return {name[len(head) :]: amount for name, amount in self.counts.items() if name.startswith(head)}


@dataclass(frozen=True)
class Product:
    """What an answer's review is about, for the per-product and per-type counters."""

    product_id: str
    name: str
    product_type: str  # "" when unknown


def _moment(item: Mapping[str, Any], *names: str) -> datetime | None:
    for name in names:
        value = item.get(name)
        if value:
            return clock.parse_iso(str(value))
    return None


def nps_group(score: int) -> str:
    """Promoter (9-10), passive (7-8) or detractor (0-6)."""
    if score >= 9:
        return NPS_PROMOTERS
    return NPS_PASSIVES if score >= 7 else NPS_DETRACTORS


def answer(item: Mapping[str, Any] | None, timezone: str, product: Product | None) -> Contribution:
    """An answer counts in the week it was first given: NPS group, or stars (overall, product, type)."""
    found = Contribution()
    if not item or "score" not in item or not item.get("store_id"):
        return found
    at = _moment(item, "first_responded_at", "responded_at")
    if at is None:
        return found
    week, score = week_of(at, timezone), int(item["score"])
    if item.get("kind") == "nps" and 0 <= score <= 10:
        found.add(week, nps_group(score))
    elif item.get("kind") == "review" and 1 <= score <= 5:
        found.add(week, STARS_COUNT)
        found.add(week, STARS_SUM, score)
        if product is not None:
            found.add(week, product_key(product.product_id, product.name), pack(1, score))
            found.add(week, key(PRODUCT_TYPE, product.product_type), pack(1, score))
    return found


def outreach(item: Mapping[str, Any] | None, timezone: str) -> Contribution:
    """A sent request counts in the week it was sent; an answered one also counts as answered there.

    Answered requests are counted in the week the request was *sent* (a cohort), so a week's response
    rate is the share of that week's requests that got an answer, never above 100%.
    """
    found = Contribution()
    if not item or item.get("status") != "sent":
        return found
    sent_at = _moment(item, "sent_at")
    if sent_at is None:
        return found
    week, kind = week_of(sent_at, timezone), str(item.get("kind") or "review")
    if item.get("reminder_of"):
        found.add(week, key(REMINDED, kind))
        return found
    found.add(week, key(SENT, kind))
    if item.get("answered_at"):
        found.add(week, key(ANSWERED, kind))
    return found


def flag_reason(flag: Mapping[str, Any]) -> str:
    """The flag's main reason, as a category: the first reason flagging wrote (score, words, tone).

    The reasons are ``functions.flags.evaluate``'s own sentences; a unit test runs that code so a new
    wording cannot drift from these categories unnoticed.
    """
    reasons = list(flag.get("reasons") or [])
    first = str(reasons[0]) if reasons else ""
    if " of 5 stars" in first:
        return "low_stars"
    if first.startswith("NPS "):
        return "detractor"
    if first.startswith("mentions "):
        return "keyword"
    if first.startswith("negative text"):
        return "negative_text"
    return "other"


def _reply_seconds(flag: Mapping[str, Any], created: datetime, replied: datetime) -> float:
    took = flag.get("seconds_to_first_reply")
    return float(took) if took is not None else (replied - created).total_seconds()


def flag(item: Mapping[str, Any] | None, timezone: str, sla: timedelta) -> Contribution:
    """A flag counts by reason in the week it was raised; its first reply (time, within SLA) too."""
    found = Contribution()
    created = _moment(item or {}, "created_at")
    if not item or created is None or not item.get("store_id"):
        return found
    week = week_of(created, timezone)
    found.add(week, key(FLAGS, flag_reason(item)))
    replied = _moment(item, "first_reply_at")
    if replied is not None:
        found.add(week, REPLIES)
        found.add(week, key(REPLY_BUCKET, str(bucket_of(_reply_seconds(item, created, replied)))))
        deadline = _moment(item, "sla_deadline") or created + sla
        if replied <= deadline:
            found.add(week, REPLIES_IN_SLA)
    return found


# A return's final status -> its outcome counter ("completed" counts as what the customer got).
FINAL_OUTCOMES: dict[str, str | None] = {
    "completed": None,
    "refused": "refused",
    "expired": "expired",
    "rejected": "rejected",
    "closed: item not received": "not_received",
    "closed: not refunded": "not_refunded",
    "closed: settled by staff": "settled",
    "failed: workflow error": "error",
}


def return_request(item: Mapping[str, Any] | None, timezone: str, currency: str) -> Contribution:
    """A return counts by reason in the week it was requested, by outcome once final (same week), and
    its refund, once confirmed, in the week it was refunded (in the request's currency)."""
    found = Contribution()
    requested = _moment(item or {}, "requested_at")
    if not item or item.get("sk") != "RETURN" or requested is None:
        return found
    week = week_of(requested, timezone)
    found.add(week, key(RETURNS, str(item.get("reason") or "")))
    status = str(item.get("status") or "")
    if status in FINAL_OUTCOMES:
        found.add(week, key(OUTCOMES, FINAL_OUTCOMES[status] or str(item.get("outcome") or "refund")))
    refunded = _moment(item, "refunded_at")
    if item.get("refund_status") == "done" and refunded is not None:
        amount = Decimal(str(item.get("amount") or "0"))
        found.add(week_of(refunded, timezone), key(REFUNDED, str(item.get("currency") or currency)), amount)
    return found


def expires_at(week: date) -> int:
    """When a week's counter item leaves the table (TTL, epoch seconds)."""
    start = datetime(week.year, week.month, week.day, tzinfo=ZoneInfo("UTC"))
    return math.floor((start + COUNTER_RETENTION).timestamp())
