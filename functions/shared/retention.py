"""What the table owners share to put a store's retention on items already written (decision 82).

``aftercare store apply-retention`` (``functions.stores.retention``) asks each owner of customer data to
set ``expires_at`` on the store's items from when each was last written. The owners page through the
store's items with a Scan filtered on its key prefix: not every table has a per-store index, and this
operator-run backfill, like the insights rebuild, is the only reader that needs one (nothing on a request
path calls it). An item is only changed when its expiry differs, and never re-created if it was deleted
in between.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from functions.shared import clock
from functions.shared.adapter import ConditionFailed, DynamoAdapter
from functions.shared.dynamo import from_item, to_value


def store_items(
    adapter: DynamoAdapter, condition: str, values: dict[str, Any], what: str
) -> Iterator[dict[str, Any]]:
    """Every item of the adapter's table matching ``condition`` (a filter on the store's keys), paged."""
    kwargs: dict[str, Any] = {
        "TableName": adapter.table,
        "FilterExpression": condition,
        "ExpressionAttributeValues": {name: to_value(value) for name, value in values.items()},
    }
    while True:
        with adapter.calling(what):
            response = adapter.client.scan(**kwargs)
        yield from (from_item(item) for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def keep_until(adapter: DynamoAdapter, item: dict[str, Any], until: datetime, what: str) -> bool:
    """Set the item's ``expires_at`` to ``until``; False when it already had it or is gone."""
    expires = clock.epoch_seconds(until)
    if item.get("expires_at") == expires:
        return False
    try:
        with adapter.calling(what):
            adapter.client.update_item(
                TableName=adapter.table,
                Key={"pk": to_value(item["pk"]), "sk": to_value(item["sk"])},
                UpdateExpression="SET expires_at = :expires",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":expires": {"N": str(expires)}},
            )
    except ConditionFailed:
        return False
    return True


def written_at(item: dict[str, Any], *names: str) -> datetime | None:
    """The first of ``names`` the item holds, as a time (None when it holds none)."""
    for name in names:
        if item.get(name):
            return clock.parse_iso(str(item[name]))
    return None
