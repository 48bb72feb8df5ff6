"""The fanned-out sweep against moto: many workers at once, the shared send rate, the Lambda hand-off.

moto's DynamoDB handles one request at a time here (``aftercare.devstack.motolock``), as DynamoDB makes
each conditional write atomic, so exactly-once is tested for real: nothing is retried or tolerated.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from aftercare.devstack.lambdas import LocalLambdaContext
from functions.outreach import sweep
from functions.shared import aws
from functions.shared.dynamo import from_item
from tests.shop import Shop, at, mails

pytestmark = pytest.mark.integration

CUSTOMERS = 24


def _deliver_to_many(shop: Shop, customers: int = CUSTOMERS) -> list[str]:
    """One experience order per customer (its review comes due a day later); the first customer has two."""
    addresses = [f"customer{n}@example.com" for n in range(customers)]
    for n, address in enumerate(addresses):
        shop.delivered(f"F-{n}", [("l1", "tour", "experience")], email=address)
    shop.delivered("F-second", [("l1", "kayak", "experience")], email=addresses[0])
    at(timedelta(days=1, hours=1))
    return addresses


def _settings(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    from functions import composition

    for name, value in values.items():
        monkeypatch.setenv(f"AFTERCARE_{name.upper()}", value)
    composition.reset()  # the sweep's settings and its limiter come from the composition root


def _all_at_once(jobs: list[Callable[[], sweep.Report]]) -> list[sweep.Report]:
    start = threading.Barrier(len(jobs), timeout=60)
    reports: list[sweep.Report] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(job: Callable[[], sweep.Report]) -> None:
        start.wait()
        try:
            report = job()
        except BaseException as error:  # collected and raised below: a crashed worker fails the test
            with lock:
                errors.append(error)
            return
        with lock:
            reports.append(report)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    if errors:
        raise errors[0]
    return reports


def _review_statuses(shop: Shop, order_ids: list[str]) -> list[str]:
    """The status of each order's first review request (its reminder, planned when it was sent, waits)."""
    return [
        o["status"]
        for order in order_ids
        for o in shop.plan(order)
        if o["kind"] == "review" and not o["outreach_id"].endswith("-reminder")
    ]


