from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from functions.stores.models import StoreConfig, StoreCreateRequest
from tests.helpers import minimal_store_config

pytestmark = pytest.mark.unit


def problems(config: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as raised:
        StoreConfig.model_validate(config)
    return {".".join(str(p) for p in e["loc"]): e["msg"] for e in raised.value.errors()}


def with_(path: str, value: Any) -> dict[str, Any]:
    config = minimal_store_config()
    node = config
    *parents, leaf = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return config


def test_the_shipped_example_is_valid() -> None:
    config = StoreConfig.model_validate(yaml.safe_load(Path("examples/store.yaml").read_text()))
    assert config.rule_for("clothing").review_delay == timedelta(days=14)


def test_minimal_config_gets_sensible_defaults() -> None:
    config = StoreConfig.model_validate(minimal_store_config())
    assert config.default_locale == "en"
    assert config.outreach.frequency_cap == timedelta(days=7)
    assert config.alerts.negative_stars_at_most == 2


def test_unknown_product_type_falls_back_to_store_default() -> None:
    config = StoreConfig.model_validate(minimal_store_config())
    rule = config.rule_for("garden furniture")
    assert rule.review_delay == timedelta(days=7)
    assert rule.nps_delay == timedelta(days=14)


def test_product_type_rule_inherits_what_it_does_not_set() -> None:
    config = StoreConfig.model_validate(minimal_store_config())
    rule = config.rule_for("Experience")
    assert rule.review_delay == timedelta(days=1)
    assert rule.reminder_delay == timedelta(days=5)


@pytest.mark.parametrize(
    ("path", "value", "field", "phrase"),
    [
        ("id", "Bad_ID!", "id", "lowercase letters, digits or hyphens"),
        ("sender.email", "not-an-email", "sender.email", "not a valid email address"),
        ("sender.name", "Acme\r\nBcc: victim@example.com", "sender.name", "single line"),
        ("timezone", "Mars/Olympus", "timezone", "unknown time zone"),
        ("default_locale", "tlh", "default_locale", "unsupported locale"),
        ("postal_address", "", "postal_address", "at least 10 characters"),
        ("outreach.frequency_cap", "-P1D", "outreach.frequency_cap", "positive duration"),
        ("outreach.frequency_cap", "soon", "outreach.frequency_cap", "duration"),
        ("outreach.product_types", {"Bad Type!": {}}, "outreach.product_types", "product type"),
        ("returns.refund_endpoint", "http://store.example.com/refund", "returns.refund_endpoint", "https://"),
        ("staff.alert_emails", [], "staff.alert_emails", "at least 1 item"),
        ("currency", "euro", "currency", "should match pattern"),
        (
            "integrations",
            {"magento": {}},
            "integrations.magento.[key]",
            "'shopify', 'woocommerce' or 'generic'",
        ),
        ("surprise", True, "surprise", "Extra inputs are not permitted"),
    ],
)
def test_bad_config_names_the_field_and_the_problem(path: str, value: Any, field: str, phrase: str) -> None:
    found = problems(with_(path, value))
    assert field in found, found
    assert phrase in found[field]


def test_missing_required_sections_are_each_reported() -> None:
    found = problems({"id": "acme-goods"})
    assert {"name", "sender", "postal_address", "staff"} <= set(found)
    assert all(found[key] == "Field required" for key in ("name", "sender", "postal_address", "staff"))


def test_inconsistent_return_thresholds_are_refused() -> None:
    config = with_("returns", {"auto_approve_below": 20, "keep_it_below": 30})
    assert "cannot exceed" in " ".join(problems(config).values())


def test_supplied_webhook_secret_must_be_strong() -> None:
    with pytest.raises(ValidationError, match="too short"):
        StoreCreateRequest.model_validate(
            {"config": minimal_store_config(), "webhook_secrets": {"shopify": "abc"}}
        )
