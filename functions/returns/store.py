"""Returns table adapter: a request item (``sk = RETURN``) and its audit steps (``sk = STEP#<time>#<n>``).

A request waiting for someone (staff approval, the parcel) carries ``wait_shard``/``wait_deadline``
(sparse index ``waiting``), so the timeout schedule reads only what is overdue. A request that needs a
person (awaiting approval, or its refund failed) carries ``attention_store`` = its store id (sparse index
``attention``, RANGE ``requested_at``): the workspace inbox reads only those. Every write that sets
``status`` sets or removes ``attention_store`` in the same update, so the two never disagree.

The request and its steps expire (TTL ``expires_at``) the store's ``retention.returns`` after the
return's last step: each step is written with its own expiry and moves the request's to the same time,
so a request never goes before its audit trail.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from datetime import datetime, timedelta
from typing import Any

from functions.returns.models import REFUND_DONE, Status
from functions.shared import clock
from functions.shared.adapter import ConditionFailed, DynamoAdapter
from functions.shared.dynamo import from_item, to_item, to_value

RETURN = "RETURN"
SHARDS = 4
ATTENTION = "attention_store"
NEEDS_A_PERSON = frozenset({Status.AWAITING_APPROVAL.value, Status.REFUND_FAILED.value})
MAX_ATTENTION = 100


class Conflict(Exception):
    """The request is not in the state the caller expected (already decided, already refunded...).

    Deliberately not ``functions.shared.errors.Conflict``: that one means "retry" to the webhook
    intake (a 5xx the store redelivers) and 409 to the HTTP layer, while a return in another state
    is final for the caller (a staff page notice, an unusable return event).
    """


class ReturnRepository(DynamoAdapter):
    @staticmethod
    def pk(store_id: str, return_id: str) -> str:
        return f"{store_id}#{return_id}"

    def create(self, request: dict[str, Any], *, keep: timedelta) -> bool:
        """Store a new request, kept for ``keep`` (``retention.returns``); False if this return id exists
        already (the same request again)."""
        item = {
            **request,
            "expires_at": clock.epoch_seconds(clock.now() + keep),
            "pk": self.pk(request["store_id"], request["return_id"]),
            "sk": RETURN,
            "order_key": f"{request['store_id']}#{request['order_id']}",
        }
        if str(request.get("status", "")) in NEEDS_A_PERSON:
            item[ATTENTION] = request["store_id"]
        try:
            with self.calling("recording a return"):
                self.client.put_item(
                    TableName=self.table, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)"
                )
        except ConditionFailed:
            return False
        return True

    def get(self, store_id: str, return_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The request and its audit steps, oldest first, in one query."""
        with self.calling("reading a return"):
            response = self.client.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": self.pk(store_id, return_id)}},
                ConsistentRead=True,
            )
        items = [from_item(item) for item in response.get("Items", [])]
        request = next((i for i in items if i["sk"] == RETURN), None)
        steps = sorted((i for i in items if str(i["sk"]).startswith("STEP#")), key=lambda s: str(s["sk"]))
        return request, steps

    def step(
        self,
        store_id: str,
        return_id: str,
        actor: str,
        step: str,
        outcome: str,
        *,
        keep: timedelta,
        **details: Any,
    ) -> None:
        """Append one audit step: who did what, when, with what result. The step and its request are
        then kept ``keep`` (``retention.returns``) from now."""
        at = clock.now()
        now = clock.isoformat(at)
        expires = clock.epoch_seconds(at + keep)
        item = {
            "pk": self.pk(store_id, return_id),
            "sk": f"STEP#{now}#{time.time_ns():020d}{secrets.token_hex(2)}",  # ns: order within a second
            "at": now,
            "actor": actor,
            "step": step,
            "outcome": outcome,
            **{k: v for k, v in details.items() if v is not None},
            "expires_at": expires,
        }
        with self.calling("recording a return step"):
            self.client.put_item(TableName=self.table, Item=to_item(item))
        with contextlib.suppress(ConditionFailed), self.calling("keeping a return"):
            self.client.update_item(
                TableName=self.table,
                Key=to_item({"pk": self.pk(store_id, return_id), "sk": RETURN}),
                UpdateExpression="SET expires_at = :expires",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":expires": {"N": str(expires)}},
            )

    def update(
        self, store_id: str, return_id: str, fields: dict[str, Any], *, only_if_status: str | None = None
    ) -> None:
        """Set ``fields`` (only while the status is ``only_if_status``, if given); ``Conflict`` otherwise."""
        if only_if_status is None:
            self._update(store_id, return_id, fields)
        else:
            self._update(
                store_id,
                return_id,
                fields,
                condition="#status = :from",
                values={":from": only_if_status},
                names={"#status": "status"},
            )

    def record_refund(self, store_id: str, return_id: str, reference: str, at: datetime) -> None:
        """Mark the refund done, once (a second time is a ``Conflict``)."""
        self._update(
            store_id,
            return_id,
            {"refund_status": REFUND_DONE, "refund_reference": reference, "refunded_at": clock.isoformat(at)},
            condition="attribute_not_exists(refund_status) OR refund_status <> :done",
            values={":done": REFUND_DONE},
        )

    def _update(
        self,
        store_id: str,
        return_id: str,
        fields: dict[str, Any],
        *,
        condition: str | None = None,
        values: dict[str, Any] | None = None,
        remove: tuple[str, ...] = (),
        names: dict[str, str] | None = None,
    ) -> None:
        fields, remove = _with_attention(store_id, fields, remove)
        names = {**(names or {}), **{f"#f{i}": name for i, name in enumerate(fields)}}
        expression = "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields)))
        if remove:
            names.update({f"#r{i}": name for i, name in enumerate(remove)})
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(remove)))
        all_values = {f":f{i}": to_value(value) for i, value in enumerate(fields.values())}
        all_values.update({k: to_value(v) for k, v in (values or {}).items()})
        with self.calling("updating a return", conflict=Conflict(f"return {return_id} changed")):
            self.client.update_item(
                TableName=self.table,
                Key=to_item({"pk": self.pk(store_id, return_id), "sk": RETURN}),
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=all_values,
                ConditionExpression=condition or "attribute_exists(pk)",
            )

    def wait(
        self, store_id: str, return_id: str, kind: str, token: str, deadline: datetime, status: str
    ) -> None:
        """Park the request in ``status``: ``kind`` is what it waits for; the task token resumes the workflow.

        Status and token change in one write, so whoever resumes the workflow (a parcel reported the
        moment the token exists) never has its later status overwritten by the parking step.
        """
        self._update(
            store_id,
            return_id,
            {
                "status": status,
                "waiting_for": kind,
                "task_token": token,
                "wait_deadline": clock.isoformat(deadline),
                "wait_shard": wait_shard(return_id),
            },
        )

    def resume(self, store_id: str, return_id: str, kind: str) -> str:
        """Take the task token of a request waiting for ``kind`` (once: a second caller gets ``Conflict``)."""
        request, _ = self.get(store_id, return_id)
        if request is None or request.get("waiting_for") != kind or not request.get("task_token"):
            raise Conflict(f"return {return_id} is not waiting for {kind}")
        self._update(
            store_id,
            return_id,
            {"resumed_at": clock.isoformat(clock.now())},
            condition="waiting_for = :kind AND task_token = :token",
            values={":kind": kind, ":token": request["task_token"]},
            remove=("waiting_for", "task_token", "wait_deadline", "wait_shard"),
        )
        return str(request["task_token"])

    def needing_attention(self, store_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """A store's requests that need a person (awaiting approval, refund failed), oldest first."""
        with self.calling("reading returns that need a person"):
            response = self.client.query(
                TableName=self.table,
                IndexName="attention",
                KeyConditionExpression=f"{ATTENTION} = :store",
                ExpressionAttributeValues={":store": {"S": store_id}},
                Limit=min(max(limit, 1), MAX_ATTENTION),
            )
        return [from_item(item) for item in response.get("Items", [])]

    def overdue(self, shard: int, now: datetime) -> list[dict[str, Any]]:
        with self.calling("reading waiting returns"):
            response = self.client.query(
                TableName=self.table,
                IndexName="waiting",
                KeyConditionExpression="wait_shard = :s AND wait_deadline <= :now",
                ExpressionAttributeValues={":s": {"S": str(shard)}, ":now": {"S": clock.isoformat(now)}},
                Limit=100,
            )
        return [from_item(item) for item in response.get("Items", [])]

    def every_request(self, store_id: str) -> list[dict[str, Any]]:
        """Every return request of a store (not their steps), for the offline insights rebuild only.

        A paginated Scan filtered on the store: the table has no per-store index, and nothing on a request
        path may call this.
        """
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "FilterExpression": "begins_with(pk, :prefix) AND sk = :request AND store_id = :store",
            "ExpressionAttributeValues": {
                ":prefix": {"S": f"{store_id}#"},
                ":request": {"S": RETURN},
                ":store": {"S": store_id},
            },
        }
        found: list[dict[str, Any]] = []
        with self.calling("reading a store's returns"):
            while True:
                response = self.client.scan(**kwargs)
                found.extend(from_item(item) for item in response.get("Items", []))
                if "LastEvaluatedKey" not in response:
                    return found
                kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def keep_store(self, store_id: str, keep: timedelta) -> int:
        """Put ``keep`` (``retention.returns``) on the store's returns and their steps, from each return's
        last step, for ``aftercare store apply-retention``; how many items changed."""
        from functions.shared import retention

        items = list(
            retention.store_items(
                self, "begins_with(pk, :prefix)", {":prefix": f"{store_id}#"}, "reading a store's returns"
            )
        )
        last: dict[str, datetime] = {}
        for item in items:
            at = retention.written_at(item, "at", "requested_at")
            if at is not None:
                last[str(item["pk"])] = max(at, last.get(str(item["pk"]), at))
        changed = 0
        for item in items:
            written = retention.written_at(item, "at") if item["sk"] != RETURN else last.get(str(item["pk"]))
            if written and retention.keep_until(self, item, written + keep, "keeping a return"):
                changed += 1
        return changed

    # ------------------------------------------------------------------ export and erasure (privacy)
    def of_order(self, store_id: str, order_id: str) -> list[dict[str, Any]]:
        """The return requests of an order (index ``by_order``, every page), without their steps."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "by_order",
            "KeyConditionExpression": "order_key = :o",
            "ExpressionAttributeValues": {":o": {"S": f"{store_id}#{order_id}"}},
        }
        return [from_item(item) for item in self.query_all("reading an order's returns", **kwargs)]

    def erase(self, store_id: str, return_id: str) -> int:
        """Delete the request and its whole audit trail (the refund itself stays in the store's books)."""
        request, steps = self.get(store_id, return_id)
        items = ([request] if request else []) + steps
        with self.calling("erasing a return"):
            for item in items:
                self.client.delete_item(
                    TableName=self.table, Key=to_item({"pk": str(item["pk"]), "sk": str(item["sk"])})
                )
        return len(items)


def wait_shard(return_id: str) -> str:
    """The ``waiting`` index shard of a request (its id's last four hex digits, spread over ``SHARDS``)."""
    return str(int(return_id[-4:], 16) % SHARDS) if return_id[-4:].isalnum() else "0"


def _with_attention(
    store_id: str, fields: dict[str, Any], remove: tuple[str, ...]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A status change also sets (needs a person) or removes ``attention_store``, in the same update."""
    if "status" not in fields:
        return fields, remove
    if str(fields["status"]) in NEEDS_A_PERSON:
        return {**fields, ATTENTION: store_id}, remove
    return fields, (*remove, ATTENTION)
