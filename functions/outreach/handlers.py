"""Entry points of the sending capability: the due sweep and SES delivery notifications.

``app.py`` declares them as Lambda functions (so every one runs with the app's middleware) and calls these.
"""

from __future__ import annotations

import json
from typing import Any

from functions.shared.observability import logger, metrics


def sweep(event: Any) -> dict[str, Any]:
    """Send the review requests and surveys that are due (a scheduled event)."""
    from functions.outreach import sweep as service

    context = getattr(event, "context", None)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    report = service.run(service.default_ports(), remaining)
    return report.__dict__


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


def ses_events(event: dict[str, Any], context: Any) -> dict[str, int]:
    """SES event publishing (via SNS): permanent bounces and complaints suppress the address for the store."""
    from functions.customers.store import default_repository

    customers = default_repository()
    suppressed = 0
    for message in _notifications(event):
        kind = str(message.get("eventType") or message.get("notificationType") or "")
        tags = (message.get("mail") or {}).get("tags") or {}
        stores = tags.get("store") or []
        if not stores:
            logger.warning("SES notification without a store tag", extra={"kind": kind})
            continue
        store_id = str(stores[0])
        if kind == "Bounce" and (message.get("bounce") or {}).get("bounceType") == "Permanent":
            recipients = [r.get("emailAddress") for r in message["bounce"].get("bouncedRecipients", [])]
            reason, detail = "bounced", str(message["bounce"].get("bounceSubType", ""))
        elif kind == "Complaint":
            recipients = [
                r.get("emailAddress")
                for r in (message.get("complaint") or {}).get("complainedRecipients", [])
            ]
            reason, detail = (
                "complained",
                str((message.get("complaint") or {}).get("complaintFeedbackType", "")),
            )
        else:
            continue
        for address in filter(None, recipients):
            customers.suppress(store_id, str(address), reason, detail)
            suppressed += 1
    if suppressed:
        metrics.add_metric(name="AddressSuppressed", unit="Count", value=suppressed)
    return {"suppressed": suppressed}
