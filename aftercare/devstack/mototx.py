"""Make moto's ``TransactWriteItems`` cost what it touches, and keep stream readers attached after a rollback.

moto 5.2.5's ``DynamoDBBackend.transact_write_items`` first backs up every table the transaction names
with ``copy.deepcopy(table)`` (every item, and the stream shard with every record the table ever
emitted) and, when the transaction is cancelled, swaps the copies in for the live tables. Two
consequences for the local stack:

* each transaction costs time in proportion to everything its table ever held: an order webhook took
  ~100 ms once the demo store had eight weeks of history, against ~3 ms without the copy, and the local
  stack only grows while it runs;
* a cancelled transaction replaces the table's stream shard object, so every shard iterator handed out
  before it (the local stack's stream pump holds one per stream) goes on reading a shard nothing writes
  to any more: the consumers of that table's stream silently stop receiving records.

``cheap_transaction_backups`` wraps the method. Before it runs, the items the transaction names (by key)
are copied and the length of each stream noted; moto's own whole-table backup is skipped (while the
wrapped call runs, moto's ``copy.deepcopy`` of a ``Table`` returns the live table, so moto's swap puts
back the very same object); if the transaction is cancelled, those items are put back and the streams
cut back, in place. That is real DynamoDB's behaviour: all or nothing, and no stream record for a
cancelled transaction. A transaction whose items cannot be worked out (malformed: moto refuses it
anyway) runs exactly as moto wrote it.

It relies on moto's DynamoDB requests being handled one at a time (``motolock.serialize_dynamodb``,
which the local stack installs first): nothing else writes between the snapshot and a rollback. Like
``motolock`` it patches moto internals: ``tests/integration/test_devstack_transactions.py`` is its
contract test and fails loudly if a moto upgrade changes what it relies on.
"""

from __future__ import annotations

import contextvars
import copy
import functools
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_MARK = "__aftercare_cheap_backups__"
PATCHED_METHOD = "transact_write_items"  # DynamoDBBackend's method that backs up whole tables
COPY_MODULE = "copy"  # the name moto.dynamodb.models calls the copy module by
LIST_OF_MODULES = "list_of_moto_modules"  # what moto's server consults for every request's host
_inside: contextvars.ContextVar[bool] = contextvars.ContextVar("aftercare_inside_transaction", default=False)
_original: dict[str, Any] = {}


@dataclass
class _Snapshot:
    """What a transaction may change, as it was before: the named items and each stream's length."""

    items: list[tuple[Any, Any, Any, Any, bool]] = field(
        default_factory=list
    )  # table, hash, range, item, had
    streams: dict[int, tuple[Any, int]] = field(default_factory=dict)  # id(shard) -> (shard, length)

    def restore(self) -> None:
        for table, hash_key, range_key, item, had_hash in reversed(self.items):
            if range_key is not None:
                bucket = table.items[hash_key]
                if item is None:
                    bucket.pop(range_key, None)
                else:
                    bucket[range_key] = item
                if not bucket and not had_hash:
                    table.items.pop(hash_key, None)
            elif item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
        for shard, length in self.streams.values():
            del shard.items[length:]


def _key_of(table: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type == "Put":
        attrs = op["Item"]
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
        return key
    return dict(op["Key"])


def _snapshot(backend: Any, transact_items: list[dict[str, Any]]) -> _Snapshot:
    """The snapshot of everything ``transact_items`` may change; raises if they are malformed."""
    snapshot = _Snapshot()
    for entry in transact_items:
        op_type, op = next(iter(entry.items()))
        table = backend.get_table(op["TableName"])
        hash_key, range_key = backend.get_keys_value(table, _key_of(table, op_type, op))
        current = table.get_item(hash_key, range_key)
        had_hash = hash_key in table.items
        snapshot.items.append((table, hash_key, range_key, copy.deepcopy(current), had_hash))
        shard = table.stream_shard
        if shard is not None:
            snapshot.streams.setdefault(id(shard), (shard, len(shard.items)))
    return snapshot


def _deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """moto's ``copy.deepcopy``, except that a whole table is not copied inside a wrapped transaction."""
    from moto.dynamodb.models.table import Table

    if _inside.get() and isinstance(value, Table):
        return value
    return copy.deepcopy(value, memo)


def _wrap(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        try:
            snapshot = _snapshot(self, transact_items)
        except Exception:  # malformed: let moto refuse it its own way, with its own backup
            return original(self, transact_items)
        token = _inside.set(True)
        try:
            return original(self, transact_items)
        except BaseException:
            snapshot.restore()  # moto rolls back by swapping in its "backups", which are the live tables
            raise
        finally:
            _inside.reset(token)

    setattr(transact_write_items, _MARK, True)
    return transact_write_items


def cheap_transaction_backups() -> None:
    """Install the wrapper (and moto's ``copy`` stand-in). Installing twice is a no-op."""
    import moto.dynamodb.models as models

    backend = models.DynamoDBBackend
    if getattr(backend.transact_write_items, _MARK, False):
        return
    if not isinstance(getattr(models, COPY_MODULE, None), types.ModuleType):
        raise RuntimeError(
            "moto.dynamodb.models no longer imports the copy module; aftercare.devstack.mototx needs updating"
        )
    _original[PATCHED_METHOD] = getattr(backend, PATCHED_METHOD)
    _original[COPY_MODULE] = getattr(models, COPY_MODULE)
    setattr(models, COPY_MODULE, types.SimpleNamespace(deepcopy=_deepcopy, copy=copy.copy))
    setattr(backend, PATCHED_METHOD, _wrap(_original[PATCHED_METHOD]))


def uninstall() -> None:
    """Undo ``cheap_transaction_backups`` (a no-op when it is not installed)."""
    import moto.dynamodb.models as models

    if PATCHED_METHOD in _original:
        setattr(models.DynamoDBBackend, PATCHED_METHOD, _original.pop(PATCHED_METHOD))
        setattr(models, COPY_MODULE, _original.pop(COPY_MODULE))


def is_installed() -> bool:
    import moto.dynamodb.models as models

    return bool(getattr(models.DynamoDBBackend.transact_write_items, _MARK, False))


def cached_module_list() -> None:
    """Have moto's server list its own service modules once, not on every request.

    For every request whose host is not a service name (all of the local stack's: they go to
    127.0.0.1:<port>), ``DomainDispatcherApplication.get_backend_for_host`` asks
    ``moto.backends.list_of_moto_modules()``, which lists moto's package folder and stats each of its
    ~190 entries: 0.6 ms a request, about a tenth of what a DynamoDB call costs the local stack. The
    folder does not change while the stack runs. Installing twice is a no-op.
    """
    from moto import backends

    listing = backends.list_of_moto_modules
    if getattr(listing, _MARK, False):
        return
    modules = tuple(listing())

    @functools.wraps(listing)
    def list_of_moto_modules() -> tuple[str, ...]:
        return modules

    setattr(list_of_moto_modules, _MARK, True)
    setattr(backends, LIST_OF_MODULES, list_of_moto_modules)
