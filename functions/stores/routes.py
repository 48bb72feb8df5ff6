"""Store registry HTTP routes (operator-authenticated admin routes and the store's own view)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from functions.shared.http import ApiError, json_response, parse_json_body, route
from functions.shared.lazy import lazy_module

if TYPE_CHECKING:
    from functions import composition
    from functions.stores import email_identity as identities
    from functions.stores import management, models, retention, service
    from functions.stores.models import Store
else:
    composition = lazy_module("functions.composition")
    service = lazy_module("functions.stores.service")
    management = lazy_module("functions.stores.management")
    identities = lazy_module("functions.stores.email_identity")
    models = lazy_module("functions.stores.models")
    retention = lazy_module("functions.stores.retention")

OPERATOR = "operator"  # the actor recorded in the config history for operator-key calls
STORE_ADMIN = "store admin key"


blueprint = Blueprint(__name__)


def _auth_failed(error: service.AuthError) -> ApiError:
    if isinstance(error, service.WrongStore):
        return ApiError(403, "forbidden", error.message)
    return ApiError(
        401, "unauthorized", error.message, headers={"WWW-Authenticate": 'Bearer realm="aftercare"'}
    )


def _require_operator() -> None:
    from functions.shared.secrets import get_secret

    operator_key = get_secret(composition.adapters().settings.operator_key_secret_arn)
    try:
        service.authenticate_operator(blueprint.current_request.headers.get("authorization"), operator_key)
    except service.AuthError as error:
        raise _auth_failed(error) from None


def _invalid(invalid: service.InvalidConfig) -> ApiError:
    return ApiError(
        422,
        "validation_failed",
        "Some fields are missing or invalid.",
        [{"field": invalid.field, "problem": invalid.problem}],
    )


def _config_body(model: type[models.StoreCreateRequest]) -> Any:
    """A create or update body; a refused one is a 422 whose ``fields`` say what to write instead."""
    from functions.stores import config_errors

    return parse_json_body(
        blueprint.current_request.raw_body, model, lambda error: config_errors.fields(error, model)
    )


def _sender_identity(sender_email: str) -> dict[str, Any]:
    """The sender domain's SES verification, and whether the store owner must act on it.

    On the local stack SES is simulated and every email lands in the dev outbox: nothing needs verifying,
    so there are no DNS records to publish and ``verification_needed`` is false.
    """
    identity = identities.ensure_sender_domain(sender_email)
    if composition.adapters().settings.stage == "local":
        return {**identity, "dkim_records": [], "verification_needed": False}
    return {**identity, "verification_needed": not identity["verified"]}


def _base_url() -> str:
    return composition.adapters().settings.public_base_url


@route(blueprint, "/v1/admin/stores", methods=("POST",))
def create_store() -> Any:
    _require_operator()
    request = _config_body(models.StoreCreateRequest)
    try:
        root = composition.adapters()
        created = service.create_store(
            request, root.stores, allow_loopback=root.settings.allow_loopback_endpoints
        )
    except service.InvalidConfig as invalid:
        raise _invalid(invalid) from None
    body = {
        "store": service.public_view(created.store, _base_url()),
        "sender_identity": _sender_identity(str(created.store.config.sender.email)),
        "admin_key": created.admin_key,
        "webhook_secrets": created.webhook_secrets,
        "notice": "Store these secrets now: they are shown only once.",
    }
    return json_response(body, 201)


@route(blueprint, "/v1/admin/stores/{store_id}")
def show_store_as_operator(store_id: str) -> Any:
    _require_operator()
    return json_response(service.public_view(composition.adapters().stores.get(store_id), _base_url()))


def require_store_admin(on: Any, store_id: str) -> Store:
    """The store, if the request carries its admin key; otherwise a 401/403 ``ApiError``."""
    try:
        return service.authenticate_store_admin(
            store_id, on.current_request.headers.get("authorization"), composition.adapters().stores
        )
    except service.AuthError as error:
        raise _auth_failed(error) from None


@route(blueprint, "/v1/stores/{store_id}")
def show_store(store_id: str) -> Any:
    store = require_store_admin(blueprint, store_id)
    return json_response(service.public_view(store, _base_url()))


# ------------------------------------------------------------------------------ store management


def _limit(default: int, high: int) -> int:
    query: dict[str, str] = dict(blueprint.current_request.query_params or {})
    raw = query.get("limit") or str(default)
    if not raw.isdigit() or not 1 <= int(raw) <= high:
        raise ApiError(
            400,
            "invalid_query",
            f"limit must be a whole number from 1 to {high}.",
            [{"field": "limit", "problem": f"must be between 1 and {high}"}],
        )
    return int(raw)


@route(blueprint, "/v1/admin/stores")
def list_stores() -> Any:
    """The registry, in id order; ``after`` continues from the previous page's ``next``."""
    _require_operator()
    query: dict[str, str] = dict(blueprint.current_request.query_params or {})
    after = query.get("after") or None
    if after is not None and (len(after) > 64 or not after.isprintable()):
        raise ApiError(400, "invalid_query", "after must be a store id from the previous page's next.")
    stores, more = management.list_stores(composition.adapters().stores, _limit(100, 1000), after)
    return json_response({"stores": [s.model_dump() for s in stores], "next": more})


