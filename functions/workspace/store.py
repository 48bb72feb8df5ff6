"""Workspace table adapter: the only code that reads or writes workspace items.

Layout (``pk``/``sk``, TTL ``expires_at``) is documented in ``docs/data-model.md``. Every partition
key starts with the store id, so one store's items are never addressed by another store's key.
"""

from __future__ import annotations

from datetime import datetime

from functions.shared import clock
from functions.shared.adapter import DynamoAdapter
from functions.shared.dynamo import to_item
from functions.workspace.digest_items import DigestItems

SIGNED_OUT = "SIGNED_OUT#"


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
