"""Small helpers shared by the platform normalisers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any


class PayloadError(Exception):
    """The payload lacks something we need or has it in the wrong shape; ``field`` names it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def ident(value: Any, field: str, required: bool = True) -> str | None:
    """An id as exact text: integers of any size keep every digit, floats are refused."""
    if value is None or value == "":
        if required:
            raise PayloadError(field, "is required")
        return None
    if isinstance(value, bool | float):
        raise PayloadError(field, "must be an integer or a string id")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and len(value) <= 200:
        return value
    raise PayloadError(field, "must be an integer or a string of at most 200 characters")


def timestamp(value: Any, field: str) -> datetime | None:
    """ISO-8601 text; a value without an offset is taken as UTC (WooCommerce's *_gmt fields)."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise PayloadError(field, "must be an ISO-8601 date-time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PayloadError(field, f"{value!r} is not an ISO-8601 date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def money(value: Any, field: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise PayloadError(field, f"{value!r} is not an amount") from None


def quantity(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PayloadError(field, "must be a non-negative integer")
    return value


def text(value: Any, limit: int = 500) -> str | None:
    if value is None:
        return None
    return str(value).replace("\r", " ").replace("\n", " ").strip()[:limit] or None


def obj(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(field, "must be a JSON object")
    return value


def items(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(field, "must be a list")
    return value
