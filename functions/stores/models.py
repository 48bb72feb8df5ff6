"""A store (tenant): its configuration, as written in store.yaml and kept in the Stores table."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from functions.shared.templating import language_of
from functions.stores.config_errors import Unfit, Words, iso_duration

Integration = Literal["shopify", "woocommerce", "generic"]
INTEGRATIONS: tuple[Integration, ...] = ("shopify", "woocommerce", "generic")
SUPPORTED_LOCALES = ("en", "ar", "fa", "kk", "ka")  # each has templates/i18n/<locale>.json

_STORE_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$")
_PRODUCT_TYPE = re.compile(r"^[a-z0-9][a-z0-9 _-]{0,63}$")


MAX_DURATION = timedelta(days=365)
MIN_RETENTION = timedelta(days=90)  # never less than the longest a flow waits on its own data
MAX_RETENTION = timedelta(days=3650)  # ten years: the longest bookkeeping rule a store is likely under
MAX_AMOUNT = Decimal("1000000000")
AMOUNT_PLACES = 4
MAX_SECRET = 256
MAX_OVERRIDES = 500  # texts per locale; more than the catalog has

# Words that flag a comment when a store lists none (``alerts.keywords`` left out), by the language of its
# default_locale (decision 55); a non-English store also gets the English ones, since some of its customers
# write in English. Matched case-insensitively anywhere in a comment, so "مكسور" also catches "مكسورة".
DEFAULT_KEYWORDS: dict[str, tuple[str, ...]] = {
    "en": ("broken", "never arrived", "refund", "damaged"),
    "ar": ("مكسور", "تالف", "معيب", "لم يصل", "استرداد"),
    "fa": ("شکسته", "خراب", "آسیب", "نرسید", "بازگشت وجه"),
    "kk": ("сынған", "бүлінген", "ақау", "келмеді", "ақшаны қайтар"),
    "ka": ("გატეხილი", "დაზიანებული", "წუნიანი", "არ მოსულა", "თანხის დაბრუნება"),
}


def _within(minimum: timedelta, maximum: timedelta = MAX_DURATION) -> Callable[[timedelta], timedelta]:
    """A check that a duration lies between ``minimum`` and ``maximum`` (P365D unless given)."""

    def check(value: timedelta) -> timedelta:
        if not minimum <= value <= maximum:
            size = "is too short" if value < minimum else "is too long"
            raise Unfit(
                value,
                "is negative" if value < timedelta(0) else size,
                f"use a duration from {iso_duration(minimum)} to {iso_duration(maximum)}",
            )
        return value

    return check


def _decimal_places(value: Decimal) -> int:
    """Decimal places a number really has (trailing zeros do not count), without rounding it."""
    _, digits, exponent = value.as_tuple()
    if not value or not isinstance(exponent, int):
        return 0
    text = "".join(map(str, digits))
    return max(0, -exponent - (len(text) - len(text.rstrip("0"))))


def _amount(value: Decimal) -> Decimal:
    if not value.is_finite() or not Decimal(0) <= value <= MAX_AMOUNT:
        raise Unfit(value, "is out of range", f"use an amount from 0 to {MAX_AMOUNT}", "25.00")
    if _decimal_places(value) > AMOUNT_PLACES:
        raise Unfit(value, "has too many decimal places", f"use at most {AMOUNT_PLACES}", "25.00")
    return value


def _safe_url(value: str, *, allow_loopback: bool) -> str:
    from functions.shared.endpoints import UnsafeEndpoint, check_endpoint_url

    try:
        check_endpoint_url(value, allow_loopback=allow_loopback)
    except UnsafeEndpoint as unsafe:
        raise Unfit(
            value, f"is not a safe address ({unsafe})", "use an https:// address on a public host"
        ) from None
    return value


def _endpoint(value: str) -> str:
    """A URL Aftercare calls: https to a public host (loopback is judged by the store service)."""
    return _safe_url(value, allow_loopback=True)


def _public_url(value: str) -> str:
    """A URL customers' mail clients load (a logo): https to a public host."""
    return _safe_url(value, allow_loopback=False)


