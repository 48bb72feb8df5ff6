"""Stores table adapter: the only code that reads or writes store items.

Layout (docs/data-model.md, Stores):

* ``pk = <store_id>, sk = CONFIG``: the configuration, its ``version``, the admin key hash and
  ``change_count`` (how many changes the config history holds; every change is conditioned on it, so
  changes to one store are serialised and number their history items).
* ``pk = <store_id>, sk = SECRETS``: ``webhook`` (integration -> current secrets, never expiring) and
  ``retiring`` (integration -> replaced secrets with their ``expires_at``). Items written before
  rotation existed have only ``webhook``. Read only by signature checks and rotations, never by ``show``.
* ``pk = <store_id>, sk = HISTORY#<n>``: one item per change (``n`` = ``change_count`` after it,
  zero-padded, so a query newest-first is the history in order).
* ``pk = #stores, sk = <store_id>``: the registry, so listing stores is a query, never a scan.

Every change writes its history item (and the registry item) in the same ``TransactWriteItems``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from functions.shared import aws, clock
from functions.shared.adapter import DynamoAdapter
from functions.shared.dynamo import from_item, to_item, to_value
from functions.shared.errors import Conflict, NotFound
from functions.stores.changes import ChangedMeanwhile, created
from functions.stores.models import (
    ConfigChange,
    RetiringSecret,
    SecretRecord,
    Store,
    StoreConfig,
    StoreSecrets,
    StoreSummary,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

CONFIG_SK = "CONFIG"
SECRETS_SK = "SECRETS"
HISTORY_PREFIX = "HISTORY#"
REGISTRY_PK = "#stores"  # no store id starts with '#', so the registry never meets a store's items
_CACHE_SECONDS = 30.0
_PAGE = 1000


T = TypeVar("T")


class _Recent(Generic[T]):
    """What was read for each store in the last ``_CACHE_SECONDS`` (a change takes effect within 30 s)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._found: dict[str, tuple[float, T]] = {}

    def get(self, store_id: str) -> T | None:
        hit = self._found.get(store_id)
        return hit[1] if hit and time.monotonic() - hit[0] < _CACHE_SECONDS else None

    def keep(self, store_id: str, value: T) -> T:
        with self._lock:
            self._found[store_id] = (time.monotonic(), value)
        return value

    def drop(self, store_id: str) -> None:
        with self._lock:
            self._found.pop(store_id, None)


def history_sk(number: int) -> str:
    return f"{HISTORY_PREFIX}{number:010d}"


def _history_item(store_id: str, number: int, change: ConfigChange) -> dict[str, Any]:
    return {"pk": store_id, "sk": history_sk(number), **change.model_dump()}


def _registry_item(store: Store) -> dict[str, Any]:
    return {
        "pk": REGISTRY_PK,
        "sk": store.id,
        "name": store.config.name,
        "created_at": store.created_at,
        "version": store.version,
    }


def _secrets_item(store_id: str, record: SecretRecord) -> dict[str, Any]:
    retiring = {name: [r.model_dump() for r in olds] for name, olds in record.retiring.items() if olds}
    return {"pk": store_id, "sk": SECRETS_SK, "webhook": record.current, "retiring": retiring}


def _store_of(data: dict[str, Any]) -> Store:
    return Store(
        config=StoreConfig.model_validate(data["config"]),
        created_at=data["created_at"],
        admin_key_hash=data["admin_key_hash"],
        secrets_version=int(data.get("secrets_version", 1)),
        version=int(data.get("version", 1)),
        updated_at=data.get("updated_at"),
        change_count=int(data.get("change_count", 0)),
        created_by=str(data.get("created_by", "operator")),
    )


def _record_of(data: dict[str, Any]) -> SecretRecord:
    retiring = {
        name: [RetiringSecret.model_validate(r) for r in olds]
        for name, olds in data.get("retiring", {}).items()
    }
    current = {name: [str(s) for s in values] for name, values in data.get("webhook", {}).items()}
    return SecretRecord(current=current, retiring=retiring)


