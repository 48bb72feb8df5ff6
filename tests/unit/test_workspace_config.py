"""The parts of store.yaml the workspace reads: who may sign in (and as what) and the business hours."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from functions.stores.models import DEFAULT_KEYWORDS, SUPPORTED_LOCALES, BusinessHours, StoreConfig
from tests.helpers import minimal_store_config

pytestmark = pytest.mark.unit


def config_with(**changes: Any) -> dict[str, Any]:
    config = minimal_store_config()
    config.update(changes)
    return config


def problems(config: dict[str, Any]) -> list[str]:
    from functions.stores.config_errors import fields

    with pytest.raises(ValidationError) as raised:
        StoreConfig.model_validate(config)
    return [f"{f['field']}: {f['problem']}" for f in fields(raised.value, StoreConfig)]


def test_owners_sign_in_as_owners_and_alert_addresses_as_staff() -> None:
    # Given a store with an owner, an alert address and an escalation address
    staff = {
        "alert_emails": ["care@shop.example"],
        "escalation_emails": ["lead@shop.example"],
        "owners": ["Owner@Shop.example"],
    }
    config = StoreConfig.model_validate(config_with(staff=staff))
    # Then each address has its role, whatever its case, and anyone else has none
    assert config.staff.role_of("owner@shop.example") == "owner"
    assert config.staff.role_of(" CARE@shop.example ") == "staff"
    assert config.staff.role_of("lead@shop.example") == "staff"
    assert config.staff.role_of("stranger@shop.example") is None


def test_an_owner_who_also_gets_alerts_is_an_owner() -> None:
    staff = {"alert_emails": ["boss@shop.example"], "owners": ["boss@shop.example"]}
    assert StoreConfig.model_validate(config_with(staff=staff)).staff.role_of("boss@shop.example") == "owner"


def test_without_business_hours_every_hour_counts() -> None:
    assert StoreConfig.model_validate(minimal_store_config()).business_hours is None


def test_business_hours_read_as_opening_periods_per_weekday() -> None:
    hours = BusinessHours.model_validate(
        {
            "weekly": {"monday": ["13:00-17:00", "09:00-12:00"], "friday": ["09:00-24:00"]},
            "holidays": ["2026-12-25"],
        }
    )
    assert hours.periods(0) == [(9 * 60, 12 * 60), (13 * 60, 17 * 60)]
    assert hours.periods(4) == [(9 * 60, 24 * 60)]
    assert hours.periods(6) == []
    assert str(hours.holidays[0]) == "2026-12-25"


@pytest.mark.parametrize(
    ("weekly", "says"),
    [
        ({"monday": ["9-17"]}, '"9-17" is not an opening period; write start-end in 24-hour time, e.g. "09'),
        ({"monday": ["17:00-09:00"]}, '"17:00-09:00" ends before it starts'),
        ({"monday": ["09:00-24:30"]}, "is not an opening period"),
        ({"monday": ["09:00-12:00", "11:00-14:00"]}, "overlap"),
        ({"monday": []}, "opens on no day; give at least one weekday its opening hours"),
        ({"someday": ["09:00-17:00"]}, "monday"),
    ],
)
def test_business_hours_that_cannot_be_meant_are_refused_naming_the_problem(weekly: Any, says: str) -> None:
    found = problems(config_with(business_hours={"weekly": weekly}))
    assert any(found_problem.startswith("business_hours.weekly") for found_problem in found), found
    assert any(says in found_problem for found_problem in found), found


# ------------------------------------------------------------------------------ default alert keywords


def alerts_of(**config: Any) -> StoreConfig:
    return StoreConfig.model_validate(config_with(**config))


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_a_store_without_keywords_watches_its_languages_words_and_english(locale: str) -> None:
    config = alerts_of(default_locale=locale)
    words = config.alerts.keywords_for(config.default_locale)
    assert config.alerts.keywords is None and config.alerts.default_keywords
    assert words[: len(DEFAULT_KEYWORDS[locale])] == list(DEFAULT_KEYWORDS[locale])
    assert set(DEFAULT_KEYWORDS["en"]) <= set(words) and len(set(words)) == len(words)
    assert all(0 < len(word) <= 60 and word == word.strip() for word in words)  # valid as store keywords


def test_defaults_follow_the_language_of_a_regional_locale() -> None:
    config = alerts_of(default_locale="ar-SA")
    assert "مكسور" in config.alerts.keywords_for(config.default_locale)


def test_a_stores_own_keywords_replace_the_defaults_and_an_empty_list_watches_none() -> None:
    own = alerts_of(default_locale="ar", alerts={"keywords": ["late"]})
    assert own.alerts.keywords_for("ar") == ["late"] and not own.alerts.default_keywords
    assert alerts_of(default_locale="ar", alerts={"keywords": []}).alerts.keywords_for("ar") == []


def test_the_english_defaults_stored_by_older_stores_count_as_unset() -> None:
    old = alerts_of(
        default_locale="ar", alerts={"keywords": ["broken", "never arrived", "refund", "damaged"]}
    )
    assert old.alerts.default_keywords and "مكسور" in old.alerts.keywords_for("ar")


def test_the_settings_page_says_the_default_words_are_aftercares() -> None:
    from functions.shared.i18n import Translator
    from functions.workspace.settings_view import sections
    from functions.workspace.web import Formats

    def keywords_row(config: StoreConfig) -> Any:
        t = Translator("ar")
        alerts = next(
            section for section in sections(config, t, Formats("ar", "UTC")) if section.key == "alerts"
        )
        return next(row for row in alerts.rows if row.path == "alerts.keywords")

    default = keywords_row(alerts_of(default_locale="ar"))
    assert default.label == Translator("ar")("ws_cfg_keywords_default")
    assert default.items[:5] == list(DEFAULT_KEYWORDS["ar"])
    own = keywords_row(alerts_of(default_locale="ar", alerts={"keywords": ["late"]}))
    assert own.label == Translator("ar")("ws_cfg_keywords") and own.items == ["late"]
