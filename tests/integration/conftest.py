"""Fixtures for the sending-path tests: a registered store (the frozen clock and the world are in
tests/conftest.py, shared with the browser audit)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import ApiClient
from tests.shop import Shop


@pytest.fixture
def shop(api: ApiClient, operator_key: str, frozen: Any) -> Shop:
    return Shop(api, operator_key)
