"""The running local stack: the simulated clock, schedules and streams, advanced together."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aftercare.devstack import expiry
from aftercare.devstack.provision import Provisioned
from aftercare.devstack.schedules import Scheduler
from aftercare.devstack.streams import StreamPump
from functions.shared import clock

NextDue = Callable[[], datetime | None]


@dataclass
class DevStack:
    provisioned: Provisioned
    scheduler: Scheduler
    pump: StreamPump
    base_url: str = ""
    moto_url: str = ""
    operator_key: str = ""
    next_due_hints: list[NextDue] = field(default_factory=list)
    demo: dict[str, Any] = field(default_factory=dict)
    demo_data: dict[str, Any] = field(default_factory=dict)  # what ``aftercare.devstack.demo`` generated
    lock: threading.RLock = field(default_factory=threading.RLock)
    changes: int = 0  # grows with every change the stack knows of (the saver compares it)

    def changed(self) -> None:
        self.changes += 1

    def tick(self) -> dict[str, Any]:
        """What the background loop does: run schedules that came due, deliver stream records."""
        with self.lock:
            ran = self.scheduler.run_due()
            records = self.pump.pump_until_quiet()
            if records:
                self.changed()
            return {"schedule_runs": ran, "stream_records": records}

    def deliver_streams(self) -> int:
        """Deliver every stream record written so far (the stream thread calls it on each append)."""
        with self.lock:
            records = self.pump.pump_until_quiet()
            if records:
                self.changed()
            return records

    def run_now(self) -> dict[str, Any]:
        with self.lock:
            ran = self.scheduler.run_due(force=True)
            records = self.pump.pump_until_quiet()
            self.changed()
            return {"now": clock.isoformat(clock.now()), "schedule_runs": ran, "stream_records": records}

    def _next_stop(self, target: datetime) -> datetime:
        now = clock.now()
        candidates = [target]
        for hint in self.next_due_hints:
            due = hint()
            if due is not None and now < due < target:
                candidates.append(due)
        return min(candidates)

    def advance(self, delta: timedelta) -> dict[str, Any]:
        """Move the clock forward, stopping wherever something comes due, so work happens on time."""
        if delta <= timedelta(0):
            raise ValueError("advance by a positive duration")
        with self.lock:
            start = clock.now()
            target = start + delta
            runs: dict[str, int] = {}
            records = 0
            stops = 0
            while True:
                stop = self._next_stop(target)
                if stop > clock.now():
                    clock.clock.advance(stop - clock.now())
                stops += 1
                for name, count in self.scheduler.run_due(force=True).items():
                    runs[name] = runs.get(name, 0) + count
                records += self.pump.pump_until_quiet()
                if clock.now() >= target or stops > 10_000:
                    break
            expired = self.expire()
            records += self.pump.pump_until_quiet()  # the deletions' REMOVE records
            self.changed()
            return {
                "from": clock.isoformat(start),
                "now": clock.isoformat(clock.now()),
                "advanced_seconds": int(delta.total_seconds()),
                "stops": stops,
                "schedule_runs": runs,
                "stream_records": records,
                "expired_items": expired,
            }

    def expire(self) -> dict[str, int]:
        """Delete what DynamoDB's TTL would have deleted by now (moto never does): items per table."""
        with self.lock:
            deleted = expiry.expire(self.provisioned.tables.values(), clock.now())
            if deleted:
                self.changed()
            return deleted
