"""The one place every part of Aftercare reads the current time from.

In production ``now()`` is the system clock. The embedded local stack (and tests) can move time
forward with :meth:`Clock.advance` or pin it with :meth:`Clock.freeze`, so a fortnight of review
requests can be exercised in seconds.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        """Current time, timezone-aware in UTC."""
        frozen = self._frozen
        if frozen is not None:
            return frozen
        return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> datetime:
        """Move time forward (never backwards) and return the new now."""
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        with self._lock:
            if self._frozen is not None:
                self._frozen += delta
            else:
                self._offset += delta
            return self.now()

    def freeze(self, at: datetime) -> None:
        """Pin time at ``at`` (tests); ``advance`` still moves it."""
        if at.tzinfo is None:
            raise ValueError("freeze needs a timezone-aware datetime")
        with self._lock:
            self._frozen = at.astimezone(UTC)

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta(0)
            self._frozen = None

    @property
    def offset(self) -> timedelta:
        """How far the clock is ahead of the wall clock (for the dev console)."""
        if self._frozen is not None:
            return self._frozen - datetime.now(UTC)
        return self._offset


clock = Clock()


def now() -> datetime:
    return clock.now()


def wall_now() -> datetime:
    """The real time, ignoring any simulated offset.

    Only for comparing with timestamps other parties produced from their own clocks (a webhook
    signature's timestamp): a simulated clock days ahead must not make every signature look stale.
    """
    return datetime.now(UTC)


def epoch_seconds(at: datetime | None = None) -> int:
    return int((at or clock.now()).timestamp())


def isoformat(at: datetime) -> str:
    """Canonical text form for timestamps stored in DynamoDB: UTC, seconds, sortable."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
