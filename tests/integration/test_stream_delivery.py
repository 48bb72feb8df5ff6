"""The local stack delivers stream records as they are written (decision 58), with Lambda's semantics.

``streams.watch_appends`` patches moto's ``StreamShard.add``; these tests are its contract (they fail
loudly if a moto upgrade moves it) and show that the stream thread delivers every record once, in
order, retries a failed batch, and needs no tick to do it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from aftercare.devstack import streams
from aftercare.devstack.provision import Provisioned
from aftercare.devstack.runner import _deliver_on_write
from aftercare.devstack.schedules import Scheduler
from aftercare.devstack.stack import DevStack
from aftercare.devstack.streams import Mapping, StreamPump

pytestmark = pytest.mark.integration


def put_responses(table: str, keys: list[str]) -> None:
    client = boto3.client("dynamodb")
    for key in keys:
        client.put_item(TableName=table, Item={"pk": {"S": "s#o"}, "sk": {"S": key}})


def wait_for(condition: Any, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def watching(aws_stack: Provisioned) -> Iterator[Provisioned]:
    streams.watch_appends()
    yield aws_stack
    streams.unwatch_appends()


def test_a_write_to_a_streamed_table_signals_an_append(watching: Provisioned) -> None:
    streams.watch_appends()  # twice is once
    assert streams.is_watching()
    streams.APPENDED.clear()

    put_responses(watching.tables["ResponsesTable"], ["r0"])

    assert streams.APPENDED.is_set()
    streams.unwatch_appends()
    assert not streams.is_watching()
    streams.APPENDED.clear()
    put_responses(watching.tables["ResponsesTable"], ["r1"])
    assert not streams.APPENDED.is_set()


def stack_with(provisioned: Provisioned, handler: Any, batch_size: int = 10) -> DevStack:
    table, arn = provisioned.tables["ResponsesTable"], provisioned.stream_arns["ResponsesTable"]
    mapping = Mapping(table, arn, "flag", handler, batch_size=batch_size)
    return DevStack(provisioned, Scheduler([]), StreamPump([mapping]))


def test_records_are_delivered_once_each_in_order_without_a_tick(watching: Provisioned) -> None:
    received: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        received.extend(r["dynamodb"]["Keys"]["sk"]["S"] for r in event["Records"])
        return {"batchItemFailures": []}

    stack, stop = stack_with(watching, handler, batch_size=3), threading.Event()
    thread = _deliver_on_write(stack, stop)
    try:
        keys = [f"r{index}" for index in range(12)]
        put_responses(watching.tables["ResponsesTable"], keys)

        assert wait_for(lambda: len(received) >= len(keys)), received
        time.sleep(0.3)  # nothing more arrives
        assert received == keys
        assert stack.changes > 0  # the saver knows
    finally:
        stop.set()
        thread.join(5)


def test_a_failed_batch_is_retried_from_its_first_record_and_nothing_is_lost(watching: Provisioned) -> None:
    received: list[str] = []
    failed: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        keys = [r["dynamodb"]["Keys"]["sk"]["S"] for r in event["Records"]]
        if "r1" in keys and not failed:
            failed.append("r1")
            raise RuntimeError("a crash on the first try")
        received.extend(keys)
        return {"batchItemFailures": []}

    stack, stop = stack_with(watching, handler, batch_size=2), threading.Event()
    thread = _deliver_on_write(stack, stop)
    try:
        put_responses(watching.tables["ResponsesTable"], ["r0", "r1", "r2"])

        assert wait_for(lambda: len(received) >= 3), received
        assert received == ["r0", "r1", "r2"]
        assert failed == ["r1"]
        assert stack.pump.mappings[0].failed == []
    finally:
        stop.set()
        thread.join(5)
