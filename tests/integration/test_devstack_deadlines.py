"""The local stack's clock stops at every deadline on the way, so a jump of a week keeps work on time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest

import app
from aftercare.devstack import deadlines
from aftercare.devstack.lambdas import _handlers
from aftercare.devstack.schedules import Scheduler
from aftercare.devstack.stack import DevStack
from aftercare.devstack.streams import Mapping, StreamPump
from functions.composition import adapters
from functions.shared import clock
from tests.integration.test_flags import answer, emailed  # noqa: F401  (a fixture)
from tests.shop import Shop

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(frozen: Any) -> DevStack:
    pump = StreamPump(
        [
            Mapping(
                frozen.tables["ResponsesTable"],
                frozen.stream_arns["ResponsesTable"],
                "test-flag_responses",
                _handlers["test-flag_responses"],
                batch_size=10,
            )
        ]
    )
    stack = DevStack(frozen, Scheduler.from_app(app.app, "test"), pump)
    stack.next_due_hints.extend(deadlines.every_deadline(adapters().settings))
    return stack


def test_an_escalation_fires_at_its_deadline_when_the_clock_jumps_a_week(
    shop: Shop,
    emailed: dict[str, Any],  # noqa: F811  (the fixture imported above)
    stack: DevStack,
    frozen: Any,
) -> None:
    # Given a negative answer flagged with a 24-hour SLA
    answer(shop, emailed, 1, "Never again")
    stack.pump.pump_until_quiet()
    [flag] = boto3.client("dynamodb").scan(TableName=frozen.tables["FlagsTable"])["Items"]
    deadline = clock.parse_iso(flag["sla_deadline"]["S"])

    # When the developer moves the clock a week ahead in one jump
    stack.advance(timedelta(days=7))

    # Then the flag escalated at its deadline, not at the end of the jump
    [flag] = boto3.client("dynamodb").scan(TableName=frozen.tables["FlagsTable"])["Items"]
    escalated = clock.parse_iso(flag["escalated_at"]["S"])
    assert deadline <= escalated < deadline + timedelta(minutes=1)


def test_the_clock_stops_at_the_next_digest_time(shop: Shop, stack: DevStack) -> None:
    # Given a store (digests go out Monday 09:00 in its timezone), When asked for the next stop
    due = deadlines.next_digest()

    # Then it is the coming Monday at 09:00 in the store's timezone, within a week
    from zoneinfo import ZoneInfo

    timezone = ZoneInfo(adapters().stores.get(shop.id).config.timezone)
    assert due is not None and clock.now() < due <= clock.now() + timedelta(weeks=1)
    local = due.astimezone(timezone)
    assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
