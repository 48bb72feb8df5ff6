"""The sweep's send-rate limiter, the mailer's pacing and throttling, the quota reader and the Lambda
workers, each with a stand-in for what it talks to (the DynamoDB window itself is tested against moto in
tests/integration/test_sweep_fanout.py)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.outreach.limiter import SendRateLimiter
from functions.outreach.workers import LambdaWorkers
from functions.shared.email import Email
from functions.shared.errors import DependencyFailed, Throttled
from functions.shared.mailer import SendThrottled, SesMailer, SesQuota, TransientSendError

pytestmark = pytest.mark.unit


class SharedWindows:
    """One table's seconds, as every worker's limiter sees them (the conditional ADD, under a lock)."""

    def __init__(self) -> None:
        self.taken: dict[int, int] = {}
        self.writes = 0
        self._lock = threading.Lock()

    def take(self, window: int, want: int, limit: int) -> int:
        with self._lock:
            self.writes += 1
            granted = max(0, min(want, limit - self.taken.get(window, 0)))
            self.taken[window] = self.taken.get(window, 0) + granted
            return granted


class FakeTime:
    """Wall seconds that move only when someone sleeps."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def seconds(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Rate:
    def __init__(self, rate: float) -> None:
        self.rate = rate

    def max_send_rate(self) -> float:
        return self.rate


def test_workers_sharing_the_windows_never_pass_the_rate_together() -> None:
    # Given three workers' limiters over the same windows, a quota of 10/s of which the sweep takes 90%
    windows, time = SharedWindows(), FakeTime()
    limiters = [SendRateLimiter(windows, Rate(10), 0.9, chunk=4, timer=time) for _ in range(3)]

    # When they ask for 40 sends in turn
    granted_at = []
    for n in range(40):
        limiters[n % 3].acquire()
        granted_at.append(int(time.now))

    # Then no second granted more than 9, and the seconds were used to the full
    per_second = {second: granted_at.count(second) for second in set(granted_at)}
    assert max(windows.taken.values()) <= 9
    assert max(per_second.values()) <= 9
    assert len(per_second) == 5  # 40 sends at 9 a second: 5 seconds


def test_the_last_few_sends_of_a_second_are_granted_even_when_a_chunk_does_not_fit() -> None:
    windows, time = SharedWindows(), FakeTime()
    windows.taken[int(time.now)] = 97
    limiter = SendRateLimiter(windows, Rate(100), 1.0, chunk=4, timer=time)

    limiter.acquire()

    assert windows.taken[int(time.now)] == 100  # it took the 3 left, not nothing
    assert time.slept == []


def test_throttling_halves_the_rate_and_quiet_seconds_give_it_back() -> None:
    windows, time = SharedWindows(), FakeTime()
    limiter = SendRateLimiter(windows, Rate(100), 1.0, chunk=1, timer=time)
    assert limiter.limit(time.now) == 100

    limiter.throttled()
    limiter.throttled()
    assert limiter.limit(time.now) == 25

    time.now += 3
    assert limiter.limit(time.now) == 55  # a tenth of the rate back per quiet second
    time.now += 10
    assert limiter.limit(time.now) == 100


def test_a_throttled_window_write_is_waited_out_and_costs_no_email() -> None:
    class Throttling(SharedWindows):
        def __init__(self, refusals: int) -> None:
            super().__init__()
            self.refusals = refusals

        def take(self, window: int, want: int, limit: int) -> int:
            if self.refusals:
                self.refusals -= 1
                raise Throttled("counting the send rate: AWS throttled the call")
            return super().take(window, want, limit)

    time = FakeTime()
    SendRateLimiter(Throttling(2), Rate(100), 1.0, chunk=1, timer=time).acquire()
    assert time.slept == [0.05, 0.1]

    with pytest.raises(Throttled):
        SendRateLimiter(Throttling(5), Rate(100), 1.0, chunk=1, timer=FakeTime()).acquire()


