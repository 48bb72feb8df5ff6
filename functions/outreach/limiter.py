"""The send-rate limiter every sweep worker shares: the whole system stays under SES's ``MaxSendRate``.

One DynamoDB item per wall-clock second (``SendRate`` table, ``window#<epoch second>``) counts the emails
granted in that second. A worker takes a few at a time with one conditional ``ADD`` (``taken + n`` may
not pass the second's limit), so every worker in every Lambda sees the same count, however many are
running, however unevenly their shards drain, and when a slow run overlaps the next. When a second is
used up, the worker waits for the next one. (Decision 57 says why this, and not a fixed share per worker.)

The limit of a second is ``MaxSendRate`` (read from SES at run time, cached a minute) times the sweep's
share of it (the rest is left for alerts, replies and digests) times a backoff factor: SES throttling
halves the factor, and each second without throttling gives a tenth back.

Seconds are wall-clock time (``clock.wall_now``), never the simulated clock: SES counts real seconds, and
a clock frozen in tests or moved in the local stack would otherwise stop or skip the windows.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from functions.shared import clock
from functions.shared.adapter import ConditionFailed, DynamoAdapter
from functions.shared.errors import Throttled

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

WINDOW_TTL_SECONDS = 3600
THROTTLED_TRIES = 5  # a throttled window write is tried again this often (50 ms, 100 ms, ...) before failing


class Windows(Protocol):
    def take(self, window: int, want: int, limit: int) -> int:
        """Grant up to ``want`` sends in the second ``window`` without passing ``limit``; how many."""
        ...


class Quota(Protocol):
    def max_send_rate(self) -> float: ...


class Timer(Protocol):
    def seconds(self) -> float:
        """Wall-clock seconds since the epoch."""
        ...

    def sleep(self, seconds: float) -> None: ...


class WallTimer:
    """Real seconds (the one clock's wall time) and real waiting."""

    def seconds(self) -> float:
        return clock.wall_now().timestamp()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class SendRateWindows(DynamoAdapter):
    """The ``SendRate`` table: one item per second, ``taken`` counted with a conditional ``ADD``."""

    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        super().__init__(table, client)
        self.writes = 0

    def take(self, window: int, want: int, limit: int) -> int:
        want = min(want, limit)
        while want > 0:
            left = self._add(window, want, limit)
            if left is None:
                return want
            want = min(want, left)  # the second has fewer left than asked: take those, if any
        return 0

    def _add(self, window: int, want: int, limit: int) -> int | None:
        """``None`` when ``want`` were granted, else how many the second still has."""
        self.writes += 1
        try:
            with self.calling("counting the send rate"):
                self.client.update_item(
                    TableName=self.table,
                    Key={"pk": {"S": f"window#{window}"}},
                    UpdateExpression="ADD taken :n SET expires_at = if_not_exists(expires_at, :expires)",
                    ConditionExpression="attribute_not_exists(taken) OR taken <= :room",
                    ExpressionAttributeValues={
                        ":n": {"N": str(want)},
                        ":room": {"N": str(limit - want)},
                        ":expires": {"N": str(window + WINDOW_TTL_SECONDS)},
                    },
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ConditionFailed as failed:
            old: Any = getattr(failed.__cause__, "response", {}).get("Item") or {}
            taken = int(old.get("taken", {}).get("N", limit))
            return max(0, limit - taken)
        return None

    def taken(self, window: int) -> int:
        """How many sends the second ``window`` granted (tests and benchmarks)."""
        with self.calling("reading the send rate"):
            found = self.client.get_item(
                TableName=self.table, Key={"pk": {"S": f"window#{window}"}}, ConsistentRead=True
            )
        return int(found.get("Item", {}).get("taken", {}).get("N", 0))


@dataclass
class Backoff:
    """How much of the limit to use: halved when SES throttles, a tenth back per quiet second."""

    factor: float = 1.0
    changed_at: float = 0.0
    floor: float = 0.05

    def throttled(self, now: float) -> None:
        self.factor = max(self.floor, self.factor / 2)
        self.changed_at = now

    def current(self, now: float) -> float:
        if self.factor < 1.0 and now - self.changed_at >= 1.0:
            self.factor = min(1.0, self.factor + 0.1 * int(now - self.changed_at))
            self.changed_at = now
        return self.factor


class SendRateLimiter:
    """The pacer of one process's senders (thread-safe): tokens are taken from the shared second in
    chunks (one write serves up to ``chunk`` emails, and never more than a tenth of the second's limit, so
    tokens one worker holds unused when the second ends are few) and handed to its threads one by one."""

    def __init__(
        self, windows: Windows, quota: Quota, share: float, chunk: int, timer: Timer | None = None
    ) -> None:
        self.windows = windows
        self.quota = quota
        self.share = share
        self.chunk = max(1, chunk)
        self.timer = timer or WallTimer()
        self.backoff = Backoff()
        self._lock = threading.Lock()
        self._window = -1
        self._tokens = 0
        self._full = False
        self.waited_seconds = 0.0
        self.throttles = 0

    def limit(self, now: float) -> int:
        """Emails per second all workers together may send now."""
        rate = self.quota.max_send_rate() * self.share * self.backoff.current(now)
        return max(1, math.floor(rate))

    def acquire(self) -> None:
        with self._lock:
            while True:
                now = self.timer.seconds()
                window = math.floor(now)
                if window != self._window:
                    self._window, self._tokens, self._full = window, 0, False
                if self._tokens > 0:
                    self._tokens -= 1
                    return
                if not self._full:
                    limit = self.limit(now)
                    # a chunk is at most a tenth of the second, so what a worker holds unused is little
                    chunk = max(1, min(self.chunk, limit // 10))
                    granted = self._take(window, chunk, limit)
                    if granted > 0:
                        self._tokens = granted - 1
                        return
                    self._full = True
                pause = window + 1 - now
                self.waited_seconds += pause
                self.timer.sleep(pause)  # holding the lock: no thread of this process could send anyway

    def _take(self, window: int, want: int, limit: int) -> int:
        """The window's grant; DynamoDB throttling the window's item is waited out, not an email's failure."""
        for attempt in range(THROTTLED_TRIES):
            try:
                return self.windows.take(window, want, limit)
            except Throttled:
                if attempt == THROTTLED_TRIES - 1:
                    raise
                self.timer.sleep(0.05 * 2**attempt)
        return 0

    def throttled(self) -> None:
        with self._lock:
            self.throttles += 1
            self.backoff.throttled(self.timer.seconds())
            self._tokens = 0  # what this second granted is given up: SES wants fewer


__all__ = ["SendRateLimiter", "SendRateWindows", "WallTimer"]
