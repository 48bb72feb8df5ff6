"""Store management: update the configuration, rotate secrets and keys, list stores, read the history.

Every change names its ``actor`` ("operator", "store admin key", or a workspace owner's email) and is
recorded in the store's config history in the same transaction as the change. Changes to one store are
serialised (the adapter conditions each on the store's change count); a change that lost a race is
re-read and retried, except an update based on a version that is no longer current, which is refused.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from functions.shared import clock
from functions.shared.errors import Conflict
from functions.stores import changes
from functions.stores.changes import ChangedMeanwhile, StaleVersion, TooManySecrets
from functions.stores.models import (
    INTEGRATIONS,
    ConfigChange,
    RetiringSecret,
    RotatedSecret,
    SecretRecord,
    SecretRotationRequest,
    StoreSummary,
    StoreUpdateRequest,
    UpdatedStore,
)
from functions.stores.service import (
    InvalidConfig,
    _check_deployment_rules,
    _hash_key,
    new_admin_key,
    new_webhook_secret,
)
from functions.stores.store import StoreRepository

ATTEMPTS = 3  # a change that lost a race with another change to the same store is retried this often
MAX_RETIRING = 3  # replaced secrets per integration still in their grace period when rotating again
MAX_ACTOR = 254


def _check_actor(actor: str) -> str:
    if not actor or len(actor) > MAX_ACTOR or not actor.isprintable():
        raise ValueError("actor must be a short printable name or email address")
    return actor


def _busy(store_id: str) -> Conflict:
    return Conflict(f"Store {store_id!r} is being changed by someone else right now; try again in a moment.")


# ------------------------------------------------------------------------------------------- update


def update_store(
    store_id: str,
    request: StoreUpdateRequest,
    repository: StoreRepository,
    *,
    allow_loopback: bool,
    actor: str,
) -> UpdatedStore:
    """Replace a store's configuration if ``request.version`` is still the current one.

    Validation is create's (the model, then ``_check_deployment_rules``). The id cannot change. An
    integration this update enables without a secret gets one (from ``request.webhook_secrets`` or
    generated); secrets of integrations that have one change only by rotation. An update that changes
    nothing writes nothing and keeps the version.
    """
    _check_actor(actor)
    config = request.config
    if config.id != store_id:
        raise InvalidConfig(
            "config.id", f"cannot change: this is store {store_id!r} (create a new store instead)"
        )
    _check_deployment_rules(config, allow_loopback)
    for _ in range(ATTEMPTS):
        before = repository.get(store_id)
        if before.version != request.version:
            raise _stale(store_id, request.version, before.version)
        issued = _first_secrets(store_id, request, repository)
        diff = changes.config_diff(before, config)
        if not diff:
            return UpdatedStore(store=before, changes=[])
        now = clock.isoformat(clock.now())
        after = before.model_copy(update={"config": config, "version": before.version + 1, "updated_at": now})
        record = changes.updated(now, actor, diff, after.version, sorted(issued))
        try:
            repository.update_config(before, after, record, issued)
        except ChangedMeanwhile:
            continue
        return UpdatedStore(store=repository.get(store_id), changes=diff, webhook_secrets=issued)
    raise _busy(store_id)


def _stale(store_id: str, based_on: int, current: int) -> StaleVersion:
    return StaleVersion(
        f"Store {store_id!r} changed since you read it: your update is based on version {based_on}, "
        f"the configuration is now at version {current}. Re-run the update (`aftercare store update`) "
        "to see the current difference, then apply it again."
    )


def _first_secrets(store_id: str, request: StoreUpdateRequest, repository: StoreRepository) -> dict[str, str]:
    """Secrets for integrations the new config enables that have none yet."""
    record = repository.secret_record(store_id)
    held = {name for name, values in record.current.items() if values}
    for name in request.webhook_secrets:
        if name in held:
            raise InvalidConfig(
                f"webhook_secrets.{name}",
                f"the {name} integration has a secret already; change it with "
                f"`aftercare store rotate-secret {store_id} --integration {name}`",
            )
    enabled = [name for name, item in request.config.integrations.items() if item.enabled]
    return {
        name: request.webhook_secrets.get(name) or new_webhook_secret()
        for name in INTEGRATIONS
        if name in enabled and name not in held
    }


# ------------------------------------------------------------------------------------------- rotations


def rotate_webhook_secret(
    store_id: str,
    integration: str,
    request: SecretRotationRequest,
    repository: StoreRepository,
    *,
    actor: str,
) -> RotatedSecret:
    """Give an integration a new secret; the replaced ones keep verifying for ``request.grace_hours``.

    The new secret verifies at once (and signs refund calls for ``generic``). At most ``MAX_RETIRING``
    replaced secrets may be in their grace period per integration: more is refused (``TooManySecrets``).
    """
    _check_actor(actor)
    if integration not in INTEGRATIONS:
        raise InvalidConfig("integration", f"must be one of {', '.join(INTEGRATIONS)}")
    for _ in range(ATTEMPTS):
        store = repository.get(store_id)
        item = store.config.integrations.get(integration)
        if item is None or not item.enabled:
            raise InvalidConfig(
                "integration",
                f"store {store_id!r} has no {integration} integration enabled (update its config)",
            )
        now = clock.now()
        secret = request.secret or new_webhook_secret()
        record, until = _rotated(
            repository.secret_record(store_id), integration, secret, now, request.grace_hours
        )
        at = clock.isoformat(now)
        change = changes.secret_rotated(at, actor, integration, until, store.version)
        try:
            repository.replace_secrets(store, record, change)
        except ChangedMeanwhile:
            continue
        return RotatedSecret(integration=integration, secret=secret, previous_valid_until=until)
    raise _busy(store_id)


def _rotated(
    record: SecretRecord, integration: str, secret: str, now: datetime, grace_hours: int
) -> tuple[SecretRecord, str | None]:
    """The record after rotating ``integration`` to ``secret``, and until when the replaced ones verify."""
    now_iso = clock.isoformat(now)
    if secret in record.active(now_iso).webhook.get(integration, []):
        raise InvalidConfig("secret", "is in use already: a rotation needs a new secret")
    replaced = record.current.get(integration, [])
    until = clock.isoformat(now + timedelta(hours=grace_hours)) if replaced else None
    alive = {
        name: [r for r in olds if r.expires_at > now_iso] for name, olds in record.retiring.items()
    }  # expired ones are dropped whenever the item is written
    moved = [RetiringSecret(secret=s, expires_at=until) for s in replaced] if until and grace_hours else []
    kept = alive.get(integration, [])
    if len(kept) + len(moved) > MAX_RETIRING:
        last = max(r.expires_at for r in kept)
        raise TooManySecrets(
            f"The {integration} integration already has {len(kept)} replaced secrets in their grace period "
            f"(the last one expires at {last}); rotate again after that, or use a grace period of 0 hours."
        )
    alive[integration] = moved + kept
    current = {**record.current, integration: [secret]}
    return SecretRecord(current=current, retiring={k: v for k, v in alive.items() if v}), until


def rotate_admin_key(store_id: str, repository: StoreRepository, *, actor: str) -> str:
    """A new admin API key for the store (returned once); the previous one stops working at once."""
    _check_actor(actor)
    for _ in range(ATTEMPTS):
        store = repository.get(store_id)
        key = new_admin_key(store_id)
        change = changes.admin_key_rotated(clock.isoformat(clock.now()), actor, store.version)
        try:
            repository.replace_admin_key(store, _hash_key(key), change)
        except ChangedMeanwhile:
            continue
        return key
    raise _busy(store_id)


# ------------------------------------------------------------------------------------------- reading


def history(store_id: str, repository: StoreRepository, limit: int = 50) -> list[ConfigChange]:
    """The store's config history, newest first; ``NotFound`` for an unknown store."""
    repository.get(store_id, cached=True)
    return repository.history(store_id, limit)


def list_stores(
    repository: StoreRepository, limit: int = 100, after: str | None = None
) -> tuple[list[StoreSummary], str | None]:
    return repository.list_stores(limit, after)