class StoreRepository(DynamoAdapter):
    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        super().__init__(table, client)
        self._stores: _Recent[Store] = _Recent()
        self._secrets: _Recent[SecretRecord] = _Recent()

    # ------------------------------------------------------------------------------ create and read

    def create(self, store: Store, secrets: StoreSecrets) -> None:
        """Write config, secrets, registry entry and the first history item together, or nothing.

        A taken id is a ``Conflict``.
        """
        from botocore.exceptions import ClientError

        config_item = {
            "pk": store.id,
            "sk": CONFIG_SK,
            "config": store.config.model_dump(mode="json"),
            "created_at": store.created_at,
            "admin_key_hash": store.admin_key_hash,
            "secrets_version": store.secrets_version,
            "version": store.version,
            "change_count": 1,
            "created_by": store.created_by,
        }
        secrets_item = {"pk": store.id, "sk": SECRETS_SK, "webhook": secrets.webhook}
        items = (config_item, secrets_item, _registry_item(store), _history_item(store.id, 1, created(store)))
        puts: list[TransactWriteItemTypeDef] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item(item),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for item in items
        ]
        try:
            self.client.transact_write_items(TransactItems=puts)
        except ClientError as error:
            if aws.error_code(error) == "TransactionCanceledException":
                reasons = error.response.get("CancellationReasons", [])
                if any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons):
                    raise Conflict(f"a store with id {store.id!r} already exists") from error
            raise aws.domain_error(error, "creating a store") from error

    def _get(self, store_id: str, sk: str) -> dict[str, Any]:
        with self.calling("reading a store"):
            response = self.client.get_item(
                TableName=self.table, Key=to_item({"pk": store_id, "sk": sk}), ConsistentRead=True
            )
        item = response.get("Item")
        if not item:
            raise NotFound(f"no store with id {store_id!r}")
        return from_item(item)

    def get(self, store_id: str, *, cached: bool = False) -> Store:
        hit = self._stores.get(store_id) if cached else None
        if hit is not None:
            return hit
        return self._stores.keep(store_id, _store_of(self._get(store_id, CONFIG_SK)))

    def secret_record(self, store_id: str, *, cached: bool = False) -> SecretRecord:
        """The SECRETS item as stored, replaced secrets and their expiry included."""
        hit = self._secrets.get(store_id) if cached else None
        if hit is not None:
            return hit
        return self._secrets.keep(store_id, _record_of(self._get(store_id, SECRETS_SK)))

    def get_secrets(self, store_id: str) -> StoreSecrets:
        """The webhook secrets that verify now: current ones, then replaced ones still in their grace period.

        The item is cached 30 s in a warm Lambda; expiry is judged on every call, so a replaced secret
        stops verifying when its grace period ends, cached or not.
        """
        return self.secret_record(store_id, cached=True).active(clock.isoformat(clock.now()))

    def forget(self, store_id: str) -> None:
        """Drop what this process cached for a store (after changing it)."""
        self._stores.drop(store_id)
        self._secrets.drop(store_id)

    # ------------------------------------------------------------------------------ changes

    def update_config(
        self, before: Store, after: Store, change: ConfigChange, new_secrets: dict[str, str]
    ) -> None:
        """Replace the configuration if it is still at ``before.version`` (``ChangedMeanwhile`` if not).

        ``new_secrets`` are first secrets of integrations this update enables; each is written only if
        the integration has none (else ``ChangedMeanwhile`` too).
        """
        values = {
            ":config": to_value(after.config.model_dump(mode="json")),
            ":version": to_value(after.version),
            ":updated": to_value(after.updated_at),
        }
        extra: list[TransactWriteItemTypeDef] = [self._put(_registry_item(after))]
        if new_secrets:
            extra.append(self._first_secrets(before.id, new_secrets))
        condition = (
            "version = :based_on"
            if before.version > 1
            else "(attribute_not_exists(version) OR version = :based_on)"
        )
        values[":based_on"] = to_value(before.version)
        self._commit(
            before,
            change,
            set_clause="config = :config, version = :version, updated_at = :updated",
            values=values,
            condition=condition,
            extra=extra,
        )

    def replace_secrets(self, store: Store, record: SecretRecord, change: ConfigChange) -> None:
        """Write the whole SECRETS item (a rotation), serialised with every other change to the store."""
        item: TransactWriteItemTypeDef = {
            "Put": {
                "TableName": self.table,
                "Item": to_item(_secrets_item(store.id, record)),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        self._commit(store, change, extra=[item, self._put(_registry_item(store))])

    def replace_admin_key(self, store: Store, key_hash: str, change: ConfigChange) -> None:
        """Store a new admin key hash: the previous key stops matching at once."""
        self._commit(
            store,
            change,
            set_clause="admin_key_hash = :hash",
            values={":hash": to_value(key_hash)},
            extra=[self._put(_registry_item(store))],
        )

    def _put(self, item: dict[str, Any]) -> TransactWriteItemTypeDef:
        return {"Put": {"TableName": self.table, "Item": to_item(item)}}

    def _first_secrets(self, store_id: str, secrets: dict[str, str]) -> TransactWriteItemTypeDef:
        names = {f"#n{i}": name for i, name in enumerate(sorted(secrets))}
        sets = ", ".join(f"webhook.{alias} = :s{i}" for i, alias in enumerate(names))
        absent = " AND ".join(f"attribute_not_exists(webhook.{alias})" for alias in names)
        return {
            "Update": {
                "TableName": self.table,
                "Key": to_item({"pk": store_id, "sk": SECRETS_SK}),
                "UpdateExpression": f"SET {sets}",
                "ConditionExpression": f"attribute_exists(pk) AND {absent}",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": {
                    f":s{i}": to_value([secrets[name]]) for i, name in enumerate(names.values())
                },
            }
        }

    def _commit(
        self,
        store: Store,
        change: ConfigChange,
        *,
        set_clause: str = "",
        values: dict[str, Any] | None = None,
        condition: str = "",
        extra: list[TransactWriteItemTypeDef],
    ) -> None:
        """One transaction: the CONFIG item (conditioned on ``change_count``), the history item, ``extra``."""
        from botocore.exceptions import ClientError

        number = store.change_count + 1
        counted = "change_count = :seen" if store.change_count else "attribute_not_exists(change_count)"
        all_values = {**(values or {}), ":number": to_value(number)}
        if store.change_count:
            all_values[":seen"] = to_value(store.change_count)
        config_update: TransactWriteItemTypeDef = {
            "Update": {
                "TableName": self.table,
                "Key": to_item({"pk": store.id, "sk": CONFIG_SK}),
                "UpdateExpression": "SET " + ", ".join(filter(None, [set_clause, "change_count = :number"])),
                "ConditionExpression": " AND ".join(
                    filter(None, ["attribute_exists(pk)", counted, condition])
                ),
                "ExpressionAttributeValues": all_values,
            }
        }
        history: TransactWriteItemTypeDef = {
            "Put": {
                "TableName": self.table,
                "Item": to_item(_history_item(store.id, number, change)),
                "ConditionExpression": "attribute_not_exists(sk)",
            }
        }
        try:
            self.client.transact_write_items(TransactItems=[config_update, history, *extra])
        except ClientError as error:
            if aws.error_code(error) == "TransactionCanceledException":
                reasons = error.response.get("CancellationReasons", [])
                if any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons):
                    raise ChangedMeanwhile(f"store {store.id!r} changed meanwhile") from error
            raise aws.domain_error(error, "changing a store") from error
        finally:
            self.forget(store.id)

    # ------------------------------------------------------------------------------ history and registry

    def history(self, store_id: str, limit: int = 50) -> list[ConfigChange]:
        """The store's config history, newest first (at most ``limit`` entries)."""
        found: list[ConfigChange] = []
        for item in self._query(store_id, HISTORY_PREFIX, newest_first=True, page=min(max(limit, 1), _PAGE)):
            found.append(
                ConfigChange.model_validate({k: v for k, v in item.items() if k not in ("pk", "sk")})
            )
            if len(found) >= limit:
                break
        return found

    def list_stores(
        self, limit: int = 100, after: str | None = None
    ) -> tuple[list[StoreSummary], str | None]:
        """One page of the registry in id order, and the id to continue after (None at the end)."""
        stores: list[StoreSummary] = []
        for item in self._query(REGISTRY_PK, "", start_after=after, page=min(max(limit, 1), _PAGE)):
            stores.append(
                StoreSummary(
                    id=item["sk"],
                    name=item["name"],
                    created_at=item["created_at"],
                    version=int(item["version"]),
                )
            )
            if len(stores) >= limit:
                return stores, self._more_after(stores[-1].id)
        return stores, None

    def _more_after(self, store_id: str) -> str | None:
        """``store_id`` if the registry holds a store after it (so a page never ends with an empty next)."""
        rest = self._query(REGISTRY_PK, "", start_after=store_id, page=1, keys_only=True)
        return store_id if next(rest, None) is not None else None

    def list_ids(self) -> list[str]:
        """Every registered store id (paginated queries of the registry, never a scan)."""
        return [str(item["sk"]) for item in self._query(REGISTRY_PK, "", page=_PAGE, keys_only=True)]

    def _query(
        self,
        pk: str,
        prefix: str,
        *,
        newest_first: bool = False,
        start_after: str | None = None,
        page: int = _PAGE,
        keys_only: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Items of one partition (sort keys starting with ``prefix``), following pages lazily."""
        condition = "pk = :pk" + (" AND begins_with(sk, :prefix)" if prefix else "")
        values = {":pk": to_value(pk), **({":prefix": to_value(prefix)} if prefix else {})}
        options: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not newest_first,
            "Limit": page,
        }
        if keys_only:
            options["ProjectionExpression"] = "pk, sk"
        if start_after:
            options["ExclusiveStartKey"] = to_item({"pk": pk, "sk": start_after})
        while True:
            with self.calling("reading stores"):
                response = self.client.query(**options)
            yield from (from_item(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            options["ExclusiveStartKey"] = response["LastEvaluatedKey"]
