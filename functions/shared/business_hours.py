"""Business time: SLA deadlines that count only the hours a store's staff are at work.

A store may give opening periods per weekday and holidays (``functions.stores.models.BusinessHours``),
in its own timezone. Without them every hour counts (24/7) and these functions are plain arithmetic.

How a wall-clock period becomes real time, across daylight-saving changes: a period ``09:00-17:00`` of
a local date runs from the first instant the store's clock shows 09:00 that day to the first instant it
shows 17:00 (``24:00`` is the next midnight). So

* on a spring-forward day a time inside the gap (02:30 when clocks jump from 02:00 to 03:00) begins at
  the jump, and the day's open periods are as long as they really are (``00:00-04:00`` lasts 3 hours);
* on a fall-back day a repeated wall time is taken at its first occurrence, so ``00:00-04:00`` lasts
  5 hours: staff are there through the repeated hour;
* adjacent periods (``09:00-12:00`` and ``12:00-17:00``) join without a gap or an overlap.

Holidays are local dates, closed all day. A start outside opening hours begins counting at the next
opening. Pure functions: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

MAX_CLOSED_DAYS = 3 * 366  # this many closed days in a row: the hours never open (holidays cover them)
MAX_SCAN_DAYS = 20 * 366  # a deadline further away than this is refused rather than searched for
_ONE_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)


class OpeningHours(Protocol):
    """What these functions read of ``BusinessHours``: opening periods per weekday and closed dates."""

    @property
    def holidays(self) -> list[date]: ...

    def periods(self, weekday: int) -> list[tuple[int, int]]: ...


class NoBusinessTime(ValueError):
    """The opening hours give no (or not enough) open time within the searched span."""


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return moment.astimezone(UTC)


def _first_reaching(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) at which the local clock shows at least ``day`` + ``minutes``."""
    wall = datetime.combine(day, time()) + timedelta(minutes=minutes)
    earlier = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    later = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if earlier.astimezone(zone).replace(tzinfo=None) == wall:
        return min(earlier, later)  # exists: its first occurrence (both folds agree unless repeated)
    # Inside a spring-forward gap: the answer is the jump, between the two readings. Bisect to the second.
    low, high = min(earlier, later), max(earlier, later)
    while high - low > _SECOND:
        middle = low + (high - low) / 2
        middle -= timedelta(microseconds=middle.microsecond)
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high


def _open_intervals(
    hours: OpeningHours, zone: ZoneInfo, first_day: date, last_day: date | None = None
) -> Iterator[tuple[datetime, datetime] | None]:
    """Each local day's open intervals (UTC, in order) from ``first_day``; ``None`` for a closed day.

    Without ``last_day`` it gives up with ``NoBusinessTime`` after ``MAX_CLOSED_DAYS`` closed days in a
    row, or after ``MAX_SCAN_DAYS`` days.
    """
    holidays = frozenset(hours.holidays)
    weekly = [hours.periods(weekday) for weekday in range(7)]
    closed_in_a_row = 0
    for offset in range(MAX_SCAN_DAYS + 4):
        day = first_day + offset * _ONE_DAY
        if last_day is not None and day > last_day:
            return
        periods = [] if day in holidays else weekly[day.weekday()]
        spans = [(_first_reaching(day, s, zone), _first_reaching(day, e, zone)) for s, e in periods]
        spans = [(opens, closes) for opens, closes in spans if closes > opens]  # not in a skipped day
        closed_in_a_row = 0 if spans else closed_in_a_row + 1
        if last_day is None and closed_in_a_row >= MAX_CLOSED_DAYS:
            raise NoBusinessTime(f"the opening hours stay closed for {MAX_CLOSED_DAYS} days in a row")
        if spans:
            yield from spans
        else:
            yield None
    raise NoBusinessTime(f"no deadline within {MAX_SCAN_DAYS} days")


def _local_day(moment: datetime, zone: ZoneInfo) -> date:
    # A day early: a fall-back across midnight can put an instant of one date after the next one began.
    return moment.astimezone(zone).date() - _ONE_DAY


def add_business_time(
    start: datetime, duration: timedelta, hours: OpeningHours | None, timezone: str
) -> datetime:
    """``start`` plus ``duration`` of open time (in UTC); plain addition when ``hours`` is None.

    A deadline that falls exactly at a closing time is that closing time, not the next opening.
    Raises ``NoBusinessTime`` when the hours never open for long enough (see ``MAX_CLOSED_DAYS``).
    """
    begin = _aware(start, "start")
    if duration < timedelta(0):
        raise ValueError("duration must not be negative")
    if hours is None or duration == timedelta(0):
        return begin + duration
    zone = ZoneInfo(timezone)
    left = duration
    for interval in _open_intervals(hours, zone, _local_day(begin, zone)):
        if interval is None:
            continue
        opens, closes = max(interval[0], begin), interval[1]
        if closes <= opens:
            continue
        if left <= closes - opens:
            return opens + left
        left -= closes - opens
    raise NoBusinessTime("unreachable")  # _open_intervals raises first; this satisfies the type checker


def business_time_between(
    start: datetime, end: datetime, hours: OpeningHours | None, timezone: str
) -> timedelta:
    """Open time from ``start`` to ``end`` (negative when ``end`` is earlier): "time left" for a deadline.

    Plain subtraction when ``hours`` is None. Spans longer than ``MAX_SCAN_DAYS`` raise ``ValueError``.
    """
    first, last = _aware(start, "start"), _aware(end, "end")
    if last < first:
        return -business_time_between(last, first, hours, timezone)
    if hours is None:
        return last - first
    if last - first > MAX_SCAN_DAYS * _ONE_DAY:
        raise ValueError(f"business time is measured over at most {MAX_SCAN_DAYS} days")
    zone = ZoneInfo(timezone)
    total = timedelta(0)
    for interval in _open_intervals(
        hours, zone, _local_day(first, zone), _local_day(last, zone) + 2 * _ONE_DAY
    ):
        if interval is not None:
            total += max(timedelta(0), min(interval[1], last) - max(interval[0], first))
    return total
