from __future__ import annotations

import contextlib
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from pydantic import ValidationError

from functions.stores.models import StoreConfig, StoreCreateRequest
from tests.helpers import minimal_store_config

pytestmark = pytest.mark.unit


def problems(config: dict[str, Any]) -> dict[str, str]:
    """What the CLI and the admin API say about a refused config, by dotted path."""
    from functions.stores.config_errors import fields

    with pytest.raises(ValidationError) as raised:
        StoreConfig.model_validate(config)
    return {f["field"]: f["problem"] for f in fields(raised.value, StoreConfig)}


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
        ("sender.email", "not-an-email", "sender.email", '"not-an-email" is not an email address'),
        ("sender.name", "Acme\r\nBcc: victim@example.com", "sender.name", "single line"),
        ("timezone", "Mars/Olympus", "timezone", '"Mars/Olympus" is not a time zone; use an IANA name'),
        ("default_locale", "tlh", "default_locale", "use one of en, ar, fa, kk, ka"),
        ("postal_address", "", "postal_address", "at least 10 characters"),
        ("outreach.frequency_cap", "-P1D", "outreach.frequency_cap", '"-P1D" is negative'),
        ("outreach.frequency_cap", "soon", "outreach.frequency_cap", '"soon" is not a duration; use e.g.'),
        (
            "outreach.product_types",
            {"Bad Type!": {}},
            'outreach.product_types["Bad Type!"]',
            "is not a product type name",
        ),
        ("returns.refund_endpoint", "http://store.example.com/refund", "returns.refund_endpoint", "https://"),
        ("staff.alert_emails", [], "staff.alert_emails", "[] has no items; give at least 1"),
        ("currency", "euro", "currency", '"euro" is not a currency code; use three capital letters'),
        (
            "integrations",
            {"magento": {}},
            "integrations.magento",
            '"magento" is not an integration; use one of shopify, woocommerce, generic',
        ),
        ("surprise", True, "surprise", 'unknown setting "surprise"; the settings here are id, name,'),
    ],
)
def test_bad_config_names_the_field_and_the_problem(path: str, value: Any, field: str, phrase: str) -> None:
    found = problems(with_(path, value))
    assert field in found, found
    assert phrase in found[field]


def test_missing_required_sections_are_each_reported() -> None:
    found = problems({"id": "acme-goods"})
    assert {"name", "sender", "postal_address", "staff"} <= set(found)
    assert all(found[key].startswith("required but missing; add it, e.g. ") for key in found)
    assert found["postal_address"].endswith('postal_address: "Acme Goods, 1 Main Street, Springfield 12345"')


def test_inconsistent_return_thresholds_are_refused() -> None:
    config = with_("returns", {"auto_approve_below": 20, "keep_it_below": 30})
    found = problems(config)["returns.keep_it_below"]
    assert found.startswith("30 is more than returns.auto_approve_below (20)")


def test_supplied_webhook_secret_must_be_strong() -> None:
    with pytest.raises(ValidationError, match="too short"):
        StoreCreateRequest.model_validate(
            {"config": minimal_store_config(), "webhook_secrets": {"shopify": "abc"}}
        )


# --- bounds: every duration, amount, list and text has a floor and a ceiling ---------------------------

DURATIONS = [  # (path, smallest accepted, largest accepted, just below, just above)
    ("outreach.default.review_delay", "PT1H", "P365D", "PT59M", "P365DT1S"),
    ("outreach.default.reminder_delay", "PT1H", "P365D", "PT59M", "P366D"),
    ("outreach.default.nps_delay", "PT1H", "P365D", "PT0S", "P366D"),
    ("outreach.product_types.clothing.review_delay", "PT1H", "P365D", "PT30M", "P366D"),
    ("outreach.product_types.clothing.reminder_delay", "PT1H", "P365D", "PT30M", "P366D"),
    ("outreach.product_types.clothing.nps_delay", "PT1H", "P365D", "PT30M", "P366D"),
    ("outreach.transit_time", "PT1H", "P365D", "PT0S", "P366D"),
    ("outreach.frequency_cap", "PT1H", "P365D", "PT59M", "P366D"),
    ("outreach.max_lateness", "PT1H", "P365D", "PT59M59S", "P366D"),
    ("returns.window", "P1D", "P365D", "PT23H59M", "P366D"),
    ("returns.approval_timeout", "PT1H", "P365D", "PT59M", "P366D"),
    ("returns.return_timeout", "P1D", "P365D", "PT23H", "P366D"),
    ("returns.return_reminder", "PT1H", "P365D", "PT59M", "P366D"),
    ("alerts.sla", "PT15M", "P365D", "PT14M", "P366D"),
]


