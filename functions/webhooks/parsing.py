"""The rules every value of a platform payload is checked against where it enters, shared by the normalisers.

Required values that are out of range make the payload unusable (``PayloadError`` names the field: the
generic integration answers 422, Shopify and WooCommerce deliveries are quarantined). Optional values
that are unusable — a name given as a list, a malformed locale, an address that is not one address —
are dropped with a note the event keeps, so the rest of the order still counts. The generic
integration's pydantic models apply the same rules (``functions.webhooks.generic``), and refuse.

| value | rule |
| --- | --- |
| date-time | ISO-8601 text, 2000-01-01 to 2100-12-31, at most a day after receipt; no offset means UTC |
| price | finite, 0 to 1,000,000,000, at most 4 decimal places; a JSON number or text such as "49.00" |
| quantity | a whole number from 1 to 10,000 (not true, not 2.0) |
| id | an integer (every digit kept) or text, at most 256 characters, no control characters |
| name, text | text only; control characters become spaces; whitespace collapses; bounded length |
| locale | a well-formed BCP 47 language tag, at most 35 characters (``fa_IR`` becomes ``fa-IR``) |
| email | exactly one RFC 5322 address, at most 254 characters, domain lower-cased |
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from functions.shared import clock

# ------------------------------------------------------------------------------------------ the rules

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
AHEAD = timedelta(days=1)  # platform clocks drift; a day ahead of receipt is the most we believe
MAX_TIME_TEXT = 64

MAX_PRICE = Decimal(1_000_000_000)
PRICE_PLACES = 4
_PLACES = Decimal(1).scaleb(-PRICE_PLACES)
MAX_PRICE_TEXT = 40  # "1000000000.0000" with room for an exponent or padding; longer text is not a price

MIN_QUANTITY = 1
MAX_QUANTITY = 10_000

MAX_ID = 256

NAME_LENGTH = 120  # a person's full name
NAME_PART_LENGTH = NAME_LENGTH // 2  # a first or a last name
PRODUCT_NAME_LENGTH = 200
PRODUCT_TYPE_LENGTH = 64
ORDER_NAME_LENGTH = 64
REASON_LENGTH = 500
TITLE_LENGTH = 200
REVIEW_BODY_LENGTH = 5000
STATUS_LENGTH = 40

MAX_LOCALE = 35
MAX_EMAIL = 254
MAX_ENTRIES = 1000  # line items, fulfillments, refunds in one payload

# C0 and C1 controls, DEL, the Unicode line and paragraph separators, and unpaired surrogates (which
# JSON's \ud800 escapes can produce and which no text store can encode).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# RFC 5646 "langtag" (well-formed, case-insensitive): language[-extlang] [-script] [-region]
# *[-variant] *[-extension] [-privateuse]
_LANGUAGE_TAG = re.compile(
    r"(?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4,8})"
    r"(?:-[a-z]{4})?"
    r"(?:-(?:[a-z]{2}|[0-9]{3}))?"
    r"(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*"
    r"(?:-[a-wyz0-9](?:-[a-z0-9]{2,8})+)*"
    r"(?:-x(?:-[a-z0-9]{1,8})+)?",
    re.ASCII | re.IGNORECASE,
)
_CURRENCY = re.compile(r"[A-Z]{3}", re.ASCII)


class PayloadError(Exception):
    """The payload lacks something we need or has it in the wrong shape; ``field`` names it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# ------------------------------------------------------------------------------------------------ ids


def ident(value: Any, field: str, required: bool = True) -> str | None:
    """An id as exact text: integers of any size keep every digit; floats, booleans and lists are refused."""
    if _absent(value):
        if required:
            raise PayloadError(field, "is required")
        return None
    problem = f"must be an integer or a text id of at most {MAX_ID} characters ({MAX_ID} bytes in UTF-8)"
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PayloadError(field, problem)
    if isinstance(value, int) and abs(value) >= 10**MAX_ID:  # before str(): 5000 digits cannot become text
        raise PayloadError(field, problem)
    exact: str = str(value)
    if len(exact) > MAX_ID or len(exact.encode("utf-8", "surrogatepass")) > MAX_ID:  # bytes: keys must fit
        raise PayloadError(field, problem)
    if _CONTROL.search(exact):
        raise PayloadError(field, "must not contain control characters")
    return exact


