"""Why a delivery is refused or kept aside; ``functions.webhooks.routes`` gives each its HTTP answer."""

from __future__ import annotations

from enum import StrEnum


class Refusal(StrEnum):
    """Why a delivery is refused (the value is the error code the sender sees)."""

    TOO_LARGE = "body_too_large"
    NOT_ENABLED = "not_found"
    FORGED = "invalid_signature"  # the signature does not verify: nothing is stored
    NOT_JSON = "invalid_json"
    INVALID = "validation_failed"


class Rejection(Exception):
    """A delivery refused with a reason the sender can act on (``fields`` names each bad field)."""

    def __init__(self, refusal: Refusal, message: str, fields: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.message = message
        self.fields = fields

    @classmethod
    def invalid(cls, message: str, field: str, problem: str) -> Rejection:
        return cls(Refusal.INVALID, message, [{"field": field, "problem": problem}])


class InProgress(Exception):
    """The same event is being applied right now by another delivery; the sender should retry shortly."""


class Quarantine(Exception):
    """An authentic platform delivery that cannot be used; kept with ``reason`` and answered 200."""

    def __init__(self, reason: str, order_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.order_id = order_id
