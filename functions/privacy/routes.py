"""Customer data export and erase over HTTP (thin: authenticate, parse, one service call, answer).

* ``POST /v1/stores/{store_id}/customers/export`` and ``.../erase``: the store's admin key;
* ``POST /v1/admin/stores/{store_id}/customers/export`` and ``.../erase``: the operator key (the CLI).

The address travels in the JSON body (``{"email": "..."}``), never in a URL, so it stays out of access
logs. ``?format=html`` answers the export as a readable page instead of JSON. Both are POSTs: erase is
an action, and export is one a person asks for deliberately.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

from functions.shared.http import PAGE_HEADERS, ApiError, json_response, parse_json_body, route
from functions.shared.lazy import lazy_module

if TYPE_CHECKING:
    from functions import composition
    from functions.privacy import render, service
    from functions.stores import service as stores
    from functions.stores.models import Store
else:
    composition = lazy_module("functions.composition")
    service = lazy_module("functions.privacy.service")
    render = lazy_module("functions.privacy.render")
    stores = lazy_module("functions.stores.service")

blueprint = Blueprint(__name__)
OPERATOR, STORE_ADMIN = "operator", "store admin key"
FORMATS = ("json", "html")


def _unauthorized(error: stores.AuthError) -> ApiError:
    if isinstance(error, stores.WrongStore):
        return ApiError(403, "forbidden", error.message)
    return ApiError(
        401, "unauthorized", error.message, headers={"WWW-Authenticate": 'Bearer realm="aftercare"'}
    )


def _as_store_admin(store_id: str) -> Store:
    try:
        return stores.authenticate_store_admin(
            store_id, blueprint.current_request.headers.get("authorization"), composition.adapters().stores
        )
    except stores.AuthError as error:
        raise _unauthorized(error) from None


def _as_operator(store_id: str) -> Store:
    from functions.shared.secrets import get_secret

    operator_key = get_secret(composition.adapters().settings.operator_key_secret_arn)
    try:
        stores.authenticate_operator(blueprint.current_request.headers.get("authorization"), operator_key)
    except stores.AuthError as error:
        raise _unauthorized(error) from None
    return composition.adapters().stores.get(store_id)  # NotFound: 404 "no store ..."


def _email() -> str:
    from functions.privacy.models import CustomerRequest

    body = parse_json_body(blueprint.current_request.raw_body, CustomerRequest)
    try:
        return service.checked_email(body.email)
    except service.InvalidEmail as error:
        raise ApiError(
            422,
            "validation_failed",
            "Some fields are missing or invalid.",
            [{"field": "email", "problem": error.message}],
        ) from None


def _format() -> str:
    params: Any = blueprint.current_request.query_params or {}
    chosen = str(params.get("format") or "json")
    if chosen not in FORMATS:
        raise ApiError(400, "invalid_format", "format must be json or html.")
    return chosen


def export(store: Store) -> Response:
    chosen, email = _format(), _email()
    document = service.export(composition.privacy_ports(), store, email)
    if chosen == "html":
        return Response(body=render.html(document, store), status_code=200, headers=dict(PAGE_HEADERS))
    return json_response(document)


def erase(store: Store, by: str) -> Response:
    email = _email()
    return json_response(service.erase(composition.privacy_ports(), store, email, by).as_json(store.id))


@route(blueprint, "/v1/stores/{store_id}/customers/export", methods=("POST",))
def export_as_store(store_id: str) -> Any:
    return export(_as_store_admin(store_id))


@route(blueprint, "/v1/stores/{store_id}/customers/erase", methods=("POST",))
def erase_as_store(store_id: str) -> Any:
    store = _as_store_admin(store_id)
    return erase(store, STORE_ADMIN)


@route(blueprint, "/v1/admin/stores/{store_id}/customers/export", methods=("POST",))
def export_as_operator(store_id: str) -> Any:
    return export(_as_operator(store_id))


@route(blueprint, "/v1/admin/stores/{store_id}/customers/erase", methods=("POST",))
def erase_as_operator(store_id: str) -> Any:
    return erase(_as_operator(store_id), OPERATOR)
