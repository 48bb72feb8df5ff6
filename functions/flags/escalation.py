"""Escalation: flags still open and unanswered past their deadline are emailed to the escalation contacts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from functions.flags.emails import flag_email
from functions.flags.models import AlreadyDone
from functions.shared import isolation
from functions.shared.mailer import PermanentSendError, TransientSendError
from functions.shared.observability import logger, metrics

if TYPE_CHECKING:
    from functions.flags.ports import Ports


FAILED = isolation.OnFailure("could not escalate a flag", "EscalationFailed", "flag_id")


def escalate(ports: Ports) -> int:
    """Email the escalation contacts about every open, unanswered flag past its deadline, once per flag.

    One flag (or one store) that fails is logged and counted and never stops the others.
    """
    now = ports.clock.now()
    escalated = 0
    for shard in range(ports.flags.shards):
        escalated += isolation.each(
            ports.flags.overdue(shard, now), lambda flag: _escalate_one(flag, ports), FAILED
        )
    if escalated:
        metrics.add_metric(name="FlagEscalated", unit="Count", value=escalated)
    return escalated


def _escalate_one(flag: dict[str, Any], ports: Ports) -> int:
    store = ports.stores.get(str(flag["store_id"]), cached=True)
    try:
        ports.flags.mark_escalated(store.id, str(flag["flag_id"]))
    except AlreadyDone:
        return 0
    recipients = store.config.staff.escalation_emails or store.config.staff.alert_emails
    for person in recipients:
        try:
            ports.mailer.send(flag_email(ports, store, flag, str(person), overdue=True))
        except (TransientSendError, PermanentSendError):
            logger.exception("escalation email failed", extra={"flag": flag["flag_id"], "to": str(person)})
            metrics.add_metric(name="EscalationFailed", unit="Count", value=1)
    return 1