# ------------------------------------------------------------------------------------------ times


def within_range(moment: datetime, field: str) -> datetime:
    """A time Aftercare can plan with: 2000 to 2100, and at most a day after receipt."""
    if not EARLIEST <= moment <= LATEST:
        raise PayloadError(field, "must be a date between 2000 and 2100")
    if moment > clock.now() + AHEAD:
        raise PayloadError(field, "must not be more than a day in the future")
    return moment


def moment(value: Any, field: str, *, naive_is_utc: bool = True) -> datetime:
    """An ISO-8601 date-time in range, in UTC. Without an offset it is UTC (WooCommerce's *_gmt fields),
    unless ``naive_is_utc`` is false (the generic integration asks for an explicit offset)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and len(value) <= MAX_TIME_TEXT:
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise PayloadError(field, "must be an ISO-8601 date-time such as 2026-11-05T12:00:00Z") from None
    else:
        raise PayloadError(field, "must be an ISO-8601 date-time such as 2026-11-05T12:00:00Z")
    if parsed.tzinfo is None:
        if not naive_is_utc:
            raise PayloadError(field, "must include a UTC offset such as Z or +01:00")
        parsed = parsed.replace(tzinfo=UTC)
    try:
        in_utc = parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first representable instant
        raise PayloadError(field, "must be a date between 2000 and 2100") from None
    return within_range(in_utc, field)


def timestamp(value: Any, field: str) -> datetime | None:
    """An optional date-time: absent (null or empty) is ``None``, anything else must be a valid one."""
    if _absent(value):
        return None
    return moment(value, field)


# ----------------------------------------------------------------------------------- amounts, counts


def amount(value: Decimal, field: str) -> Decimal:
    """A decimal amount within the price rule."""
    if not value.is_finite():
        raise PayloadError(field, "must be a finite amount (not NaN or Infinity)")
    if not Decimal(0) <= value <= MAX_PRICE:
        raise PayloadError(field, f"must be an amount from 0 to {MAX_PRICE}")
    if value != value.quantize(_PLACES):  # exact: at most 10 + 4 digits, well within Decimal's precision
        raise PayloadError(field, f"must be at most {PRICE_PLACES} decimal places")
    return value


def price(value: Any, field: str) -> Decimal:
    """A price given as a JSON number or as text such as ``"49.00"``."""
    problem = "must be an amount such as 49.90"
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise PayloadError(field, problem)
    if isinstance(value, int) and abs(value) > MAX_PRICE:  # before str(): huge integers stay cheap
        raise PayloadError(field, f"must be an amount from 0 to {MAX_PRICE}")
    if isinstance(value, str) and len(value) > MAX_PRICE_TEXT:
        raise PayloadError(field, problem)
    try:
        parsed = Decimal(str(value).strip())
    except InvalidOperation:
        raise PayloadError(field, problem) from None
    return amount(parsed, field)


def money(value: Any, field: str) -> Decimal | None:
    """An optional price: absent (null or empty) is ``None``."""
    if _absent(value):
        return None
    return price(value, field)


def whole_number(value: Any, field: str, low: int, high: int) -> int:
    """An integer from ``low`` to ``high``; ``true`` and ``2.0`` are not integers."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PayloadError(field, f"must be a whole number from {low} to {high}")
    return value


def quantity(value: Any, field: str) -> int:
    """How many of a line item (ordered, refunded or returned)."""
    return whole_number(value, field, MIN_QUANTITY, MAX_QUANTITY)


# ------------------------------------------------------------------------------------------- texts


def clean_text(value: str) -> str:
    """One line: control characters become spaces and whitespace collapses."""
    return " ".join(_CONTROL.sub(" ", value).split())


def clean_multiline(value: str) -> str:
    """Free text that keeps its line breaks (as ``\\n``); other control characters become spaces."""
    lines = (clean_text(line) for line in _LINE_BREAK.split(value))
    return "\n".join(lines).strip("\n")


