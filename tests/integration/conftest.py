"""Fixtures for the sending-path tests: a frozen clock and a registered store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from functions.shared import clock
from tests.helpers import ApiClient
from tests.shop import T0, Shop


@pytest.fixture
def frozen(aws_stack: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The clock pinned at T0, with SES retries made fast."""
    from functions import composition

    monkeypatch.setenv("AFTERCARE_SEND_RETRY_BASE_MS", "1")
    composition.reset()
    clock.clock.freeze(T0)
    yield aws_stack


@pytest.fixture
def shop(api: ApiClient, operator_key: str, frozen: Any) -> Shop:
    return Shop(api, operator_key)


@pytest.fixture
def world(frozen: Any, api: ApiClient, operator_key: str) -> Iterator[Any]:
    """The whole system in this process (tests/world.py): stores, time, streams, a store refund desk."""
    from aftercare.devstack import lambdas
    from aftercare.devstack.streams import Mapping, StreamPump
    from tests.world import StoreDesk, World

    pump = StreamPump(
        [
            Mapping(
                table=frozen.tables["ResponsesTable"],
                stream_arn=frozen.stream_arns["ResponsesTable"],
                function_name="test-flag_responses",
                handler=lambdas._handlers["test-flag_responses"],
                batch_size=10,
                max_retries=2,
            )
        ]
    )
    desk = StoreDesk()
    yield World(api, operator_key, desk, pump)
    desk.close()