def _update(store_id: str, actor: str) -> Any:
    request = _config_body(models.StoreUpdateRequest)
    root = composition.adapters()
    try:
        updated = management.update_store(
            store_id,
            request,
            root.stores,
            allow_loopback=root.settings.allow_loopback_endpoints,
            actor=actor,
        )
    except service.InvalidConfig as invalid:
        raise _invalid(invalid) from None
    before = {c["path"] for c in updated.changes}
    body: dict[str, Any] = {
        "store": service.public_view(updated.store, _base_url()),
        "version": updated.store.version,
        "changes": updated.changes,
        "webhook_secrets": updated.webhook_secrets,
    }
    if "sender.email" in before:
        body["sender_identity"] = _sender_identity(str(updated.store.config.sender.email))
    if updated.webhook_secrets:
        body["notice"] = "Store the new webhook secrets now: they are shown only once."
    return json_response(body)


@route(blueprint, "/v1/admin/stores/{store_id}", methods=("PUT",))
def update_store_as_operator(store_id: str) -> Any:
    """Replace a store's configuration (operator key); 409 if ``version`` is no longer the current one."""
    _require_operator()
    return _update(store_id, OPERATOR)


@route(blueprint, "/v1/stores/{store_id}/config", methods=("PUT",))
def update_own_config(store_id: str) -> Any:
    """The same update, by the store itself with its admin key."""
    require_store_admin(blueprint, store_id)
    return _update(store_id, STORE_ADMIN)


def _rotation_body() -> models.SecretRotationRequest:
    raw = blueprint.current_request.raw_body
    if not raw or not raw.strip():
        return models.SecretRotationRequest()
    from functions.stores import config_errors

    rotation = models.SecretRotationRequest
    return parse_json_body(raw, rotation, lambda error: config_errors.fields(error, rotation))


@route(blueprint, "/v1/admin/stores/{store_id}/secrets/{integration}/rotate", methods=("POST",))
def rotate_webhook_secret(store_id: str, integration: str) -> Any:
    """A new webhook secret, shown once; the replaced one keeps verifying for ``grace_hours`` (72)."""
    _require_operator()
    request = _rotation_body()
    try:
        rotated = management.rotate_webhook_secret(
            store_id, integration, request, composition.adapters().stores, actor=OPERATOR
        )
    except service.InvalidConfig as invalid:
        raise _invalid(invalid) from None
    until = rotated.previous_valid_until
    return json_response(
        {
            "integration": rotated.integration,
            "secret": rotated.secret,
            "previous_valid_until": until,
            "notice": "Store this secret now: it is shown only once. "
            + (
                f"The previous secret keeps working until {until}."
                if until
                else "There was no previous secret."
            ),
        }
    )


@route(blueprint, "/v1/admin/stores/{store_id}/admin-key/rotate", methods=("POST",))
def rotate_admin_key(store_id: str) -> Any:
    """A new admin API key, shown once; the previous key stops working at once."""
    _require_operator()
    key = management.rotate_admin_key(store_id, composition.adapters().stores, actor=OPERATOR)
    return json_response(
        {
            "admin_key": key,
            "notice": "Store this key now: it is shown only once. The previous key stopped working at once.",
        }
    )


@route(blueprint, "/v1/admin/stores/{store_id}/retention/apply", methods=("POST",))
def apply_retention(store_id: str) -> Any:
    """Put the store's current retention on every item it holds (operator key; idempotent)."""
    _require_operator()
    store = composition.adapters().stores.get(store_id)
    return json_response(retention.apply(store, composition.retention_ports()).as_json())


def _history(store_id: str) -> Any:
    changes = management.history(store_id, composition.adapters().stores, _limit(50, 200))
    return json_response({"store_id": store_id, "history": [c.model_dump() for c in changes]})


@route(blueprint, "/v1/admin/stores/{store_id}/history")
def history_as_operator(store_id: str) -> Any:
    """The store's config history, newest first (operator key)."""
    _require_operator()
    return _history(store_id)


@route(blueprint, "/v1/stores/{store_id}/history")
def own_history(store_id: str) -> Any:
    """The store's config history, newest first (the store's admin key)."""
    require_store_admin(blueprint, store_id)
    return _history(store_id)
