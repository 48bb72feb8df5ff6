"""Every error a caller can meet is JSON that says what is wrong, never a stack trace."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.app import Blueprint, Chalice
from pydantic import BaseModel

from functions.shared import http, observability
from functions.shared.errors import NotFound, Throttled
from functions.shared.http import parse_json_body, route
from tests.helpers import ApiClient

pytestmark = pytest.mark.integration


class Order(BaseModel):
    order_id: str
    quantity: int


def build_app() -> Chalice:
    """An app wired exactly like app.py, with routes that fail in each way."""
    app = Chalice(app_name="conventions")
    app.register_middleware(observability.middleware, "all")
    app.register_middleware(http.middleware, "http")
    blueprint = Blueprint(__name__)

    @route(blueprint, "/boom")
    def boom() -> Any:
        raise RuntimeError("secret internals: password=hunter2")

    @route(blueprint, "/missing")
    def missing() -> Any:
        raise NotFound("no order 42 in this store")

    @route(blueprint, "/busy")
    def busy() -> Any:
        raise Throttled("DynamoDB throttled")

    @route(blueprint, "/orders", methods=("POST",))
    def orders() -> Any:
        order = parse_json_body(blueprint.current_request.raw_body, Order)
        return {"ok": order.order_id}

    app.register_blueprint(blueprint)
    return app


@pytest.fixture
def client() -> ApiClient:
    return ApiClient(build_app())


def test_unknown_route_is_json_404(client: ApiClient) -> None:
    response = client.get("/no/such/thing")
    assert response.status == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json["error"] == "not_found"
    assert "GET /no/such/thing" in response.json["message"]


def test_unknown_route_on_the_real_app_is_json_404(api: ApiClient) -> None:
    assert api.get("/v2/whatever").json["error"] == "not_found"


def test_the_local_gateway_answers_an_unknown_route_like_production(api: ApiClient) -> None:
    first = api.get("/v2/whatever?token=secret")
    second = api.request("POST", "/v2/whatever")
    assert first.status == 404 and first.headers["content-type"] == "application/json"
    assert first.json["message"] == "No route matches GET /v2/whatever."
    assert len(first.json["correlation_id"]) >= 8  # like API Gateway's $context.requestId, never empty
    assert first.json["correlation_id"] != second.json["correlation_id"]


def test_wrong_method_is_json_405_with_allow(client: ApiClient) -> None:
    response = client.request("DELETE", "/orders")
    assert response.status == 405
    assert response.json["error"] == "method_not_allowed"
    assert response.headers["allow"] == "POST"


def test_internal_error_is_500_with_correlation_id_and_no_trace(client: ApiClient) -> None:
    response = client.get("/boom")
    assert response.status == 500
    body = response.json
    assert body["error"] == "internal_error"
    assert len(body["correlation_id"]) >= 8
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text


def test_domain_errors_map_to_their_status(client: ApiClient) -> None:
    assert client.get("/missing").status == 404
    assert client.get("/missing").json["message"] == "no order 42 in this store"
    assert client.get("/busy").status == 503


def test_bad_json_is_400(client: ApiClient) -> None:
    response = client.post("/orders", body='{"order_id": ')
    assert response.status == 400
    assert response.json["error"] == "invalid_json"
    assert "line 1" in response.json["message"]


def test_invalid_fields_are_422_naming_each_field(client: ApiClient) -> None:
    response = client.post("/orders", json_body={"quantity": "many"})
    assert response.status == 422
    fields = {f["field"]: f["problem"] for f in response.json["fields"]}
    assert fields == {
        "order_id": "Field required",
        "quantity": "Input should be a valid integer, unable to parse string as an integer",
    }


def test_wrong_content_type_is_json_415(client: ApiClient) -> None:
    response = client.post(
        "/orders", body="a=b", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status == 415
    assert response.json["error"] == "unsupported_media_type"


def test_health_answers_without_aws(client: ApiClient) -> None:
    import app

    response = ApiClient(app.app).get("/health")
    assert response.status == 200
    assert response.json["status"] == "ok"
