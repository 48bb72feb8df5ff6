"""Every error a caller meets carries the request's correlation id, and a domain error without a status of
its own is answered as the bug it is (no internal message)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.app import Blueprint, Chalice

from functions.shared import http, observability
from functions.shared.errors import ConfigurationError
from tests.helpers import ApiClient, bearer

pytestmark = pytest.mark.integration


def test_each_kind_of_error_from_the_app_carries_a_correlation_id(api: ApiClient, operator_key: str) -> None:
    answers = [
        api.get("/v1/admin/stores/no-such-store", headers=bearer(operator_key)),  # 404 not_found
        api.get("/v1/admin/stores/no-such-store"),  # 401 unauthorized
        api.post("/v1/admin/stores", json_body={"config": {}}, headers=bearer(operator_key)),  # 422
        api.get("/v1/admin/stores", query={"limit": "0"}, headers=bearer(operator_key)),  # 400 invalid_query
        api.post(
            "/webhooks/demo/events", body="{}", headers={"x-aftercare-signature": "t=1,v1=00"}
        ),  # 404/401
        api.request("DELETE", "/health"),  # 405 from Chalice, reshaped
    ]
    for answer in answers:
        assert answer.status >= 400
        assert len(answer.json["correlation_id"]) >= 8, (answer.status, answer.json)
    assert len({answer.json["correlation_id"] for answer in answers}) == len(answers)  # one per request


def test_the_gateways_unknown_route_answer_has_a_correlation_id_of_its_own() -> None:
    first = http.unknown_route("GET", "/v2/whatever?x=1")
    second = http.unknown_route("GET", "/v2/whatever")
    body = json.loads(first["body"])
    assert first["statusCode"] == 404 and first["headers"]["Content-Type"] == "application/json"
    assert body["error"] == "not_found" and body["message"] == "No route matches GET /v2/whatever."
    assert len(body["correlation_id"]) >= 8
    assert body["correlation_id"] != json.loads(second["body"])["correlation_id"]


def test_an_error_body_made_before_any_middleware_ran_still_gets_one() -> None:
    observability.logger.set_correlation_id(None)
    assert len(http.error_body("not_found", "x")["correlation_id"]) >= 8


def test_a_domain_error_with_no_status_is_an_internal_error_that_shows_nothing_internal() -> None:
    app = Chalice(app_name="unmapped")
    app.register_middleware(observability.middleware, "all")
    app.register_middleware(http.middleware, "http")
    blueprint = Blueprint(__name__)

    @http.route(blueprint, "/misconfigured")
    def misconfigured() -> Any:
        raise ConfigurationError("secret arn:aws:secretsmanager:eu-west-1:123:secret:operator does not exist")

    app.register_blueprint(blueprint)
    answer = ApiClient(app).get("/misconfigured")

    assert answer.status == 500
    assert answer.json["error"] == "internal_error" and "arn:aws" not in answer.text
    assert answer.json["correlation_id"]
