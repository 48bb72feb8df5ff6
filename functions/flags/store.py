"""Flags table adapter. ``pk = <store_id>``, ``sk = <flag_id>``; a flag exists once per answer.

Open flags carry ``open_store`` (index ``open_by_store``: a store's open flags by SLA deadline); open,
not yet escalated flags carry ``sla_shard`` (index ``sla_due``: the escalation sweep reads only overdue).
A flag expires (TTL ``expires_at``) the store's ``retention.answers`` after it was created or last acted on.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from functions.flags.models import AlertStatus, AlreadyDone, DuplicateReply, FlagResolved, FlagStatus, Listing
from functions.shared import clock
from functions.shared.adapter import DynamoAdapter
from functions.shared.dynamo import from_item, to_item, to_value

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["AlreadyDone", "DuplicateReply", "FlagRepository", "FlagResolved", "flag_id"]

OPEN, RESOLVED = FlagStatus.OPEN.value, FlagStatus.RESOLVED.value


def flag_id(response_pk: str, response_sk: str) -> str:
    return "f" + hashlib.sha256(f"{response_pk}/{response_sk}".encode()).hexdigest()[:23]


class FlagRepository(DynamoAdapter):
    def __init__(self, table: str, shards: int = 4, client: DynamoDBClient | None = None) -> None:
        super().__init__(table, client)
        self.shards = shards

    def _key(self, store_id: str, flag: str) -> dict[str, Any]:
        return to_item({"pk": store_id, "sk": flag})

    def shard_of(self, flag: str) -> str:
        return str(int(flag[1:9], 16) % self.shards)

    def create(self, flag: dict[str, Any], *, keep: timedelta) -> bool:
        """Store a new flag, kept for ``keep`` (``retention.answers``); False if this answer was flagged
        before."""
        item = {
            **flag,
            "expires_at": clock.epoch_seconds(clock.now() + keep),
            "pk": flag["store_id"],
            "sk": flag["flag_id"],
            "status": OPEN,
            "open_store": flag["store_id"],
            "sla_shard": self.shard_of(flag["flag_id"]),
            "reply_digests": {},
        }
        try:
            with self.calling("creating a flag", conflict=AlreadyDone("this answer was flagged before")):
                self.client.put_item(
                    TableName=self.table, Item=to_item(item), ConditionExpression="attribute_not_exists(sk)"
                )
        except AlreadyDone:
            return False
        return True

    def get(self, store_id: str, flag: str) -> dict[str, Any] | None:
        with self.calling("reading a flag"):
            item = self.client.get_item(
                TableName=self.table, Key=self._key(store_id, flag), ConsistentRead=True
            )
        return from_item(item["Item"]) if "Item" in item else None

    def _update(
        self,
        store_id: str,
        flag: str,
        expression: str,
        condition: str,
        values: dict[str, Any],
        what: str,
        names: dict[str, str] | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Key": self._key(store_id, flag),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        if names:
            kwargs["ExpressionAttributeNames"] = names
        with self.calling(what, conflict=AlreadyDone(what)):
            self.client.update_item(**kwargs)

    def claim_alert(self, store_id: str, flag: str) -> None:
        self._update(
            store_id,
            flag,
            "SET alert_status = :sending, alert_claimed_at = :now",
            "attribute_exists(sk) AND attribute_not_exists(alert_status)",
            {":sending": {"S": AlertStatus.SENDING.value}, ":now": {"S": clock.isoformat(clock.now())}},
            "claiming an alert",
        )

    def release_alert(self, store_id: str, flag: str) -> None:
        self._update(
            store_id,
            flag,
            "REMOVE alert_status",
            "alert_status = :sending",
            {":sending": {"S": AlertStatus.SENDING.value}},
            "releasing an alert",
        )

    def alert_sent(self, store_id: str, flag: str, recipients: list[str]) -> None:
        self._update(
            store_id,
            flag,
            "SET alert_status = :sent, alert_sent_at = :now, alerted = :to",
            "alert_status = :sending",
            {
                ":sent": {"S": AlertStatus.SENT.value},
                ":sending": {"S": AlertStatus.SENDING.value},
                ":now": {"S": clock.isoformat(clock.now())},
                ":to": to_value(recipients),
            },
            "recording an alert",
        )

    def claim_action(
        self, store_id: str, flag: str, action_id: str, *, reply_digest: str | None = None, since: str = ""
    ) -> None:
        """Reserve a staff action by its form's id, on an open flag only: the one place that enforces both.

        A second submit of the same form does nothing (``AlreadyDone``); a resolved flag refuses every
        action until it is reopened (``FlagResolved``). A reply also claims its text's digest: the same text
        again after ``since`` is refused (``DuplicateReply``), and the flag leaves the escalation index at
        once, so a flag being answered is never escalated.
        """
        condition = "attribute_exists(sk) AND #status = :open AND NOT contains(action_ids, :id)"
        values: dict[str, Any] = {":ids": {"SS": [action_id]}, ":id": {"S": action_id}, ":open": {"S": OPEN}}
        names = {"#status": "status"}
        expression = "ADD action_ids :ids"
        if reply_digest is not None:
            expression = "SET reply_digests.#digest = :now, replying = :id REMOVE sla_shard " + expression
            condition += (
                " AND (attribute_not_exists(reply_digests.#digest) OR reply_digests.#digest < :since)"
            )
            names["#digest"] = reply_digest
            values.update({":now": {"S": clock.isoformat(clock.now())}, ":since": {"S": since}})
        try:
            self._update(store_id, flag, expression, condition, values, "claiming an action", names)
        except AlreadyDone:
            raise self._why_refused(store_id, flag, action_id) from None

    def _why_refused(self, store_id: str, flag: str, action_id: str) -> AlreadyDone:
        current = self.get(store_id, flag) or {}
        if current.get("status") != OPEN:
            return FlagResolved("this flag is resolved")
        if action_id in (current.get("action_ids") or []):
            return AlreadyDone("this form was already submitted")
        return DuplicateReply("the same reply was sent a moment ago")

    def release_action(
        self, store_id: str, flag: str, action_id: str, *, reply_digest: str | None = None
    ) -> None:
        """Undo a claim whose action did not happen (the reply could not be sent)."""
        expression = "DELETE action_ids :ids"
        names: dict[str, str] | None = None
        values: dict[str, Any] = {":ids": {"SS": [action_id]}}
        if reply_digest is not None:
            expression = "REMOVE reply_digests.#digest, replying " + expression
            names = {"#digest": reply_digest}
            if self._unanswered(store_id, flag):
                expression = "SET sla_shard = :shard " + expression
                values[":shard"] = {"S": self.shard_of(flag)}
        self._update(store_id, flag, expression, "attribute_exists(sk)", values, "releasing an action", names)

    def _unanswered(self, store_id: str, flag: str) -> bool:
        current = self.get(store_id, flag) or {}
        return (
            current.get("status") == OPEN
            and not current.get("first_reply_at")
            and not current.get("escalated_at")
        )

    def reopen(self, store_id: str, flag: str, actor: str) -> None:
        """A resolved flag is open again (listed as open; not escalated again)."""
        action = {"at": clock.isoformat(clock.now()), "actor": actor, "action": "reopen", "text": ""}
        self._update(
            store_id,
            flag,
            "SET #status = :open, open_store = :store, updated_at = :now, "
            "actions = list_append(if_not_exists(actions, :empty), :action) REMOVE resolved_at, resolved_by",
            "#status = :resolved",
            {
                ":open": {"S": OPEN},
                ":resolved": {"S": RESOLVED},
                ":store": {"S": store_id},
                ":now": {"S": clock.isoformat(clock.now())},
                ":empty": {"L": []},
                ":action": to_value([action]),
            },
            "reopening a flag",
            {"#status": "status"},
        )

    def record_action(
        self,
        store_id: str,
        flag: str,
        action: dict[str, Any],
        *,
        reply: bool,
        resolve: bool,
        created_at: datetime,
        keep: timedelta,
    ) -> None:
        """Append a staff action (a reply, a resolve); the flag is then kept ``keep`` from now."""
        now = clock.now()
        sets = [
            "actions = list_append(if_not_exists(actions, :empty), :action)",
            "updated_at = :now",
            "expires_at = :expires",
        ]
        values: dict[str, Any] = {
            ":action": to_value([action]),
            ":empty": {"L": []},
            ":now": {"S": clock.isoformat(now)},
            ":expires": {"N": str(clock.epoch_seconds(now + keep))},
        }
        removes: list[str] = []
        if reply:
            sets += [
                "first_reply_at = if_not_exists(first_reply_at, :now)",
                "seconds_to_first_reply = if_not_exists(seconds_to_first_reply, :took)",
            ]
            values[":took"] = {"N": str(int((now - created_at).total_seconds()))}
            removes = ["replying", "sla_shard"]
        if resolve:
            sets += ["#status = :resolved", "resolved_at = :now", "resolved_by = :actor"]
            values[":resolved"] = {"S": RESOLVED}
            values[":actor"] = {"S": str(action.get("actor", ""))}
            removes = [*removes, "open_store", "sla_shard"]
        removes = list(dict.fromkeys(removes))
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        self._update(
            store_id,
            flag,
            expression,
            "attribute_exists(sk)",
            values,
            "recording an action",
            {"#status": "status"} if resolve else None,
        )

    def mark_escalated(self, store_id: str, flag: str) -> None:
        """Escalate once, and only a flag still open with no reply sent or being sent."""
        self._update(
            store_id,
            flag,
            "SET escalated_at = :now REMOVE sla_shard",
            "attribute_exists(sla_shard) AND #status = :open AND attribute_not_exists(first_reply_at) "
            "AND attribute_not_exists(replying)",
            {":now": {"S": clock.isoformat(clock.now())}, ":open": {"S": OPEN}},
            "escalating a flag",
            {"#status": "status"},
        )

    def overdue(self, shard: int, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
        """Open, unescalated flags past their deadline in one shard (nothing else is read)."""
        with self.calling("reading overdue flags"):
            response = self.client.query(
                TableName=self.table,
                IndexName="sla_due",
                KeyConditionExpression="sla_shard = :shard AND sla_deadline <= :now",
                ExpressionAttributeValues={":shard": {"S": str(shard)}, ":now": {"S": clock.isoformat(now)}},
                Limit=limit,
            )
        return [from_item(item) for item in response.get("Items", [])]

    def list(self, store_id: str, status: str, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
        """A store's flags by status (open, overdue or resolved), at most ``limit``: paged until that many are
        found or there are no more, so never fewer than asked while more exist."""
        if status in {Listing.OPEN, Listing.OVERDUE}:
            condition = "open_store = :store"
            values: dict[str, Any] = {":store": {"S": store_id}}
            if status == Listing.OVERDUE:
                condition += " AND sla_deadline <= :now"
                values[":now"] = {"S": clock.isoformat(now)}
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": "open_by_store",
                "KeyConditionExpression": condition,
                "ExpressionAttributeValues": values,
            }
        else:
            kwargs = {
                "TableName": self.table,
                "KeyConditionExpression": "pk = :store",
                "FilterExpression": "#status = :resolved",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":store": {"S": store_id}, ":resolved": {"S": RESOLVED}},
            }
        found: list[dict[str, Any]] = []
        with self.calling("listing flags"):
            while len(found) < limit:
                response = self.client.query(**kwargs, Limit=max(limit - len(found), 25))
                found.extend(from_item(item) for item in response.get("Items", []))
                if "LastEvaluatedKey" not in response:
                    break
                kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return found[:limit]

    def every_flag(self, store_id: str) -> tuple[dict[str, Any], ...]:
        """Every flag of a store, open or resolved (its partition, every page): the insights rebuild."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :store",
            "ExpressionAttributeValues": {":store": {"S": store_id}},
        }
        found: tuple[dict[str, Any], ...] = ()
        with self.calling("reading a store's flags"):
            while True:
                response = self.client.query(**kwargs)
                found += tuple(from_item(item) for item in response.get("Items", []))
                if "LastEvaluatedKey" not in response:
                    return found
                kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def keep_store(self, store_id: str, keep: timedelta) -> int:
        """Put ``keep`` (``retention.answers``) on the store's flags, from their last staff action or their
        creation, for ``aftercare store apply-retention``; how many items changed."""
        from functions.shared import retention

        changed = 0
        for item in self.every_flag(store_id):
            written = retention.written_at(item, "updated_at", "created_at")
            if written and retention.keep_until(self, item, written + keep, "keeping a flag"):
                changed += 1
        return changed

    # ------------------------------------------------------------------ export and erasure (privacy)
    def of_answers(self, store_id: str, answers: Sequence[tuple[str, str]]) -> tuple[dict[str, Any], ...]:
        """The flags raised on these answers (``(pk, sk)`` of each): ids derive from the answer keys."""
        found = (self.get(store_id, flag_id(pk, sk)) for pk, sk in answers)
        return tuple(flag for flag in found if flag is not None)

    def erase(self, store_id: str, flags: Sequence[str]) -> int:
        """Delete these flags, with the staff replies and actions they hold."""
        with self.calling("erasing flags"):
            for flag in flags:
                self.client.delete_item(TableName=self.table, Key=self._key(store_id, flag))
        return len(flags)
