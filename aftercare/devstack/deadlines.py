"""Where the simulated clock must stop: every moment something is scheduled to happen.

``DevStack.advance`` jumps the clock from stop to stop and runs every schedule at each, so work that is
due happens at its own time, not at the end of the jump. Each function here answers "when is the next
thing of this kind due?" by reading the same indexes the scheduled functions read:

- outreach: review requests, surveys and reminders (``outreach`` table, ``due`` index);
- flags: SLA deadlines that escalate an unanswered flag (``flags`` table, ``sla_due`` index);
- returns: approval deadlines (then escalation, then expiry) and parcel deadlines (reminder, then
  "not received") of a waiting return (``returns`` table, ``waiting`` index);
- digests: Monday 09:00 in each store's timezone.

The returns state machine has no Wait state: its waits are task tokens whose deadlines are the ``waiting``
index above (its ``safety_timeout_seconds`` is a real-time safety net, far beyond any deadline).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from functions.shared import clock

NextDue = Callable[[], datetime | None]


def earliest_in_index(table: str, index: str, shard_key: str, sort_key: str, shards: int) -> NextDue:
    """The smallest sort key of an index whose hash key is a shard number (``0``..``shards-1``)."""

    def next_due() -> datetime | None:
        from functions.shared import aws

        client = aws.dynamodb()
        earliest: datetime | None = None
        for shard in range(shards):
            response = client.query(
                TableName=table,
                IndexName=index,
                KeyConditionExpression="#shard = :shard",
                ExpressionAttributeNames={"#shard": shard_key},
                ExpressionAttributeValues={":shard": {"S": str(shard)}},
                Limit=1,
            )
            for item in response.get("Items", []):
                text = str(item.get(sort_key, {}).get("S", "")).split("#", 1)[0]
                if not text:
                    continue
                at = clock.parse_iso(text)
                earliest = at if earliest is None or at < earliest else earliest
        return earliest

    return next_due


def next_digest() -> datetime | None:
    """The next Monday 09:00 (store time) after now, over every store."""
    from functions.composition import adapters
    from functions.digest.weeks import DigestWeek
    from functions.shared.errors import NotFound

    root = adapters()
    now = clock.now()
    earliest: datetime | None = None
    for store_id in root.stores.list_ids():
        try:
            timezone = root.stores.get(store_id, cached=True).config.timezone
        except NotFound:
            continue
        send_at = DigestWeek.of(now, timezone).send_at
        if send_at <= now:
            send_at = DigestWeek.of(now + timedelta(weeks=1), timezone).send_at
        earliest = send_at if earliest is None or send_at < earliest else earliest
    return earliest


def every_deadline(settings: Any) -> list[NextDue]:
    """The hints of the running stack (``settings``: ``functions.shared.settings.Settings``)."""
    from functions.composition import adapters
    from functions.returns.store import SHARDS as RETURN_SHARDS

    flags = adapters().flags
    return [
        lambda: adapters().outreach.next_due(),
        earliest_in_index(settings.flags_table, "sla_due", "sla_shard", "sla_deadline", flags.shards),
        earliest_in_index(settings.returns_table, "waiting", "wait_shard", "wait_deadline", RETURN_SHARDS),
        next_digest,
    ]