@pytest.mark.parametrize(("path", "low", "high", "below", "above"), DURATIONS)
def test_every_duration_is_bounded_on_both_sides(
    path: str, low: str, high: str, below: str, above: str
) -> None:
    StoreConfig.model_validate(with_(path, low))
    StoreConfig.model_validate(with_(path, high))
    for bad in (below, above, "-P1D", "PT0S"):
        found = problems(with_(path, bad))
        assert path in found, (bad, found)
        assert f"from {low} to P365D" in found[path]


@pytest.mark.parametrize("huge", ["P999999999D", "P9999999999D", 10**20, 1e300, "PT1e30S", "P1000Y"])
def test_durations_that_would_overflow_a_date_are_refused(huge: Any) -> None:
    found = problems(with_("outreach.default.review_delay", huge))
    assert "outreach.default.review_delay" in found


def test_max_lateness_defaults_to_a_week_and_can_be_set() -> None:
    assert StoreConfig.model_validate(minimal_store_config()).outreach.max_lateness == timedelta(days=7)
    config = StoreConfig.model_validate(with_("outreach.max_lateness", "PT12H"))
    assert config.outreach.max_lateness == timedelta(hours=12)
    described = StoreConfig.model_json_schema()["$defs"]["OutreachPolicy"]["properties"]["max_lateness"]
    assert "after it came due" in described["description"]


@pytest.mark.parametrize("field", ["returns.auto_approve_below", "returns.keep_it_below"])
def test_amounts_are_finite_non_negative_and_at_most_four_decimals(field: str) -> None:
    for good in (0, "0.0001", "12.5000", 1_000_000_000, "1E+3"):
        StoreConfig.model_validate(with_(field, good))
    for bad, phrase in [
        (-0.01, "from 0 to 1000000000"),
        ("1000000000.0001", "from 0 to 1000000000"),
        ("1e999999999", "from 0 to 1000000000"),
        ("0.00001", "has too many decimal places; use at most 4"),
        ("1e-99999", "has too many decimal places; use at most 4"),
        ("NaN", "is not an amount"),
        ("Infinity", "is not an amount"),
        ("-Infinity", "is not an amount"),
    ]:
        found = problems(with_(field, bad))
        assert phrase in found[field], (bad, found)


def test_keep_it_threshold_within_bounds_still_respects_auto_approval() -> None:
    config = with_("returns", {"auto_approve_below": "20.5", "keep_it_below": "20.5"})
    assert StoreConfig.model_validate(config).returns.keep_it_below == Decimal("20.5")


@pytest.mark.parametrize(
    ("path", "largest", "too_many"),
    [
        ("alerts.keywords", ["k"] * 50, ["k"] * 51),
        ("returns.non_returnable_types", ["t"] * 100, ["t"] * 101),
        ("returns.reasons", ["r"] * 20, ["r"] * 21),
        ("staff.alert_emails", ["a@shop.example.com"] * 20, ["a@shop.example.com"] * 21),
        ("staff.escalation_emails", ["a@shop.example.com"] * 20, ["a@shop.example.com"] * 21),
        (
            "alerts.reply_templates",
            {f"T{i}": "Hi {name}" for i in range(20)},
            {f"T{i}": "x" for i in range(21)},
        ),
        (
            "outreach.product_types",
            {f"type {i}": {} for i in range(100)},
            {f"type {i}": {} for i in range(101)},
        ),
    ],
)
def test_lists_and_maps_are_bounded(path: str, largest: Any, too_many: Any) -> None:
    StoreConfig.model_validate(with_(path, largest))
    found = problems(with_(path, too_many))
    assert path in found
    assert "at most" in found[path]


@pytest.mark.parametrize(
    ("path", "value", "field", "phrase"),
    [
        ("alerts.keywords", ["k" * 61], "alerts.keywords[0]", "too long (61 characters); write at most 60"),
        ("alerts.keywords", [""], "alerts.keywords[0]", '"" is empty; write at least 1 character'),
        ("alerts.keywords", ["broken\nglass"], "alerts.keywords[0]", "single line"),
        ("returns.reasons", [], "returns.reasons", "has no items; give at least 1"),
        ("returns.reasons", ["r" * 201], "returns.reasons[0]", "write at most 200"),
        ("returns.reasons", ["Wrong\r\nitem"], "returns.reasons[0]", "single line"),
        ("returns.reasons", ["Wrong\u2028item"], "returns.reasons[0]", "single line"),
        ("returns.non_returnable_types", ["t" * 65], "returns.non_returnable_types[0]", "at most 64"),
        ("returns.non_returnable_types", ["gift\0card"], "returns.non_returnable_types[0]", "single line"),
        ("returns.return_address", "1 Main St\0", "returns.return_address", "control characters"),
        ("name", "Acme\tGoods", "name", "single line"),
        ("name", "Acme\x85Goods", "name", "single line"),
        ("postal_address", "1 Main Street\nSpringfield", "postal_address", "single line"),
        ("sender.name", "Acme\x1bGoods", "sender.name", "single line"),
        ("timezone", "Europe/" + "x" * 100, "timezone", "write at most 64"),
        ("default_locale", "en-" + "x" * 100, "default_locale", "write at most 35"),
    ],
)
def test_text_fields_are_bounded_and_single_line_where_they_must_be(
    path: str, value: Any, field: str, phrase: str
) -> None:
    found = problems(with_(path, value))
    assert field in found, found
    assert phrase in found[field]


