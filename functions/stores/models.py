"""A store (tenant): its configuration, as written in store.yaml and kept in the Stores table."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

Integration = Literal["shopify", "woocommerce", "generic"]
INTEGRATIONS: tuple[Integration, ...] = ("shopify", "woocommerce", "generic")
SUPPORTED_LOCALES = ("en", "ar", "fa", "kk", "ka")  # each has templates/i18n/<locale>.json

_STORE_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$")
_PRODUCT_TYPE = re.compile(r"^[a-z0-9][a-z0-9 _-]{0,63}$")


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be a positive duration such as P7D or PT12H")
    return value


def _https_url(value: str) -> str:
    local = re.match(r"^http://(127\.0\.0\.1|localhost)(:\d+)?(/\S*)?$", value)  # a receiver on this machine
    if not local and not re.match(r"^https://[^\s/]+(/\S*)?$", value):
        raise ValueError("must be an https:// URL")
    return value


Duration = Annotated[timedelta, AfterValidator(_positive)]
HttpsUrl = Annotated[str, AfterValidator(_https_url)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Sender(Strict):
    email: EmailStr
    name: str = Field(min_length=1, max_length=80)

    @field_validator("name")
    @classmethod
    def _no_header_breaks(cls, value: str) -> str:
        if any(ch in value for ch in "\r\n\0"):
            raise ValueError("must be a single line")
        return value


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
    product_types: dict[str, OutreachRule] = Field(default_factory=dict)
    transit_time: Duration = Field(default=timedelta(days=4), description="Assumed shipping time")
    frequency_cap: Duration = Field(default=timedelta(days=7), description="Minimum gap between emails")
    send_window_days: int = Field(default=2, ge=0, le=14, description="Items due this close share an email")

    @field_validator("product_types")
    @classmethod
    def _valid_types(cls, value: dict[str, OutreachRule]) -> dict[str, OutreachRule]:
        for name in value:
            if not _PRODUCT_TYPE.match(name):
                raise ValueError(f"product type {name!r} must be lowercase letters, digits, spaces, _ or -")
        return value


class ReturnPolicy(Strict):
    window: Duration = timedelta(days=30)
    non_returnable_types: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(
        default_factory=lambda: [
            "Damaged or defective",
            "Wrong item",
            "Does not fit",
            "Not as described",
            "Other",
        ],
        min_length=1,
    )
    auto_approve_below: Decimal = Field(default=Decimal("0"), ge=0)
    keep_it_below: Decimal = Field(default=Decimal("0"), ge=0)
    approval_timeout: Duration = timedelta(days=2)
    return_timeout: Duration = Field(
        default=timedelta(days=21), description="How long to wait for the parcel"
    )
    return_reminder: Duration = Field(default=timedelta(days=7), description="When to remind the customer")
    return_address: str = Field(default="", max_length=300, description="Where customers send returns")
    refund_endpoint: HttpsUrl | None = None


class Staff(Strict):
    alert_emails: list[EmailStr] = Field(min_length=1)
    escalation_emails: list[EmailStr] = Field(default_factory=list)


class AlertPolicy(Strict):
    sla: Duration = timedelta(hours=24)
    negative_stars_at_most: int = Field(default=2, ge=1, le=4)
    detractor_nps_at_most: int = Field(default=6, ge=0, le=9)
    keywords: list[str] = Field(default_factory=lambda: ["broken", "never arrived", "refund", "damaged"])
    reply_templates: dict[str, str] = Field(
        default_factory=lambda: {
            "Apology": "Hi {name},\n\nThank you for telling us, and we are sorry this was not what you "
            "expected. We would like to put it right: just reply to this email and we will sort it out."
            "\n\n{store}",
        },
        description="Starting points for staff replies; {name} and {store} are filled in",
    )


class IntegrationConfig(Strict):
    """Per-integration settings. Shopify signs with the secret it shows you: pass it with --secret."""

    enabled: bool = True


def _generic_only() -> dict[Integration, IntegrationConfig]:
    return {"generic": IntegrationConfig()}


class EmailSettings(Strict):
    """How the store's emails look and what they say; texts override the catalog per locale."""

    accent_color: str = Field(default="#2f6f5e", pattern=r"^#[0-9a-fA-F]{6}$")
    logo_url: HttpsUrl | None = None
    unsubscribe_mailto: EmailStr | None = Field(default=None, description="Also offered in List-Unsubscribe")
    texts: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="locale -> catalog key -> text"
    )

    @field_validator("texts")
    @classmethod
    def _known_locales(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for locale, texts in value.items():
            if locale not in SUPPORTED_LOCALES:
                raise ValueError(
                    f"no catalog for locale {locale!r}; choose one of {', '.join(SUPPORTED_LOCALES)}"
                )
            for key, text in texts.items():
                if len(text) > 1000 or any(ch in text for ch in "\r\0"):
                    raise ValueError(f"text {locale}.{key} is too long or contains control characters")
        return value


class StoreConfig(Strict):
    """Everything a store owner writes in store.yaml."""

    id: str
    name: str = Field(min_length=1, max_length=120)
    sender: Sender
    reply_to: EmailStr | None = None
    postal_address: str = Field(min_length=10, max_length=300, description="Shown in every email (CAN-SPAM)")
    default_locale: str = "en"
    timezone: str = "UTC"
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    integrations: dict[Integration, IntegrationConfig] = Field(default_factory=_generic_only, min_length=1)
    staff: Staff
    alerts: AlertPolicy = AlertPolicy()
    outreach: OutreachPolicy = OutreachPolicy()
    returns: ReturnPolicy = ReturnPolicy()
    emails: EmailSettings = EmailSettings()

    @field_validator("name", "postal_address")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if any(ch in value for ch in "\r\n\0"):
            raise ValueError("must be a single line (it goes into email headers and footers)")
        return value

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not _STORE_ID.match(value):
            raise ValueError(
                "must be 3-40 lowercase letters, digits or hyphens, not starting or ending with -"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)"
            ) from None
        return value

    @field_validator("default_locale")
    @classmethod
    def _valid_locale(cls, value: str) -> str:
        language = value.replace("_", "-").split("-")[0].lower()
        if language not in SUPPORTED_LOCALES:
            raise ValueError(f"unsupported locale {value!r}; choose one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @model_validator(mode="after")
    def _returns_consistent(self) -> StoreConfig:
        if (
            self.returns.keep_it_below > self.returns.auto_approve_below
            and self.returns.auto_approve_below > 0
        ):
            raise ValueError("returns.keep_it_below cannot exceed returns.auto_approve_below")
        return self

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
            if len(secret) < 16:
                raise ValueError(f"the {name} secret is too short (at least 16 characters)")
        return value


class Store(BaseModel):
    """A registered store as the rest of Aftercare sees it (never carries secrets)."""

    model_config = ConfigDict(frozen=True)

    config: StoreConfig
    created_at: str
    admin_key_hash: str
    secrets_version: int = 1

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
