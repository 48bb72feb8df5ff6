"""Fire the app's ``@app.schedule`` functions against the simulated clock."""

from __future__ import annotations

import importlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aftercare.devstack.lambdas import LocalLambdaContext
from functions.shared import clock

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


def interval_of(expression: Any) -> timedelta:
    """How often a schedule fires. Cron expressions are checked every minute."""
    text = expression if isinstance(expression, str) else expression.to_string()
    match = _RATE.match(text.strip())
    if not match:
        return timedelta(minutes=1)
    value, unit = int(match.group(1)), match.group(2).rstrip("s")
    return timedelta(seconds=value * _UNITS[unit])


@dataclass
class Schedule:
    name: str
    expression: str
    every: timedelta
    handler: Callable[[Any, Any], Any]
    last_run: datetime | None = None
    runs: int = 0
    failures: int = 0
    last_error: str | None = None


@dataclass
class Scheduler:
    schedules: list[Schedule] = field(default_factory=list)

    @classmethod
    def from_app(cls, app: Any, function_prefix: str) -> Scheduler:
        from chalice.app import ScheduledEventConfig

        schedules = []
        for source in getattr(app, "event_sources", []):
            if isinstance(source, ScheduledEventConfig):
                module_name, _, attribute = source.handler_string.rpartition(".")
                handler = getattr(importlib.import_module(module_name), attribute)
                expression = source.schedule_expression
                text = expression if isinstance(expression, str) else expression.to_string()
                schedules.append(
                    Schedule(f"{function_prefix}-{source.name}", text, interval_of(expression), handler)
                )
        return cls(schedules)

    def _event(self, schedule: Schedule, at: datetime) -> dict[str, Any]:
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": clock.isoformat(at),
            "region": "us-east-1",
            "resources": [f"arn:aws:events:us-east-1:123456789012:rule/{schedule.name}"],
            "detail": {},
        }

    def run(self, schedule: Schedule) -> bool:
        at = clock.now()
        schedule.last_run = at
        schedule.runs += 1
        try:
            schedule.handler(self._event(schedule, at), LocalLambdaContext(function_name=schedule.name))
        except Exception as error:  # a failing schedule must not stop the local stack
            schedule.failures += 1
            schedule.last_error = f"{type(error).__name__}: {error}"
            return False
        return True

    def run_due(self, *, force: bool = False) -> dict[str, int]:
        """Run every schedule whose interval elapsed on the simulated clock (all of them if forced)."""
        now = clock.now()
        ran: dict[str, int] = {}
        for schedule in self.schedules:
            if force or schedule.last_run is None or now - schedule.last_run >= schedule.every:
                self.run(schedule)
                ran[schedule.name] = ran.get(schedule.name, 0) + 1
        return ran
