"""Message catalogs (``templates/i18n/<locale>.json``), locale choice and locale-aware formatting.

A text is looked up in the store's overrides for the locale, then the locale's catalog, then English,
so a missing translation never breaks an email. Babel (dates, numbers) is imported on first use.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from functions.shared import texts
from functions.shared.templating import TEMPLATES, direction, language_of

DEFAULT = "en"
_lock = threading.Lock()


_LANGUAGE = re.compile(r"^[a-z]{2,8}$")


@lru_cache(maxsize=16)
def catalog(language: str) -> Mapping[str, str]:
    """The catalog of a language code; an empty one for anything that is not a plain language code."""
    if not _LANGUAGE.match(language):
        return {}
    folder = TEMPLATES / "i18n"
    found: dict[str, str] = {}
    # The main catalog, then one catalog per area (``i18n/<area>/<language>.json``: workspace, digest...).
    for path in [folder / f"{language}.json", *sorted(folder.glob(f"*/{language}.json"))]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        found.update({str(k): str(v) for k, v in data.items()})
    return found


def available(language: str) -> bool:
    return bool(catalog(language))


def choose_locale(customer_locale: str | None, store_locale: str) -> str:
    """The customer's language when we have it, else the store's, else English."""
    for candidate in (customer_locale, store_locale):
        if candidate:
            language = language_of(candidate)
            if available(language):
                return language
    return DEFAULT


class Translator:
    def __init__(self, language: str, overrides: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.language = language
        self._overrides = (overrides or {}).get(language, {})
        self._catalog = catalog(language)
        self._fallback = catalog(DEFAULT)

    def text(self, key: str) -> str:
        return self._overrides.get(key) or self._catalog.get(key) or self._fallback.get(key) or key

    def __call__(self, key: str, **values: Any) -> str:
        """The text for ``key`` with its ``{placeholders}`` filled (see ``functions.shared.texts``).

        Each value keeps its own direction inside the sentence (``isolate``): a product called
        "Linen shirt - M" stays "Linen shirt - M" in an Arabic question, not "M - Linen shirt".
        """
        rtl = direction(self.language) == "rtl"
        return texts.render(self.text(key), {name: isolate(value, rtl) for name, value in values.items()})


_RTL_LETTERS = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_ISOLATES = ("\u2068", "\u2069")  # FIRST STRONG ISOLATE ... POP DIRECTIONAL ISOLATE: invisible
# A number ("120.00", "4,5") or one Latin word ("USD"): a run that cannot be reordered, never wrapped.
_PLAIN = re.compile(r"[\d.,]*\d[\d.,]*|[A-Za-z]+|")


def isolate(value: Any, rtl: bool) -> str:
    """``value`` wrapped in Unicode isolates when its direction could mix with the sentence's.

    In a right-to-left sentence every value but right-to-left words is isolated ("#1001",
    "Linen shirt - M", an address); in a left-to-right one, a value with right-to-left letters is. A plain
    number, one Latin word ("USD") and a value already isolated are left as they are.
    """
    text = str(value)
    if _PLAIN.fullmatch(text) or (text.startswith(_ISOLATES[0]) and text.endswith(_ISOLATES[1])):
        return text
    has_rtl = bool(_RTL_LETTERS.search(text))
    if rtl:
        only_rtl_words = has_rtl and not re.search(r"[A-Za-z#\-/@:()\[\]]", text)
        return text if only_rtl_words else f"{_ISOLATES[0]}{text}{_ISOLATES[1]}"
    return f"{_ISOLATES[0]}{text}{_ISOLATES[1]}" if has_rtl else text


def accepted_locale(header: str | None) -> str | None:
    """The first supported language of a browser's ``Accept-Language`` header; None when none is."""
    ranked = []
    for position, part in enumerate(str(header or "")[:500].split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if weight > 0 and tag.strip():
            ranked.append((-weight, position, language_of(tag.strip())))
    return next((language for _, _, language in sorted(ranked) if available(language)), None)


def format_date(moment: datetime, language: str, timezone: str) -> str:
    from babel.dates import format_date as babel_format_date

    local = moment.astimezone(ZoneInfo(timezone))
    return str(babel_format_date(local.date(), format="long", locale=language))


def format_moment(moment: datetime, language: str, timezone: str) -> str:
    """Date and time in the store's timezone, zone named: "Dec 4, 2026, 6:30 PM (Europe/Berlin)"."""
    from babel.dates import format_date as babel_format_date
    from babel.dates import format_time as babel_format_time

    local = moment.astimezone(ZoneInfo(timezone))
    day = babel_format_date(local.date(), format="medium", locale=language)
    time = babel_format_time(local.timetz(), format="short", locale=language)
    return f"{day}, {time} ({timezone})"


def format_relative(delta: timedelta, language: str) -> str:
    """A duration in words, with its direction: "in 3 hours" (positive) or "3 hours ago" (negative)."""
    from babel.dates import format_timedelta

    return str(format_timedelta(delta, add_direction=True, threshold=1.1, locale=language))


def format_duration(delta: timedelta, language: str) -> str:
    """A length of time in words, without direction: "3 hours", "17 days"."""
    from babel.dates import format_timedelta

    return str(format_timedelta(delta, threshold=1.1, locale=language))


def language_name(code: Any, language: str) -> str:
    """A language's name said in ``language`` ("ar" in English: "Arabic"), or the code when unknown.

    The name comes from ``language``'s own data (it names every language), so a customer's language
    that Aftercare does not speak, whose Babel data the package does not ship, is still named."""
    from babel import Locale, UnknownLocaleError

    text = str(code or "")
    if not text:
        return ""
    try:
        names = Locale.parse(language).languages
    except (ValueError, UnknownLocaleError):
        return text
    return str(names.get(language_of(text)) or text)
