"""Which digest is due: ISO weeks in the store's timezone and the Monday 09:00 send time.

A store's digest of ISO week W (in its timezone) is due from Monday 09:00 of W, local time, until the
week ends; it reports the week before (W-1, Monday to Sunday) against the one before that (W-2). The
hourly schedule sends it at its first run at or after that moment, so a missed run still sends later
that week. A store created after its week's send time gets its first digest the next Monday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SEND_AT = time(9, 0)  # Monday, the store's local time


@dataclass(frozen=True)
class DigestWeek:
    """The week a digest is sent in, and the week it reports."""

    monday: date  # of the sending week, store timezone
    timezone: str

    @classmethod
    def of(cls, moment: datetime, timezone: str) -> DigestWeek:
        local = moment.astimezone(ZoneInfo(timezone)).date()
        return cls(local - timedelta(days=local.weekday()), timezone)

    @property
    def key(self) -> str:
        """The ISO week the digest is sent in, e.g. ``2026-W46`` (the sent marker's key)."""
        year, week, _ = self.monday.isocalendar()
        return f"{year:04d}-W{week:02d}"

    def _local(self, day: date, at: time = time(0, 0)) -> datetime:
        return datetime.combine(day, at, tzinfo=ZoneInfo(self.timezone)).astimezone(UTC)

    @property
    def send_at(self) -> datetime:
        """Monday 09:00 of the sending week, in the store's timezone (as UTC)."""
        return self._local(self.monday, SEND_AT)

    @property
    def reported(self) -> date:
        """The Monday of the week the digest reports (the previous full week)."""
        return self.monday - timedelta(weeks=1)

    @property
    def reported_span(self) -> tuple[datetime, datetime]:
        """The reported week from its first moment to the first moment of the next (UTC)."""
        return self._local(self.reported), self._local(self.monday)

    def due(self, now: datetime, created_at: datetime) -> bool:
        """Whether this week's digest may be sent now (it is never due before Monday 09:00)."""
        return now >= self.send_at and created_at <= self.send_at
