"""Business time: SLA deadlines count only the store's opening hours, in its timezone, across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from functions.shared.business_hours import (
    MAX_CLOSED_DAYS,
    NoBusinessTime,
    add_business_time,
    business_time_between,
)
from functions.stores.models import WEEKDAYS, BusinessHours

pytestmark = pytest.mark.unit

BERLIN = "Europe/Berlin"
OFFICE = BusinessHours.model_validate(
    {"weekly": {day: ["09:00-17:00"] for day in WEEKDAYS[:5]}, "holidays": ["2026-12-25"]}
)
H = timedelta(hours=1)


def local(zone: str, *parts: int, fold: int = 0) -> datetime:
    """Wall-clock time in ``zone`` (y, m, d[, h, min]; first occurrence unless ``fold``), as UTC."""
    year, month, day, hour, minute = (*parts, 0, 0)[:5]
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


def hours_of(weekly: dict[str, list[str]], holidays: list[str] | None = None) -> BusinessHours:
    return BusinessHours.model_validate({"weekly": weekly, "holidays": holidays or []})


# ------------------------------------------------------------------------------ what a store would notice


def test_a_friday_afternoon_answer_is_due_on_monday_morning() -> None:
    # Given an office open 09:00-17:00 on weekdays, When a 2-hour SLA starts on Friday at 16:00
    due = add_business_time(local(BERLIN, 2026, 11, 6, 16), 2 * H, OFFICE, BERLIN)
    # Then the reply is due on Monday at 10:00, Berlin time
    assert due == local(BERLIN, 2026, 11, 9, 10)


def test_a_start_outside_hours_begins_counting_at_the_next_opening() -> None:
    saturday_night = local(BERLIN, 2026, 11, 7, 23, 30)
    assert add_business_time(saturday_night, 30 * timedelta(minutes=1), OFFICE, BERLIN) == local(
        BERLIN, 2026, 11, 9, 9, 30
    )
    early_monday = local(BERLIN, 2026, 11, 9, 6)
    assert add_business_time(early_monday, 8 * H, OFFICE, BERLIN) == local(BERLIN, 2026, 11, 9, 17)


def test_a_deadline_at_closing_time_stays_at_closing_time() -> None:
    assert add_business_time(local(BERLIN, 2026, 11, 6, 15), 2 * H, OFFICE, BERLIN) == local(
        BERLIN, 2026, 11, 6, 17
    )


def test_holidays_are_closed_all_day() -> None:
    # Christmas 2026 is a Friday: Thursday 16:00 + 2 hours skips it
    due = add_business_time(local(BERLIN, 2026, 12, 24, 16), 2 * H, OFFICE, BERLIN)
    assert due == local(BERLIN, 2026, 12, 28, 10)
    christmas = (local(BERLIN, 2026, 12, 25, 0), local(BERLIN, 2026, 12, 26, 0))
    assert business_time_between(*christmas, OFFICE, BERLIN) == timedelta(0)


def test_periods_split_by_lunch_and_running_to_midnight() -> None:
    hours = hours_of(
        {"monday": ["09:00-12:00", "13:00-17:00"], "friday": ["20:00-24:00"], "saturday": ["00:00-02:00"]}
    )
    assert add_business_time(local(BERLIN, 2026, 11, 2, 11), 2 * H, hours, BERLIN) == local(
        BERLIN, 2026, 11, 2, 14
    )
    # 24:00 ends at midnight, and Saturday 00:00 carries straight on
    assert add_business_time(local(BERLIN, 2026, 11, 6, 23), 2 * H, hours, BERLIN) == local(
        BERLIN, 2026, 11, 7, 1
    )
    adjacent = hours_of({"monday": ["09:00-12:00", "12:00-17:00"]})
    assert (
        business_time_between(local(BERLIN, 2026, 11, 2, 0), local(BERLIN, 2026, 11, 3, 0), adjacent, BERLIN)
        == 8 * H
    )


def test_a_day_of_opening_hours_is_as_long_as_the_clocks_make_it() -> None:
    always = hours_of({day: ["00:00-24:00"] for day in WEEKDAYS})
    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)  # Berlin's changes in 2026 (Sundays)
    for day, length in ((spring, 23 * H), (autumn, 25 * H)):
        start = local(BERLIN, day.year, day.month, day.day)
        end = local(BERLIN, *(day + timedelta(days=1)).timetuple()[:3])
        assert business_time_between(start, end, always, BERLIN) == length
    # a period that begins inside the skipped hour begins when the clocks jump
    night = hours_of({"sunday": ["02:30-04:00"]})
    assert add_business_time(local(BERLIN, 2026, 3, 29, 0), H, night, BERLIN) == local(BERLIN, 2026, 3, 29, 4)
    # on the night the clocks go back, the repeated hour is worked: 00:00-04:00 lasts five hours
    autumn_night = hours_of({"sunday": ["00:00-04:00"]})
    assert (
        business_time_between(
            local(BERLIN, 2026, 10, 25, 0), local(BERLIN, 2026, 10, 26, 0), autumn_night, BERLIN
        )
        == 5 * H
    )
    assert add_business_time(local(BERLIN, 2026, 10, 25, 0), 3 * H, autumn_night, BERLIN) == local(
        BERLIN, 2026, 10, 25, 2, fold=1
    )


def test_new_york_office_hours_keep_their_local_time_across_the_change() -> None:
    ny = "America/New_York"
    office = hours_of({day: ["09:00-17:00"] for day in WEEKDAYS[:5]})
    # Friday before the March 2026 change, 16:00 + 2 h: Monday 10:00 EDT (14:00 UTC, no longer 15:00)
    due = add_business_time(local(ny, 2026, 3, 6, 16), 2 * H, office, ny)
    assert due == datetime(2026, 3, 9, 14, tzinfo=UTC)


def test_without_business_hours_every_hour_counts() -> None:
    start = local(BERLIN, 2026, 3, 28, 22)
    assert add_business_time(start, 24 * H, None, BERLIN) == start + 24 * H
    assert business_time_between(start, start + 5 * H, None, BERLIN) == 5 * H


def test_time_left_is_negative_once_the_deadline_has_passed() -> None:
    monday_10, tuesday_10 = local(BERLIN, 2026, 11, 9, 10), local(BERLIN, 2026, 11, 10, 10)
    assert business_time_between(monday_10, tuesday_10, OFFICE, BERLIN) == 8 * H
    assert business_time_between(tuesday_10, monday_10, OFFICE, BERLIN) == -8 * H


def test_hours_closed_for_three_years_are_refused_rather_than_searched_forever() -> None:
    # Given a store open on Mondays only, with every Monday a holiday for more than three years
    first_monday = date(2026, 11, 2)
    mondays = [first_monday + timedelta(weeks=n) for n in range(MAX_CLOSED_DAYS // 7 + 2)]
    closed = BusinessHours.model_validate({"weekly": {"monday": ["09:00-17:00"]}, "holidays": mondays})
    with pytest.raises(NoBusinessTime, match="closed for"):
        add_business_time(local(BERLIN, 2026, 11, 1, 12), H, closed, BERLIN)
    # while two years of holidays only push the deadline out
    two_years = BusinessHours.model_validate(
        {"weekly": {"monday": ["09:00-17:00"]}, "holidays": mondays[:104]}
    )
    due = add_business_time(local(BERLIN, 2026, 11, 1, 12), H, two_years, BERLIN)
    assert due == local(BERLIN, *(first_monday + timedelta(weeks=104)).timetuple()[:3], 10)


def test_naive_times_and_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(datetime(2026, 11, 2, 9), H, OFFICE, BERLIN)
    with pytest.raises(ValueError, match="negative"):
        add_business_time(local(BERLIN, 2026, 11, 2, 9), -H, OFFICE, BERLIN)
    with pytest.raises(ValueError, match="at most"):
        start = local(BERLIN, 2026, 11, 2, 9)
        business_time_between(start, start + timedelta(days=30 * 366), OFFICE, BERLIN)


# ------------------------------------------------------------------------------ properties

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",  # changes at midnight
    "America/Havana",  # changes at midnight
    "Australia/Lord_Howe",  # a 30-minute change
    "Pacific/Apia",  # skipped 30 December 2011 entirely
    "Asia/Tehran",
    "Asia/Kathmandu",
    "Africa/Casablanca",
    "Asia/Tbilisi",
    "Asia/Almaty",
]


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def opening_hours(draw: Any, start: date) -> BusinessHours:
    weekly: dict[str, list[str]] = {}
    for day in WEEKDAYS:
        cuts = sorted(draw(st.sets(st.integers(0, 1440), max_size=6)))
        pairs = list(zip(cuts[::2], cuts[1::2], strict=False))
        if pairs:
            weekly[day] = [f"{_clock(a)}-{_clock(b)}" for a, b in pairs]
    assume(weekly)
    holidays = draw(st.lists(st.integers(-3, 60).map(lambda n: start + timedelta(days=n)), max_size=12))
    return BusinessHours.model_validate({"weekly": weekly, "holidays": holidays})


def _open_minutes_a_week(hours: BusinessHours) -> int:
    return sum(end - start for day in range(7) for start, end in hours.periods(day))


@st.composite
def cases(draw: Any) -> tuple[datetime, BusinessHours, str]:
    start = draw(
        st.datetimes(datetime(2010, 1, 1), datetime(2030, 12, 31), timezones=st.just(UTC))
        | st.sampled_from(  # and around some awkward days
            [
                datetime(2011, 12, 29, 10, tzinfo=UTC),
                datetime(2026, 3, 28, 23, tzinfo=UTC),
                datetime(2026, 10, 24, 23, 30, tzinfo=UTC),
                datetime(2026, 3, 8, 6, tzinfo=UTC),
                datetime(2026, 4, 4, 3, tzinfo=UTC),
            ]
        )
    )
    zone = draw(st.sampled_from(ZONES))
    hours = draw(opening_hours(start.astimezone(ZoneInfo(zone)).date()))
    return start, hours, zone


def durations(hours: BusinessHours) -> st.SearchStrategy[timedelta]:
    """Up to ten weeks of this store's opening time, to the microsecond."""
    most = timedelta(minutes=10 * _open_minutes_a_week(hours))
    return st.timedeltas(timedelta(0), most)


