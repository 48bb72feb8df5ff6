"""Stores table adapter: the only code that reads or writes store items.

Layout: ``pk = <store_id>``; ``sk = CONFIG`` holds the configuration and admin key hash,
``sk = SECRETS`` the webhook secrets (read only by signature checks, never by ``show``).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from functions.shared import aws
from functions.shared.dynamo import from_item, to_item
from functions.shared.errors import Conflict, NotFound
from functions.stores.models import Store, StoreConfig, StoreSecrets

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CONFIG_SK = "CONFIG"
SECRETS_SK = "SECRETS"
_CACHE_SECONDS = 30.0


class StoreRepository:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client = client
        self._cache: dict[str, tuple[float, Store]] = {}
        self._secrets: dict[str, tuple[float, StoreSecrets]] = {}
        self._lock = threading.Lock()

    @property
    def client(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()

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
        condition = "attribute_not_exists(pk)"
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": to_item(config_item),
                            "ConditionExpression": condition,
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": to_item(secrets_item),
                            "ConditionExpression": condition,
                        }
                    },
                ]
            )
        except ClientError as error:
            if aws.error_code(error) == "TransactionCanceledException":
                reasons = error.response.get("CancellationReasons", [])
                if any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons):
                    raise Conflict(f"a store with id {store.id!r} already exists") from error
            raise aws.domain_error(error, "creating a store") from error

    def _get(self, store_id: str, sk: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_item(
                TableName=self._table, Key=to_item({"pk": store_id, "sk": sk}), ConsistentRead=True
            )
        except ClientError as error:
            raise aws.domain_error(error, "reading a store") from error
        item = response.get("Item")
        return from_item(item) if item else None

    def get(self, store_id: str, *, cached: bool = False) -> Store:
        if cached:
            hit = self._cache.get(store_id)
            if hit and time.monotonic() - hit[0] < _CACHE_SECONDS:
                return hit[1]
        data = self._get(store_id, CONFIG_SK)
        if data is None:
            raise NotFound(f"no store with id {store_id!r}")
        store = Store(
            config=StoreConfig.model_validate(data["config"]),
            created_at=data["created_at"],
            admin_key_hash=data["admin_key_hash"],
            secrets_version=int(data.get("secrets_version", 1)),
        )
        with self._lock:
            self._cache[store_id] = (time.monotonic(), store)
        return store

    def get_secrets(self, store_id: str) -> StoreSecrets:
        """Webhook secrets, cached as long as the configuration (a rotation takes effect within 30 s)."""
        hit = self._secrets.get(store_id)
        if hit and time.monotonic() - hit[0] < _CACHE_SECONDS:
            return hit[1]
        data = self._get(store_id, SECRETS_SK)
        if data is None:
            raise NotFound(f"no store with id {store_id!r}")
        secrets = StoreSecrets(
            webhook={name: list(values) for name, values in data.get("webhook", {}).items()}
        )
        with self._lock:
            self._secrets[store_id] = (time.monotonic(), secrets)
        return secrets


def default_repository() -> StoreRepository:
    from functions.shared.repositories import shared
    from functions.shared.settings import get_settings

    settings = get_settings()
    return shared(StoreRepository, settings.stores_table)
