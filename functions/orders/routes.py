"""Read API for stores: an order, its outreach plan and its event history (store admin key)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from functions.shared.http import ApiError, json_response, route
from functions.shared.lazy import lazy_module
from functions.stores.routes import require_store_admin

if TYPE_CHECKING:
    from functions.orders import service
    from functions.orders.store import OrderRepository
else:
    service = lazy_module("functions.orders.service")


blueprint = Blueprint(__name__)


def _orders() -> OrderRepository:
    from functions import composition

    return composition.adapters().orders


@route(blueprint, "/v1/stores/{store_id}/orders/{order_id}")
def get_order(store_id: str, order_id: str) -> Any:
    require_store_admin(blueprint, store_id)
    if len(order_id) > 200:
        raise ApiError(400, "invalid_order_id", "Order ids are at most 200 characters.")
    view = service.order_view(store_id, order_id, _orders())
    if view is None:
        raise ApiError(404, "not_found", f"No order {order_id} for store {store_id}.")
    return json_response(view)


@route(blueprint, "/v1/stores/{store_id}/quarantine")
def list_quarantined(store_id: str) -> Any:
    """Authentic platform deliveries Aftercare could not use, newest first, with the reason."""
    require_store_admin(blueprint, store_id)
    query: dict[str, str] = dict(blueprint.current_request.query_params or {})
    raw_limit = query.get("limit") or "50"
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 200:
        raise ApiError(
            400,
            "invalid_query",
            "limit must be a whole number from 1 to 200.",
            [{"field": "limit", "problem": "must be between 1 and 200"}],
        )
    events = _orders().quarantined(store_id, int(raw_limit))
    keys = (
        "integration",
        "topic",
        "event_key",
        "received_at",
        "order_id",
        "quarantined",
        "raw_size",
        "raw_sha256",
    )
    return json_response({"quarantined": [{k: e.get(k) for k in keys} for e in events]})