def text(value: Any, limit: int) -> str | None:
    """Cleaned single-line text of at most ``limit`` characters; anything but text is ``None``."""
    if not isinstance(value, str):
        return None
    return clean_text(value[: limit * 4])[:limit] or None


def multiline(value: Any, limit: int) -> str:
    """Cleaned multi-line text of at most ``limit`` characters; anything but text is empty."""
    if not isinstance(value, str):
        return ""
    return clean_multiline(value[: limit * 4])[:limit]


def name(value: Any, field: str, notes: list[str], limit: int) -> str | None:
    """An optional name or free text: a number, list or object given instead is dropped with a note."""
    if value is None:
        return None
    if not isinstance(value, str):
        notes.append(f"{field} dropped: not text")
        return None
    return text(value, limit)


def first_name_of(candidates: Iterable[tuple[Any, str]], notes: list[str], limit: int) -> str | None:
    """The first usable text among ``(value, field)`` candidates (e.g. a line item's name, then title)."""
    for value, field in candidates:
        found = name(value, field, notes, limit)
        if found:
            return found
    return None


def status(value: Any) -> str | None:
    """A platform status word (``paid``, ``completed``…), compared against known values only."""
    return text(value, STATUS_LENGTH)


def currency(value: Any, field: str, notes: list[str]) -> str | None:
    """An ISO 4217 code such as ``EUR``; anything else is dropped with a note."""
    if _absent(value):
        return None
    if isinstance(value, str) and _CURRENCY.fullmatch(value.strip()):
        return value.strip()
    notes.append(f"{field} dropped: not a currency code")
    return None


# ------------------------------------------------------------------------------ locales and emails


def _canonical_case(tag: str) -> str:
    """RFC 5646 case: ``zh-hant-tw`` → ``zh-Hant-TW``; extensions and private use stay lower-case."""
    parts = tag.lower().split("-")
    result = [parts[0]]
    in_extension = False
    for part in parts[1:]:
        in_extension = in_extension or len(part) == 1
        if not in_extension and len(part) == 2:
            part = part.upper()
        elif not in_extension and len(part) == 4 and part.isalpha():
            part = part.title()
        result.append(part)
    return "-".join(result)


def locale(value: Any) -> str | None:
    """A well-formed BCP 47 language tag (``_`` read as ``-``) in canonical case, or ``None``."""
    if not isinstance(value, str):
        return None
    tag = value.strip().replace("_", "-")
    if len(tag) > MAX_LOCALE or not _LANGUAGE_TAG.fullmatch(tag):
        return None
    return _canonical_case(tag)


def _optional(value: Any, read: Callable[[Any], str | None], notes: list[str], dropped: str) -> str | None:
    """``read(value)``; absent gives ``None``, unusable gives ``None`` and the note ``dropped``."""
    if _absent(value):
        return None
    found = read(value)
    if found is None:
        notes.append(dropped)
    return found


def customer_locale(value: Any, notes: list[str]) -> str | None:
    """The customer's language when the payload gives a usable one; otherwise dropped with a note."""
    return _optional(value, locale, notes, "customer locale dropped: not a language tag")


def email_address(value: Any) -> str | None:
    """Exactly one RFC 5322 address (no display name, no list), domain lower-cased, or ``None``."""
    if not isinstance(value, str) or not 3 <= len(value.strip()) <= MAX_EMAIL:
        return None
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    address = f"{checked.local_part}@{checked.domain.lower()}"
    return address if len(address) <= MAX_EMAIL else None


def customer_email(value: Any, notes: list[str]) -> str | None:
    """The customer's address when the payload gives exactly one valid one; otherwise dropped with a note."""
    return _optional(value, email_address, notes, "customer email dropped: not a single valid address")


# ------------------------------------------------------------------------------------------ shapes


def obj(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(field, "must be a JSON object")
    return value


def optional_obj(value: Any) -> dict[str, Any]:
    """An object when the payload has one there, else empty (for optional parts such as addresses)."""
    return value if isinstance(value, dict) else {}


def items(value: Any, field: str, limit: int = MAX_ENTRIES) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(field, "must be a list")
    if len(value) > limit:
        raise PayloadError(field, f"must have at most {limit} entries")
    return value
