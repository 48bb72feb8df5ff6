from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.shared.clock import Clock, isoformat, parse_iso

pytestmark = pytest.mark.unit


def test_now_is_timezone_aware_utc() -> None:
    assert Clock().now().tzinfo is UTC


def test_advance_moves_time_forward_by_exactly_the_delta() -> None:
    clock = Clock()
    clock.freeze(datetime(2026, 1, 1, tzinfo=UTC))

    clock.advance(timedelta(days=14, hours=1))

    assert clock.now() == datetime(2026, 1, 15, 1, tzinfo=UTC)


def test_advance_on_a_running_clock_keeps_the_offset() -> None:
    clock = Clock()
    before = clock.now()

    clock.advance(timedelta(days=7))

    assert clock.now() - before >= timedelta(days=7)
    assert clock.offset == timedelta(days=7)


def test_the_clock_never_moves_backwards() -> None:
    with pytest.raises(ValueError, match="forward"):
        Clock().advance(timedelta(seconds=-1))


def test_freeze_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone"):
        Clock().freeze(datetime(2026, 1, 1))  # the point of the test


def test_reset_returns_to_wall_clock() -> None:
    clock = Clock()
    clock.advance(timedelta(days=3))
    clock.reset()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_iso_round_trip_is_sortable_text() -> None:
    at = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert isoformat(at) == "2026-03-04T05:06:07Z"
    assert parse_iso(isoformat(at)) == at