def test_multi_line_return_address_is_fine() -> None:
    config = StoreConfig.model_validate(with_("returns.return_address", "Acme Returns\n1 Main Street"))
    assert "\n" in config.returns.return_address


# --- texts and reply templates -------------------------------------------------------------------------


def text_problem(texts: dict[str, dict[str, str]]) -> str:
    [(field, problem)] = problems(with_("emails.texts", texts)).items()
    return f"{field}: {problem}"


def test_a_misspelt_text_key_gets_a_suggestion() -> None:
    assert "did you mean 'review_subject'?" in text_problem({"en": {"review_subjet": "Hi"}})


def test_an_unknown_locale_for_texts_names_the_supported_ones() -> None:
    found = text_problem({"de": {"review_subject": "Hallo"}})
    assert found.startswith('emails.texts.de: "de" is not a locale with a catalog; use one of en, ar, fa,')


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("Thanks from {store:>99999999}", "formatting"),
        ("Thanks from {store.__class__}", "without . or [ ]"),
        ("Thanks from {store.__init__.__globals__}", "without . or [ ]"),
        ("Thanks from {store[0]}", "without . or [ ]"),
        ("Thanks from {0}", "needs a name"),
        ("Thanks from {store", "lone '{'"),
        ("Thanks from {customer}", "can use {store}"),
        ("x" * 1001, "longer than 1000 characters"),
        ("Thanks\0", "control characters"),
    ],
)
def test_text_overrides_are_plain_templates_with_the_keys_own_placeholders(text: str, phrase: str) -> None:
    found = text_problem({"en": {"review_subject": text}})
    assert found.startswith("emails.texts.en.review_subject: ")
    assert phrase in found


def test_valid_text_overrides_are_kept() -> None:
    texts = {"en": {"review_subject": "How is it going? {{ {store} }}"}, "ka": {"greeting": "{name}!"}}
    assert StoreConfig.model_validate(with_("emails.texts", texts)).emails.texts == texts


def test_reply_templates_may_use_name_and_store_only() -> None:
    good = {"Apology": "Hi {name},\n\nSorry.\n\n{store} {{team}}"}
    assert StoreConfig.model_validate(with_("alerts.reply_templates", good)).alerts.reply_templates == good
    for text, phrase in [
        ("Hi {customer}", "it can use {name}, {store}"),
        ("Hi {name.__class__}", "without . or [ ]"),
        ("Hi {name:>9999}", "formatting"),
        ("Hi {name", "lone '{'"),
        ("x" * 5001, "longer than 5000 characters"),
    ]:
        found = problems(with_("alerts.reply_templates", {"Apology": text}))["alerts.reply_templates.Apology"]
        assert phrase in found


def test_reply_template_names_are_single_short_lines() -> None:
    found = problems(with_("alerts.reply_templates", {"Bad\nname": "Hi"}))
    assert any("single line" in message for message in found.values()), found


# --- addresses Aftercare calls or shows ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "phrase"),
    [
        ("http://169.254.169.254/latest/meta-data/", "private"),
        ("https://169.254.169.254/latest/meta-data/", "private"),
        ("https://[::ffff:169.254.169.254]/", "private"),
        ("https://10.0.0.1/refund", "private"),
        ("https://user:pass@shop.example.com/refund", "user name or password"),
        ("https://shop.example.com/refund#frag", "#fragment"),
        ("ftp://shop.example.com/refund", "https://"),
    ],
)
def test_refund_endpoint_must_be_a_safe_public_https_url(url: str, phrase: str) -> None:
    found = problems(with_("returns.refund_endpoint", url))
    assert f"{json.dumps(url)} is not a safe address (" in found["returns.refund_endpoint"]
    assert phrase in found["returns.refund_endpoint"]


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/refund", "http://localhost:9000/r", "https://[::1]/r"]
)
def test_the_model_leaves_loopback_refund_endpoints_to_the_store_service(url: str) -> None:
    assert StoreConfig.model_validate(with_("returns.refund_endpoint", url)).returns.refund_endpoint == url


