"""Entry points of the sending capability: the due sweep (its coordinator and its per-shard worker) and
SES delivery notifications.

``app.py`` declares them as Lambda functions (so every one runs with the app's middleware) and calls these.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from functions.shared.observability import logger, metrics


def sweep(event: Any) -> dict[str, Any]:
    """Hand each shard of the due index to a worker (a scheduled event)."""
    from functions import composition
    from functions.outreach import sweep as service

    context = getattr(event, "context", None)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    shards = composition.adapters().settings.due_shards
    report = service.coordinate(shards, composition.sweep_workers(), remaining)
    return report.__dict__


def sweep_worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Send what is due in one shard (``{"shard": n}``, from the sweep's coordinator)."""
    from functions import composition
    from functions.outreach import sweep as service

    shard = event.get("shard") if isinstance(event, dict) else None
    if not isinstance(shard, int) or isinstance(shard, bool):
        raise ValueError(f"a sweep worker needs a shard number, not {shard!r}")
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return service.work(composition.sweep_ports(), shard, remaining).__dict__


def _notifications(event: dict[str, Any]) -> list[dict[str, Any]]:
    messages = []
    for record in event.get("Records", []):
        body = (record.get("Sns") or {}).get("Message", "")
        try:
            message = json.loads(body)
        except json.JSONDecodeError:
            logger.warning("SES notification is not JSON", extra={"body": body[:200]})
            continue
        if isinstance(message, dict):
            messages.append(message)
    return messages


@dataclass(frozen=True)
class _Suppression:
    """Addresses one SES notification says must not be emailed again by this store."""

    store_id: str
    addresses: list[str]
    reason: str
    detail: str


def _suppression(message: dict[str, Any]) -> _Suppression | None:
    """What a permanent bounce or a complaint suppresses; ``None`` for anything else."""
    kind = str(message.get("eventType") or message.get("notificationType") or "")
    stores = ((message.get("mail") or {}).get("tags") or {}).get("store") or []
    if not stores:
        logger.warning("SES notification without a store tag", extra={"kind": kind})
        return None
    read = _READERS.get(kind)
    found = read(message) if read else None
    if found is None:
        return None
    recipients, reason, detail = found
    addresses = [str(address) for address in (r.get("emailAddress") for r in recipients) if address]
    return _Suppression(str(stores[0]), addresses, reason, detail)


def _bounce(message: dict[str, Any]) -> tuple[list[dict[str, Any]], str, str] | None:
    """A permanent bounce's recipients; transient bounces suppress nobody."""
    bounce = message.get("bounce") or {}
    if bounce.get("bounceType") != "Permanent":
        return None
    return bounce.get("bouncedRecipients", []), "bounced", str(bounce.get("bounceSubType", ""))


def _complaint(message: dict[str, Any]) -> tuple[list[dict[str, Any]], str, str]:
    complaint = message.get("complaint") or {}
    return (
        complaint.get("complainedRecipients", []),
        "complained",
        str(complaint.get("complaintFeedbackType", "")),
    )


_READERS: dict[str, Callable[[dict[str, Any]], tuple[list[dict[str, Any]], str, str] | None]] = {
    "Bounce": _bounce,
    "Complaint": _complaint,
}


def ses_events(event: dict[str, Any], context: Any) -> dict[str, int]:
    """SES event publishing (via SNS): permanent bounces and complaints suppress the address for the store."""
    from functions import composition

    customers = composition.adapters().customers
    suppressed = 0
    for message in _notifications(event):
        found = _suppression(message)
        if found is None:
            continue
        for address in found.addresses:
            customers.suppress(found.store_id, address, found.reason, found.detail)
            suppressed += 1
    if suppressed:
        metrics.add_metric(name="AddressSuppressed", unit="Count", value=suppressed)
    return {"suppressed": suppressed}
