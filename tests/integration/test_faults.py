"""Fault injection: throttling, a hanging refund endpoint, a stream handler crash, a clock jump."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.shared import aws, clock
from tests.shop import T0, Shop, at, mails, run_sweep

pytestmark = pytest.mark.integration


def throttle(service: str, operations: set[str], every: int, code: str) -> None:
    """Make every ``every``-th call of the given operations fail with a throttling error."""
    counter = itertools.count(1)

    def maybe_fail(model: Any, **kwargs: Any) -> None:
        if model.name in operations and next(counter) % every == 0:
            raise ClientError(
                {
                    "Error": {"Code": code, "Message": "slow down"},
                    "ResponseMetadata": {"HTTPStatusCode": 400 if service == "dynamodb" else 429},
                },
                model.name,
            )

    getattr(aws, service)().meta.events.register(
        f"before-call.{'sesv2' if service == 'sesv2' else service}.*", maybe_fail
    )


def test_ses_and_dynamodb_throttling_lose_nothing_and_send_nothing_twice(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions import composition

    # One thread per shard worker: fewer calls between a throttled one and its retry
    monkeypatch.setenv("AFTERCARE_SWEEP_WORKER_CONCURRENCY", "1")
    composition.reset()
    for index in range(20):
        shop.delivered(f"T-{index}", [("l1", "tour", "experience")], email=f"t{index}@example.com")
    throttle("sesv2", {"SendEmail"}, 3, "TooManyRequestsException")  # about 30% of sends
    throttle("dynamodb", {"UpdateItem", "PutItem"}, 4, "ProvisionedThroughputExceededException")

    for step in range(1, 60):  # a sweep every simulated 5 minutes... for five hours
        at(timedelta(days=1, minutes=5 * step))
        run_sweep()

    recipients = sorted(m["to"][0] for m in mails())
    assert recipients == sorted(f"t{i}@example.com" for i in range(20))  # each exactly once


def test_a_throttled_claim_puts_back_what_its_group_had_claimed(shop: Shop) -> None:
    # Given a customer with two orders whose review requests fall due together (one email for both)
    for order in ("G-1", "G-2"):
        shop.delivered(order, [("l1", "tour", "experience")], email="grace@example.com")
    claims = itertools.count(1)

    def second_claim_throttled(params: dict[str, Any], **kwargs: Any) -> None:
        if str(params.get("UpdateExpression", "")).startswith("SET #status = :sending") and next(claims) == 2:
            raise ClientError(
                {
                    "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                "UpdateItem",
            )

    aws.dynamodb().meta.events.register("before-parameter-build.dynamodb.UpdateItem", second_claim_throttled)

    # When DynamoDB throttles the claim of the second item, after the first was claimed
    for step in range(1, 40):
        at(timedelta(days=1, minutes=5 * step))
        run_sweep()

    # Then the first is not stranded (its lease would fail it, never sent): both go out, in one email
    assert next(claims) > 2, "the second claim was never made"
    assert len([m for m in mails() if m["to"] == ["grace@example.com"]]) == 1
    reviews = [_review(shop, order) for order in ("G-1", "G-2")]
    assert [r["status"] for r in reviews] == ["sent", "sent"]
    assert reviews[0]["history"][-1]["note"] == reviews[1]["history"][-1]["note"]  # the same message


def _review(shop: Shop, order_id: str) -> dict[str, Any]:
    return next(
        o for o in shop.plan(order_id) if o["kind"] == "review" and not o["outreach_id"].endswith("-reminder")
    )


def test_clock_jumping_a_week_sends_everything_due_once(shop: Shop) -> None:
    # Given three deliveries, reported as they happen, two days apart
    for days, name in ((1, "first"), (3, "second"), (5, "third")):
        at(timedelta(days=days - 1))
        shop.delivered(
            f"J-{name}",
            [("l1", "tour", "experience")],
            email=f"{name}@example.com",
            at=T0 + timedelta(days=days - 1),
        )
    # When no sweep runs until the clock reaches day 7, then two run
    at(timedelta(days=7))
    run_sweep()
    run_sweep()
    # Then each was sent once (by the worker of its customer's shard: the workers run at the same time, so
    # oldest first holds within a shard, not across them)
    assert sorted(m["to"][0] for m in mails()) == [
        "first@example.com",
        "second@example.com",
        "third@example.com",
    ]


def test_stream_handler_crash_mid_batch_retries_only_what_is_left(frozen: Any) -> None:
    from aftercare.devstack.streams import Mapping, StreamPump

    seen: list[str] = []
    crashed = threading.Event()

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            key = record["dynamodb"]["Keys"]["sk"]["S"]
            if key == "r3" and not crashed.is_set():
                crashed.set()  # the handler dies at the fourth record: it and what follows are reported
                index = event["Records"].index(record)
                failures = [
                    {"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in event["Records"][index:]
                ]
                break
            seen.append(key)
        return {"batchItemFailures": failures}

    import boto3

    table = frozen.tables["ResponsesTable"]
    for index in range(6):
        boto3.client("dynamodb").put_item(
            TableName=table, Item={"pk": {"S": "s#o"}, "sk": {"S": f"r{index}"}}
        )
    pump = StreamPump([Mapping(table, frozen.stream_arns["ResponsesTable"], "flag", handler, batch_size=10)])
    pump.pump_until_quiet()
    assert seen == ["r0", "r1", "r2", "r3", "r4", "r5"]  # each once: r0-r2 were never redelivered


def test_refund_endpoint_hanging_past_its_timeout_is_retried_with_one_key(
    frozen: Any, api: Any, operator_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions import composition
    from tests.integration.test_returns import Store, finished
    from tests.refund_receiver import RefundReceiver

    monkeypatch.setenv("AFTERCARE_REFUND_TIMEOUT_SECONDS", "0.5")
    composition.reset()
    receiver = RefundReceiver()
    original = receiver.server.RequestHandlerClass.do_POST  # type: ignore[attr-defined]
    calls = itertools.count()

    def slow_first(handler: Any) -> None:
        if next(calls) == 0:
            time.sleep(1.5)  # longer than Aftercare waits
        original(handler)

    receiver.server.RequestHandlerClass.do_POST = slow_first  # type: ignore[attr-defined]
    try:
        clock.clock.freeze(T0)
        store = Store(api, operator_key, receiver)
        store.delivered("H-1")
        return_id = store.request("H-1", ["l2"])
        assert finished(return_id)["status"] == "SUCCEEDED"
        time.sleep(1.6)  # let the hung first call finish on the store's side too
        keys = {call["headers"]["idempotency-key"] for call in receiver.calls}
        assert keys == {f"{return_id}:refund"}  # the store can tell both calls are one refund
        assert len(receiver.calls) == 2
        view = store.view(return_id)
        assert view["return"]["refund_status"] == "done"
        assert [s["step"] for s in view["audit"]].count("refund issued") == 1
    finally:
        receiver.close()