def test_many_workers_over_the_same_due_items_send_each_email_exactly_once(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions import composition

    # Given 25 due review requests of 24 customers, and workers that send 4 groups at a time
    _settings(monkeypatch, sweep_worker_concurrency="4")
    addresses = _deliver_to_many(shop)
    ports = composition.sweep_ports()

    # When three whole sweeps (8 shard workers each) and a second worker for every shard run at once
    jobs: list[Callable[[], sweep.Report]] = [lambda: sweep.run(ports) for _ in range(3)]
    jobs += [lambda shard=shard: sweep.work(ports, shard) for shard in range(ports.queue.shards)]
    reports = _all_at_once(jobs)

    # Then every customer got exactly one email
    recipients = Counter(to for message in mails() for to in message["to"])
    assert recipients == Counter({address: 1 for address in addresses})
    assert sum(report.emails for report in reports) == CUSTOMERS
    assert not any(report.failed for report in reports)

    # And every request went out in it, except that the two of the customer with two orders may have been
    # claimed by two workers: then the one not sent waits for the frequency cap, never a second email
    orders = [f"F-{n}" for n in range(1, CUSTOMERS)]
    assert _review_statuses(shop, orders) == ["sent"] * (CUSTOMERS - 1)
    two = [_first_review(shop, order) for order in ("F-0", "F-second")]
    waiting = [o for o in two if o["status"] != "sent"]
    assert len(waiting) <= 1
    for request in waiting:
        assert request["status"] == "pending"
        assert request["history"][-1]["note"].startswith("frequency cap: waits until")


def test_one_sweep_sends_a_customers_due_items_in_one_email(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions import composition

    # Given a customer with two orders due among 24 customers (a customer's items share one shard)
    _settings(monkeypatch, sweep_worker_concurrency="4")
    addresses = _deliver_to_many(shop)

    # When one sweep runs its 8 workers at once
    report = sweep.run(composition.sweep_ports())

    # Then both of that customer's requests went out in one email, and everything was sent
    two = [_first_review(shop, order) for order in ("F-0", "F-second")]
    assert [o["status"] for o in two] == ["sent", "sent"]
    assert two[0]["history"][-1]["note"] == two[1]["history"][-1]["note"]  # "sent as <the same message>"
    assert Counter(to for m in mails() for to in m["to"]) == Counter({a: 1 for a in addresses})
    assert (report.workers, report.emails, report.items_sent) == (8, CUSTOMERS, CUSTOMERS + 1)


def _first_review(shop: Shop, order_id: str) -> dict[str, Any]:
    return next(
        o for o in shop.plan(order_id) if o["kind"] == "review" and not o["outreach_id"].endswith("-reminder")
    )


def test_the_workers_together_stay_under_the_send_rate(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions import composition

    # Given SES takes 10 emails a second and the sweep may use all of it
    _settings(monkeypatch, send_rate="10", sweep_send_share="1", sweep_worker_concurrency="4")
    addresses = _deliver_to_many(shop)

    # When one sweep's 8 workers send 24 emails
    report = sweep.run(composition.sweep_ports())

    # Then no wall-clock second granted more than 10, over at least three seconds, one grant per email
    table = composition.adapters().settings.send_rate_table
    windows = [from_item(item) for item in aws.dynamodb().scan(TableName=table)["Items"]]
    taken = [int(window["taken"]) for window in windows]
    assert report.emails == len(addresses)
    assert max(taken) <= 10
    assert len(taken) >= 3
    assert sum(taken) == report.emails


def test_ses_throttling_slows_every_worker_and_the_email_still_goes_once(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions import composition

    _settings(monkeypatch, sweep_worker_concurrency="2")
    addresses = _deliver_to_many(shop, customers=4)
    throttled: list[int] = []

    def over_the_rate(**kwargs: Any) -> None:
        if not throttled:
            throttled.append(1)
            raise ClientError(
                {
                    "Error": {
                        "Code": "TooManyRequestsException",
                        "Message": "Maximum sending rate exceeded.",
                    },
                    "ResponseMetadata": {"HTTPStatusCode": 429},
                },
                "SendEmail",
            )

    aws.sesv2().meta.events.register("before-call.sesv2.SendEmail", over_the_rate)
    report = sweep.run(composition.sweep_ports())

    limiter = composition.adapters().send_rate
    assert limiter.throttles == 1
    assert limiter.backoff.factor == 0.5
    assert report.emails == len(addresses)
    assert Counter(to for m in mails() for to in m["to"]) == Counter({a: 1 for a in addresses})


def test_the_scheduled_sweep_hands_each_shard_to_the_worker_lambda(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app

    # Given the sweep knows its worker function (as the packaged template tells it)
    _settings(monkeypatch, sweep_worker_function="test-sweep_worker")
    addresses = _deliver_to_many(shop, customers=6)
    invoked: list[dict[str, Any]] = []
    aws.lambda_().meta.events.register(
        "before-call.lambda.Invoke", lambda params, **_: invoked.append(params)
    )

    # When the schedule fires
    result = app.sweep(_scheduled_event(), LocalLambdaContext(function_name="test-sweep"))

    # Then it invoked the worker once per shard, asynchronously, and the workers sent every email once
    assert result["workers"] == 8
    assert len(invoked) == 8
    assert {call["headers"].get("X-Amz-Invocation-Type") for call in invoked} == {"Event"}
    assert Counter(to for m in mails() for to in m["to"]) == Counter({a: 1 for a in addresses})


def test_a_worker_refuses_an_event_without_a_shard_it_has(aws_stack: Any) -> None:
    import app

    context = LocalLambdaContext(function_name="test-sweep_worker")
    with pytest.raises(ValueError, match="shard number"):
        app.sweep_worker({"shard": "3"}, context)
    with pytest.raises(ValueError, match="not one of the 8 shards"):
        app.sweep_worker({"shard": 8}, context)


def _scheduled_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": "00000000-0000-0000-0000-000000000001",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-03T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }


def test_the_send_rate_table_counts_each_second_with_a_conditional_add(aws_stack: Any) -> None:
    from functions import composition
    from functions.outreach.limiter import SendRateWindows

    windows = SendRateWindows(composition.adapters().settings.send_rate_table)
    assert windows.take(100, 4, 10) == 4
    assert windows.take(100, 4, 10) == 4
    assert windows.take(100, 4, 10) == 2  # only two left in that second
    assert windows.take(100, 4, 10) == 0
    assert windows.take(101, 4, 10) == 4
    assert (windows.taken(100), windows.taken(101)) == (10, 4)
    item = boto3.client("dynamodb").get_item(TableName=windows.table, Key={"pk": {"S": "window#100"}})["Item"]
    assert item["expires_at"] == {"N": str(100 + 3600)}
