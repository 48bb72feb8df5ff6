"""Outreach table adapter: the only code that builds, reads, schedules, claims or cancels outreach items.

Life of an outreach item: planned from an order's plan diff (``plan_writes``, written in the same
transaction as the order) → ``pending`` (in the sparse ``due`` index) → ``sending`` (claimed by one sweep;
its ``due_key`` becomes a lease expiry, so a crashed sweep's claim is found again) → ``sent`` |
``skipped`` | ``failed``, or back to ``pending`` (deferred by the frequency cap, or retried after a
transient SES error). A re-plan may cancel pending items (``cancelled``, with a ``CancelCause``).
Every transition is conditional on the state the caller saw.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from functions.customers.store import customer_key as email_key
from functions.outreach.models import (
    LEASE,
    CancelCause,
    Cancellation,
    Due,
    Listing,
    OutreachStatus,
    PlanDiff,
    Position,
    Reschedule,
)
from functions.shared import clock
from functions.shared.adapter import ConditionFailed, DynamoAdapter
from functions.shared.dynamo import from_item, to_item, to_value

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from functions.orders.models import PlannedOutreach

PENDING, SENDING, SENT, FAILED, CANCELLED = (
    OutreachStatus.PENDING.value,
    OutreachStatus.SENDING.value,
    OutreachStatus.SENT.value,
    OutreachStatus.FAILED.value,
    OutreachStatus.CANCELLED.value,
)
INTERRUPTED = "interrupted while sending; not retried so the customer is never emailed twice"


class LostRace(Exception):
    """The item changed under us (another sweep, a re-plan, an answer): leave it alone."""


def outreach_pk(store_id: str, order_id: str) -> str:
    return f"{store_id}#{order_id}"


def due_shard(store_id: str, email: str | None, pk: str, shards: int) -> str:
    """The ``due`` index shard of an item: one per customer of a store (so the one worker that sweeps a
    shard sees all of a customer's due items and sends them as one email); by order without an address."""
    key = customer_index_key(store_id, email) or pk
    digest = hashlib.sha256(key.encode()).digest()
    return str(int.from_bytes(digest[:4], "big") % shards)


def due_key(due_at: datetime, store_id: str, order_id: str, outreach_id: str) -> str:
    return f"{clock.isoformat(due_at)}#{store_id}#{order_id}#{outreach_id}"


def _history(status: str, note: str, at: str | None = None) -> dict[str, Any]:
    return to_value([{"at": at or clock.isoformat(clock.now()), "status": status, "note": note}])


MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


def month_of(at: datetime) -> str:
    """The ``YYYY-MM`` (UTC) an item planned at ``at`` is listed under."""
    return clock.isoformat(at)[:7]


def previous_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def store_month(store_id: str, month: str) -> str:
    return f"{store_id}#{month}"


def customer_index_key(store_id: str, email: str | None) -> str | None:
    """The ``by_customer`` partition of an address in a store (a hash, never the address), if any."""
    return f"{store_id}#{email_key(email)}" if email and email.strip() else None


def listing_attributes(
    store_id: str, order_id: str, outreach_id: str, email: str | None, at: datetime
) -> dict[str, Any]:
    """The history index attributes of an item first planned at ``at``: written once, never moved."""
    planned_at = clock.isoformat(at)
    return {
        "planned_at": planned_at,
        "store_month": store_month(store_id, month_of(at)),
        "planned_key": f"{planned_at}#{order_id}#{outreach_id}",
        "customer_key": customer_index_key(store_id, email),
    }


class OutreachQueue(DynamoAdapter):
    def __init__(self, table: str, shards: int, client: DynamoDBClient | None = None) -> None:
        super().__init__(table, client)
        self.shards = shards
        self.items_read = 0

    # ------------------------------------------------------------------ reads
    def due(self, shard: int, now: datetime, limit: int) -> list[Due]:
        """Items of one shard due at ``now`` (and expired claims), oldest first; nothing else is read."""
        with self.calling("reading due outreach"):
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
        with self.calling("reading outreach"):
            item = self.client.get_item(TableName=self.table, Key=self._key(pk, sk), ConsistentRead=True)
        return from_item(item["Item"]) if "Item" in item else None

    def for_order(self, store_id: str, order_id: str) -> list[dict[str, Any]]:
        """Every outreach item of one order (its plan), read consistently."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": outreach_pk(store_id, order_id)}},
            "ConsistentRead": True,
        }
        with self.calling("reading an order's outreach"):
            while True:
                response = self.client.query(**kwargs)
                items.extend(from_item(item) for item in response.get("Items", []))
                if "LastEvaluatedKey" not in response:
                    return items
                kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # ------------------------------------------------------------------ the workspace's request history
    def _listing_query(self, index: str, partition: str, value: str, limit: int, start: Any) -> Any:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": f"{partition} = :p",
            "ExpressionAttributeValues": {":p": {"S": value}},
            "ScanIndexForward": False,  # newest first
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = {name: {"S": text} for name, text in start.items()}
        with self.calling("reading the request history"):
            return self.client.query(**kwargs)

    @staticmethod
    def _last_key(response: Any) -> dict[str, str] | None:
        found = response.get("LastEvaluatedKey")
        return {name: str(value["S"]) for name, value in found.items()} if found else None

    def history_page(self, store_id: str, limit: int, start: Position | None, oldest_month: str) -> Listing:
        """A store's items newest first (by when they were first planned), one month partition after
        another back to ``oldest_month``, until ``limit`` items are read; never a scan."""
        month = (start.month if start else None) or month_of(clock.now())
        key = start.key if start else None
        items: list[dict[str, Any]] = []
        queries = 0
        while month >= oldest_month:
            response = self._listing_query(
                "by_store", "store_month", store_month(store_id, month), limit - len(items), key
            )
            queries += 1
            items.extend(from_item(item) for item in response.get("Items", []))
            key = self._last_key(response)
            if key is None:
                month = previous_month(month)
            if len(items) >= limit:
                break
        self.items_read += len(items)
        more = month >= oldest_month
        return Listing(items, Position(month, key) if more else None, queries)

    def for_customer(
        self, store_id: str, email: str, limit: int = 25, start: Position | None = None
    ) -> Listing:
        """One customer's items in one store, newest first (``by_customer``: the address is hashed)."""
        partition = customer_index_key(store_id, email)
        if partition is None:
            return Listing([], None)
        response = self._listing_query(
            "by_customer", "customer_key", partition, limit, start.key if start else None
        )
        items = [from_item(item) for item in response.get("Items", [])]
        self.items_read += len(items)
        key = self._last_key(response)
        return Listing(items, Position(None, key) if key else None, 1)

    def planned_in_month(self, store_id: str, month: str) -> Iterator[dict[str, Any]]:
        """Every item of a store first planned in ``month`` (``YYYY-MM``, UTC), every page of it."""
        if not MONTH.fullmatch(month):
            raise ValueError(f"{month!r} is not a month written YYYY-MM")
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "by_store",
            "KeyConditionExpression": "store_month = :p",
            "ExpressionAttributeValues": {":p": {"S": store_month(store_id, month)}},
        }
        while True:
            with self.calling("reading a month of requests"):
                response = self.client.query(**kwargs)
            for item in response.get("Items", []):
                yield from_item(item)
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    @staticmethod
    def _key(pk: str, sk: str) -> dict[str, Any]:
        return to_item({"pk": pk, "sk": sk})

    # ------------------------------------------------------------------ plan changes (transaction items)
    def plan_writes(self, diff: PlanDiff) -> list[dict[str, Any]]:
        """The transaction items that apply ``diff``; the orders adapter writes them with the order."""
        return [
            *(self._create(diff, planned) for planned in diff.create),
            *(self._reschedule(diff, change) for change in diff.reschedule),
            *(self._cancel(diff, cancellation) for cancellation in diff.cancel),
        ]

    def new_item(self, diff: PlanDiff, planned: PlannedOutreach) -> dict[str, Any]:
        """The stored form of newly planned outreach (pending, or skipped when the plan says so)."""
        now = clock.isoformat(clock.now())
        item = {
            "pk": outreach_pk(diff.store_id, diff.order_id),
            "sk": planned.outreach_id,
            "store_id": diff.store_id,
            "order_id": diff.order_id,
            "order_name": diff.order_name,
            "ordered_at": diff.ordered_at,
            "outreach_id": planned.outreach_id,
            "kind": str(planned.kind),
            "status": PENDING,
            "customer": diff.recipient.as_item(),
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
            "history": [
                {"at": now, "status": PENDING, "note": f"planned for {clock.isoformat(planned.due_at)}"}
            ],
            "expires_at": clock.epoch_seconds(clock.now() + diff.keep),
            **self._pending_attributes(diff.store_id, diff.order_id, planned, diff.recipient.email),
            **listing_attributes(
                diff.store_id, diff.order_id, planned.outreach_id, diff.recipient.email, clock.now()
            ),
        }
        if planned.skipped:
            item.pop("due_shard")
            item.pop("due_key")
            item.update(status=OutreachStatus.SKIPPED.value, reason=planned.skipped)
            item["history"] = [{"at": now, "status": OutreachStatus.SKIPPED.value, "note": planned.skipped}]
        return to_item(item)

    def _create(self, diff: PlanDiff, planned: PlannedOutreach) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table,
                "Item": self.new_item(diff, planned),
                "ConditionExpression": "attribute_not_exists(sk)",
            }
        }

    def _pending_attributes(
        self, store_id: str, order_id: str, planned: PlannedOutreach, email: str | None
    ) -> dict[str, Any]:
        pk = outreach_pk(store_id, order_id)
        return {
            "due_at": clock.isoformat(planned.due_at),
            "first_due_at": clock.isoformat(planned.due_at),
            "due_shard": due_shard(store_id, email, pk, self.shards),
            "due_key": due_key(planned.due_at, store_id, order_id, planned.outreach_id),
            "products": [p.model_dump(mode="json") for p in planned.products],
            "anchor": planned.anchor,
            "reminder_after_seconds": planned.reminder_after_seconds,
        }

    def _reschedule(self, diff: PlanDiff, change: Reschedule) -> dict[str, Any]:
        now = clock.isoformat(clock.now())
        attributes = {
            **self._pending_attributes(diff.store_id, diff.order_id, change.planned, diff.recipient.email),
            "customer": diff.recipient.as_item(),
            # the customer index follows the address the item goes to; its place in time never moves
            "customer_key": customer_index_key(diff.store_id, diff.recipient.email),
            "updated_at": now,
        }
        present = [name for name, value in attributes.items() if value is not None]
        removes = [name for name, value in attributes.items() if value is None]
        values = {f":v{i}": to_value(attributes[name]) for i, name in enumerate(present)}
        names = {f"#n{i}": name for i, name in enumerate(present)}
        names.update({f"#r{i}": name for i, name in enumerate(removes)})
        expression = "SET " + ", ".join(f"#n{i} = :v{i}" for i in range(len(present)))
        expression += ", #status = :pending, history = list_append(history, :h)"
        if removes:
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes)))
        values[":h"] = _history(PENDING, change.note, now)
        values[":prev"] = {"S": change.previous.value}
        values[":pending"] = {"S": PENDING}
        return {
            "Update": {
                "TableName": self.table,
                "Key": self._key(outreach_pk(diff.store_id, diff.order_id), change.planned.outreach_id),
                "UpdateExpression": expression,
                "ConditionExpression": "#status = :prev",
                "ExpressionAttributeNames": {**names, "#status": "status"},
                "ExpressionAttributeValues": values,
            }
        }

    def _cancel(self, diff: PlanDiff, cancellation: Cancellation) -> dict[str, Any]:
        now = clock.isoformat(clock.now())
        return {
            "Update": {
                "TableName": self.table,
                "Key": self._key(outreach_pk(diff.store_id, diff.order_id), cancellation.outreach_id),
                "UpdateExpression": "SET #status = :cancelled, cancel_reason = :reason, "
                "cancel_cause = :cause, updated_at = :now, history = list_append(history, :h) "
                "REMOVE due_shard, due_key",
                "ConditionExpression": "#status = :pending",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":cancelled": {"S": CANCELLED},
                    ":pending": {"S": PENDING},
                    ":reason": {"S": cancellation.reason},
                    ":cause": {"S": cancellation.cause.value},
                    ":now": {"S": now},
                    ":h": _history(CANCELLED, cancellation.reason, now),
                },
            }
        }

    # ------------------------------------------------------------------ sweep transitions
    def _update(self, due: Due, expression: str, condition: str, values: dict[str, Any], what: str) -> None:
        with self.calling(what, conflict=LostRace(what)):
            self.client.update_item(
                TableName=self.table,
                Key=self._key(due.pk, due.sk),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )

    def _due_key(self, due: Due, at: datetime) -> str:
        return due_key(at, due.store_id, due.order_id, str(due.item["outreach_id"]))

    def claim(self, due: Due, claim: str) -> None:
        """Take a pending item for this sweep only; the lease makes a crashed claim visible again."""
        new_key = self._due_key(due, clock.now() + LEASE)
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
        key = self._due_key(due, until)
        expression = (
            "SET #status = :pending, due_at = :due, due_key = :key, due_shard = :shard, "
            "history = list_append(history, :h) REMOVE claim"
        )
        values = {
            ":pending": {"S": PENDING},
            ":due": {"S": clock.isoformat(until)},
            ":key": {"S": key},
            ":shard": {"S": due_shard(due.store_id, due.email, due.pk, self.shards)},
            ":h": _history(PENDING, note),
            ":claim": {"S": claim},
        }
        if attempts is not None:
            expression = expression.replace("SET ", "SET attempts = :attempts, last_error = :err, ", 1)
            values[":attempts"] = {"N": str(attempts)}
            values[":err"] = {"S": note[:500]}
        self._update(due, expression, "claim = :claim", values, "releasing outreach")
        due.item.update({"status": PENDING, "due_key": key, "due_at": clock.isoformat(until)})
        if attempts is not None:
            due.item["attempts"] = attempts
        due.item.pop("claim", None)

    def _close(
        self, due: Due, status: str, note: str, fields: dict[str, Any], condition: str, seen: dict[str, Any]
    ) -> None:
        """A final state with a history entry and ``fields``: the item leaves the due index for good.

        ``condition`` (with its ``seen`` values) is what the caller saw: its own claim, or the expired lease.
        """
        sets = ", ".join(f"{name} = :{name}" for name in fields)
        values = {f":{name}": to_value(value) for name, value in fields.items()}
        self._update(
            due,
            f"SET #status = :status, history = list_append(history, :h), {sets} "
            "REMOVE due_key, due_shard, claim",
            condition,
            {":status": {"S": status}, ":h": _history(status, note), **values, **seen},
            f"marking outreach {status}",
        )
        due.item["status"] = status
        due.item.pop("claim", None)

    def finish(
        self, due: Due, claim: str, status: OutreachStatus, note: str, attempts: int | None = None
    ) -> None:
        """A final state (skipped, failed) for a claimed item."""
        fields: dict[str, Any] = {"finished_at": clock.isoformat(clock.now()), "reason": note[:500]}
        if attempts is not None:
            fields["attempts"] = attempts
        self._close(due, status.value, note, fields, "claim = :claim", {":claim": {"S": claim}})

    def interrupted(self, due: Due) -> None:
        """A claim whose lease ran out: the sweep died mid-send, so it may or may not have gone out."""
        seen = {":sending": {"S": SENDING}, ":seen": {"S": str(due.item["due_key"])}}
        self._close(
            due, FAILED, INTERRUPTED, {"reason": INTERRUPTED}, "#status = :sending AND due_key = :seen", seen
        )

    def sent(
        self, due: Due, claim: str, message_id: str, remind_at: datetime | None, header_id: str, subject: str
    ) -> None:
        """Mark sent and, for a review request with a reminder delay, plan its reminder at ``remind_at``.

        Two single-item writes rather than a transaction (transactions cost twice the write units): the
        reminder first, so a sweep dying in between leaves a sent email with its reminder planned, and the
        claimed item surfaces as interrupted when its lease runs out.
        """
        if remind_at is not None:
            with contextlib.suppress(ConditionFailed), self.calling("planning a reminder"):
                self.client.put_item(
                    TableName=self.table,
                    Item=to_item(self._reminder(due, remind_at)),
                    ConditionExpression="attribute_not_exists(sk)",
                )
        fields = {
            "sent_at": clock.isoformat(clock.now()),
            "message_id": message_id,
            "email_message_id": header_id,
            "subject": subject,
        }
        self._close(due, SENT, f"sent as {message_id}", fields, "claim = :claim", {":claim": {"S": claim}})

    def _reminder(self, due: Due, at: datetime) -> dict[str, Any]:
        item = due.item
        outreach_id = f"{item['outreach_id']}-reminder"
        now = clock.isoformat(clock.now())
        email = (item.get("customer") or {}).get("email")
        return {
            "pk": due.pk,
            "sk": outreach_id,
            "store_id": item["store_id"],
            "order_id": item["order_id"],
            "order_name": item.get("order_name"),
            "ordered_at": item.get("ordered_at"),
            "outreach_id": outreach_id,
            "reminder_of": item["outreach_id"],
            "kind": item["kind"],
            "status": PENDING,
            "customer": item.get("customer"),
            "products": item.get("products", []),
            "anchor": item.get("anchor"),
            "attempts": 0,
            "created_at": now,
            "due_at": clock.isoformat(at),
            "first_due_at": clock.isoformat(at),
            "due_shard": due_shard(due.store_id, email, due.pk, self.shards),
            "due_key": due_key(at, due.store_id, due.order_id, outreach_id),
            "history": [
                {
                    "at": now,
                    "status": PENDING,
                    "note": f"reminder planned for {clock.isoformat(at)} unless answered",
                }
            ],
            "expires_at": item.get("expires_at"),  # a reminder goes with the request it reminds of
            **listing_attributes(due.store_id, due.order_id, outreach_id, email, clock.now()),
        }

    # ------------------------------------------------------------------ people's actions (audited)
    def cancel_pending(self, pk: str, sk: str, by: str, reason: str) -> dict[str, Any]:
        """A person cancels a pending item: it leaves the due index for good (``LostRace`` when it is no
        longer pending: a sweep claimed or sent it, a re-plan or an answer cancelled it first)."""
        now = clock.isoformat(clock.now())
        entry = {"at": now, "status": CANCELLED, "note": f"cancelled by {by}", "by": by, "action": "cancel"}
        with self.calling("cancelling outreach", conflict=LostRace("cancelling outreach")):
            response = self.client.update_item(
                TableName=self.table,
                Key=self._key(pk, sk),
                UpdateExpression="SET #status = :cancelled, cancel_reason = :reason, cancel_cause = :cause, "
                "cancelled_by = :by, updated_at = :now, history = list_append(history, :h) "
                "REMOVE due_shard, due_key",
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":cancelled": {"S": CANCELLED},
                    ":pending": {"S": PENDING},
                    ":reason": {"S": reason},
                    ":cause": {"S": CancelCause.STAFF.value},
                    ":by": {"S": by},
                    ":now": {"S": now},
                    ":h": to_value([entry]),
                },
                ReturnValues="ALL_NEW",
            )
        return from_item(response["Attributes"])

    def record_action(self, pk: str, sk: str, seen_due_key: str, by: str, action: str, note: str) -> None:
        """Note in a pending item's history what a person asked for; ``LostRace`` unless it is still
        pending with the ``due_key`` they saw (the key stays as it is, so a claim on it still works)."""
        entry = {
            "at": clock.isoformat(clock.now()),
            "status": PENDING,
            "note": note,
            "by": by,
            "action": action,
        }
        with self.calling("recording an action", conflict=LostRace("recording an action")):
            self.client.update_item(
                TableName=self.table,
                Key=self._key(pk, sk),
                UpdateExpression="SET history = list_append(history, :h)",
                ConditionExpression="#status = :pending AND due_key = :seen",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":h": to_value([entry]),
                    ":pending": {"S": PENDING},
                    ":seen": {"S": seen_due_key},
                },
            )

    # ------------------------------------------------------------------ retention
    def keep_store(self, store_id: str, keep: timedelta) -> int:
        """Put ``keep`` (``retention.orders``) on the store's requests, from when each was planned (a
        reminder from the request it reminds of), for ``aftercare store apply-retention``; items changed."""
        from functions.shared import retention

        items = list(
            retention.store_items(
                self, "begins_with(pk, :prefix)", {":prefix": f"{store_id}#"}, "reading a store's requests"
            )
        )
        planned = {(str(i["pk"]), str(i["sk"])): retention.written_at(i, "created_at") for i in items}
        changed = 0
        for item in items:
            own = planned[(str(item["pk"]), str(item["sk"]))]
            first = planned.get((str(item["pk"]), str(item.get("reminder_of") or item["sk"]))) or own
            if first and retention.keep_until(self, item, first + keep, "keeping a request"):
                changed += 1
        return changed

    # ------------------------------------------------------------------ answers
    def mark_answered(self, pk: str, outreach_id: str, at: datetime) -> None:
        """An answer arrived: remember it, and cancel a reminder that is still waiting."""
        with contextlib.suppress(ConditionFailed), self.calling("recording an answer"):
            self.client.update_item(
                TableName=self.table,
                Key=self._key(pk, outreach_id),
                UpdateExpression="SET answered_at = if_not_exists(answered_at, :now)",
                ConditionExpression="attribute_exists(sk)",
                ExpressionAttributeValues={":now": {"S": clock.isoformat(at)}},
            )
            self.client.update_item(
                TableName=self.table,
                Key=self._key(pk, f"{outreach_id}-reminder"),
                UpdateExpression="SET #status = :cancelled, reason = :why, cancel_cause = :cause, "
                "history = list_append(history, :h) REMOVE due_key, due_shard",
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":cancelled": {"S": CANCELLED},
                    ":pending": {"S": PENDING},
                    ":why": {"S": "answered"},
                    ":cause": {"S": CancelCause.ANSWERED.value},
                    ":h": _history(CANCELLED, "answered"),
                },
            )

    # ------------------------------------------------------------------ export and erasure (privacy)
    def customer_orders(self, store_id: str, email: str) -> list[str]:
        """Ids of the orders this address was planned requests for (``by_customer``, every page)."""
        partition = customer_index_key(store_id, email)
        if partition is None:
            return []
        return self.order_ids_by_customer(partition, "reading a customer's requests")

    def erase_order(self, store_id: str, order_id: str) -> dict[str, int]:
        """Delete every request of the order. A pending one leaves the due index with its item, which is
        its cancellation; one a sweep holds right now finds its item gone and records nothing."""
        items = self.for_order(store_id, order_id)
        pending = 0
        with self.calling("erasing requests"):
            for item in items:
                pending += item.get("status") == PENDING
                self.client.delete_item(TableName=self.table, Key=self._key(str(item["pk"]), str(item["sk"])))
        return {"requests": len(items), "pending requests cancelled": pending}
