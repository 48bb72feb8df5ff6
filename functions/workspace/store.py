"""Workspace table adapter: the only code that reads or writes workspace items.

Every partition key starts with the store id, so one store's items are never addressed by another
store's key. Items (``expires_at`` is the TTL; DynamoDB deletes lazily, so reads never rely on it):

* ``<store_id>#session`` / ``SIGNED_OUT#<session id>``: a session that was signed out, kept until the
  session would have expired anyway (``at``).
* ``<store_id>#sign-in`` / ``LINK#<token id>``: a sign-in link that was used (``used_at``,
  ``session_id``), written with a condition so a link signs in once; kept a day past the link's expiry.
* ``<store_id>#sign-in`` / ``RATE#<address digest>#<window start>``: how many sign-in links an address
  asked for in one fixed window (``links``, counted with a conditional ``ADD``); the address itself is
  never stored, only a SHA-256 digest of it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from functions.shared import clock
from functions.shared.adapter import ConditionFailed, DynamoAdapter
from functions.shared.dynamo import to_item
from functions.workspace.digest_items import DigestItems

SIGNED_OUT = "SIGNED_OUT#"
USED_LINK = "LINK#"
RATE = "RATE#"
KEEP_USED_LINK = timedelta(days=1)  # past the link's own expiry, for the "already used" page


def address_digest(email: str) -> str:
    """The key part naming an address without storing it (case-insensitive)."""
    return hashlib.sha256(email.strip().casefold().encode("utf-8")).hexdigest()[:32]


class WorkspaceRepository(DigestItems, DynamoAdapter):
    """Sign-in links used, sign-in rate windows, signed-out sessions, audit entries, digest markers."""

    def sign_out(self, store_id: str, session_id: str, until: datetime) -> None:
        """Remember that a session ended (until it would have expired anyway); signing out twice is fine."""
        item = {
            "pk": f"{store_id}#session",
            "sk": SIGNED_OUT + session_id,
            "at": clock.isoformat(clock.now()),
            "expires_at": clock.epoch_seconds(until),
        }
        with self.calling("signing out"):
            self.client.put_item(TableName=self.table, Item=to_item(item))

    def is_signed_out(self, store_id: str, session_id: str) -> bool:
        with self.calling("checking a session"):
            found = self.client.get_item(
                TableName=self.table,
                Key=to_item({"pk": f"{store_id}#session", "sk": SIGNED_OUT + session_id}),
                ConsistentRead=True,
                ProjectionExpression="pk",
            )
        return "Item" in found

    # ------------------------------------------------------------------------------ sign-in links

    def use_sign_in_link(self, store_id: str, token_id: str, session_id: str, link_expires: datetime) -> bool:
        """Mark a sign-in link used, once: True for the first caller, False when it was used before."""
        item = {
            "pk": f"{store_id}#sign-in",
            "sk": USED_LINK + token_id,
            "used_at": clock.isoformat(clock.now()),
            "session_id": session_id,
            "expires_at": clock.epoch_seconds(link_expires + KEEP_USED_LINK),
        }
        try:
            with self.calling("using a sign-in link"):
                self.client.put_item(
                    TableName=self.table, Item=to_item(item), ConditionExpression="attribute_not_exists(sk)"
                )
        except ConditionFailed:
            return False
        return True

    def sign_in_link_used(self, store_id: str, token_id: str) -> bool:
        with self.calling("checking a sign-in link"):
            found = self.client.get_item(
                TableName=self.table,
                Key=to_item({"pk": f"{store_id}#sign-in", "sk": USED_LINK + token_id}),
                ConsistentRead=True,
                ProjectionExpression="pk",
            )
        return "Item" in found

    def count_sign_in_request(
        self, store_id: str, email: str, window_start: datetime, window: timedelta, limit: int
    ) -> bool:
        """Count one sign-in request of an address in its window; False once ``limit`` were counted."""
        key = {
            "pk": f"{store_id}#sign-in",
            "sk": f"{RATE}{address_digest(email)}#{clock.epoch_seconds(window_start)}",
        }
        try:
            with self.calling("counting a sign-in request"):
                self.client.update_item(
                    TableName=self.table,
                    Key=to_item(key),
                    UpdateExpression="ADD links :one SET expires_at = if_not_exists(expires_at, :expires)",
                    ConditionExpression="attribute_not_exists(links) OR links < :limit",
                    ExpressionAttributeValues={
                        ":one": {"N": "1"},
                        ":limit": {"N": str(limit)},
                        ":expires": {"N": str(clock.epoch_seconds(window_start + window + window))},
                    },
                )
        except ConditionFailed:
            return False
        return True
