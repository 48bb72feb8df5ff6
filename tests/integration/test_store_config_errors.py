"""The admin API explains a refused store configuration in the same sentences as the CLI: the setting,
the value, what to write instead, an example; nothing is stored."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import ApiClient, bearer, minimal_store_config

pytestmark = pytest.mark.integration


def refused_fields(response: Any) -> dict[str, str]:
    assert response.status == 422, response.text
    assert response.json["error"] == "validation_failed"
    assert response.json["correlation_id"]
    return {f["field"]: f["problem"] for f in response.json["fields"]}


def test_create_names_each_bad_setting_with_an_example_and_stores_nothing(
    api: ApiClient, operator_key: str
) -> None:
    # Given a config with a lowercase currency, a misspelt setting and a duration pydantic cannot read
    config = minimal_store_config()
    config["currency"] = "usd"
    config["default_lcoale"] = "ar"
    config["outreach"]["product_types"]["clothing"]["review_delay"] = "3 dayz"

    # When the operator registers it
    response = api.post("/v1/admin/stores", json_body={"config": config}, headers=bearer(operator_key))

    # Then each problem is one sentence for its dotted path, and the store does not exist
    assert refused_fields(response) == {
        "config.currency": '"usd" is not a currency code; use three capital letters (ISO 4217), e.g. "EUR"',
        "config.default_lcoale": 'unknown setting "default_lcoale"; did you mean default_locale?',
        "config.outreach.product_types.clothing.review_delay": '"3 dayz" is not a duration; use e.g. "P7D" '
        'or "7 days" (ISO 8601; 12 hours is "PT12H")',
    }
    assert api.get("/v1/admin/stores/acme-goods", headers=bearer(operator_key)).status == 404


def test_update_and_rotation_bodies_are_explained_the_same_way(api: ApiClient, operator_key: str) -> None:
    config = minimal_store_config()
    created = api.post("/v1/admin/stores", json_body={"config": config}, headers=bearer(operator_key))
    assert created.status == 201, created.text

    update = api.request(
        "PUT",
        "/v1/admin/stores/acme-goods",
        json_body={"config": {**config, "timezone": "Europe/Berln"}, "version": 1},
        headers=bearer(operator_key),
    )
    assert refused_fields(update) == {
        "config.timezone": '"Europe/Berln" is not a time zone; use an IANA name, e.g. "Europe/Berlin"'
    }

    rotation = api.post(
        "/v1/admin/stores/acme-goods/secrets/generic/rotate",
        json_body={"grace_hours": 500},
        headers=bearer(operator_key),
    )
    assert refused_fields(rotation) == {
        "grace_hours": "500 is out of range; use a whole number from 0 to 168, e.g. 72"
    }


def test_a_refund_endpoint_this_deployment_refuses_is_explained_with_its_value(
    api: ApiClient, operator_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions import composition

    monkeypatch.setenv("AFTERCARE_ALLOW_LOOPBACK_ENDPOINTS", "false")  # as on AWS
    composition.reset()
    config = minimal_store_config()
    config["returns"] = {"refund_endpoint": "http://127.0.0.1:9000/refund"}

    response = api.post("/v1/admin/stores", json_body={"config": config}, headers=bearer(operator_key))

    problem = refused_fields(response)["config.returns.refund_endpoint"]
    assert problem.startswith('"http://127.0.0.1:9000/refund" is not a safe address here (')
    assert problem.endswith('e.g. "https://shop.example.com/aftercare/refund"')