PROPERTY = settings(max_examples=250, derandomize=True, deadline=None)


@PROPERTY
@given(cases(), st.data())
def test_measuring_the_time_to_a_deadline_gives_back_the_duration(case: Any, data: st.DataObject) -> None:
    start, hours, zone = case
    duration = data.draw(durations(hours))
    due = add_business_time(start, duration, hours, zone)
    assert due >= start
    assert business_time_between(start, due, hours, zone) == duration
    if duration:  # and the deadline is the first moment that much open time has passed
        assert business_time_between(start, due - timedelta(microseconds=1), hours, zone) < duration


@PROPERTY
@given(cases(), st.data())
def test_a_longer_sla_is_never_due_earlier(case: Any, data: st.DataObject) -> None:
    start, hours, zone = case
    shorter, longer = sorted([data.draw(durations(hours)), data.draw(durations(hours))])
    assert add_business_time(start, shorter, hours, zone) <= add_business_time(start, longer, hours, zone)


@PROPERTY
@given(cases(), st.timedeltas(timedelta(0), timedelta(days=400)))
def test_without_hours_business_time_is_plain_time(case: Any, duration: timedelta) -> None:
    start, _, zone = case
    assert add_business_time(start, duration, None, zone) == start + duration
    assert business_time_between(start, start + duration, None, zone) == duration


