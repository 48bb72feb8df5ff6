"""The store's configuration as the settings page shows it: sections of labelled rows, never raw JSON.

The configuration is walked field by field (so a field added to ``StoreConfig`` later still shows, under
its own name until the workspace catalog gives it a label). Durations read as words in the store's
language, yes/no as words, weekdays by name; every row also shows its ``store.yaml`` path. The
configuration carries no secrets (webhook secrets and the admin key hash live elsewhere and are never
read here); a URL is shown without user, password, query or fragment, in case one was put there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import BaseModel

if TYPE_CHECKING:
    from functions.shared.i18n import Translator
    from functions.stores.models import StoreConfig
    from functions.workspace.web import Formats

SECTIONS = ("staff", "business_hours", "alerts", "outreach", "returns", "retention", "emails", "integrations")
GENERAL = "general"
WEEKDAY_PATH = "business_hours.weekly"
KEYWORDS_PATH = "alerts.keywords"


@dataclass(frozen=True)
class Row:
    """One setting: its label, its store.yaml path, and a value, a list of values, or nested rows."""

    label: str
    path: str
    value: str = ""
    items: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    is_list: bool = False
    data_key: bool = False  # the label is the store's own key (a product type, a template name)

    @property
    def multiline(self) -> bool:
        return "\n" in self.value


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    rows: list[Row]


@dataclass(frozen=True)
class Renderer:
    t: Translator
    fmt: Formats
    config: StoreConfig | None = None

    def label(self, name: str) -> str:
        key = f"ws_cfg_{name}"
        text = self.t.text(key)
        return name if text == key else text

    def row(self, label: str, path: str, value: Any, *, data_key: bool = False) -> Row:
        if path == KEYWORDS_PATH and self.config is not None and self.config.alerts.default_keywords:
            return self.default_keywords(self.config)
        if isinstance(value, BaseModel):
            return Row(label, path, rows=self.rows(value, path), data_key=data_key)
        if isinstance(value, dict):
            nested = [self.entry(path, str(k), v) for k, v in value.items()]
            return Row(label, path, rows=nested, value="" if nested else self.t("ws_none"), data_key=data_key)
        if isinstance(value, list | tuple | set | frozenset):
            items = [self.scalar(item) for item in value]
            empty = "" if items else self.t("ws_none")
            return Row(label, path, items=items, is_list=True, value=empty, data_key=data_key)
        return self.leaf(label, path, value, data_key)

    def default_keywords(self, config: StoreConfig) -> Row:
        """The words Aftercare watches for a store that lists none, labelled as Aftercare's own."""
        words = config.alerts.keywords_for(config.default_locale)
        return Row(self.t("ws_cfg_keywords_default"), KEYWORDS_PATH, items=words, is_list=True)

    def leaf(self, label: str, path: str, value: Any, data_key: bool) -> Row:
        if path == "default_locale" and isinstance(value, str):
            return Row(label, path, value=self.language(value), data_key=data_key)
        return Row(label, path, value=self.scalar(value), data_key=data_key)

    def language(self, code: str) -> str:
        """A locale code with its name in the page's language: "Georgian (ka)"."""
        from babel import Locale, UnknownLocaleError

        try:
            name = Locale.parse(code.replace("-", "_")).get_display_name(self.fmt.locale)
        except (UnknownLocaleError, ValueError):
            return code
        return f"{name} ({code})" if name else code

    def entry(self, path: str, key: str, value: Any) -> Row:
        """A row for one entry of a mapping (its key is the store's own word, or a weekday)."""
        if path == WEEKDAY_PATH:
            return self.row(self.weekday(key), f"{path}.{key}", value)
        return self.row(key, f"{path}.{key}", value, data_key=True)

    def rows(self, model: BaseModel, prefix: str) -> list[Row]:
        return [
            self.row(self.label(name), f"{prefix}.{name}" if prefix else name, getattr(model, name))
            for name in type(model).model_fields
        ]

    def weekday(self, name: str) -> str:
        from babel.dates import get_day_names

        from functions.stores.models import WEEKDAYS

        if name not in WEEKDAYS:
            return name
        return str(get_day_names("wide", locale=self.fmt.locale)[WEEKDAYS.index(name)])

    def scalar(self, value: Any) -> str:
        if value is None:
            return self.t("ws_not_set")
        if isinstance(value, bool):
            return self.t("ws_yes" if value else "ws_no")
        if isinstance(value, timedelta):
            return self.fmt.exact(value)
        if isinstance(value, date) and not isinstance(value, datetime):
            from babel.dates import format_date

            return str(format_date(value, format="long", locale=self.fmt.locale))
        if isinstance(value, Decimal | int | float):
            return str(value)
        return shown_url(str(value))


