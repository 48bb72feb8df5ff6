"""Deliver DynamoDB stream records to their Lambda handlers, as Lambda's event source mapping would.

The mappings come from ``AWS::Lambda::EventSourceMapping`` resources in ``infra/``. A handler that
returns ``batchItemFailures`` has the batch retried from the first failed record (Lambda's
ReportBatchItemFailures semantics); one that raises has the whole batch retried. After
``MaximumRetryAttempts`` the records are set aside as failed and shown in the dev console.

When records are delivered is the local stack's choice: ``watch_appends`` makes moto's stream shards set
``APPENDED`` whenever a record is appended, and the stack's stream thread wakes on it and pumps, so a
record reaches its consumer tens of milliseconds after its write (Lambda's poller with no batching
window) instead of at the next one-second tick. The pump itself is unchanged: one reader at a time
under the stack's lock, records in shard order, retries and the failed list as above; the one-second
tick still pumps too, which is when a failed batch is retried.
"""

from __future__ import annotations

import copy
import functools
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3

from aftercare.devstack import expiry
from aftercare.devstack.lambdas import LocalLambdaContext
from aftercare.devstack.provision import REGION

APPENDED = threading.Event()  # set after moto appends a record to any DynamoDB stream (``watch_appends``)
PATCHED_METHOD = "add"  # moto's StreamShard.add(old, new): appends one stream record
_MARK = "__aftercare_watched__"


def _shard_class() -> Any:
    from moto.dynamodb.models.table import StreamShard

    return StreamShard


def watch_appends() -> None:
    """Set ``APPENDED`` whenever moto appends a stream record. Installing twice is a no-op.

    moto appends while it handles the write (under ``motolock``'s lock), so a reader woken by the event
    reads through the same lock and sees the record once the write is done. A record a cancelled
    transaction appended is cut back by ``mototx`` before anyone can read it: the reader then finds
    nothing, which is harmless. ``tests/integration/test_stream_delivery.py`` is the contract test of
    this patch of moto's internals.
    """
    shard = _shard_class()
    original = shard.__dict__.get(PATCHED_METHOD)
    if not callable(original):
        raise RuntimeError(
            f"moto's StreamShard has no {PATCHED_METHOD}(); aftercare.devstack.streams needs updating"
        )
    if getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    def add(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, *args, **kwargs)
        finally:
            APPENDED.set()

    setattr(add, _MARK, True)
    setattr(shard, PATCHED_METHOD, add)


def unwatch_appends() -> None:
    """Undo ``watch_appends`` (a no-op when it is not installed)."""
    shard = _shard_class()
    current = shard.__dict__.get(PATCHED_METHOD)
    if getattr(current, _MARK, False):
        setattr(shard, PATCHED_METHOD, current.__wrapped__)


def is_watching() -> bool:
    return bool(getattr(_shard_class().__dict__.get(PATCHED_METHOD), _MARK, False))


@dataclass
class Mapping:
    table: str
    stream_arn: str
    function_name: str
    handler: Any
    batch_size: int = 100
    max_retries: int = 3
    pending: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    delivered: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_jsonable(v) for v in value]
    return value


@dataclass
class _Stream:
    """Where the pump stands in one stream. Every mapping on the stream is fed from one read, as Lambda's
    pollers each read the whole stream: two consumers of one table cost one ``GetRecords`` per pass."""

    iterators: dict[str, str | None] = field(default_factory=dict)  # shard id -> next iterator (None: closed)
    described: bool = False  # shards known; described again once one closes (its children appear)


class StreamPump:
    def __init__(self, mappings: list[Mapping]) -> None:
        self.mappings = mappings
        self._client: Any = None
        self._streams: dict[str, _Stream] = {}

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.session.Session(region_name=REGION).client("dynamodbstreams")
        return self._client

    def _describe(self, stream_arn: str, stream: _Stream) -> None:
        shards = self.client.describe_stream(StreamArn=stream_arn)["StreamDescription"].get("Shards", [])
        for shard in shards:
            if shard["ShardId"] not in stream.iterators:
                stream.iterators[shard["ShardId"]] = self.client.get_shard_iterator(
                    StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
        stream.described = bool(stream.iterators)

    def _fetch(self, stream_arn: str) -> list[dict[str, Any]]:
        stream = self._streams.setdefault(stream_arn, _Stream())
        if not stream.described:
            self._describe(stream_arn, stream)
        records: list[dict[str, Any]] = []
        for shard_id, iterator in list(stream.iterators.items()):
            if iterator is None:
                continue
            response = self.client.get_records(ShardIterator=iterator, Limit=1000)
            stream.iterators[shard_id] = response.get("NextShardIterator")
            if stream.iterators[shard_id] is None:
                stream.described = False  # the shard closed: look for the shards that continue it
            for record in response.get("Records", []):
                record = expiry.mark_service_removal(_jsonable(record), stream_arn)
                record["eventSourceARN"] = stream_arn
                records.append(record)
        return records

    def _deliver(self, mapping: Mapping) -> int:
        batch = mapping.pending[: mapping.batch_size]
        try:
            result = mapping.handler(
                {"Records": batch}, LocalLambdaContext(function_name=mapping.function_name)
            )
        except Exception as error:
            return self._retry(mapping, 0, f"{type(error).__name__}: {error}")
        failures = (result or {}).get("batchItemFailures") or [] if isinstance(result, dict) else []
        if failures:
            failed_ids = {item.get("itemIdentifier") for item in failures}
            first = next(
                (i for i, r in enumerate(batch) if r.get("dynamodb", {}).get("SequenceNumber") in failed_ids),
                0,
            )
            mapping.delivered += first
            del mapping.pending[:first]
            return first + self._retry(mapping, 0, "batch item failures reported")
        mapping.delivered += len(batch)
        mapping.attempts = 0
        del mapping.pending[: len(batch)]
        return len(batch)

    def _retry(self, mapping: Mapping, start: int, reason: str) -> int:
        mapping.attempts += 1
        if mapping.attempts > mapping.max_retries:
            record = mapping.pending.pop(start)
            mapping.failed.append({"reason": reason, "record": record})
            mapping.attempts = 0
        return 0

    def pump(self) -> int:
        """One pass over every stream; returns how many records were handled."""
        handled = 0
        fetched: dict[str, list[dict[str, Any]]] = {}
        for mapping in self.mappings:
            if mapping.stream_arn not in fetched:
                fetched[mapping.stream_arn] = self._fetch(mapping.stream_arn)
            mapping.pending.extend(copy.deepcopy(fetched[mapping.stream_arn]))  # each consumer its own copy
            while mapping.pending:
                before = len(mapping.pending)
                handled += self._deliver(mapping)
                if len(mapping.pending) == before:
                    break  # a failed attempt: retry on the next pass
        return handled

    def skip_existing(self) -> int:
        """Start every stream after the records it holds now, delivering none (a restored stack's own
        writes were delivered before it was saved). Returns how many were skipped."""
        skipped = 0
        for arn in {mapping.stream_arn for mapping in self.mappings}:
            while records := self._fetch(arn):
                skipped += len(records)
        return skipped

    def pump_until_quiet(self, max_passes: int = 50) -> int:
        total = 0
        for _ in range(max_passes):
            handled = self.pump()
            total += handled
            if handled == 0 and not any(m.pending for m in self.mappings):
                break
        return total
