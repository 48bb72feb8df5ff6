"""The emails a customer gets about a return: one per state, each in the customer's language.

Every kind (``emails.CUSTOMER_EMAILS``) in every locale: its own subject naming the order by the store's
label, a greeting (by name, or the locale's own form without one), a request number, a status link, a
Message-ID, and nothing SpamAssassin's local rules hold against it.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from email import message_from_bytes
from typing import Any

import pytest

from functions.returns import emails
from functions.returns.emails import CUSTOMER_EMAILS, StaffNote, for_customer, for_staff
from functions.returns.models import ReturnRequest
from functions.shared.i18n import catalog
from functions.stores.models import SUPPORTED_LOCALES, Store, StoreConfig
from tests import spam
from tests.helpers import minimal_store_config

pytestmark = pytest.mark.unit

KINDS = tuple(CUSTOMER_EMAILS)
LINK = "https://care.example.com/rs/TOKEN"
DUE = datetime(2026, 12, 24, 22, 30, tzinfo=UTC)  # 25 December in Almaty, Tbilisi, Riyadh, Tehran


def store(
    postal: str = "Acme Goods, 1 Main Street, Springfield 12345",
    returns_to: str = "Returns desk, 1 Dock Road, Springfield",
) -> Store:
    config = minimal_store_config("kiwi-goods")
    config.update(name="Kiwi Goods", default_locale="en", timezone="Asia/Almaty", postal_address=postal)
    config["returns"] = {
        "return_address": returns_to,
        "non_returnable_types": ["experience"],
    }
    return Store(
        config=StoreConfig.model_validate(config), created_at="2026-10-01T00:00:00Z", admin_key_hash="x"
    )


def request(locale: str, name: str | None = "Nour Haddad", **changes: Any) -> ReturnRequest:
    item = {
        "return_id": "ret-0123456789abcdef",
        "order_id": "1001",
        "order_name": "#1001",
        "outcome": "refund",
        "items": [{"name": "Linen shirt - M", "quantity": 1, "price": "120.00", "line_item_id": "l1"}],
        "customer": {"email": "nour@example.com", "name": name, "locale": locale},
        "decision": {
            "eligible": False,
            "reason": "City tour cannot be returned (the store does not take back this kind of product).",
            "needs_return": True,
        },
        **changes,
    }
    return ReturnRequest(item)


def message(
    kind: str, locale: str, name: str | None = "Nour Haddad", shop: Store | None = None
) -> emails.email.Email:
    built = for_customer(shop or store(), request(locale, name), kind, LINK, deadline=DUE)
    assert built is not None
    return built


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_each_state_has_its_own_subject_naming_the_order_by_its_label(locale: str) -> None:
    subjects = {kind: message(kind, locale).subject for kind in KINDS}
    assert len(set(subjects.values())) == len(KINDS), subjects  # refusal, approval, reminder... all differ
    for kind, subject in subjects.items():
        assert "#1001" in subject and "rt_" not in subject, (kind, subject)
        text = message(kind, locale).text
        assert "#1001" in text or kind not in {"received", "done", "kept", "expired"}, text
        assert "1001" not in text.replace("#1001", "")  # one way of naming the order: the store's label


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_greeting_by_name_or_the_locales_own_form_without_one(locale: str) -> None:
    named = message("instructions", locale)
    assert named.text.strip().splitlines()[0].replace("\u2068", "").replace("\u2069", "") == catalog(locale)[
        "greeting"
    ].replace("{name}", "Nour Haddad")
    anonymous = message("instructions", locale, name=None)
    assert anonymous.text.strip().splitlines()[0] == catalog(locale)["greeting_anonymous"]
    assert "there" not in anonymous.text


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_email_links_to_the_status_page_and_carries_a_message_id(locale: str) -> None:
    for kind in KINDS:
        built = message(kind, locale)
        assert LINK in built.text and f'href="{LINK}"' in built.html
        assert "ret-0123456789abcdef" in built.text  # the request number
        assert f'lang="{locale}"' in built.html and ('dir="rtl"' in built.html) == (locale in {"ar", "fa"})
        sent = message_from_bytes(built.mime())
        assert re.fullmatch(
            r"<ret-0123456789abcdef\.[0-9a-f]{32}@kiwi-goods\.example\.com>", sent["Message-ID"]
        )


def test_the_refusal_gives_the_policy_reason_in_the_customers_language() -> None:
    arabic = message("refused", "ar").text
    assert "City tour" in arabic and "cannot be returned" not in arabic
    assert catalog("ar")["staff_policy_kind_one"].split("{names}")[1].strip() in arabic
    assert (
        "cannot be returned (the store does not take back this kind of product)"
        in message("refused", "en").text
    )


def test_approval_says_where_and_by_when_in_the_customers_calendar() -> None:
    assert "Please send them by December 25, 2026." in message("instructions", "en").text
    assert "Returns desk, 1 Dock Road, Springfield" in message("reminder", "en").text
    assert "You do not need to send anything back." in message("kept", "en").text


def test_the_staff_email_about_a_return_has_a_message_id_in_what_is_sent() -> None:
    note = StaffNote("Approve or reject a return", ["Reason: Does not fit."], link_label="Review and decide")
    built = for_staff(store(), request("en"), note, "care@kiwi.example", "https://care.example.com/approve/T")
    sent = message_from_bytes(built.mime())
    assert re.fullmatch(r"<ret-0123456789abcdef\.[0-9a-f]{32}@kiwi-goods\.example\.com>", sent["Message-ID"])
    assert sent["Auto-Submitted"] == "auto-generated"


def spam_verdicts(messages: list[bytes]) -> list[tuple[float, set[str]]]:
    """SpamAssassin's local score (as ``spamassassin -L -t`` gives it) and every rule that hit, the ones of
    no points too, per message in order."""
    return [(found.score, found.hits) for found in spam.verdicts(messages)]


def scoring_rules(tests: set[str]) -> set[str]:
    """The rules of a verdict that add points (SpamAssassin's default scores)."""
    return tests - {"HTML_MESSAGE", "NO_RECEIVED", "NO_RELAYS"}  # 0 points, or less


# The store's addresses as a store serving each language writes them. Filters judge the store's words too:
# SpamAssassin's MIXED_ES (written for Latin text disguised with Cyrillic look-alikes) counts the Latin "e"
# of a Kazakh email, and an English postal and return address quoted in it can bring more than 20 of them
# (docs/decisions.md, decision 56). Aftercare's own words and links stay under.
ADDRESSES = {
    "en": ("Kiwi Goods, 1 Main Street, Springfield 12345", "Returns desk, 1 Dock Road, Springfield"),
    "ar": ("كيوي غودز، شارع الملك فهد 12، الرياض 12345", "قسم المرتجعات، طريق الميناء 1، الرياض"),
    "fa": ("کیوی گودز، خیابان ولیعصر ۱۲، تهران", "بخش مرجوعی، جاده بندر ۱۲، تهران"),
    "kk": ("Киви Гудс, Абай даңғылы 12, Алматы 050000", "Қайтару бөлімі, Порт жолы 1, Алматы"),
    "ka": (
        "კივი გუდსი, რუსთაველის გამზირი 12, თბილისი 0108",
        "დაბრუნების განყოფილება, ნავსადგურის გზა 1, თბილისი",
    ),
}


@pytest.mark.xdist_group("spamassassin")
@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_spamassassin_finds_nothing_to_hold_against_any_return_email(locale: str) -> None:
    if shutil.which("spamassassin") is None:
        pytest.fail("Debian spamassassin is missing: `make system-deps` (run by `make test`) installs it")
    shop = store(*ADDRESSES[locale])
    verdicts = spam_verdicts([message(kind, locale, shop=shop).mime() for kind in KINDS])
    for kind, (score, tests) in zip(KINDS, verdicts, strict=True):
        assert scoring_rules(tests) == set(), (kind, tests)
        assert score <= 0.0, (kind, score, tests)
