"""A refused store.yaml is explained in words a store owner can act on: the setting's dotted path, the value
as written, what to write instead and an example; never pydantic's own wording."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from functions.stores.config_errors import fields
from functions.stores.models import SecretRotationRequest, StoreCreateRequest, StoreUpdateRequest
from tests.helpers import minimal_store_config
from tests.unit.test_store_config import JUNK, JUNK_PATHS, with_

pytestmark = pytest.mark.unit

PYDANTIC_WORDING = (
    "Input should",
    "Value error",
    "String should",
    "Field required",
    "Extra inputs",
    "List should",
)


def told(config: dict[str, Any], webhook_secrets: dict[str, Any] | None = None) -> dict[str, str]:
    """What the CLI and the admin API say about a create request, by field."""
    with pytest.raises(ValidationError) as refused:
        StoreCreateRequest.model_validate({"config": config, "webhook_secrets": webhook_secrets or {}})
    return {f["field"]: f["problem"] for f in fields(refused.value, StoreCreateRequest)}


def one(path: str, value: Any) -> tuple[str, str]:
    [(field, problem)] = told(with_(path, value)).items()
    return field, problem


@pytest.mark.parametrize(
    ("path", "value", "field", "problem"),
    [
        # a pattern (string_pattern_mismatch)
        (
            "currency",
            "usd",
            "config.currency",
            '"usd" is not a currency code; use three capital letters (ISO 4217), e.g. "EUR"',
        ),
        (
            "emails.accent_color",
            "green",
            "config.emails.accent_color",
            '"green" is not a colour; use # and six hexadecimal digits, e.g. "#2f6f5e"',
        ),
        # durations: not one at all (time_delta_parsing, time_delta_type), out of the field's range
        (
            "outreach.product_types",
            {"apparel": {"review_delay": "3 dayz"}},
            "config.outreach.product_types.apparel.review_delay",
            '"3 dayz" is not a duration; use e.g. "P7D" or "7 days" (ISO 8601; 12 hours is "PT12H")',
        ),
        (
            "alerts.sla",
            [4],
            "config.alerts.sla",
            '[4] is not a duration; use e.g. "P1D" or "1 day" (ISO 8601; 12 hours is "PT12H")',
        ),
        (
            "alerts.sla",
            "PT5M",
            "config.alerts.sla",
            '"PT5M" is too short; use a duration from PT15M to P365D, e.g. "P1D" or "1 day" '
            '(ISO 8601; 12 hours is "PT12H")',
        ),
        (
            "returns.window",
            "P400D",
            "config.returns.window",
            '"P400D" is too long; use a duration from P1D to P365D, e.g. "P30D" or "30 days" '
            '(ISO 8601; 12 hours is "PT12H")',
        ),
        (
            "alerts.sla",
            True,
            "config.alerts.sla",
            'true is not a duration; use a duration from PT15M to P365D, e.g. "P1D" or "1 day" '
            '(ISO 8601; 12 hours is "PT12H")',
        ),
        # ranges (less_than_equal, greater_than_equal) and whole numbers (int_parsing, int_from_float)
        (
            "outreach.send_window_days",
            30,
            "config.outreach.send_window_days",
            "30 is out of range; use a whole number from 0 to 14, e.g. 2",
        ),
        (
            "alerts.negative_stars_at_most",
            0,
            "config.alerts.negative_stars_at_most",
            "0 is out of range; use a whole number from 1 to 4, e.g. 2",
        ),
        (
            "outreach.send_window_days",
            "two",
            "config.outreach.send_window_days",
            '"two" is not a whole number; use a whole number from 0 to 14, e.g. 2',
        ),
        (
            "outreach.send_window_days",
            1.5,
            "config.outreach.send_window_days",
            "1.5 is not a whole number; use a whole number from 0 to 14, e.g. 2",
        ),
        # choices: a map key out of a fixed set (literal_error), with the closest one
        (
            "business_hours",
            {"weekly": {"mon": ["09:00-17:00"]}},
            "config.business_hours.weekly.mon",
            '"mon" is not a weekday; use one of monday, tuesday, wednesday, thursday, friday, saturday, '
            "sunday; did you mean monday?",
        ),
        (
            "integrations",
            {"shopfy": {}},
            "config.integrations.shopfy",
            '"shopfy" is not an integration; use one of shopify, woocommerce, generic; did you mean shopify?',
        ),
        # time zones, locales, emails, URLs (our validators and pydantic's email check)
        (
            "timezone",
            "Europe/Berln",
            "config.timezone",
            '"Europe/Berln" is not a time zone; use an IANA name, e.g. "Europe/Berlin"',
        ),
        (
            "default_locale",
            "de",
            "config.default_locale",
            '"de" is not a supported locale; use one of en, ar, fa, kk, ka, e.g. "en"',
        ),
        (
            "sender.email",
            "hello.example.com",
            "config.sender.email",
            '"hello.example.com" is not an email address (an email address must have an @-sign); '
            'use e.g. "hello@acme-goods.example.com"',
        ),
        (
            "returns.refund_endpoint",
            "http://shop.example.com/refund",
            "config.returns.refund_endpoint",
            '"http://shop.example.com/refund" is not a safe address (it must start with https://); use an '
            'https:// address on a public host, e.g. "https://shop.example.com/aftercare/refund"',
        ),
        # types: text, true/false, lists, maps, amounts, dates
        (
            "currency",
            978,
            "config.currency",
            '978 is not text; write text (in quotes if it looks like a number or true/false), e.g. "USD"',
        ),
        (
            "integrations",
            {"generic": {"enabled": "maybe"}},
            "config.integrations.generic.enabled",
            '"maybe" is not true or false; write true or false, e.g. true',
        ),
        (
            "staff.alert_emails",
            "care@acme.example.com",
            "config.staff.alert_emails",
            '"care@acme.example.com" is not a list; write a list (one `- item` per line in YAML), '
            'e.g. ["care@acme-goods.example.com"]',
        ),
        (
            "outreach",
            "soon",
            "config.outreach",
            '"soon" is not a map of settings; write its settings indented below it (default, product_types, '
            "transit_time, frequency_cap, send_window_days, max_lateness)",
        ),
        (
            "returns.auto_approve_below",
            "lots",
            "config.returns.auto_approve_below",
            '"lots" is not an amount; write a number with at most 4 decimal places, in quotes, e.g. "25.00"',
        ),
        (
            "business_hours",
            {"weekly": {"monday": ["09:00-17:00"]}, "holidays": ["Christmas"]},
            "config.business_hours.holidays[0]",
            '"Christmas" is not a date; write it as YYYY-MM-DD, e.g. "2026-12-25"',
        ),
        # lengths of text and lists
        (
            "sender.name",
            "",
            "config.sender.name",
            '"" is empty; write at least 1 character, e.g. "Acme Goods"',
        ),
        (
            "postal_address",
            "Main St",
            "config.postal_address",
            '"Main St" is too short (7 characters); write at least 10 characters, '
            'e.g. "Acme Goods, 1 Main Street, Springfield 12345"',
        ),
        (
            "staff.alert_emails",
            [],
            "config.staff.alert_emails",
            '[] has no items; give at least 1, e.g. ["care@acme-goods.example.com"]',
        ),
        # a value checked against another one (a model validator), pointed at the setting
        (
            "returns",
            {"auto_approve_below": "20", "keep_it_below": "30"},
            "config.returns.keep_it_below",
            "30 is more than returns.auto_approve_below (20); keep it at most that amount, or 0 to always "
            'ask for the item back, e.g. "20"',
        ),
    ],
)
def test_each_kind_of_problem_names_the_setting_the_value_what_to_write_and_an_example(
    path: str, value: Any, field: str, problem: str
) -> None:
    # Given a store.yaml with one bad value; When it is validated; Then one sentence says what to write
    assert one(path, value) == (field, problem)


def test_an_unknown_setting_gets_the_closest_known_one() -> None:
    config = minimal_store_config()
    config["default_lcoale"] = "en"
    assert told(config) == {
        "config.default_lcoale": 'unknown setting "default_lcoale"; did you mean default_locale?'
    }


def test_an_unknown_setting_with_nothing_close_lists_the_settings_of_its_section() -> None:
    config = with_("alerts", {"pager": "on"})
    assert told(config) == {
        "config.alerts.pager": 'unknown setting "pager"; the settings here are sla, negative_stars_at_most, '
        "detractor_nps_at_most, keywords, reply_templates"
    }


def test_a_missing_setting_says_it_is_required_with_an_example() -> None:
    config = minimal_store_config()
    del config["postal_address"]
    del config["sender"]["email"]
    assert told(config) == {
        "config.sender.email": 'required but missing; add it, e.g. email: "hello@acme-goods.example.com"',
        "config.postal_address": "required but missing; add it, e.g. postal_address: "
        '"Acme Goods, 1 Main Street, Springfield 12345"',
    }


def test_a_bad_entry_of_a_map_is_named_by_its_key() -> None:
    config = with_("emails.texts", {"en": {"review_subject": "Thanks from {customer}"}})
    [(field, problem)] = told(config).items()
    assert field == "config.emails.texts.en.review_subject"
    assert problem.startswith('"Thanks from {customer}" uses {customer}')
    assert told(with_("outreach.product_types", {"Gift Cards": {}})) == {
        'config.outreach.product_types["Gift Cards"]': '"Gift Cards" is not a product type name; use '
        'lowercase letters, digits, spaces, _ or - (at most 64), e.g. "gift cards"'
    }


def test_secrets_are_never_quoted_back() -> None:
    secret = "sh0rt-s3cret"
    found = told(minimal_store_config(), {"shopify": secret})
    assert found == {"webhook_secrets.shopify": "12 characters is too short for a secret; use at least 16"}
    with pytest.raises(ValidationError) as refused:
        SecretRotationRequest.model_validate({"secret": secret})
    [problem] = fields(refused.value, SecretRotationRequest)
    assert secret not in problem["problem"]


def test_an_update_without_its_version_is_explained_too() -> None:
    with pytest.raises(ValidationError) as refused:
        StoreUpdateRequest.model_validate({"config": minimal_store_config(), "version": "latest"})
    assert fields(refused.value, StoreUpdateRequest) == [
        {
            "field": "version",
            "problem": '"latest" is not a whole number; use a whole number from 1 to 1000000000, e.g. 1',
        }
    ]


def test_long_values_are_cut_short() -> None:
    field, problem = one("name", "N" * 500)
    assert field == "config.name"
    assert problem.startswith('"' + "N" * 59 + '…" is too long (500 characters); write at most 120')


@pytest.mark.parametrize("path", JUNK_PATHS)
def test_whatever_comes_in_every_problem_is_a_sentence_in_our_words(path: str) -> None:
    # Given every kind of junk at every setting (the same matrix the model is fuzzed with)
    for junk in JUNK:
        if isinstance(junk, str) and len(junk) > 1000:
            continue  # the ten-megabyte string: same errors as a long one, slow to copy
        config = with_(path, junk)
        try:
            StoreCreateRequest.model_validate({"config": config})
        except ValidationError as refused:
            # When it is explained; Then every problem names a field in our words, never pydantic's
            for item in fields(refused, StoreCreateRequest):
                assert item["field"] and item["problem"], item
                assert not any(words in item["problem"] for words in PYDANTIC_WORDING), (junk, item)
                assert len(item["problem"]) < 600, item
