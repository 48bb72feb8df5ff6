from __future__ import annotations

import pytest

from functions.shared.errors import ConfigurationError
from functions.shared.settings import load_settings

pytestmark = pytest.mark.unit

COMPLETE = {
    "AFTERCARE_PUBLIC_BASE_URL": "https://care.example.com",
    "AFTERCARE_STORES_TABLE": "stores",
    "AFTERCARE_ORDERS_TABLE": "orders",
    "AFTERCARE_OUTREACH_TABLE": "outreach",
    "AFTERCARE_RESPONSES_TABLE": "responses",
    "AFTERCARE_FLAGS_TABLE": "flags",
    "AFTERCARE_RETURNS_TABLE": "returns",
    "AFTERCARE_CUSTOMERS_TABLE": "customers",
    "AFTERCARE_IDEMPOTENCY_TABLE": "idempotency",
    "AFTERCARE_WORKSPACE_TABLE": "workspace",
    "AFTERCARE_INSIGHTS_TABLE": "insights",
    "AFTERCARE_SEND_RATE_TABLE": "send-rate",
    "AFTERCARE_SIGNING_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:sign",
    "AFTERCARE_OPERATOR_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:op",
    "AFTERCARE_SES_CONFIGURATION_SET": "aftercare",
    "AFTERCARE_RETURNS_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:1:stateMachine:returns",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in COMPLETE:
        monkeypatch.delenv(key, raising=False)
    yield


def test_complete_environment_gives_typed_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in COMPLETE.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AFTERCARE_DUE_SHARDS", "16")

    settings = load_settings()

    assert settings.stores_table == "stores"
    assert settings.due_shards == 16
    assert settings.stage == "prod"


def test_missing_setting_fails_fast_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given everything but the stores table
    for key, value in COMPLETE.items():
        if key != "AFTERCARE_STORES_TABLE":
            monkeypatch.setenv(key, value)

    # When settings are read, Then the error names the missing variable and nothing else
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert "AFTERCARE_STORES_TABLE is not set" in str(raised.value)
    assert "ORDERS_TABLE" not in str(raised.value)


def test_every_missing_setting_is_listed_at_once() -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    message = str(raised.value)
    for key in COMPLETE:
        assert f"{key} is not set" in message


def test_invalid_value_names_variable_and_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in COMPLETE.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AFTERCARE_DUE_SHARDS", "0")

    with pytest.raises(
        ConfigurationError, match=r"AFTERCARE_DUE_SHARDS: Input should be greater than or equal to 1"
    ):
        load_settings()


def test_the_sweeps_fan_out_settings_are_typed_and_fail_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in COMPLETE.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    assert (settings.sweep_worker_concurrency, settings.sweep_worker_function) == (3, "")
    assert (settings.sweep_send_share, settings.send_rate) == (0.9, None)

    monkeypatch.setenv("AFTERCARE_SWEEP_WORKER_CONCURRENCY", "0")
    monkeypatch.setenv("AFTERCARE_SEND_RATE", "fast")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    message = str(raised.value)
    assert "AFTERCARE_SWEEP_WORKER_CONCURRENCY: Input should be greater than or equal to 1" in message
    assert "AFTERCARE_SEND_RATE:" in str(raised.value)
