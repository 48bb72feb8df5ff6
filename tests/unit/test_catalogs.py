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


AREAS = [CATALOGS, *sorted(path for path in CATALOGS.iterdir() if path.is_dir())]


@pytest.mark.parametrize("area", AREAS, ids=lambda path: path.name)
@pytest.mark.parametrize("language", SUPPORTED_LOCALES)
def test_every_supported_locale_has_a_complete_catalog(language: str, area: Path) -> None:
    english = json.loads((area / "en.json").read_text())
    translated = json.loads((area / f"{language}.json").read_text())
    assert list(translated) == list(english)
    for key, text in english.items():
        assert placeholders(translated[key]) == placeholders(text), key
        assert translated[key].strip(), key


def test_no_key_is_defined_in_two_areas() -> None:
    seen: dict[str, str] = {}
    for area in AREAS:
        for key in json.loads((area / "en.json").read_text()):
            assert key not in seen, f"{key} is in both {seen[key]} and {area.name}"
            seen[key] = area.name


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