def test_concurrent_threads_of_one_worker_share_its_chunks() -> None:
    windows, time = SharedWindows(), FakeTime()
    limiter = SendRateLimiter(windows, Rate(1000), 1.0, chunk=8, timer=time)
    threads = [threading.Thread(target=lambda: [limiter.acquire() for _ in range(10)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(windows.taken.values()) == 80
    assert windows.writes == 10  # one write per chunk of 8


# --------------------------------------------------------------------------- the mailer


def _email() -> Email:
    return Email(
        sender="shop@example.com",
        to="sam@example.com",
        subject="How was it?",
        html="<p>Hi</p>",
        text="Hi",
        store_id="acme",
        kind="review",
    )


class Pacer:
    def __init__(self, fail: Exception | None = None) -> None:
        self.acquired = 0
        self.throttles = 0
        self.fail = fail

    def acquire(self) -> None:
        if self.fail:
            raise self.fail
        self.acquired += 1

    def throttled(self) -> None:
        self.throttles += 1


class SesStandIn:
    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)

    def send_email(self, **kwargs: Any) -> dict[str, Any]:
        answer = self.answers.pop(0)
        if answer == "ok":
            return {"MessageId": "m-1"}
        raise ClientError(
            {
                "Error": {"Code": answer, "Message": "Maximum sending rate exceeded."},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            },
            "SendEmail",
        )


def test_the_mailer_waits_for_the_pacer_before_every_attempt_and_reports_throttling() -> None:
    pacer = Pacer()
    mailer = SesMailer("set", retries=2, base_delay_ms=0, client=SesStandIn("TooManyRequestsException", "ok"))
    mailer = mailer.paced(pacer)

    assert mailer.send(_email()) == "m-1"

    assert (pacer.acquired, pacer.throttles) == (2, 1)


def test_throttling_that_outlasts_the_retries_is_the_domain_error_send_throttled() -> None:
    pacer = Pacer()
    client = SesStandIn("Throttling", "Throttling")
    mailer = SesMailer("set", retries=1, base_delay_ms=0, client=client, pacer=pacer)

    with pytest.raises(SendThrottled, match="SES: Throttling"):
        mailer.send(_email())
    assert pacer.throttles == 2


def test_a_rate_that_cannot_be_read_sends_nothing_and_is_transient() -> None:
    client = SesStandIn("ok")
    mailer = SesMailer("set", 0, 0, client=client, pacer=Pacer(DependencyFailed("reading the quota failed")))

    with pytest.raises(TransientSendError, match="send rate unknown"):
        mailer.send(_email())
    assert client.answers == ["ok"]  # SES was never called


class QuotaStandIn:
    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls = 0

    def get_send_quota(self) -> dict[str, Any]:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return {"MaxSendRate": answer, "Max24HourSend": 50000.0, "SentLast24Hours": 0.0}


def test_the_quota_is_read_from_ses_and_kept_briefly() -> None:
    client = QuotaStandIn(200.0, 300.0)
    quota = SesQuota(ttl_seconds=60, client=client)

    assert quota.max_send_rate() == 200.0
    assert quota.max_send_rate() == 200.0
    assert client.calls == 1

    quota._read = (200.0, 0.0)  # a minute and more ago
    assert quota.max_send_rate() == 300.0


def test_a_fixed_rate_never_asks_ses_and_ses_errors_become_domain_errors() -> None:
    assert SesQuota(fixed=50, client=QuotaStandIn()).max_send_rate() == 50
    throttled = ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "GetSendQuota")
    with pytest.raises(Throttled):
        SesQuota(client=QuotaStandIn(throttled)).max_send_rate()


# --------------------------------------------------------------------------- the Lambda workers


class LambdaStandIn:
    def __init__(self, failing: set[int] | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.failing = failing or set()

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        import json

        shard = json.loads(kwargs["Payload"])["shard"]
        if shard in self.failing:
            raise ClientError({"Error": {"Code": "ServiceException", "Message": "down"}}, "Invoke")
        self.calls.append(kwargs)
        return {"StatusCode": 202}


def test_each_shard_gets_one_asynchronous_worker_invocation() -> None:
    import json

    client = LambdaStandIn()
    report = LambdaWorkers("aftercare-SweepWorker", client=client).start(range(8), None)  # type: ignore[arg-type]

    assert report.workers == 8
    assert {c["InvocationType"] for c in client.calls} == {"Event"}
    assert {c["FunctionName"] for c in client.calls} == {"aftercare-SweepWorker"}
    payloads = [json.loads(c["Payload"]) for c in client.calls]
    assert [p["shard"] for p in payloads] == list(range(8))
    assert len({p["run"] for p in payloads}) == 1


def test_a_worker_that_cannot_start_leaves_the_others_running_and_none_starting_is_an_error() -> None:
    some = LambdaWorkers("w", client=LambdaStandIn(failing={3}))  # type: ignore[arg-type]
    assert some.start(range(8), None).workers == 7

    none = LambdaWorkers("w", client=LambdaStandIn(failing=set(range(8))))  # type: ignore[arg-type]
    with pytest.raises(DependencyFailed, match="shard 0"):
        none.start(range(8), None)