def _single_line(value: str) -> str:
    if any(ord(ch) < 32 or 127 <= ord(ch) < 160 or ch in "\u2028\u2029" for ch in value):
        raise Unfit(value, "is not a single line", "write it on one line without control characters")
    return value


def _plain_text(value: str) -> str:
    if any((ord(ch) < 32 and ch not in "\n\t") or 127 <= ord(ch) < 160 for ch in value):
        raise Unfit(value, "contains control characters", "write plain text (line breaks are fine)")
    return value


# Most durations: PT1H (sweeps run every few minutes, so less means "now") to P365D.
Duration = Annotated[timedelta, AfterValidator(_within(timedelta(hours=1)))]
# Durations customers act within (the return window, the parcel's way back): P1D to P365D.
Days = Annotated[timedelta, AfterValidator(_within(timedelta(days=1)))]
# How soon staff must answer a negative review: PT15M to P365D.
Sla = Annotated[timedelta, AfterValidator(_within(timedelta(minutes=15)))]
# How long personal data is kept after its last change (DynamoDB TTL): P90D to P3650D.
Kept = Annotated[timedelta, AfterValidator(_within(MIN_RETENTION, MAX_RETENTION))]
Amount = Annotated[Decimal, AfterValidator(_amount)]
EndpointUrl = Annotated[str, Field(max_length=2000), AfterValidator(_endpoint)]
PublicUrl = Annotated[str, Field(max_length=2000), AfterValidator(_public_url)]
Line = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_single_line)]
Keyword = Annotated[str, Field(min_length=1, max_length=60), AfterValidator(_single_line)]
ProductType = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_single_line)]
CatalogKey = Annotated[str, Field(max_length=100)]
Locale = Annotated[str, Field(max_length=35)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Sender(Strict):
    email: EmailStr
    name: str = Field(min_length=1, max_length=80)

    @field_validator("name")
    @classmethod
    def _no_header_breaks(cls, value: str) -> str:
        return _single_line(value)  # it goes into the From header


class OutreachRule(Strict):
    """When to ask. Delays count from delivery (or fulfilment plus transit time until delivery is known)."""

    review_delay: Duration | None = None
    reminder_delay: Duration | None = None
    nps_delay: Duration | None = None
    reviews: bool = True


class OutreachDefaults(Strict):
    review_delay: Duration = timedelta(days=7)
    reminder_delay: Duration | None = timedelta(days=5)
    nps_delay: Duration | None = timedelta(days=14)


class OutreachPolicy(Strict):
    default: OutreachDefaults = OutreachDefaults()
    product_types: dict[str, OutreachRule] = Field(default_factory=dict, max_length=100)
    transit_time: Duration = Field(default=timedelta(days=4), description="Assumed shipping time")
    frequency_cap: Duration = Field(default=timedelta(days=7), description="Minimum gap between emails")
    send_window_days: int = Field(default=2, ge=0, le=14, description="Items due this close share an email")
    max_lateness: Duration = Field(
        default=timedelta(days=7),
        description="PT1H to P365D. No request is sent more than this after it came due, and none is "
        "planned for an order first seen this long after its delivery (or fulfilment plus transit time)",
    )

    @field_validator("product_types")
    @classmethod
    def _valid_types(cls, value: dict[str, OutreachRule]) -> dict[str, OutreachRule]:
        for name in value:
            if not _PRODUCT_TYPE.fullmatch(name):
                raise Unfit(
                    name,
                    "is not a product type name",
                    "use lowercase letters, digits, spaces, _ or - (at most 64)",
                    name.lower() if _PRODUCT_TYPE.fullmatch(name.lower()) else "clothing",
                    at=(name,),
                )
        return value


class ReturnPolicy(Strict):
    window: Days = Field(default=timedelta(days=30), description="P1D to P365D after delivery")
    non_returnable_types: list[ProductType] = Field(default_factory=list, max_length=100)
    reasons: list[Line] = Field(
        default_factory=lambda: [
            "Damaged or defective",
            "Wrong item",
            "Does not fit",
            "Not as described",
            "Other",
        ],
        min_length=1,
        max_length=20,
    )
    auto_approve_below: Amount = Decimal("0")
    keep_it_below: Amount = Decimal("0")
    approval_timeout: Duration = Field(default=timedelta(days=2), description="PT1H to P365D")
    return_timeout: Days = Field(
        default=timedelta(days=21), description="How long to wait for the parcel (P1D to P365D)"
    )
    return_reminder: Duration = Field(
        default=timedelta(days=7), description="When to remind the customer (PT1H to P365D)"
    )
    return_address: str = Field(default="", max_length=300, description="Where customers send returns")
    refund_endpoint: EndpointUrl | None = None

    @field_validator("return_address")
    @classmethod
    def _address_text(cls, value: str) -> str:
        return _plain_text(value)


class Retention(Strict):
    """How long each kind of customer data is kept after its last change, then deleted by DynamoDB TTL.

    ``orders``: an order, its received events and its review/NPS requests (the requests count from when
    they were planned; a reminder goes with the request it reminds of). ``answers``: an answer with its
    history, and the flag and staff replies about it. ``returns``: a return request and its audit steps.
    The insights counters keep only counts and are not covered.
    """

    orders: Kept = Field(
        default=timedelta(days=1095),
        description="P90D to P3650D after the order's last event; three years by default",
    )
    answers: Kept = Field(
        default=timedelta(days=730),
        description="P90D to P3650D after the answer's (or its flag's) last change; two years by default",
    )
    returns: Kept = Field(
        default=timedelta(days=2555),
        description="P90D to P3650D after the return's last step; seven years by default (refund records)",
    )


class Staff(Strict):
    """Who hears about what, and who may sign in to the store's workspace (and as what)."""

    alert_emails: list[EmailStr] = Field(min_length=1, max_length=20)
    escalation_emails: list[EmailStr] = Field(default_factory=list, max_length=20)
    owners: list[EmailStr] = Field(
        default_factory=list,
        max_length=20,
        description="May sign in to the workspace as owners (everything); alert and escalation "
        "addresses sign in as staff (inbox, requests, insights). Owners receive the weekly digest",
    )

    def role_of(self, email: str) -> Literal["owner", "staff"] | None:
        """The workspace role of an address (compared case-insensitively), or None if it may not sign in."""
        wanted = email.strip().casefold()
        if any(str(owner).casefold() == wanted for owner in self.owners):
            return "owner"
        if any(str(a).casefold() == wanted for a in [*self.alert_emails, *self.escalation_emails]):
            return "staff"
        return None


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)
_OPENING = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")


