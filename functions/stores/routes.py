"""Store registry HTTP routes (operator-authenticated admin routes and the store's own view)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from functions.shared.http import ApiError, json_response, parse_json_body, route
from functions.shared.lazy import lazy_module

if TYPE_CHECKING:
    from functions import composition
    from functions.stores import email_identity as identities
    from functions.stores import models, service
    from functions.stores.models import Store
else:
    composition = lazy_module("functions.composition")
    service = lazy_module("functions.stores.service")
    identities = lazy_module("functions.stores.email_identity")
    models = lazy_module("functions.stores.models")


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


def _base_url() -> str:
    return composition.adapters().settings.public_base_url


@route(blueprint, "/v1/admin/stores", methods=("POST",))
def create_store() -> Any:
    _require_operator()
    request = parse_json_body(blueprint.current_request.raw_body, models.StoreCreateRequest)
    try:
        root = composition.adapters()
        created = service.create_store(
            request, root.stores, allow_loopback=root.settings.allow_loopback_endpoints
        )
    except service.InvalidConfig as invalid:
        raise ApiError(
            422,
            "validation_failed",
            "Some fields are missing or invalid.",
            [{"field": invalid.field, "problem": invalid.problem}],
        ) from None
    body = {
        "store": service.public_view(created.store, _base_url()),
        "sender_identity": identities.ensure_sender_domain(str(created.store.config.sender.email)),
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
