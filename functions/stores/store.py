"""Stores table adapter: the only code that reads or writes store items.

Layout: ``pk = <store_id>``; ``sk = CONFIG`` holds the configuration and admin key hash,
``sk = SECRETS`` the webhook secrets (read only by signature checks, never by ``show``).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from functions.shared import aws
from functions.shared.adapter import DynamoAdapter
from functions.shared.dynamo import from_item, to_item
from functions.shared.errors import Conflict, NotFound
from functions.stores.models import Store, StoreConfig, StoreSecrets

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

CONFIG_SK = "CONFIG"
SECRETS_SK = "SECRETS"
_CACHE_SECONDS = 30.0


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


class StoreRepository(DynamoAdapter):
    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        super().__init__(table, client)
        self._stores: _Recent[Store] = _Recent()
        self._secrets: _Recent[StoreSecrets] = _Recent()

    def create(self, store: Store, secrets: StoreSecrets) -> None:
        """Write config and secrets together, or neither; a taken id is a ``Conflict``."""
        from botocore.exceptions import ClientError

        config_item = {
            "pk": store.id,
            "sk": CONFIG_SK,
            "config": store.config.model_dump(mode="json"),
            "created_at": store.created_at,
            "admin_key_hash": store.admin_key_hash,
            "secrets_version": store.secrets_version,
        }
        secrets_item = {"pk": store.id, "sk": SECRETS_SK, "webhook": secrets.webhook}
        puts: list[TransactWriteItemTypeDef] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item(item),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for item in (config_item, secrets_item)
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
        data = self._get(store_id, CONFIG_SK)
        store = Store(
            config=StoreConfig.model_validate(data["config"]),
            created_at=data["created_at"],
            admin_key_hash=data["admin_key_hash"],
            secrets_version=int(data.get("secrets_version", 1)),
        )
        return self._stores.keep(store_id, store)

    def get_secrets(self, store_id: str) -> StoreSecrets:
        """Webhook secrets, cached as long as the configuration (a rotation takes effect within 30 s)."""
        hit = self._secrets.get(store_id)
        if hit is not None:
            return hit
        data = self._get(store_id, SECRETS_SK)
        webhook = {name: list(values) for name, values in data.get("webhook", {}).items()}
        return self._secrets.keep(store_id, StoreSecrets(webhook=webhook))