@pytest.mark.parametrize(
    ("url", "phrase"),
    [
        ("http://cdn.example.com/logo.png", "https://"),
        ("https://127.0.0.1/logo.png", "loopback"),
        ("https://localhost/logo.png", "loopback"),
        ("https://169.254.169.254/logo.png", "private"),
        ("https://me:pw@cdn.example.com/logo.png", "user name or password"),
    ],
)
def test_logo_url_gets_the_same_checks_and_no_loopback(url: str, phrase: str) -> None:
    found = problems(with_("emails.logo_url", url))
    assert phrase in found["emails.logo_url"]


def test_a_public_logo_url_is_fine() -> None:
    url = "https://cdn.example.com/acme/logo.png"
    assert StoreConfig.model_validate(with_("emails.logo_url", url)).emails.logo_url == url


class Repository:
    def __init__(self) -> None:
        self.created: list[Any] = []

    def create(self, store: Any, secrets: Any) -> None:
        self.created.append(store)


def test_store_service_refuses_loopback_unless_the_deployment_allows_it() -> None:
    from functions.stores import service

    request = StoreCreateRequest.model_validate(
        {"config": with_("returns.refund_endpoint", "http://127.0.0.1:8080/refund")}
    )
    repository = Repository()
    with pytest.raises(service.InvalidConfig) as refused:
        service.create_store(request, cast(Any, repository), allow_loopback=False)
    assert refused.value.field == "config.returns.refund_endpoint"
    assert "loopback" in refused.value.problem
    assert repository.created == []

    service.create_store(request, cast(Any, repository), allow_loopback=True)
    assert len(repository.created) == 1


def test_store_service_accepts_public_endpoints_whatever_the_setting() -> None:
    from functions.stores import service

    request = StoreCreateRequest.model_validate(
        {"config": with_("returns.refund_endpoint", "https://shop.example.com/refund")}
    )
    service.create_store(request, cast(Any, Repository()), allow_loopback=False)


# --- nothing but ValidationError, whatever comes in -----------------------------------------------------

JUNK: list[Any] = [
    None,
    True,
    0,
    -1,
    1e308,
    float("nan"),
    float("inf"),
    "",
    "x" * 10_000_000,
    "\0" * 100,
    "{store.__class__}",
    [],
    ["x"],
    [[[[["deep"]]]]],
    {},
    {"a": {"b": {"c": [1, {"d": None}]}}},
    {"": ""},
    b"bytes",
    object(),
]

JUNK_PATHS = [
    "id",
    "name",
    "sender",
    "sender.email",
    "sender.name",
    "reply_to",
    "postal_address",
    "default_locale",
    "timezone",
    "currency",
    "integrations",
    "staff",
    "staff.alert_emails",
    "alerts",
    "alerts.sla",
    "alerts.keywords",
    "alerts.reply_templates",
    "alerts.negative_stars_at_most",
    "outreach",
    "outreach.default",
    "outreach.default.review_delay",
    "outreach.product_types",
    "outreach.max_lateness",
    "outreach.send_window_days",
    "returns",
    "returns.window",
    "returns.reasons",
    "returns.auto_approve_below",
    "returns.refund_endpoint",
    "returns.return_address",
    "emails",
    "emails.logo_url",
    "emails.accent_color",
    "emails.texts",
]


@pytest.mark.parametrize("path", JUNK_PATHS)
def test_junk_anywhere_raises_only_validation_errors(path: str) -> None:
    for junk in JUNK:
        with contextlib.suppress(ValidationError):  # anything else fails the test
            StoreConfig.model_validate(with_(path, junk))


@pytest.mark.parametrize(
    "junk",
    [
        {"en": {"review_subject": ["a list"]}},
        {"en": ["a list"]},
        {"en": {"x" * 10_000_000: "y"}},
        {"en": {"review_subject": "y" * 10_000_000}},
        {"en": {f"key{i}": "y" for i in range(501)}},
        {"x" * 1000: {}},
        {"en": {"review_subject": {"nested": {"junk": 1}}}},
    ],
)
def test_junk_texts_raise_only_validation_errors(junk: Any) -> None:
    problems(with_("emails.texts", junk))


def test_junk_at_the_top_raises_only_validation_errors() -> None:
    for junk in JUNK:
        with pytest.raises(ValidationError):
            StoreConfig.model_validate(junk)
