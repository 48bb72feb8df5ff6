"""The local stack's simulated clock: schedules fire on time and stream records reach handlers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from aftercare.devstack.provision import Provisioned
from aftercare.devstack.schedules import Schedule, Scheduler, interval_of
from aftercare.devstack.stack import DevStack
from aftercare.devstack.streams import Mapping, StreamPump
from functions.shared import clock

pytestmark = pytest.mark.integration

START = datetime(2026, 6, 1, 9, tzinfo=UTC)


@pytest.fixture
def frozen(aws_stack: Any) -> Any:
    clock.clock.freeze(START)
    return aws_stack


def recording_schedule(name: str, every: timedelta, seen: list[datetime]) -> Schedule:
    def handler(event: dict[str, Any], context: Any) -> None:
        assert event["detail-type"] == "Scheduled Event"
        seen.append(clock.now())

    return Schedule(name=name, expression=f"every {every}", every=every, handler=handler)


def test_rate_expressions_become_intervals() -> None:
    assert interval_of("rate(5 minutes)") == timedelta(minutes=5)
    assert interval_of("rate(1 hour)") == timedelta(hours=1)
    assert interval_of("rate(2 days)") == timedelta(days=2)
    assert interval_of("cron(0 9 * * ? *)") == timedelta(minutes=1)


def test_advance_moves_the_clock_and_runs_schedules(frozen: Provisioned) -> None:
    seen: list[datetime] = []
    stack = DevStack(
        frozen, Scheduler([recording_schedule("sweep", timedelta(minutes=5), seen)]), StreamPump([])
    )

    summary = stack.advance(timedelta(days=1))

    assert clock.now() == START + timedelta(days=1)
    assert summary["now"] == "2026-06-02T09:00:00Z"
    assert summary["schedule_runs"] == {"sweep": 1}
    assert seen == [START + timedelta(days=1)]


def test_advance_stops_where_work_comes_due_so_it_happens_on_time(frozen: Provisioned) -> None:
    due_times = [START + timedelta(days=1), START + timedelta(days=14)]
    seen: list[datetime] = []
    stack = DevStack(
        frozen, Scheduler([recording_schedule("sweep", timedelta(minutes=5), seen)]), StreamPump([])
    )
    stack.next_due_hints.append(lambda: next((t for t in due_times if t > clock.now()), None))

    stack.advance(timedelta(days=30))

    assert seen == [START + timedelta(days=1), START + timedelta(days=14), START + timedelta(days=30)]


def test_tick_runs_only_schedules_whose_interval_elapsed(frozen: Provisioned) -> None:
    seen: list[datetime] = []
    stack = DevStack(
        frozen, Scheduler([recording_schedule("sweep", timedelta(minutes=5), seen)]), StreamPump([])
    )
    stack.tick()
    clock.clock.advance(timedelta(minutes=2))
    stack.tick()
    clock.clock.advance(timedelta(minutes=3))
    stack.tick()
    assert seen == [START, START + timedelta(minutes=5)]


def test_a_failing_schedule_is_recorded_not_fatal(frozen: Provisioned) -> None:
    def broken(event: Any, context: Any) -> None:
        raise RuntimeError("bad day")

    schedule = Schedule("broken", "rate(5 minutes)", timedelta(minutes=5), broken)
    stack = DevStack(frozen, Scheduler([schedule]), StreamPump([]))

    stack.advance(timedelta(hours=1))

    assert schedule.failures == 1
    assert schedule.last_error == "RuntimeError: bad day"


def put_responses(table: str, count: int) -> None:
    client = boto3.client("dynamodb")
    for index in range(count):
        client.put_item(TableName=table, Item={"pk": {"S": "s#o"}, "sk": {"S": f"r{index}"}})


def test_stream_records_reach_the_handler_once_each(frozen: Provisioned) -> None:
    received: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        received.extend(r["dynamodb"]["Keys"]["sk"]["S"] for r in event["Records"])
        return {"batchItemFailures": []}

    table = frozen.tables["ResponsesTable"]
    pump = StreamPump([Mapping(table, frozen.stream_arns["ResponsesTable"], "flag", handler, batch_size=2)])
    put_responses(table, 5)

    handled = pump.pump_until_quiet()

    assert handled == 5
    assert received == ["r0", "r1", "r2", "r3", "r4"]
    assert pump.pump_until_quiet() == 0  # nothing is delivered twice


def test_partial_batch_failure_retries_only_from_the_failed_record(frozen: Provisioned) -> None:
    deliveries: list[list[str]] = []
    failed_once: set[str] = set()

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        keys = [r["dynamodb"]["Keys"]["sk"]["S"] for r in event["Records"]]
        deliveries.append(keys)
        failures = []
        for record in event["Records"]:
            key = record["dynamodb"]["Keys"]["sk"]["S"]
            if key == "r2" and key not in failed_once:
                failed_once.add(key)
                failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
        return {"batchItemFailures": failures}

    table = frozen.tables["ResponsesTable"]
    pump = StreamPump([Mapping(table, frozen.stream_arns["ResponsesTable"], "flag", handler, batch_size=10)])
    put_responses(table, 4)

    pump.pump_until_quiet()

    assert deliveries == [["r0", "r1", "r2", "r3"], ["r2", "r3"]]
    assert pump.mappings[0].delivered == 4


def test_a_record_that_keeps_failing_is_set_aside_after_the_retries(frozen: Provisioned) -> None:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("handler crashed")

    table = frozen.tables["ResponsesTable"]
    mapping = Mapping(
        table, frozen.stream_arns["ResponsesTable"], "flag", handler, batch_size=1, max_retries=2
    )
    pump = StreamPump([mapping])
    put_responses(table, 1)

    pump.pump_until_quiet()

    assert len(mapping.failed) == 1
    assert "handler crashed" in mapping.failed[0]["reason"]
    assert mapping.pending == []