def _opening(value: str) -> str:
    """An opening period like ``09:00-17:30`` (24:00 allowed as an end), start before end."""
    found = _OPENING.fullmatch(value.strip())
    if not found or (found.group(3) == "24" and found.group(4) != "00"):
        raise Unfit(value, "is not an opening period", "write start-end in 24-hour time", "09:00-17:30")
    start = int(found.group(1)) * 60 + int(found.group(2))
    end = int(found.group(3)) * 60 + int(found.group(4))
    if end <= start:
        raise Unfit(value, "ends before it starts", "use 24:00 for midnight", "18:00-24:00")
    return value.strip()


Opening = Annotated[str, AfterValidator(_opening)]


class BusinessHours(Strict):
    """When staff are at work, in the store's timezone. SLA deadlines count only this time.

    Without it every hour counts (24/7). A weekday left out is closed; holidays are closed all day.
    """

    weekly: dict[Weekday, list[Opening]] = Field(
        description="weekday -> opening periods, e.g. monday: [09:00-12:00, 13:00-17:00]"
    )
    holidays: list[date] = Field(default_factory=list, max_length=400, description="Closed all day")

    @field_validator("weekly")
    @classmethod
    def _some_time_open(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if not any(value.values()):
            raise Unfit(
                value,
                "opens on no day",
                "give at least one weekday its opening hours (leave business_hours out for 24/7)",
                {"monday": ["09:00-17:00"]},
            )
        for day, periods in value.items():
            minutes = sorted(_minutes(period) for period in periods)
            for (_, end), (start, _) in itertools.pairwise(minutes):
                if start < end:
                    raise Unfit(
                        periods,
                        "has overlapping periods",
                        "make each start after the one before ends",
                        ["09:00-12:00", "13:00-17:00"],
                        at=(day,),
                    )
        return value

    def periods(self, weekday: int) -> list[tuple[int, int]]:
        """Opening periods of a weekday (0 = Monday) as (start, end) minutes after midnight, in order."""
        return sorted(_minutes(period) for period in self.weekly.get(WEEKDAYS[weekday], []))


def _minutes(period: str) -> tuple[int, int]:
    start, end = period.split("-")
    return int(start[:2]) * 60 + int(start[3:]), int(end[:2]) * 60 + int(end[3:])


def _default_replies() -> dict[str, str | dict[str, str]]:
    return {
        "Apology": "Hi {name},\n\nThank you for telling us, and we are sorry this was not what you "
        "expected. We would like to put it right: just reply to this email and we will sort it out."
        "\n\n{store}",
    }


class AlertPolicy(Strict):
    sla: Sla = Field(default=timedelta(hours=24), description="PT15M to P365D")
    negative_stars_at_most: int = Field(default=2, ge=1, le=4)
    detractor_nps_at_most: int = Field(default=6, ge=0, le=9)
    keywords: list[Keyword] | None = Field(
        default=None,
        max_length=50,
        description="Words that flag a comment that mentions one; left out: Aftercare's own in the store's "
        "default_locale (and English); [] flags on none",
    )
    reply_templates: dict[Line, str | dict[str, str]] = Field(
        default_factory=_default_replies,
        description="Starting points for staff replies: one text (in the store's default_locale) or one per "
        'locale ({"en": "Hi {name}", "ar": "مرحبًا {name}"}); {name} and {store} are filled in; a locale '
        "without any gets Aftercare's own",
        max_length=20,
    )

    @field_validator("reply_templates")
    @classmethod
    def _templates(cls, value: dict[str, str | dict[str, str]]) -> dict[str, str | dict[str, str]]:
        from functions.shared.texts import reply_template_problem

        for name, texts in value.items():
            by_locale = texts if isinstance(texts, dict) else {"": texts}
            for locale, text in by_locale.items():
                at = (name, locale) if locale else (name,)
                if locale and locale not in SUPPORTED_LOCALES:
                    expected = f"use one of {', '.join(SUPPORTED_LOCALES)}"
                    raise Unfit(locale, "is not a locale with a catalog", expected, "ar", at=at)
                why = reply_template_problem(text)
                if why:
                    raise Unfit(text, why, "", "Hi {name}, thank you for telling us. {store}", at=at)
        return value

    @property
    def default_keywords(self) -> bool:
        """Whether the store lists no words of its own. Stores created before the defaults followed the
        language kept the English defaults in their configuration: those count as unset too."""
        return self.keywords is None or tuple(self.keywords) == DEFAULT_KEYWORDS["en"]

    def keywords_for(self, default_locale: str) -> list[str]:
        """The words that flag a comment: the store's own, else Aftercare's for its ``default_locale``."""
        if not self.default_keywords:
            return list(self.keywords or [])
        language = language_of(default_locale)
        own = DEFAULT_KEYWORDS.get(language, ())
        return [*own, *DEFAULT_KEYWORDS["en"]] if language != "en" else list(DEFAULT_KEYWORDS["en"])

    def reply_templates_for(self, locale: str, default_locale: str) -> dict[str, str]:
        """The store's reply templates in ``locale``: a plain text is in the store's ``default_locale``
        (Aftercare's own English default stays English: other locales get their own from the catalog)."""
        english_default = _default_replies()
        found = {}
        for name, texts in self.reply_templates.items():
            if isinstance(texts, dict):
                if texts.get(locale):
                    found[name] = texts[locale]
            elif locale == ("en" if english_default.get(name) == texts else default_locale):
                found[name] = texts
        return found


class IntegrationConfig(Strict):
    """Per-integration settings. Shopify signs with the secret it shows you: pass it with --secret."""

    enabled: bool = True


def _generic_only() -> dict[Integration, IntegrationConfig]:
    return {"generic": IntegrationConfig()}


class EmailSettings(Strict):
    """How the store's emails look and what they say; texts override the catalog per locale."""

    accent_color: str = Field(default="#2f6f5e", pattern=r"^#[0-9a-fA-F]{6}$")
    logo_url: PublicUrl | None = None
    unsubscribe_mailto: EmailStr | None = Field(default=None, description="Also offered in List-Unsubscribe")
    texts: dict[Locale, Annotated[dict[CatalogKey, str], Field(max_length=MAX_OVERRIDES)]] = Field(
        default_factory=dict,
        description="locale -> catalog key -> text; a text may use the {placeholders} the English "
        "catalog uses for that key, and {{ }} for literal braces",
    )

    @field_validator("texts", mode="before")
    @classmethod
    def _without_retired(cls, value: Any) -> Any:
        """Overrides of texts the catalog no longer has are dropped (they showed nowhere any more)."""
        from functions.shared.texts import RETIRED_KEYS

        if not isinstance(value, dict):
            return value
        return {
            locale: {k: v for k, v in texts.items() if k not in RETIRED_KEYS}
            if isinstance(texts, dict)
            else texts
            for locale, texts in value.items()
        }

    @field_validator("texts")
    @classmethod
    def _known_locales(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        from functions.shared.texts import catalog_placeholders, override_problem

        for locale, texts in value.items():
            if locale not in SUPPORTED_LOCALES:
                raise Unfit(
                    locale,
                    "is not a locale with a catalog",
                    f"use one of {', '.join(SUPPORTED_LOCALES)}",
                    "en",
                    at=(locale,),
                )
            for key, text in texts.items():
                why = override_problem(key, text)
                if why:
                    known = key in catalog_placeholders()  # else the key is what is wrong
                    raise Unfit(text if known else key, why, at=(locale, key))
        return value


class StoreConfig(Strict):
    """Everything a store owner writes in store.yaml."""

    id: str
    name: str = Field(min_length=1, max_length=120)
    sender: Sender
    reply_to: EmailStr | None = None
    postal_address: str = Field(min_length=10, max_length=300, description="Shown in every email (CAN-SPAM)")
    default_locale: str = Field(default="en", max_length=35)
    timezone: str = Field(default="UTC", max_length=64)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    integrations: dict[Integration, IntegrationConfig] = Field(default_factory=_generic_only, min_length=1)
    staff: Staff
    business_hours: BusinessHours | None = Field(
        default=None, description="Opening hours and holidays; SLA deadlines count only business time"
    )
    alerts: AlertPolicy = AlertPolicy()
    outreach: OutreachPolicy = OutreachPolicy()
    returns: ReturnPolicy = ReturnPolicy()
    emails: EmailSettings = EmailSettings()
    retention: Retention = Retention()

    @field_validator("name", "postal_address")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return _single_line(value)  # it goes into email headers and footers

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not _STORE_ID.fullmatch(value):
            raise Unfit(
                value,
                "is not a store id",
                "use 3-40 lowercase letters, digits or hyphens, not starting or ending with -",
                "acme-goods",
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            import difflib
            from zoneinfo import available_timezones

            close = difflib.get_close_matches(value, sorted(available_timezones()), n=1, cutoff=0.6)
            raise Unfit(
                value, "is not a time zone", "use an IANA name", close[0] if close else "Europe/Berlin"
            ) from None
        return value

    @field_validator("default_locale")
    @classmethod
    def _valid_locale(cls, value: str) -> str:
        if language_of(value) not in SUPPORTED_LOCALES:
            raise Unfit(
                value, "is not a supported locale", f"use one of {', '.join(SUPPORTED_LOCALES)}", "en"
            )
        return value

    @model_validator(mode="after")
    def _returns_consistent(self) -> StoreConfig:
        if (
            self.returns.keep_it_below > self.returns.auto_approve_below
            and self.returns.auto_approve_below > 0
        ):
            raise Unfit(
                self.returns.keep_it_below,
                f"is more than returns.auto_approve_below ({self.returns.auto_approve_below})",
                "keep it at most that amount, or 0 to always ask for the item back",
                str(self.returns.auto_approve_below),
                at=("returns", "keep_it_below"),
            )
        return self

    @model_validator(mode="after")
    def _kept_long_enough(self) -> StoreConfig:
        """No retention may delete what the store's own flows still wait on."""
        needs = {
            "orders": (
                self.order_needed_for(),
                "the longest request's delay, or the return window and its waits",
            ),
            "answers": (self.alerts.sla, "alerts.sla: a flag must outlive its reply deadline"),
            "returns": (
                self.returns.approval_timeout + self.returns.return_timeout,
                "returns.approval_timeout plus returns.return_timeout: a return waits that long at most",
            ),
        }
        for kind, (needed, why) in needs.items():
            kept: timedelta = getattr(self.retention, kind)
            if kept < needed and kind not in self.retention.model_fields_set:
                # A length the store did not write never deletes what its own flows still need (a stored
                # configuration with extreme delays stays valid): the default is raised to fit.
                object.__setattr__(self, "retention", self.retention.model_copy(update={kind: needed}))
            elif kept < needed:
                raise Unfit(
                    kept,
                    f"is shorter than the store's own flows need (for {why})",
                    f"keep {kind} at least that long",
                    needed,
                    at=("retention", kind),
                )
        return self

    def order_needed_for(self) -> timedelta:
        """How long after its last event an order may still be needed: its last request (transit, the
        longest delay and reminder, the lateness allowed) or a return (window, approval and parcel waits)."""
        rules = [self.rule_for(name) for name in self.outreach.product_types] + [self.rule_for(None)]
        longest = max(
            max((r.review_delay or timedelta(0)) + (r.reminder_delay or timedelta(0)) for r in rules),
            *(r.nps_delay or timedelta(0) for r in rules),
        )
        asking = self.outreach.transit_time + longest + self.outreach.max_lateness
        returning = self.returns.window + self.returns.approval_timeout + self.returns.return_timeout
        return max(asking, returning)

    def rule_for(self, product_type: str | None) -> OutreachRule:
        """The outreach rule for a product type, falling back to the store default."""
        defaults = self.outreach.default
        rule = self.outreach.product_types.get((product_type or "").strip().lower())
        if rule is None:
            return OutreachRule(
                review_delay=defaults.review_delay,
                reminder_delay=defaults.reminder_delay,
                nps_delay=defaults.nps_delay,
            )
        return OutreachRule(
            review_delay=rule.review_delay or defaults.review_delay,
            reminder_delay=rule.reminder_delay
            if rule.reminder_delay is not None
            else defaults.reminder_delay,
            nps_delay=rule.nps_delay if rule.nps_delay is not None else defaults.nps_delay,
            reviews=rule.reviews,
        )


class StoreCreateRequest(Strict):
    """Body of the operator's create call: the config plus secrets the platform dictates."""

    config: StoreConfig
    webhook_secrets: dict[Integration, str] = Field(default_factory=dict)

    @field_validator("webhook_secrets")
    @classmethod
    def _strong_enough(cls, value: dict[Integration, str]) -> dict[Integration, str]:
        for name, secret in value.items():
            # The secret itself is never quoted back: it would land in logs and terminals.
            if len(secret) < 16:
                raise Unfit(
                    Words(f"{len(secret)} characters"),
                    "is too short for a secret",
                    "use at least 16",
                    at=(name,),
                )
            if len(secret) > MAX_SECRET:
                raise Unfit(
                    f"{len(secret)} characters",
                    "is too long for a secret",
                    f"use at most {MAX_SECRET}",
                    at=(name,),
                )
            if not secret.isprintable():
                raise Unfit(
                    Words("The secret"), "contains control characters", "use printable characters", at=(name,)
                )
        return value


class Store(BaseModel):
    """A registered store as the rest of Aftercare sees it (never carries secrets)."""

    model_config = ConfigDict(frozen=True)

    config: StoreConfig
    created_at: str
    admin_key_hash: str
    secrets_version: int = 1
    version: int = 1  # of the configuration: an update names the version it was based on
    updated_at: str | None = None
    change_count: int = 0  # changes recorded in the config history (numbers its items)
    created_by: str = "operator"

    @property
    def id(self) -> str:
        return self.config.id


class StoreSecrets(BaseModel):
    """Webhook secrets per integration; several may be active while a secret rotates."""

    model_config = ConfigDict(frozen=True)

    webhook: dict[str, list[str]]


class CreatedStore(BaseModel):
    """Returned once at creation: the only time the admin key and generated secrets are shown."""

    store: Store
    admin_key: str
    webhook_secrets: dict[str, str]


# ----------------------------------------------------------- store management (update, rotate, history)

# A replaced webhook secret keeps verifying this long: deliveries signed with it may still be retried
# (Shopify retried failed deliveries for up to 48 hours; it now retries 8 times over 4 hours), and the
# store needs time, a weekend included, to set the new secret at its platform.
GRACE_HOURS = 72
MAX_GRACE_HOURS = 168


class StoreUpdateRequest(StoreCreateRequest):
    """Body of an update: the whole new config, the version it was based on, and secrets for
    integrations this update enables that have none yet (any other secret changes by rotation)."""

    version: int = Field(ge=1, le=1_000_000_000, description="The configuration version this is based on")


class SecretRotationRequest(Strict):
    """Body of a webhook secret rotation; both fields are optional."""

    secret: str | None = Field(
        default=None, description="The new secret when the platform dictates it (Shopify); else generated"
    )
    grace_hours: int = Field(
        default=GRACE_HOURS,
        ge=0,
        le=MAX_GRACE_HOURS,
        description="How long the replaced secret keeps verifying (0: it stops at once, for a leaked secret)",
    )

    @field_validator("secret")
    @classmethod
    def _strong_enough(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not 16 <= len(value) <= MAX_SECRET:
            raise Unfit(
                Words(f"{len(value)} characters"),
                "is the wrong length for a secret",
                f"use 16 to {MAX_SECRET}",
            )
        if not value.isprintable():
            raise Unfit(Words("The secret"), "contains control characters", "use printable characters")
        return value


class RetiringSecret(BaseModel):
    """A replaced webhook secret that keeps verifying until ``expires_at`` (ISO, UTC)."""

    model_config = ConfigDict(frozen=True)

    secret: str
    expires_at: str


class SecretRecord(BaseModel):
    """The SECRETS item as stored: current secrets (never expire) and replaced ones in their grace period."""

    model_config = ConfigDict(frozen=True)

    current: dict[str, list[str]]
    retiring: dict[str, list[RetiringSecret]] = Field(default_factory=dict)

    def active(self, now: str) -> StoreSecrets:
        """What verifies at ``now`` (ISO): current secrets first (the newest signs), then unexpired ones."""
        webhook = {name: list(values) for name, values in self.current.items()}
        for name, olds in self.retiring.items():
            alive = sorted((r for r in olds if r.expires_at > now), key=lambda r: r.expires_at, reverse=True)
            if alive:
                webhook[name] = webhook.get(name, []) + [r.secret for r in alive]
        return StoreSecrets(webhook=webhook)


class ConfigChange(BaseModel):
    """One entry of a store's config history: who changed what, when (never a secret)."""

    model_config = ConfigDict(frozen=True)

    at: str  # ISO-8601, UTC
    actor: str  # "operator", "store admin key", or a workspace owner's email
    action: str  # create | update | rotate-secret | rotate-admin-key
    summary: str
    changes: list[dict[str, str]] = Field(default_factory=list)  # {path, old, new} for updates
    version: int  # the configuration version after the change


class StoreSummary(BaseModel):
    """A store as the registry lists it."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    created_at: str
    version: int


class UpdatedStore(BaseModel):
    """The result of an update: the store as now stored, what changed, secrets issued (shown once)."""

    store: Store
    changes: list[dict[str, str]]
    webhook_secrets: dict[str, str] = Field(default_factory=dict)


class RotatedSecret(BaseModel):
    """A rotation's result: the new secret (shown once) and until when the replaced ones verify."""

    integration: str
    secret: str
    previous_valid_until: str | None
