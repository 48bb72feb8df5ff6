"""The config diff people read before applying an update, the history records, and secret expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.shared import clock
from functions.stores import changes
from functions.stores.management import MAX_RETIRING, _rotated
from functions.stores.models import (
    ConfigChange,
    RetiringSecret,
    SecretRecord,
    SecretRotationRequest,
    Store,
    StoreConfig,
    StoreUpdateRequest,
)
from functions.stores.service import InvalidConfig
from tests.helpers import minimal_store_config

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def store(**config: Any) -> Store:
    return Store(
        config=StoreConfig.model_validate({**minimal_store_config(), **config}),
        created_at="2026-11-01T00:00:00Z",
        admin_key_hash="x",
    )


def lines(old: Store, **config: Any) -> list[str]:
    new = StoreConfig.model_validate({**minimal_store_config(), **config})
    return changes.readable(changes.config_diff(old, new))


# ------------------------------------------------------------------------------------------------ diff


def test_an_identical_config_has_no_difference() -> None:
    assert lines(store()) == []


def test_defaults_written_out_are_no_difference() -> None:
    assert lines(store(), currency="USD", timezone="UTC") == []


def test_each_change_is_one_line_with_its_dotted_path() -> None:
    assert lines(store(), name="New Name", alerts={"sla": "PT4H"}) == [
        'alerts.sla: "P1D" -> "PT4H"',
        'name: "Acme Goods" -> "New Name"',
    ]


def test_lists_are_compared_whole() -> None:
    assert lines(store(), staff={"alert_emails": ["a@example.com", "b@example.com"]}) == [
        'staff.alert_emails: ["care@acme-goods.example.com"] -> ["a@example.com", "b@example.com"]'
    ]


def test_keys_that_are_not_plain_words_are_bracketed() -> None:
    old = store()
    config = minimal_store_config()
    config["outreach"]["product_types"]["gift card"] = {"reviews": False}
    assert 'outreach.product_types["gift card"].reviews: (not set) -> false' in lines(old, **config)


def test_removed_settings_show_as_not_set() -> None:
    old = store(reply_to="help@acme-goods.example.com")
    assert lines(old) == ['reply_to: "help@acme-goods.example.com" -> null']
    config = minimal_store_config()
    config["outreach"]["product_types"].pop("experience")
    removed = lines(store(), **config)
    assert 'outreach.product_types.experience.review_delay: "P1D" -> (not set)' in removed


def test_a_type_change_with_an_equal_value_still_shows() -> None:
    assert changes.diff({"a": 1}, {"a": True}) == [{"path": "a", "old": "1", "new": "true"}]


def test_an_emptied_map_shows() -> None:
    assert changes.diff({"texts": {"en": {"k": "v"}}}, {"texts": {}}) == [
        {"path": "texts", "old": "(not set)", "new": "{}"},
        {"path": "texts.en.k", "old": '"v"', "new": "(not set)"},
    ]


def test_text_is_shown_as_written_not_escaped() -> None:
    assert changes.render("Café Ünïcode") == '"Café Ünïcode"'


# ------------------------------------------------------------------------------------------------ records


def test_an_update_record_keeps_long_values_short_and_counts_every_change() -> None:
    diff = [{"path": f"p{n:03d}", "old": "o" * 500, "new": "n"} for n in range(150)]
    record = changes.updated("2026-11-02T09:00:00Z", "owner@example.com", diff, 7, [])
    assert record.summary.startswith("changed 150 settings: p000, p001, p002, p003, p004 and 145 more")
    assert len(record.changes) == changes.MAX_RECORDED_CHANGES
    assert len(record.changes[0]["old"]) == changes.MAX_VALUE_CHARS
    assert record.changes[0]["old"].endswith("…")
    assert (record.actor, record.action, record.version) == ("owner@example.com", "update", 7)


def test_a_record_round_trips_through_its_model() -> None:
    record = changes.admin_key_rotated("2026-11-02T09:00:00Z", "operator", 3)
    assert ConfigChange.model_validate(record.model_dump()) == record
    assert record.changes == []


# ------------------------------------------------------------------------------------------------ secrets


def record(**retiring: list[RetiringSecret]) -> SecretRecord:
    return SecretRecord(current={"shopify": ["current-secret-0001"]}, retiring=retiring)


def test_old_secrets_items_without_expiry_read_as_before() -> None:
    old_layout = SecretRecord(current={"generic": ["a" * 20, "b" * 20]})
    assert old_layout.active("2030-01-01T00:00:00Z").webhook == {"generic": ["a" * 20, "b" * 20]}


def test_a_replaced_secret_verifies_until_its_expiry_and_not_at_it() -> None:
    held = record(shopify=[RetiringSecret(secret="old-secret-000001", expires_at="2026-11-05T09:00:00Z")])
    assert held.active("2026-11-05T08:59:59Z").webhook["shopify"] == [
        "current-secret-0001",
        "old-secret-000001",
    ]
    assert held.active("2026-11-05T09:00:00Z").webhook["shopify"] == ["current-secret-0001"]


def test_rotation_moves_the_current_secret_to_retiring_and_drops_expired_ones() -> None:
    expired = RetiringSecret(secret="expired-secret-001", expires_at="2026-11-01T00:00:00Z")
    before = SecretRecord(
        current={"shopify": ["current-secret-0001"], "generic": ["generic-secret-001"]},
        retiring={"shopify": [expired], "generic": [expired]},
    )
    after, until = _rotated(before, "shopify", "brand-new-secret-01", NOW, 72)
    assert until == clock.isoformat(NOW + timedelta(hours=72))
    assert after.current == {"shopify": ["brand-new-secret-01"], "generic": ["generic-secret-001"]}
    assert after.retiring == {"shopify": [RetiringSecret(secret="current-secret-0001", expires_at=until)]}
    assert after.active(clock.isoformat(NOW)).webhook["shopify"] == [
        "brand-new-secret-01",
        "current-secret-0001",
    ]


def test_a_zero_grace_rotation_keeps_no_replaced_secret() -> None:
    after, until = _rotated(record(), "shopify", "brand-new-secret-01", NOW, 0)
    assert until == clock.isoformat(NOW)
    assert after.active(clock.isoformat(NOW)).webhook["shopify"] == ["brand-new-secret-01"]


def test_a_first_secret_has_no_previous_one() -> None:
    after, until = _rotated(record(), "generic", "brand-new-secret-01", NOW, 72)
    assert until is None
    assert after.current["generic"] == ["brand-new-secret-01"]


def test_rotation_refuses_a_secret_that_verifies_already() -> None:
    held = record(shopify=[RetiringSecret(secret="old-secret-000001", expires_at="2026-11-05T09:00:00Z")])
    with pytest.raises(InvalidConfig) as refused:
        _rotated(held, "shopify", "old-secret-000001", NOW, 72)
    assert refused.value.field == "secret"


def test_rotation_refuses_to_pile_up_replaced_secrets() -> None:
    alive = [
        RetiringSecret(secret=f"old-secret-{n:06d}", expires_at="2026-11-05T09:00:00Z")
        for n in range(MAX_RETIRING)
    ]
    with pytest.raises(changes.TooManySecrets) as refused:
        _rotated(record(shopify=alive), "shopify", "brand-new-secret-01", NOW, 72)
    assert "2026-11-05T09:00:00Z" in refused.value.message


# ------------------------------------------------------------------------------------------------ requests


@pytest.mark.parametrize(
    "body",
    [
        {"secret": "short"},
        {"secret": "x" * 257},
        {"secret": "has\nnewline-in-the-middle"},
        {"grace_hours": 169},
        {"grace_hours": -1},
        {"unknown": 1},
    ],
)
def test_bad_rotation_requests_are_refused(body: dict[str, Any]) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        SecretRotationRequest.model_validate(body)


def test_an_update_request_needs_a_version_and_validates_like_create() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        StoreUpdateRequest.model_validate({"config": minimal_store_config()})
    with pytest.raises(ValidationError):
        StoreUpdateRequest.model_validate({"config": minimal_store_config(), "version": 0})
    with pytest.raises(ValidationError):
        StoreUpdateRequest.model_validate(
            {"config": minimal_store_config(), "version": 1, "webhook_secrets": {"shopify": "short"}}
        )
    assert StoreUpdateRequest.model_validate({"config": minimal_store_config(), "version": 3}).version == 3
