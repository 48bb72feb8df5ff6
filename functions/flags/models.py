"""The flags capability's vocabulary: statuses, kinds and outcomes (the same strings as on disk), and errors.

A flag is one item of the Flags table per negative answer (see ``functions.flags.store``). Its
``status`` is open or resolved; its ``alert_status`` is claimed while the alert goes out and sent after.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FlagStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Listing(StrEnum):
    """Which of a store's flags the read API lists."""

    OPEN = "open"
    OVERDUE = "overdue"
    RESOLVED = "resolved"


class AlertStatus(StrEnum):
    SENDING = "sending"
    SENT = "sent"


class OfferKind(StrEnum):
    """What staff may offer the customer of a flagged answer (a return request's outcome)."""

    REFUND = "refund"
    RETURN = "return"
    REPLACEMENT = "replacement"


class ActionKind(StrEnum):
    """What a staff action in a flag's log did (an offer is logged as ``offer <kind>``)."""

    REPLY = "reply"
    RESOLVE = "resolve"
    REOPEN = "reopen"


class Flagging(StrEnum):
    """What processing one answer came to (logged per stream record)."""

    NOT_AN_ANSWER = "not an answer"
    NOT_NEGATIVE = "not negative"
    ALREADY_FLAGGED = "already flagged"
    FLAGGED = "flagged"
    ALERTED_AGAIN = "alerted again"


OFFERS: tuple[str, ...] = tuple(kind.value for kind in OfferKind)


class AlreadyDone(Exception):
    """This action (or alert) was carried out before: do not repeat its side effects."""


class FlagResolved(AlreadyDone):
    """The flag is resolved: staff must reopen it before acting on it again."""


class DuplicateReply(AlreadyDone):
    """The same reply text was sent for this flag a moment ago."""


class ActionRefused(Exception):
    """A staff action that cannot be done; ``message`` is shown on the staff page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class OfferMade:
    """A staff offer that started a return request."""

    kind: OfferKind
    return_id: str
