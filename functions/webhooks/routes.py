"""Inbound webhooks, one public route per integration (signature-authenticated, no API key)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from functions.shared.http import ApiError, json_response, route
from functions.shared.lazy import lazy_module
from functions.webhooks import errors

if TYPE_CHECKING:
    from functions import composition
    from functions.webhooks import service
else:
    composition = lazy_module("functions.composition")
    service = lazy_module("functions.webhooks.service")


blueprint = Blueprint(__name__)
JSON_AND_FORM = ["application/json", "application/x-www-form-urlencoded"]
STATUS = {
    errors.Refusal.TOO_LARGE: 413,
    errors.Refusal.NOT_ENABLED: 404,
    errors.Refusal.FORGED: 401,
    errors.Refusal.NOT_JSON: 400,
    errors.Refusal.INVALID: 422,
}


def _refused(rejection: errors.Rejection) -> ApiError:
    status = STATUS[rejection.refusal]
    headers = {"WWW-Authenticate": "Signature"} if status == 401 else None
    return ApiError(status, rejection.refusal.value, rejection.message, rejection.fields, headers)


def _receive(store_id: str, integration: str) -> Any:
    request = blueprint.current_request
    raw = request.raw_body or b""
    incoming = service.Incoming(
        store_id=store_id,
        integration=integration,
        headers={name.lower(): value for name, value in request.headers.items()},
        raw_body=raw.encode("utf-8") if isinstance(raw, str) else raw,
    )
    try:
        result = service.receive(incoming, composition.webhook_ports(), request.lambda_context)
    except errors.Rejection as rejection:
        raise _refused(rejection) from None
    except errors.InProgress:
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
