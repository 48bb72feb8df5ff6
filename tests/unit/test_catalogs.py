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


# Keys the code builds at run time from a stored value: each family, and the one place that builds it.
BUILT_KEYS = {
    r"outcome_\w+": "functions/returns/emails.py outcome_word",
    r"staff_outcome_\w+": "functions/returns/emails.py (staff emails)",
    r"staff_return_status_\w+": "functions/returns/wording.py",
    r"staff_step_\w+": "functions/returns/wording.py",
    r"staff_told_\w+": "functions/returns/wording.py",
    r"staff_error_\w+": "functions/flags/staff.py (suppressed customers)",
    r"staff_notice_offered_\w+": "functions/flags/routes.py",
    r"staff_(stars|nps)_for": "functions/flags/emails.py verdict",
    r"rt_reason_\w+": "functions/returns/reasons.py",
    r"rt_step_done_\w+": "functions/returns/status.py",
    r"rp_language_\w+": "functions/flags/routes.py (reply languages)",
    r"rq_(status|kind|outcome)_\w+": "functions/workspace/requests.py and requests.html",
    r"ws_(outcome|action)_\w+": "templates/pages/workspace (outcomes, history actions)",
    r"ws_cfg_\w+": "functions/workspace/settings_view.py (labels of configuration fields)",
    r"in_(reason|outcome|kind)_\w+": "functions/insights/views.py label (stored counters)",
    r"in_(products|types)_(title|chart|table|name)": "functions/insights/views.py (rated sections)",
    r"dg_page_\w+_title": "functions/digest/routes.py",
    r"dg_(promoters|passives|detractors)": "functions/digest/compose.py",
}
SOURCES = ("functions", "aftercare", "templates/emails", "templates/pages")


def test_every_catalog_key_is_used() -> None:
    import re

    code = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in SOURCES
        for path in sorted(Path(folder).rglob("*"))
        if path.suffix in {".py", ".html", ".txt"}
    )
    built = re.compile("|".join(f"(?:{pattern})" for pattern in BUILT_KEYS))
    unused = [
        f"{area.name}: {key}"
        for area in AREAS
        for key in json.loads((area / "en.json").read_text())
        if not key.startswith("_")  # the catalog's own data ("_language": its name in itself)
        and f'"{key}"' not in code
        and f"'{key}'" not in code
        and not built.fullmatch(key)
    ]
    assert not unused, "remove these from every catalog, or use them:\n" + "\n".join(unused)


def test_a_store_that_overrode_a_retired_text_still_loads_without_it() -> None:
    from functions.shared.texts import RETIRED_KEYS
    from functions.stores.models import StoreConfig
    from tests.helpers import minimal_store_config

    for area in AREAS:
        assert not RETIRED_KEYS & set(json.loads((area / "en.json").read_text())), area
    config = minimal_store_config("shop")
    config["emails"] = {"texts": {"en": {"return_subject": "Your return {order}", "return_submit": "Send"}}}
    assert StoreConfig.model_validate(config).emails.texts == {"en": {"return_submit": "Send"}}
