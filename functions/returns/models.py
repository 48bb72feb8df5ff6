"""The returns vocabulary, written once: statuses, outcomes, what a request waits for, and the request itself.

The enum values are the exact strings stored in the Returns table and shown on the staff page; they
never change without a data migration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """Where a return stands (``status`` on the request item)."""

    REQUESTED = "requested"
    IN_PROGRESS = "in progress"
    REFUSED = "refused"
    AWAITING_APPROVAL = "awaiting approval"
    EXPIRED = "expired"
    REJECTED = "rejected"
    AWAITING_ITEM = "awaiting the item"
    NOT_RECEIVED = "closed: item not received"
    NOT_REFUNDED = "closed: not refunded"
    REFUND_FAILED = "failed: refund not issued"
    RETRYING_REFUND = "retrying the refund"
    SETTLED = "closed: settled by staff"
    COMPLETED = "completed"
    WORKFLOW_ERROR = "failed: workflow error"


class Outcome(StrEnum):
    """What the customer gets instead of the item (``outcome`` on the request item)."""

    REFUND = "refund"
    REPLACEMENT = "replacement"
    STORE_CREDIT = "store_credit"
    RETURN = "return"  # a staff offer: a refund once the item is back


CUSTOMER_OUTCOMES = (
    Outcome.REFUND,
    Outcome.REPLACEMENT,
    Outcome.STORE_CREDIT,
)  # the return page offers these
MONEY_OUTCOMES = frozenset({Outcome.REFUND, Outcome.STORE_CREDIT})  # nothing to refund when they cost nothing


class Waiting(StrEnum):
    """What a parked request waits for (``waiting_for``)."""

    APPROVAL = "approval"
    PARCEL = "parcel"


class StaffAction(StrEnum):
    """What staff may do on the approval page."""

    APPROVE = "approve"
    REJECT = "reject"
    RETRY_REFUND = "retry_refund"
    SETTLE = "settle"


REFUND_DONE = "done"  # ``refund_status`` once the store confirmed the refund


@dataclass(frozen=True)
class Requested:
    """A return someone asks for: which units of which line items, and what they want instead."""

    return_id: str
    order_id: str
    lines: dict[str, int]
    outcome: str
    reason: str
    source: str  # customer, staff or store
    extra: dict[str, Any] = field(default_factory=dict)  # details, flag_id, store_return_id ...


@dataclass(frozen=True)
class ReturnRequest:
    """A stored return request, read through typed accessors (``item`` is the stored item itself)."""

    item: dict[str, Any]

    @property
    def return_id(self) -> str:
        return str(self.item["return_id"])

    @property
    def store_id(self) -> str:
        return str(self.item.get("store_id", ""))

    @property
    def order_id(self) -> str:
        return str(self.item["order_id"])

    @property
    def order_label(self) -> str:
        return str(self.item.get("order_name") or self.item["order_id"])

    @property
    def outcome(self) -> str:
        return str(self.item.get("outcome", Outcome.REFUND))

    @property
    def status(self) -> str:
        return str(self.item.get("status", ""))

    @property
    def amount(self) -> Decimal:
        return Decimal(str(self.item.get("amount") or "0"))

    @property
    def items(self) -> list[dict[str, Any]]:
        return list(self.item.get("items") or [])

    @property
    def customer(self) -> dict[str, Any]:
        return dict(self.item.get("customer") or {})

    @property
    def decision(self) -> dict[str, Any]:
        return dict(self.item.get("decision") or {})

    @property
    def refunded(self) -> bool:
        return self.item.get("refund_status") == REFUND_DONE

    @property
    def waiting_for(self) -> str | None:
        value = self.item.get("waiting_for")
        return str(value) if value else None

    @property
    def has_workflow(self) -> bool:
        return bool(self.item.get("execution_arn"))

    def currency(self, default: str) -> str:
        return str(self.item.get("currency") or default)

    def lines(self) -> dict[str, int]:
        """Line item id -> units in this return."""
        lines: dict[str, int] = {}
        for item in self.items:
            if item.get("line_item_id"):
                line = str(item["line_item_id"])
                lines[line] = lines.get(line, 0) + int(item.get("quantity") or 1)
        return lines
