"""Store registry logic: create stores, show them without secrets, authenticate their callers."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from functions.shared import clock
from functions.shared.errors import NotFound
from functions.stores.models import (
    INTEGRATIONS,
    CreatedStore,
    Store,
    StoreConfig,
    StoreCreateRequest,
    StoreSecrets,
)
from functions.stores.store import StoreRepository

ADMIN_KEY_PREFIX = "ak_"


class InvalidConfig(Exception):
    """A configuration the model accepts but this deployment does not; ``field`` names the setting."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class AuthError(Exception):
    """Authentication failed: the caller is not who they claim (``NotAuthenticated``) or not this store's."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAuthenticated(AuthError):
    """No key, a malformed one or a wrong one: who is calling is unknown."""


class WrongStore(AuthError):
    """A valid-looking key of another store."""


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_admin_key(store_id: str) -> str:
    return f"{ADMIN_KEY_PREFIX}{store_id}.{secrets.token_urlsafe(32)}"


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def create_store(
    request: StoreCreateRequest, repository: StoreRepository, *, allow_loopback: bool, actor: str = "operator"
) -> CreatedStore:
    """Register a store; generate its admin key and any webhook secret the caller did not supply.

    ``allow_loopback`` is the deployment's rule: only the local stack may call back to 127.0.0.1.
    ``actor`` is recorded as the author of the store's first config history entry.
    """
    config = request.config
    _check_deployment_rules(config, allow_loopback)
    admin_key = new_admin_key(config.id)
    webhook: dict[str, str] = {}
    for name in INTEGRATIONS:
        if name in config.integrations and config.integrations[name].enabled:
            webhook[name] = request.webhook_secrets.get(name) or new_webhook_secret()
    store = Store(
        config=config,
        created_at=clock.isoformat(clock.now()),
        admin_key_hash=_hash_key(admin_key),
        created_by=actor,
    )
    repository.create(store, StoreSecrets(webhook={name: [secret] for name, secret in webhook.items()}))
    return CreatedStore(store=store, admin_key=admin_key, webhook_secrets=webhook)


def _check_deployment_rules(config: StoreConfig, allow_loopback: bool) -> None:
    """Rules that depend on where Aftercare runs: only the local stack may call back to 127.0.0.1."""
    from functions.shared.endpoints import UnsafeEndpoint, check_endpoint_url

    endpoint = config.returns.refund_endpoint
    if endpoint:
        try:
            check_endpoint_url(endpoint, allow_loopback=allow_loopback)
        except UnsafeEndpoint as unsafe:
            from functions.stores.config_errors import sentence

            raise InvalidConfig(
                "config.returns.refund_endpoint",
                sentence(
                    endpoint,
                    f"is not a safe address here ({unsafe})",
                    "use an https:// address on a public host",
                    "https://shop.example.com/aftercare/refund",
                ),
            ) from None


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authenticate_operator(authorization: str | None, operator_key: str) -> None:
    presented = bearer_token(authorization)
    if presented is None:
        raise NotAuthenticated("Send the operator key as 'Authorization: Bearer <key>'.")
    if not hmac.compare_digest(presented.encode("utf-8"), operator_key.encode("utf-8")):
        raise NotAuthenticated("The operator key is not valid.")


def authenticate_store_admin(store_id: str, authorization: str | None, repository: StoreRepository) -> Store:
    """The store, if the bearer key is this store's admin key.

    The store is read uncached (one consistent read per admin call), so a rotated key stops working at
    once in every Lambda, not when another container's 30-second cache expires.
    """
    presented = bearer_token(authorization)
    if presented is None:
        raise NotAuthenticated("Send the store's admin API key as 'Authorization: Bearer <key>'.")
    if not presented.startswith(ADMIN_KEY_PREFIX) or "." not in presented:
        raise NotAuthenticated("The admin API key is malformed.")
    key_store = presented[len(ADMIN_KEY_PREFIX) :].rsplit(".", 1)[0]
    if not hmac.compare_digest(key_store.encode("utf-8"), store_id.encode("utf-8")):
        raise WrongStore("This admin API key belongs to another store.")
    try:
        store = repository.get(store_id)
    except NotFound:
        raise NotAuthenticated("The admin API key is not valid.") from None
    if not hmac.compare_digest(_hash_key(presented), store.admin_key_hash):
        raise NotAuthenticated("The admin API key is not valid.")
    return store


def public_view(store: Store, base_url: str) -> dict[str, Any]:
    """What an operator or the store itself may see: config, never secrets or hashes."""
    enabled = [name for name, item in store.config.integrations.items() if item.enabled]
    base = base_url.rstrip("/")
    return {
        "id": store.id,
        "created_at": store.created_at,
        "version": store.version,
        "updated_at": store.updated_at,
        "config": store.config.model_dump(mode="json"),
        "webhook_urls": {name: f"{base}/webhooks/{store.id}/{_path(name)}" for name in enabled},
    }


def _path(integration: str) -> str:
    return "events" if integration == "generic" else integration
