"""What the Outreach table holds, in domain terms: statuses, kinds, why an item was cancelled, a due item,
the stored plan of an order as planning sees it, and the plan diff orders hands over to be written.

Pure values: no AWS here. ``functions.outreach.store`` is the only code that turns them into items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from functions.shared import clock

if TYPE_CHECKING:
    from functions.orders.models import PlannedOutreach

LEASE = timedelta(minutes=15)  # a sweep's claim; one not finished by then is surfaced as interrupted


class OutreachStatus(StrEnum):
    """The ``status`` attribute (its values are stored as they are here)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OutreachKind(StrEnum):
    REVIEW = "review"
    NPS = "nps"


class CancelCause(StrEnum):
    """Why pending outreach was cancelled: decides whether a later plan may bring it back.

    Stored as ``cancel_cause``; items written before it existed are read from ``cancel_reason``'s text.
    """

    REPLANNED = "replanned"  # products regrouped or refunded: planned again when the plan wants it back
    NOT_PLANNED = "not_planned"  # the order gets no outreach at all (cancelled, refunded, …): final
    ANSWERED = "answered"  # a reminder whose request was answered: final
    STAFF = "staff"  # cancelled by a person in the workspace (``cancelled_by``): final

    @property
    def may_return(self) -> bool:
        return self is CancelCause.REPLANNED

    @classmethod
    def of(cls, item: dict[str, Any]) -> CancelCause | None:
        """The cause of a cancelled item, also for items stored before ``cancel_cause`` was written."""
        if item.get("status") != OutreachStatus.CANCELLED:
            return None
        if item.get("cancel_cause"):
            return cls(str(item["cancel_cause"]))
        if str(item.get("cancel_reason") or "").startswith(cls.REPLANNED):
            return cls.REPLANNED
        return cls.ANSWERED if item.get("reason") == "answered" else cls.NOT_PLANNED


@dataclass
class Due:
    """A due (or claimed) outreach item as the sweep read it from the ``due`` index."""

    item: dict[str, Any]

    @property
    def pk(self) -> str:
        return str(self.item["pk"])

    @property
    def sk(self) -> str:
        return str(self.item["sk"])

    @property
    def status(self) -> OutreachStatus:
        return OutreachStatus(str(self.item["status"]))

    @property
    def kind(self) -> str:
        return str(self.item["kind"])

    @property
    def due_at(self) -> datetime:
        return clock.parse_iso(str(self.item["due_at"]))

    @property
    def store_id(self) -> str:
        return str(self.item["store_id"])

    @property
    def order_id(self) -> str:
        return str(self.item["order_id"])

    @property
    def email(self) -> str:
        return str((self.item.get("customer") or {}).get("email") or "")

    @property
    def reminder_of(self) -> str | None:
        original = self.item.get("reminder_of")
        return str(original) if original else None

    @property
    def attempts(self) -> int:
        return int(self.item.get("attempts", 0))


@dataclass(frozen=True)
class Recipient:
    """Who outreach goes to, copied onto each item so a send needs one read."""

    email: str | None = None
    name: str | None = None
    locale: str | None = None

    def as_item(self) -> dict[str, Any]:
        return {"email": self.email, "name": self.name, "locale": self.locale}


def _without_nulls(value: dict[str, Any]) -> dict[str, Any]:
    return {key: item for key, item in value.items() if item is not None}


@dataclass(frozen=True)
class OutreachRecord:
    """One stored outreach item of an order, as planning compares it with the plan."""

    outreach_id: str
    kind: str
    status: OutreachStatus
    item: dict[str, Any] = field(repr=False)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> OutreachRecord:
        return cls(str(item["outreach_id"]), str(item.get("kind")), OutreachStatus(str(item["status"])), item)

    @property
    def product_ids(self) -> list[str]:
        return [str(product["product_id"]) for product in self.item.get("products", [])]

    @property
    def settles_products(self) -> bool:
        """Whether its products count as asked about: it went beyond pending, or staff cancelled it."""
        if self.status is OutreachStatus.CANCELLED:
            return CancelCause.of(self.item) is CancelCause.STAFF
        return self.status is not OutreachStatus.PENDING

    @property
    def may_return(self) -> bool:
        """Cancelled by a re-plan, so the plan may bring it back."""
        cause = CancelCause.of(self.item)
        return cause is not None and cause.may_return

    def differs(self, planned: PlannedOutreach, recipient: Recipient) -> bool:
        """Whether the stored item differs from the plan (DynamoDB drops null map values, so ignore them)."""
        current = self.item
        return (
            current.get("due_at") != clock.isoformat(planned.due_at)
            or [_without_nulls(p) for p in current.get("products", [])]
            != [_without_nulls(p.model_dump(mode="json")) for p in planned.products]
            or current.get("reminder_after_seconds") != planned.reminder_after_seconds
            or current.get("anchor") != planned.anchor
            or _without_nulls(current.get("customer") or {}) != _without_nulls(recipient.as_item())
        )


@dataclass(frozen=True)
class Position:
    """Where a history listing goes on: the month partition it is in (``None`` when the listing is one
    customer's) and the index key it read last there (``None``: from that month's newest)."""

    month: str | None
    key: dict[str, str] | None = None


@dataclass(frozen=True)
class Listing:
    """One page of outreach items, newest first, and where the next page starts (``None``: no more)."""

    items: list[dict[str, Any]]
    next: Position | None
    queries: int = 0  # index queries it took (an empty month costs one)


@dataclass(frozen=True)
class Reschedule:
    """Pending (or re-plan-cancelled) outreach that becomes pending with the plan's new details."""

    planned: PlannedOutreach
    previous: OutreachStatus
    note: str


@dataclass(frozen=True)
class Cancellation:
    outreach_id: str
    cause: CancelCause
    reason: str  # shown in the order's plan as ``cancel_reason``


@dataclass(frozen=True)
class PlanDiff:
    """What must change in an order's stored outreach so it matches the plan the order should have now.

    ``create`` holds new outreach; one the plan marks ``skipped`` is stored as skipped, never sent.
    """

    store_id: str
    order_id: str
    recipient: Recipient
    keep: timedelta  # the store's ``retention.orders``: new outreach expires this long after it is planned
    order_name: str | None = None
    ordered_at: str | None = None
    create: tuple[PlannedOutreach, ...] = ()
    reschedule: tuple[Reschedule, ...] = ()
    cancel: tuple[Cancellation, ...] = ()

    def __len__(self) -> int:
        return len(self.create) + len(self.reschedule) + len(self.cancel)

    @property
    def skipped(self) -> tuple[PlannedOutreach, ...]:
        return tuple(planned for planned in self.create if planned.skipped)
