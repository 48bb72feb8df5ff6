"""DynamoDB Time to Live for the local stack: moto keeps expired items forever, so the stack deletes them.

In AWS, DynamoDB's own background process deletes an item some time after the number of epoch seconds in
its table's TTL attribute has passed (usually within a few days, typically within 48 hours; until then reads
still return it), and the deletion reaches the table's stream as a ``REMOVE`` record whose ``userIdentity``
is ``{"type": "Service", "principalId": "dynamodb.amazonaws.com"}``. :func:`expire` does the same whenever
the local stack's simulated clock moves (``DevStack.advance``), at once rather than within 48 hours:

- the TTL attribute of each table comes from ``DescribeTimeToLive`` (tables without TTL are left alone);
- a ``Scan`` finds items whose attribute is a number at most ``now`` (a string, a missing attribute or a
  time more than five years back is never expired, as in AWS); a scan is fine for a local stack;
- each is deleted with a condition that it is still expired, so an item a flow kept alive in between
  (a new ``expires_at``) stays, and the deletion lands on the stream as a ``REMOVE`` record;
- :func:`mark_service_removal`, called by the stream pump for each record it reads, gives the ``REMOVE``
  records of these deletions the ``userIdentity`` AWS's own TTL deletions carry.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import boto3

from aftercare.devstack.provision import REGION

SERVICE_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
NEVER_BEFORE = timedelta(days=5 * 365)  # AWS skips items whose TTL lies more than five years back

_deleted: dict[tuple[str, str], int] = {}  # (table, key) -> deletions not yet seen on the stream
_lock = threading.Lock()


def _key_text(key: dict[str, Any]) -> str:
    return json.dumps(key, sort_keys=True, default=str)


def ttl_attribute(client: Any, table: str) -> str | None:
    """The table's TTL attribute, or None when TTL is not enabled on it."""
    description = client.describe_time_to_live(TableName=table).get("TimeToLiveDescription", {})
    if description.get("TimeToLiveStatus") not in {"ENABLED", "ENABLING"}:
        return None
    name = description.get("AttributeName")
    return str(name) if name else None


def _shape(client: Any, table: str) -> tuple[list[str], bool]:
    """The table's key attribute names, and whether it has a stream (only then is a deletion remembered)."""
    described = client.describe_table(TableName=table)["Table"]
    streamed = bool((described.get("StreamSpecification") or {}).get("StreamEnabled"))
    return [str(part["AttributeName"]) for part in described["KeySchema"]], streamed


def _expired(client: Any, table: str, attribute: str, now: datetime) -> Iterable[dict[str, Any]]:
    """Items whose TTL attribute is a number from five years back to ``now`` (compared here: moto's filter
    would fail on a string where DynamoDB's simply does not match)."""
    newest, oldest = int(now.timestamp()), int((now - NEVER_BEFORE).timestamp())
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "attribute_exists(#ttl)",
        "ExpressionAttributeNames": {"#ttl": attribute},
    }
    while True:
        response = client.scan(**kwargs)
        for item in response.get("Items", []):
            number = item[attribute].get("N")
            if number is not None and oldest <= float(number) <= newest:
                yield item
        if "LastEvaluatedKey" not in response:
            return
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def expire(tables: Iterable[str], now: datetime, client: Any = None) -> dict[str, int]:
    """Delete every item of ``tables`` whose TTL attribute is at most ``now``; how many per table."""
    from botocore.exceptions import ClientError

    client = client or boto3.session.Session(region_name=REGION).client("dynamodb")
    deleted: dict[str, int] = {}
    for table in tables:
        attribute = ttl_attribute(client, table)
        if attribute is None:
            continue
        names, streamed = _shape(client, table)
        for item in list(_expired(client, table, attribute, now)):
            key = {name: item[name] for name in names}
            if streamed:
                with _lock:
                    _deleted[(table, _key_text(key))] = _deleted.get((table, _key_text(key)), 0) + 1
            try:
                client.delete_item(
                    TableName=table,
                    Key=key,
                    ConditionExpression="#ttl <= :now",
                    ExpressionAttributeNames={"#ttl": attribute},
                    ExpressionAttributeValues={":now": {"N": str(int(now.timestamp()))}},
                )
            except ClientError as error:
                _forget(table, key)
                if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                continue  # kept alive since the scan read it
            deleted[table] = deleted.get(table, 0) + 1
    return deleted


def _forget(table: str, key: dict[str, Any]) -> bool:
    """Take one pending deletion of ``key`` off the list; False when there was none."""
    with _lock:
        count = _deleted.get((table, _key_text(key)), 0)
        if not count:
            return False
        if count == 1:
            del _deleted[(table, _key_text(key))]
        else:
            _deleted[(table, _key_text(key))] = count - 1
        return True


def table_of(stream_arn: str) -> str:
    """``arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>`` -> ``<name>``."""
    return stream_arn.split(":table/", 1)[-1].split("/stream/", 1)[0]


def mark_service_removal(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """Give a ``REMOVE`` record of an item :func:`expire` deleted the ``userIdentity`` of a TTL deletion."""
    if record.get("eventName") != "REMOVE":
        return record
    keys = (record.get("dynamodb") or {}).get("Keys") or {}
    if _forget(table_of(stream_arn), keys):
        record["userIdentity"] = dict(SERVICE_IDENTITY)
    return record
