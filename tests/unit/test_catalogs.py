from __future__ import annotations

import json
import string
from pathlib import Path

import pytest

from functions.shared.i18n import Translator, catalog, choose_locale
from functions.stores.models import SUPPORTED_LOCALES

pytestmark = pytest.mark.unit

CATALOGS = Path("templates/i18n")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", SUPPORTED_LOCALES)
def test_every_supported_locale_has_a_complete_catalog(language: str) -> None:
    english = json.loads((CATALOGS / "en.json").read_text())
    translated = json.loads((CATALOGS / f"{language}.json").read_text())
    assert list(translated) == list(english)
    for key, text in english.items():
        assert placeholders(translated[key]) == placeholders(text), key
        assert translated[key].strip(), key


def test_locale_choice_prefers_customer_then_store_then_english() -> None:
    assert choose_locale("ar-EG", "en") == "ar"
    assert choose_locale("de-DE", "fa") == "fa"
    assert choose_locale(None, "kk") == "kk"
    assert choose_locale("xx", "yy") == "en"


def test_store_override_then_catalog_then_english() -> None:
    t = Translator("ka", {"ka": {"thanks": "Custom"}})
    assert t("thanks") == "Custom"
    assert t("submit") == catalog("ka")["submit"]
    assert Translator("kk")("greeting", name="Ana").count("Ana") == 1


def test_unknown_placeholders_are_left_visible_not_crashing() -> None:
    t = Translator("en", {"en": {"thanks": "Thanks {nobody}"}})
    assert t("thanks") == "Thanks {nobody}"