@PROPERTY
@given(
    cases(), st.timedeltas(timedelta(0), timedelta(days=20)), st.timedeltas(timedelta(0), timedelta(days=20))
)
def test_open_time_adds_up_over_consecutive_spans(case: Any, first: timedelta, second: timedelta) -> None:
    start, hours, zone = case
    middle, end = start + first, start + first + second
    whole = business_time_between(start, end, hours, zone)
    assert whole == business_time_between(start, middle, hours, zone) + business_time_between(
        middle, end, hours, zone
    )
    assert timedelta(0) <= whole <= end - start


# ---------------------------------------------------------------------------- where flags get their deadline


def _store(**config: Any) -> Any:
    from types import SimpleNamespace

    from functions.stores.models import StoreConfig
    from tests.helpers import minimal_store_config

    return SimpleNamespace(id="acme", config=StoreConfig.model_validate({**minimal_store_config(), **config}))


def test_a_flags_deadline_counts_the_stores_business_hours() -> None:
    from functions.flags.flagging import sla_deadline

    friday_4pm = local(BERLIN, 2026, 11, 6, 16)
    office = {"weekly": {day: ["09:00-17:00"] for day in WEEKDAYS[:5]}}
    store = _store(timezone=BERLIN, business_hours=office, alerts={"sla": "PT4H"})
    assert sla_deadline(store, friday_4pm) == local(BERLIN, 2026, 11, 9, 12)
    assert sla_deadline(_store(alerts={"sla": "PT4H"}), friday_4pm) == friday_4pm + 4 * H  # 24/7


def test_hours_that_never_open_make_the_sla_count_every_hour_rather_than_never_escalate() -> None:
    from functions.flags.flagging import sla_deadline

    mondays = [date(2026, 11, 2) + timedelta(weeks=n) for n in range(MAX_CLOSED_DAYS // 7 + 2)]
    closed = {"weekly": {"monday": ["09:00-17:00"]}, "holidays": [str(day) for day in mondays]}
    store = _store(timezone=BERLIN, business_hours=closed, alerts={"sla": "PT4H"})
    start = local(BERLIN, 2026, 11, 1, 12)
    assert sla_deadline(store, start) == start + 4 * H
