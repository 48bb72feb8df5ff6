"""Outreach table adapter for sending: read what is due, claim it, record what happened.

Life of an outreach item: ``pending`` (in the sparse ``due`` index) → ``sending`` (claimed by one sweep;
its ``due_key`` becomes a lease expiry, so a crashed sweep's claim is found again) → ``sent`` |
``skipped`` | ``failed``, or back to ``pending`` (deferred by the frequency cap, or retried after a
transient SES error). Every transition is conditional on the state the caller saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from functions.orders.store import due_key, due_shard
from functions.shared import aws, clock
from functions.shared.dynamo import from_item, to_item, to_value

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PENDING, SENDING, SENT, SKIPPED, FAILED, CANCELLED = (
    "pending",
    "sending",
    "sent",
    "skipped",
    "failed",
    "cancelled",
)
LEASE = timedelta(minutes=15)
RETENTION = timedelta(days=730)


class LostRace(Exception):
    """The item changed under us (another sweep, a re-plan, an answer): leave it alone."""


@dataclass
class Due:
    """A due outreach item as read from the index."""

    item: dict[str, Any]

    @property
    def key(self) -> dict[str, Any]:
        return to_item({"pk": self.item["pk"], "sk": self.item["sk"]})

    @property
    def status(self) -> str:
        return str(self.item["status"])

    @property
    def due_at(self) -> datetime:
        return clock.parse_iso(str(self.item["due_at"]))

    @property
    def store_id(self) -> str:
        return str(self.item["store_id"])

    @property
    def email(self) -> str:
        return str((self.item.get("customer") or {}).get("email") or "")


class OutreachQueue:
    def __init__(self, table: str, shards: int, client: DynamoDBClient | None = None) -> None:
        self.table = table
        self.shards = shards
        self._client = client
        self.items_read = 0

    @property
    def client(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()

    # ------------------------------------------------------------------ reads
    def due(self, shard: int, now: datetime, limit: int) -> list[Due]:
        """Items of one shard due at ``now`` (and expired claims), oldest first; nothing else is read."""
        from botocore.exceptions import ClientError

        try:
            response = self.client.query(
                TableName=self.table,
                IndexName="due",
                KeyConditionExpression="due_shard = :shard AND due_key <= :now",
                ExpressionAttributeValues={
                    ":shard": {"S": str(shard)},
                    ":now": {"S": clock.isoformat(now) + "#\uffff"},
                },
                Limit=limit,
            )
        except ClientError as error:
            raise aws.domain_error(error, "reading due outreach") from error
        items = [Due(from_item(item)) for item in response.get("Items", [])]
        self.items_read += len(items)
        return items

    def next_due(self) -> datetime | None:
        """When the earliest waiting item comes due (the local stack's clock stops there)."""
        earliest: datetime | None = None
        for shard in range(self.shards):
            response = self.client.query(
                TableName=self.table,
                IndexName="due",
                KeyConditionExpression="due_shard = :shard",
                ExpressionAttributeValues={":shard": {"S": str(shard)}},
                Limit=1,
            )
            for item in response.get("Items", []):
                at = clock.parse_iso(str(item["due_key"]["S"]).split("#", 1)[0])
                earliest = at if earliest is None or at < earliest else earliest
        return earliest

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            item = self.client.get_item(
                TableName=self.table, Key=to_item({"pk": pk, "sk": sk}), ConsistentRead=True
            )
        except ClientError as error:
            raise aws.domain_error(error, "reading outreach") from error
        return from_item(item["Item"]) if "Item" in item else None

    # ------------------------------------------------------------------ transitions
    def _update(self, due: Due, expression: str, condition: str, values: dict[str, Any], what: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.update_item(
                TableName=self.table,
                Key=due.key,
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if aws.error_code(error) == "ConditionalCheckFailedException":
                raise LostRace(what) from error
            raise aws.domain_error(error, what) from error

    @staticmethod
    def _history(status: str, note: str) -> dict[str, Any]:
        return to_value([{"at": clock.isoformat(clock.now()), "status": status, "note": note}])

    def claim(self, due: Due, claim: str) -> None:
        """Take a pending item for this sweep only; the lease makes a crashed claim visible again."""
        lease_until = clock.now() + LEASE
        new_key = due_key(lease_until, due.store_id, str(due.item["order_id"]), str(due.item["outreach_id"]))
        self._update(
            due,
            "SET #status = :sending, claim = :claim, claimed_at = :now, due_key = :lease",
            "#status = :pending AND due_key = :seen",
            {
                ":sending": {"S": SENDING},
                ":pending": {"S": PENDING},
                ":claim": {"S": claim},
                ":now": {"S": clock.isoformat(clock.now())},
                ":lease": {"S": new_key},
                ":seen": {"S": str(due.item["due_key"])},
            },
            "claiming outreach",
        )
        due.item.update({"status": SENDING, "claim": claim, "due_key": new_key})

    def release(self, due: Due, claim: str, until: datetime, note: str, attempts: int | None = None) -> None:
        """Back to pending, due at ``until`` (frequency cap, transient failure, or an aborted sweep)."""
        key = due_key(until, due.store_id, str(due.item["order_id"]), str(due.item["outreach_id"]))
        expression = (
            "SET #status = :pending, due_at = :due, due_key = :key, due_shard = :shard, "
            "history = list_append(history, :h) REMOVE claim"
        )
        values = {
            ":pending": {"S": PENDING},
            ":due": {"S": clock.isoformat(until)},
            ":key": {"S": key},
            ":shard": {"S": due_shard(str(due.item["pk"]), str(due.item["sk"]), self.shards)},
            ":h": self._history(PENDING, note),
            ":claim": {"S": claim},
        }
        if attempts is not None:
            expression = expression.replace("SET ", "SET attempts = :attempts, last_error = :err, ", 1)
            values[":attempts"] = {"N": str(attempts)}
            values[":err"] = {"S": note[:500]}
        self._update(due, expression, "claim = :claim", values, "releasing outreach")
        due.item.update({"status": PENDING, "due_key": key, "due_at": clock.isoformat(until)})
        due.item.pop("claim", None)

    def finish(
        self, due: Due, claim: str, status: str, note: str, extra: dict[str, Any] | None = None
    ) -> None:
        """A final state (skipped, failed) for a claimed item; it leaves the due index."""
        sets = [
            "#status = :status",
            "history = list_append(history, :h)",
            "finished_at = :now",
            "reason = :note",
        ]
        values: dict[str, Any] = {
            ":status": {"S": status},
            ":h": self._history(status, note),
            ":claim": {"S": claim},
            ":now": {"S": clock.isoformat(clock.now())},
            ":note": {"S": note[:500]},
        }
        for index, (name, value) in enumerate((extra or {}).items()):
            sets.append(f"{name} = :x{index}")
            values[f":x{index}"] = to_value(value)
        self._update(
            due,
            "SET " + ", ".join(sets) + " REMOVE due_key, due_shard, claim",
            "claim = :claim",
            values,
            f"marking outreach {status}",
        )
        due.item["status"] = status
        due.item.pop("claim", None)

    def interrupted(self, due: Due) -> None:
        """A claim whose lease ran out: the sweep died mid-send, so it may or may not have gone out."""
        note = "interrupted while sending; not retried so the customer is never emailed twice"
        self._update(
            due,
            "SET #status = :failed, reason = :note, history = list_append(history, :h) "
            "REMOVE due_key, due_shard, claim",
            "#status = :sending AND due_key = :seen",
            {
                ":failed": {"S": FAILED},
                ":sending": {"S": SENDING},
                ":note": {"S": note},
                ":h": self._history(FAILED, note),
                ":seen": {"S": str(due.item["due_key"])},
            },
            "marking an interrupted send",
        )

    def sent(
        self,
        due: Due,
        claim: str,
        message_id: str,
        reminder: dict[str, Any] | None,
        header_id: str = "",
        subject: str = "",
    ) -> None:
        """Mark sent and, for a first review request with a reminder delay, plan the reminder.

        Two single-item writes rather than a transaction (transactions cost twice the write units): the
        reminder first, so a sweep dying in between leaves a sent email with its reminder planned, and the
        claimed item surfaces as interrupted when its lease runs out.
        """
        from botocore.exceptions import ClientError

        if reminder is not None:
            try:
                self.client.put_item(
                    TableName=self.table,
                    Item=to_item(reminder),
                    ConditionExpression="attribute_not_exists(sk)",
                )
            except ClientError as error:
                if aws.error_code(error) != "ConditionalCheckFailedException":
                    raise aws.domain_error(error, "planning a reminder") from error
        now = clock.isoformat(clock.now())
        self._update(
            due,
            "SET #status = :sent, sent_at = :now, message_id = :mid, email_message_id = :hid, "
            "subject = :subject, history = list_append(history, :h) REMOVE due_key, due_shard, claim",
            "claim = :claim",
            {
                ":sent": {"S": SENT},
                ":now": {"S": now},
                ":mid": {"S": message_id},
                ":hid": {"S": header_id},
                ":subject": {"S": subject},
                ":h": self._history(SENT, f"sent as {message_id}"),
                ":claim": {"S": claim},
            },
            "marking outreach sent",
        )
        due.item["status"] = SENT

    def reminder_item(self, due: Due, at: datetime) -> dict[str, Any]:
        item = due.item
        outreach_id = f"{item['outreach_id']}-reminder"
        pk = str(item["pk"])
        return {
            "pk": pk,
            "sk": outreach_id,
            "store_id": item["store_id"],
            "order_id": item["order_id"],
            "outreach_id": outreach_id,
            "reminder_of": item["outreach_id"],
            "kind": item["kind"],
            "status": PENDING,
            "customer": item.get("customer"),
            "products": item.get("products", []),
            "anchor": item.get("anchor"),
            "attempts": 0,
            "created_at": clock.isoformat(clock.now()),
            "due_at": clock.isoformat(at),
            "first_due_at": clock.isoformat(at),
            "due_shard": due_shard(pk, outreach_id, self.shards),
            "due_key": due_key(at, str(item["store_id"]), str(item["order_id"]), outreach_id),
            "history": [
                {
                    "at": clock.isoformat(clock.now()),
                    "status": PENDING,
                    "note": f"reminder planned for {clock.isoformat(at)} unless answered",
                }
            ],
            "expires_at": clock.epoch_seconds(clock.now() + RETENTION),
        }

    def mark_answered(self, pk: str, outreach_id: str, at: datetime) -> None:
        """An answer arrived: remember it, and cancel a reminder that is still waiting."""
        from botocore.exceptions import ClientError

        now = clock.isoformat(at)
        try:
            self.client.update_item(
                TableName=self.table,
                Key=to_item({"pk": pk, "sk": outreach_id}),
                UpdateExpression="SET answered_at = if_not_exists(answered_at, :now)",
                ConditionExpression="attribute_exists(sk)",
                ExpressionAttributeValues={":now": {"S": now}},
            )
            self.client.update_item(
                TableName=self.table,
                Key=to_item({"pk": pk, "sk": f"{outreach_id}-reminder"}),
                UpdateExpression="SET #status = :cancelled, reason = :why, "
                "history = list_append(history, :h) "
                "REMOVE due_key, due_shard",
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":cancelled": {"S": CANCELLED},
                    ":pending": {"S": PENDING},
                    ":why": {"S": "answered"},
                    ":h": self._history(CANCELLED, "answered"),
                },
            )
        except ClientError as error:
            if aws.error_code(error) != "ConditionalCheckFailedException":
                raise aws.domain_error(error, "recording an answer") from error


def default_queue() -> OutreachQueue:
    from functions.shared.repositories import shared
    from functions.shared.settings import get_settings

    settings = get_settings()
    return shared(OutreachQueue, settings.outreach_table, settings.due_shards)
