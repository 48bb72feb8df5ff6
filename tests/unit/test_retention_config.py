"""The store's ``retention`` setting: documented defaults, explicit bounds, errors that name the setting."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from functions.stores.models import StoreConfig
from tests.helpers import minimal_store_config

pytestmark = pytest.mark.unit


def problems(config: dict[str, Any]) -> dict[str, str]:
    from functions.stores.config_errors import fields

    with pytest.raises(ValidationError) as raised:
        StoreConfig.model_validate(config)
    return {f["field"]: f["problem"] for f in fields(raised.value, StoreConfig)}


def with_retention(**retention: Any) -> dict[str, Any]:
    return {**minimal_store_config(), "retention": retention}


def test_a_store_that_says_nothing_keeps_orders_three_years_answers_two_and_returns_seven() -> None:
    # Given a configuration without a retention section
    config = StoreConfig.model_validate(minimal_store_config())

    # Then the documented defaults apply
    assert config.retention.orders == timedelta(days=1095)
    assert config.retention.answers == timedelta(days=730)
    assert config.retention.returns == timedelta(days=2555)


def test_the_example_store_yaml_writes_out_the_defaults() -> None:
    example = yaml.safe_load(Path("examples/store.yaml").read_text())
    config = StoreConfig.model_validate(example)
    assert example["retention"] == {"orders": "P1095D", "answers": "P730D", "returns": "P2555D"}
    assert config.retention == StoreConfig.model_validate(minimal_store_config()).retention


@pytest.mark.parametrize("kind", ["orders", "answers", "returns"])
def test_each_kind_takes_ninety_days_to_ten_years(kind: str) -> None:
    # Given the shortest and the longest allowed, in ISO 8601 as every other duration
    shortest = StoreConfig.model_validate(with_retention(**{kind: "P90D"}))
    longest = StoreConfig.model_validate(with_retention(**{kind: "P3650D"}))

    assert getattr(shortest.retention, kind) == timedelta(days=90)
    assert getattr(longest.retention, kind) == timedelta(days=3650)


@pytest.mark.parametrize(
    ("kind", "value", "phrase"),
    [
        ("orders", "P89D", '"P89D" is too short; use a duration from P90D to P3650D'),
        ("answers", "P3651D", '"P3651D" is too long; use a duration from P90D to P3650D'),
        ("returns", "-P1D", "is negative; use a duration from P90D to P3650D"),
        ("answers", "two years", '"two years"'),
    ],
)
def test_a_value_out_of_range_names_the_setting_the_value_and_a_good_example(
    kind: str, value: str, phrase: str
) -> None:
    # When a store writes a retention outside the range
    found = problems(with_retention(**{kind: value}))

    # Then the problem names the setting, quotes the value and shows a good one
    assert list(found) == [f"retention.{kind}"], found
    assert phrase in found[f"retention.{kind}"]
    assert "e.g." in found[f"retention.{kind}"]


def test_an_unknown_kind_is_refused_with_the_kinds_there_are() -> None:
    found = problems(with_retention(emails="P30D"))
    assert "orders, answers, returns" in found["retention.emails"]


def test_orders_must_outlive_the_return_window_and_its_waits() -> None:
    # Given a store whose returns may take a year to decide and another to arrive
    config = with_retention(orders="P365D")
    config["returns"] = {"window": "P200D", "approval_timeout": "P100D", "return_timeout": "P100D"}

    # When it keeps orders only a year
    found = problems(config)

    # Then it is told how long its own flows need them
    assert list(found) == ["retention.orders"]
    assert "P400D" in found["retention.orders"]


def test_orders_must_outlive_the_latest_request() -> None:
    # Given electronics asked about after 300 days with a 60-day reminder
    config = with_retention(orders="P365D")
    config["outreach"] = {
        "product_types": {"electronics": {"review_delay": "P300D", "reminder_delay": "P60D"}},
        "transit_time": "P4D",
        "max_lateness": "P7D",
    }

    found = problems(config)

    assert "P371D" in found["retention.orders"]


def test_returns_must_outlive_the_longest_wait_for_a_decision_and_a_parcel() -> None:
    # Given approvals that may wait 60 days and parcels another 60
    config = with_retention(returns="P90D")
    config["returns"] = {"approval_timeout": "P60D", "return_timeout": "P60D"}

    # When returns are kept 90 days after their last step
    found = problems(config)

    # Then a waiting return could vanish: refused, with the length that fits
    assert list(found) == ["retention.returns"]
    assert '"P120D"' in found["retention.returns"]


@pytest.mark.parametrize("locale", ["en", "ar", "fa", "kk", "ka"])
def test_the_settings_page_shows_each_retention_in_its_own_section_in_the_stores_language(
    locale: str,
) -> None:
    from functions.shared.i18n import Translator
    from functions.workspace.settings_view import sections
    from functions.workspace.web import Formats

    # Given a store keeping answers one year, in any supported language
    config = StoreConfig.model_validate(with_retention(answers="P365D"))
    t = Translator(locale)

    # When its owner opens the settings page
    [section] = [s for s in sections(config, t, Formats(locale, "UTC")) if s.key == "retention"]

    # Then a titled section lists the three lengths, each labelled in that language and read as a duration
    assert section.title == t("ws_cfg_section_retention") != "ws_cfg_section_retention"
    rows = {row.path: row for row in section.rows}
    assert list(rows) == ["retention.orders", "retention.answers", "retention.returns"]
    for name, row in rows.items():
        key = f"ws_cfg_{name.split('.')[1]}"
        assert row.label == t(key) != key
    assert rows["retention.answers"].value == Formats(locale, "UTC").exact(timedelta(days=365))


def test_a_default_the_store_did_not_write_grows_to_what_its_flows_need_instead_of_refusing() -> None:
    # Given a stored configuration with the longest delays there are and no retention section
    config = minimal_store_config()
    config["outreach"] = {
        "default": {"review_delay": "P365D", "reminder_delay": "P365D"},
        "transit_time": "P365D",
        "max_lateness": "P365D",
    }

    # When it is read
    kept = StoreConfig.model_validate(config).retention

    # Then it still loads, and its orders are kept until its last request could go out
    assert kept.orders == timedelta(days=1460)
    assert kept.answers == timedelta(days=730)
