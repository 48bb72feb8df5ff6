"""Read API for stores: an order, its outreach plan and its event history (store admin key)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from functions.shared.http import ApiError, json_response, route
from functions.shared.lazy import lazy_module
from functions.stores.routes import require_store_admin

if TYPE_CHECKING:
    from functions.orders import service
    from functions.orders import store as orders_store
else:
    service = lazy_module("functions.orders.service")
    orders_store = lazy_module("functions.orders.store")


blueprint = Blueprint(__name__)


@route(blueprint, "/v1/stores/{store_id}/orders/{order_id}")
def get_order(store_id: str, order_id: str) -> Any:
    require_store_admin(blueprint, store_id)
    if len(order_id) > 200:
        raise ApiError(400, "invalid_order_id", "Order ids are at most 200 characters.")
    view = service.order_view(store_id, order_id, orders_store.default_repository())
    if view is None:
        raise ApiError(404, "not_found", f"No order {order_id} for store {store_id}.")
    return json_response(view)
