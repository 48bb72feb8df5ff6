"""The weekly digest's items in the Workspace table (sent markers, opt-outs), as methods of its adapter.

``WorkspaceRepository`` inherits these, so the Workspace table keeps one owner. Both kinds of item live
in the store's own partition ``<store_id>#digest``:

* ``WEEK#<ISO week>`` (e.g. ``WEEK#2026-W46``): the sent marker of one store and week. ``status`` is
  ``claimed`` (a run is sending; ``claim_id``, ``claimed_at``), ``released`` (a send failed: the next run
  sends to whoever is missing) or ``sent`` (``sent_at``). ``delivered`` is the string set of the owners
  (address digests, never addresses) who received that week's digest, so a retry never sends one twice.
  Kept ``expires_at`` (TTL) about three months.
* ``OPTOUT#<address digest>``: an owner who unsubscribed from this store's digest (``at``, ``via``).
  Kept until the owner subscribes again. The address itself is never stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.shared import clock
from functions.shared.adapter import ConditionFailed, DynamoAdapter
from functions.shared.dynamo import from_item, to_item

if TYPE_CHECKING:
    from collections.abc import Iterator

WEEK = "WEEK#"
OPT_OUT = "OPTOUT#"
CLAIMED, RELEASED, SENT = "claimed", "released", "sent"


def digest_pk(store_id: str) -> str:
    return f"{store_id}#digest"


class DigestItems(DynamoAdapter):
    """Digest sent markers (claimed before sending, released when sending fails) and owners' opt-outs."""

    def _week_key(self, store_id: str, week: str) -> dict[str, Any]:
        return to_item({"pk": digest_pk(store_id), "sk": WEEK + week})

    # ------------------------------------------------------------------------------ sent markers

    def claim_digest(
        self,
        store_id: str,
        week: str,
        claim_id: str,
        now: datetime,
        stale_before: datetime,
        keep_until: datetime,
    ) -> frozenset[str] | None:
        """Claim the week's digest of a store for one run, once.

        Returns the owners (address digests) who already received it — empty on a first claim — or
        ``None`` when it was sent, or another run holds a claim taken at or after ``stale_before``.
        A released claim, or one left by a run that died before ``stale_before``, can be claimed again.
        """
        try:
            with self.calling("claiming a weekly digest"):
                found = self.client.update_item(
                    TableName=self.table,
                    Key=self._week_key(store_id, week),
                    UpdateExpression=(
                        "SET #status = :claimed, claim_id = :claim, claimed_at = :now, expires_at = :expires"
                    ),
                    ConditionExpression=(
                        "attribute_not_exists(sk) OR #status = :released "
                        "OR (#status = :claimed AND claimed_at < :stale)"
                    ),
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues=to_item(
                        {
                            ":claimed": CLAIMED,
                            ":released": RELEASED,
                            ":claim": claim_id,
                            ":now": clock.isoformat(now),
                            ":stale": clock.isoformat(stale_before),
                            ":expires": clock.epoch_seconds(keep_until),
                        }
                    ),
                    ReturnValues="ALL_NEW",
                )
        except ConditionFailed:
            return None
        item = from_item(found.get("Attributes", {}))
        return frozenset(str(owner) for owner in item.get("delivered") or [])

    def digest_delivered(self, store_id: str, week: str, owner: str) -> None:
        """Remember that one owner received the week's digest (whatever happens to the claim)."""
        with self.calling("recording a delivered digest"):
            self.client.update_item(
                TableName=self.table,
                Key=self._week_key(store_id, week),
                UpdateExpression="ADD delivered :owner",
                ExpressionAttributeValues={":owner": {"SS": [owner]}},
            )

    def _end_claim(self, store_id: str, week: str, claim_id: str, status: str, now: datetime) -> bool:
        try:
            with self.calling("ending a digest claim"):
                self.client.update_item(
                    TableName=self.table,
                    Key=self._week_key(store_id, week),
                    UpdateExpression="SET #status = :status, ended_at = :now",
                    ConditionExpression="claim_id = :claim AND #status = :claimed",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues=to_item(
                        {
                            ":status": status,
                            ":now": clock.isoformat(now),
                            ":claim": claim_id,
                            ":claimed": CLAIMED,
                        }
                    ),
                )
        except ConditionFailed:
            return False  # the claim went stale and another run took it over: that run ends it
        return True

    def finish_digest(self, store_id: str, week: str, claim_id: str, now: datetime) -> bool:
        """Mark the week's digest sent (only by the run holding the claim)."""
        return self._end_claim(store_id, week, claim_id, SENT, now)

    def release_digest(self, store_id: str, week: str, claim_id: str, now: datetime) -> bool:
        """Give the claim up after a failed send, so the next run sends to the owners still missing."""
        return self._end_claim(store_id, week, claim_id, RELEASED, now)

    def digest_marker(self, store_id: str, week: str) -> dict[str, Any] | None:
        """The week's marker as stored (status, delivered...), or ``None``."""
        with self.calling("reading a digest marker"):
            found = self.client.get_item(
                TableName=self.table, Key=self._week_key(store_id, week), ConsistentRead=True
            )
        return from_item(found["Item"]) if "Item" in found else None

    # ------------------------------------------------------------------------------ opt-outs

    def _opt_outs(self, store_id: str) -> Iterator[dict[str, Any]]:
        query: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_item({":pk": digest_pk(store_id), ":prefix": OPT_OUT}),
            "ProjectionExpression": "sk",
        }
        while True:
            with self.calling("reading digest opt-outs"):
                response = self.client.query(**query)
            yield from (from_item(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def digest_opt_outs(self, store_id: str) -> frozenset[str]:
        """The owners (address digests) of a store who unsubscribed from its digest (one query)."""
        return frozenset(str(item["sk"]).removeprefix(OPT_OUT) for item in self._opt_outs(store_id))

    def opt_out_of_digest(self, store_id: str, owner: str, now: datetime, via: str) -> None:
        """Stop the digest for one owner of one store (doing it twice is fine)."""
        item = {"pk": digest_pk(store_id), "sk": OPT_OUT + owner, "at": clock.isoformat(now), "via": via}
        with self.calling("unsubscribing from the digest"):
            self.client.put_item(TableName=self.table, Item=to_item(item))

    def opt_in_to_digest(self, store_id: str, owner: str) -> None:
        """Send the digest to this owner again (nothing happens if they had not opted out)."""
        with self.calling("subscribing to the digest again"):
            self.client.delete_item(
                TableName=self.table, Key=to_item({"pk": digest_pk(store_id), "sk": OPT_OUT + owner})
            )

    def digest_opted_out(self, store_id: str, owner: str) -> bool:
        with self.calling("reading a digest opt-out"):
            found = self.client.get_item(
                TableName=self.table,
                Key=to_item({"pk": digest_pk(store_id), "sk": OPT_OUT + owner}),
                ConsistentRead=True,
                ProjectionExpression="pk",
            )
        return "Item" in found
