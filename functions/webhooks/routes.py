"""Inbound webhooks, one public route per integration (signature-authenticated, no API key)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from functions.shared.http import ApiError, json_response, route
from functions.shared.lazy import lazy_module

if TYPE_CHECKING:
    from functions.orders import store as orders_store
    from functions.stores import store as stores_store
    from functions.webhooks import service
else:
    orders_store = lazy_module("functions.orders.store")
    stores_store = lazy_module("functions.stores.store")
    service = lazy_module("functions.webhooks.service")


blueprint = Blueprint(__name__)
JSON_AND_FORM = ["application/json", "application/x-www-form-urlencoded"]


def _receive(store_id: str, integration: str) -> Any:
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

    request = blueprint.current_request
    raw = request.raw_body or b""
    incoming = service.Incoming(
        store_id=store_id,
        integration=integration,
        headers={name.lower(): value for name, value in request.headers.items()},
        raw_body=raw.encode("utf-8") if isinstance(raw, str) else raw,
    )
    try:
        result = service.receive(
            incoming,
            stores_store.default_repository(),
            orders_store.default_repository(),
            request.lambda_context,
        )
    except service.Rejection as rejection:
        headers = {"WWW-Authenticate": "Signature"} if rejection.status == 401 else None
        raise ApiError(
            rejection.status, rejection.code, rejection.message, rejection.fields, headers
        ) from None
    except IdempotencyAlreadyInProgressError:
        raise ApiError(
            409, "in_progress", "This event is being processed right now; retry shortly."
        ) from None
    return json_response(result, 200)


@route(blueprint, "/webhooks/{store_id}/shopify", methods=("POST",), content_types=JSON_AND_FORM)
def shopify(store_id: str) -> Any:
    return _receive(store_id, "shopify")


@route(blueprint, "/webhooks/{store_id}/woocommerce", methods=("POST",), content_types=JSON_AND_FORM)
def woocommerce(store_id: str) -> Any:
    return _receive(store_id, "woocommerce")


@route(blueprint, "/webhooks/{store_id}/events", methods=("POST",), content_types=JSON_AND_FORM)
def events(store_id: str) -> Any:
    return _receive(store_id, "generic")