def shown_url(text: str) -> str:
    """A URL without user, password, query or fragment (the rest of the text unchanged)."""
    if not text.startswith(("http://", "https://")):
        return text
    parts = urlsplit(text)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def sections(config: StoreConfig, t: Translator, fmt: Formats) -> list[Section]:
    """The configuration in sections: general settings first, then one section per policy."""
    render = Renderer(t, fmt, config)
    general = [
        render.row(render.label(name), name, getattr(config, name))
        for name in type(config).model_fields
        if name not in SECTIONS
    ]
    found = [Section(GENERAL, t("ws_cfg_section_general"), general)]
    for name in SECTIONS:
        if name not in type(config).model_fields:
            continue
        value = getattr(config, name)
        row = render.row(render.label(name), name, value)
        rows = row.rows or [Row(render.label(name), name, value=_absent(name, value, t))]
        found.append(Section(name, render.label(f"section_{name}"), rows))
    return found


def _absent(name: str, value: Any, t: Translator) -> str:
    """What an unset section means (no business hours: every hour counts)."""
    if value is None and name == "business_hours":
        return t("ws_cfg_always_open")
    return t("ws_not_set") if value is None else t("ws_none")


# ------------------------------------------------------------------ the history, in the store's language

# The config history stores its summaries in English (``functions.stores.changes``, also read by the CLI);
# the page says each in the owner's language, the variable parts read back from the English line. A line
# not listed here is shown as written (tests/browser/test_audit.py fails on English left on the page).
_SUMMARIES = tuple(
    (re.compile(pattern), key)
    for pattern, key in (
        (r"^created the store with integrations: (?P<names>.+)$", "ws_summary_created"),
        (
            r"^changed (?P<count>\d+) settings?: (?P<paths>.+?)(?:; issued a first webhook secret for "
            r"(?P<issued>.+))?$",
            "ws_summary_changed",
        ),
        (
            r"^rotated the (?P<integration>\S+) webhook secret; there was no previous secret$",
            "ws_summary_secret_first",
        ),
        (
            r"^rotated the (?P<integration>\S+) webhook secret; the previous one stopped working at once$",
            "ws_summary_secret_now",
        ),
        (
            r"^rotated the (?P<integration>\S+) webhook secret; the previous one keeps working until "
            r"(?P<until>\S+)$",
            "ws_summary_secret_until",
        ),
        (r"^rotated the admin API key; the previous key stopped working at once$", "ws_summary_admin_key"),
    )
)
_ACTORS = {"operator": "ws_actor_operator", "store admin key": "ws_actor_store_admin"}


def summary_said(summary: str, t: Translator, fmt: Formats) -> str:
    """A history entry's summary in ``t``'s language (one it does not know, as written)."""
    for pattern, key in _SUMMARIES:
        found = pattern.match(summary)
        if not found:
            continue
        values = {name: value for name, value in found.groupdict().items() if value is not None}
        if "until" in values:
            values["until"] = fmt.moment(values["until"])
        said = t(key, **values)
        if values.get("issued"):
            said += " " + t("ws_summary_issued", names=values["issued"])
        return said
    return summary


def actor_said(actor: str, t: Translator) -> str:
    """Who made a change: the operator or the store's admin key in words, a person by their address."""
    return t(_ACTORS[actor]) if actor in _ACTORS else actor
