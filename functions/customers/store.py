"""Customers table adapter: one record per store and customer, shared by review, NPS and return emails.

``pk = <store_id>#<sha256 of the normalised email>``, ``sk = PROFILE``. It holds the suppression
(unsubscribed, bounced, complained) and ``last_contacted_at`` for the frequency cap.

An erased customer keeps one item, ``pk = <store_id>#kept#<keyed hash>``, ``sk = KEPT``: the erasure record
(when, by whom, its progress) and the suppression that outlives the erasure. The keyed hash is an
HMAC-SHA256 of the store and the address's SHA-256 under a key derived from the deployment's signing key
(decision 71), so the item names nobody to a reader without that key. ``get`` reads both items at once,
which is how every send (the sweep's suppression check) keeps an erased customer unmailed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from functions.shared import clock
from functions.shared.adapter import ConditionFailed, DynamoAdapter
from functions.shared.dynamo import from_item, to_item, to_value

PROFILE = "PROFILE"
KEPT = "KEPT"
ERASED = "erased"  # the kept suppression of an erased customer who had not unsubscribed
KEPT_HASH_LABEL = b"aftercare/kept-suppression/v1"  # derives the hash key from the signing key
IN_PROGRESS, DONE = "in progress", "done"
PROFILE_FIELDS = ("email", "suppressed", "last_contacted_at", "emails_sent", "updated_at")


class Suppression(StrEnum):
    """Why no more email goes to a customer (the ``suppressed.reason`` stored on the profile)."""

    UNSUBSCRIBED = "unsubscribed"  # the customer's own choice: the only one they can lift
    BOUNCED = "bounced"
    COMPLAINED = "complained"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def customer_key(email: str) -> str:
    return hashlib.sha256(normalise_email(email).encode("utf-8")).hexdigest()


class CustomerRepository(DynamoAdapter):
    def __init__(self, table: str, signing_key: Callable[[], bytes], client: Any = None) -> None:
        super().__init__(table, client)
        self._signing_key = signing_key

    def _key(self, store_id: str, key: str) -> dict[str, Any]:
        return to_item({"pk": f"{store_id}#{key}", "sk": PROFILE})

    def kept_hash(self, store_id: str, key: str) -> str:
        """The keyed hash an erased customer is kept under: HMAC-SHA256(derived key, store + address hash)."""
        derived = hmac.new(self._signing_key(), KEPT_HASH_LABEL, hashlib.sha256).digest()
        return hmac.new(derived, f"{store_id}#{key}".encode(), hashlib.sha256).hexdigest()

    def _kept_key(self, store_id: str, key: str) -> dict[str, Any]:
        return to_item({"pk": f"{store_id}#kept#{self.kept_hash(store_id, key)}", "sk": KEPT})

    def _update(self, what: str, store_id: str, key: str, **request: Any) -> bool:
        """One conditional update of a profile; False when its condition was not met."""
        try:
            with self.calling(what):
                self.client.update_item(TableName=self.table, Key=self._key(store_id, key), **request)
        except ConditionFailed:
            return False
        return True

    def get(self, store_id: str, key: str) -> dict[str, Any] | None:
        """The customer's profile, with the suppression kept from an erasure when there is one.

        One ``BatchGetItem`` reads the profile and the kept item together: the only suppression check
        before a send, so an erased customer is never emailed again (invariant 35).
        """
        profile_key, kept_key = self._key(store_id, key), self._kept_key(store_id, key)
        request: dict[str, Any] = {self.table: {"Keys": [profile_key, kept_key], "ConsistentRead": True}}
        profile: dict[str, Any] | None = None
        kept: dict[str, Any] | None = None
        with self.calling("reading a customer"):
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table, []):
                    if item["sk"]["S"] == KEPT:
                        kept = from_item(item)
                    else:
                        profile = from_item(item)
                request = response.get("UnprocessedKeys") or {}
        if kept and kept.get("suppressed") and not (profile or {}).get("suppressed"):
            return {**(profile or {}), "suppressed": kept["suppressed"], "erased": True}
        return profile

    def _erased(self, store_id: str, key: str) -> bool:
        """Whether this customer was erased (their kept item exists): they are suppressed for good already."""
        with self.calling("reading an erasure record"):
            found = self.client.get_item(
                TableName=self.table,
                Key=self._kept_key(store_id, key),
                ConsistentRead=True,
                ProjectionExpression="pk",
            )
        return "Item" in found

    def suppress(self, store_id: str, email: str, reason: str, detail: str = "") -> None:
        """Stop every email to this address from this store (unsubscribe, bounce, complaint).

        An erased customer is suppressed already: nothing is written (a late bounce would otherwise store
        the address again)."""
        if self._erased(store_id, customer_key(email)):
            return
        now = clock.isoformat(clock.now())
        self._update(
            "suppressing a customer",
            store_id,
            customer_key(email),
            UpdateExpression="SET suppressed = :s, email = :e, updated_at = :now",
            ExpressionAttributeValues={
                ":s": {"M": {"reason": {"S": str(reason)}, "at": {"S": now}, "detail": {"S": detail[:500]}}},
                ":e": {"S": normalise_email(email)},
                ":now": {"S": now},
            },
        )

    def suppress_key(self, store_id: str, key: str, reason: str) -> None:
        """Suppress a customer known only by key (an unsubscribe link for a record without an email)."""
        if self._erased(store_id, key):
            return
        now = clock.isoformat(clock.now())
        self._update(
            "suppressing a customer",
            store_id,
            key,
            UpdateExpression="SET suppressed = :s, updated_at = :now",
            ExpressionAttributeValues={
                ":s": {"M": {"reason": {"S": str(reason)}, "at": {"S": now}}},
                ":now": {"S": now},
            },
        )

    def resubscribe(self, store_id: str, key: str) -> bool:
        """Lift an unsubscribe (never a bounce or complaint); False if there was none to lift."""
        return self._update(
            "resubscribing a customer",
            store_id,
            key,
            UpdateExpression="REMOVE suppressed SET updated_at = :now",
            ConditionExpression="suppressed.reason = :unsubscribed",
            ExpressionAttributeValues={
                ":unsubscribed": {"S": Suppression.UNSUBSCRIBED.value},
                ":now": {"S": clock.isoformat(clock.now())},
            },
        )

    def reserve_contact(self, store_id: str, email: str, at: datetime, not_before: datetime) -> bool:
        """Record that we email this customer now, unless they were emailed after ``not_before``."""
        return self._update(
            "reserving a contact",
            store_id,
            customer_key(email),
            UpdateExpression="SET last_contacted_at = :at, email = :e, previous_contacted_at = "
            "if_not_exists(last_contacted_at, :none) ADD emails_sent :one",
            ConditionExpression="(attribute_not_exists(last_contacted_at) "
            "OR last_contacted_at <= :limit) "
            "AND attribute_not_exists(suppressed)",
            ExpressionAttributeValues={
                ":at": {"S": clock.isoformat(at)},
                ":limit": {"S": clock.isoformat(not_before)},
                ":e": {"S": normalise_email(email)},
                ":none": {"S": ""},
                ":one": {"N": "1"},
            },
        )

    def release_contact(self, store_id: str, email: str, at: datetime) -> None:
        """Undo ``reserve_contact`` after a send that did not happen."""
        self._update(
            "releasing a contact",
            store_id,
            customer_key(email),
            UpdateExpression="SET last_contacted_at = previous_contacted_at ADD emails_sent :minus",
            ConditionExpression="last_contacted_at = :at",
            ExpressionAttributeValues={":at": {"S": clock.isoformat(at)}, ":minus": {"N": "-1"}},
        )

    # ------------------------------------------------------------------ export and erasure (privacy)
    def export(self, store_id: str, email: str) -> dict[str, Any] | None:
        """What the profile holds about this address (``None`` when there is no profile)."""
        with self.calling("reading a customer"):
            item = self.client.get_item(
                TableName=self.table, Key=self._key(store_id, customer_key(email)), ConsistentRead=True
            ).get("Item")
        if item is None:
            return None
        data = from_item(item)
        return {name: data[name] for name in PROFILE_FIELDS if name in data}

    def erasure(self, store_id: str, email: str) -> dict[str, Any] | None:
        """The erasure record kept for this address in this store, without its key."""
        with self.calling("reading an erasure record"):
            item = self.client.get_item(
                TableName=self.table, Key=self._kept_key(store_id, customer_key(email)), ConsistentRead=True
            ).get("Item")
        if item is None:
            return None
        data = from_item(item)
        return {name: value for name, value in data.items() if name not in {"pk", "sk"}}

    def begin_erasure(
        self, store_id: str, email: str, by: str, erasure_id: str, order_ids: list[str]
    ) -> dict[str, Any]:
        """Write the erasure record first, suppression included, so no email goes out from now on.

        An erasure still in progress (an earlier call stopped half-way) is continued: it keeps its id and
        its start, and ``order_ids`` joins the orders it had found (the record remembers them until it is
        closed: a step may delete the last index entry that found an order). The suppression kept is the
        profile's own (unsubscribed, bounced, complained) or ``erased``; a kept suppression is never replaced.
        """
        key = customer_key(email)
        now = clock.isoformat(clock.now())
        profile = self.export(store_id, email) or {}
        reason = str((profile.get("suppressed") or {}).get("reason") or ERASED)
        with self.calling("starting an erasure"):
            response = self.client.update_item(
                TableName=self.table,
                Key=self._kept_key(store_id, key),
                UpdateExpression="SET store_id = :store, "
                "suppressed = if_not_exists(suppressed, :suppressed), "
                "erasure_id = if_not_exists(erasure_id, :id), "
                "requested_at = if_not_exists(requested_at, :now), "
                "requested_by = if_not_exists(requested_by, :by), #status = :in_progress, "
                "steps_done = if_not_exists(steps_done, :none)"
                + (" ADD order_ids :orders" if order_ids else ""),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":store": {"S": store_id},
                    ":suppressed": to_value({"reason": reason, "at": now}),
                    ":id": {"S": erasure_id},
                    ":now": {"S": now},
                    ":by": {"S": by},
                    ":in_progress": {"S": IN_PROGRESS},
                    ":none": {"L": []},
                    **({":orders": {"SS": sorted(set(order_ids))}} if order_ids else {}),
                },
                ReturnValues="ALL_NEW",
            )
        return {k: v for k, v in from_item(response["Attributes"]).items() if k not in {"pk", "sk"}}

    def erasure_step_done(self, store_id: str, email: str, step: str, counts: dict[str, int]) -> None:
        """Record that one capability's part of the erasure is done (and how many items it removed)."""
        with self.calling("recording an erasure step"):
            self.client.update_item(
                TableName=self.table,
                Key=self._kept_key(store_id, customer_key(email)),
                UpdateExpression="SET steps_done = list_append(steps_done, :step)",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={
                    ":step": to_value([{"step": step, "at": clock.isoformat(clock.now()), "removed": counts}])
                },
            )

    def finish_erasure(self, store_id: str, email: str) -> dict[str, Any]:
        """Close the erasure: done, when, and one line in its history (no personal data in either)."""
        now = clock.isoformat(clock.now())
        current = self.erasure(store_id, email) or {}
        entry = {
            "erasure_id": current.get("erasure_id"),
            "requested_at": current.get("requested_at"),
            "requested_by": current.get("requested_by"),
            "finished_at": now,
            "removed": _removed(current.get("steps_done") or []),
        }
        with self.calling("finishing an erasure"):
            response = self.client.update_item(
                TableName=self.table,
                Key=self._kept_key(store_id, customer_key(email)),
                UpdateExpression="SET #status = :done, finished_at = :now, "
                "history = list_append(if_not_exists(history, :none), :entry) "
                "REMOVE erasure_id, requested_at, requested_by, steps_done, order_ids",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":done": {"S": DONE},
                    ":now": {"S": now},
                    ":none": {"L": []},
                    ":entry": to_value([entry]),
                },
                ReturnValues="ALL_NEW",
            )
        return {k: v for k, v in from_item(response["Attributes"]).items() if k not in {"pk", "sk"}}

    def erase_profile(self, store_id: str, email: str) -> int:
        """Delete the profile (address, contact times, suppression: the kept item carries that on)."""
        with self.calling("erasing a customer"):
            response = self.client.delete_item(
                TableName=self.table, Key=self._key(store_id, customer_key(email)), ReturnValues="ALL_OLD"
            )
        return 1 if response.get("Attributes") else 0


def _removed(steps: list[dict[str, Any]]) -> dict[str, int]:
    """Items removed per kind over every step of one erasure (a resumed erasure counts each once)."""
    total: dict[str, int] = {}
    for step in steps:
        for kind, number in (step.get("removed") or {}).items():
            total[kind] = total.get(kind, 0) + int(number)
    return total
