"""Operators register stores; stores read their own configuration; secrets are shown once."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import ApiClient, bearer, minimal_store_config

pytestmark = pytest.mark.integration


def create(api: ApiClient, operator_key: str, config: dict[str, Any], **extra: Any) -> Any:
    return api.post("/v1/admin/stores", json_body={"config": config, **extra}, headers=bearer(operator_key))


def test_operator_creates_a_store_and_gets_its_secrets_once(
    api: ApiClient, operator_key: str, store_config: dict[str, Any]
) -> None:
    response = create(api, operator_key, store_config, webhook_secrets={"shopify": "shpss_" + "s" * 32})

    assert response.status == 201
    body = response.json
    assert body["admin_key"].startswith("ak_acme-goods.")
    assert body["webhook_secrets"]["shopify"] == "shpss_" + "s" * 32  # the secret Shopify dictates
    assert body["webhook_secrets"]["generic"].startswith("whsec_")
    assert "woocommerce" not in body["webhook_secrets"]  # not enabled in this config
    assert body["store"]["webhook_urls"] == {
        "shopify": "https://care.example.com/webhooks/acme-goods/shopify",
        "generic": "https://care.example.com/webhooks/acme-goods/events",
    }
    assert body["sender_identity"]["domain"] == "acme-goods.example.com"

    shown = api.get("/v1/admin/stores/acme-goods", headers=bearer(operator_key))
    assert shown.status == 200
    assert shown.json["config"]["name"] == "Acme Goods"
    for secret in [body["admin_key"], *body["webhook_secrets"].values()]:
        assert secret not in shown.text
    assert "hash" not in shown.text


def test_store_id_cannot_be_taken_twice(
    api: ApiClient, operator_key: str, store_config: dict[str, Any]
) -> None:
    assert create(api, operator_key, store_config).status == 201

    again = create(api, operator_key, {**store_config, "name": "Impostor"})

    assert again.status == 409
    assert again.json["error"] == "conflict"
    assert (
        api.get("/v1/admin/stores/acme-goods", headers=bearer(operator_key)).json["config"]["name"]
        == "Acme Goods"
    )


def test_invalid_config_is_422_naming_each_field_and_nothing_is_stored(
    api: ApiClient, operator_key: str
) -> None:
    config = minimal_store_config()
    config["sender"]["email"] = "nope"
    config["timezone"] = "Nowhere/City"

    response = create(api, operator_key, config)

    assert response.status == 422
    fields = {f["field"]: f["problem"] for f in response.json["fields"]}
    assert "config.sender.email" in fields
    assert fields["config.timezone"].startswith('"Nowhere/City" is not a time zone; use an IANA name')
    assert api.get("/v1/admin/stores/acme-goods", headers=bearer(operator_key)).status == 404


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b"{not json", 400, "invalid_json"),
        (b"", 400, "empty_body"),
        (b"\xff\xfe", 400, "invalid_encoding"),
        (b"[]", 422, "validation_failed"),
        (b"x" * 300_000, 413, "body_too_large"),
    ],
)
def test_malformed_bodies_get_clear_errors(
    api: ApiClient, operator_key: str, body: bytes, status: int, error: str
) -> None:
    response = api.post("/v1/admin/stores", body=body, headers=bearer(operator_key))
    assert response.status == status
    assert response.json["error"] == error
    assert response.json["message"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), (bearer("wrong-key"), 401), ({"authorization": "Basic abc"}, 401)],
)
def test_operator_routes_need_the_operator_key(
    api: ApiClient, store_config: dict[str, Any], headers: dict[str, str], status: int
) -> None:
    response = api.post("/v1/admin/stores", json_body={"config": store_config}, headers=headers)
    assert response.status == status
    assert response.json["error"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert api.get("/v1/admin/stores/acme-goods", headers=headers).status == status


class TestStoreAdminKey:
    @pytest.fixture
    def keys(self, api: ApiClient, operator_key: str) -> dict[str, str]:
        first = create(api, operator_key, minimal_store_config("acme-goods")).json["admin_key"]
        second = create(api, operator_key, minimal_store_config("other-shop")).json["admin_key"]
        return {"acme-goods": first, "other-shop": second}

    def test_own_key_reads_own_store(self, api: ApiClient, keys: dict[str, str]) -> None:
        response = api.get("/v1/stores/acme-goods", headers=bearer(keys["acme-goods"]))
        assert response.status == 200
        assert response.json["id"] == "acme-goods"

    def test_missing_key_is_401(self, api: ApiClient, keys: dict[str, str]) -> None:
        response = api.get("/v1/stores/acme-goods")
        assert response.status == 401
        assert "admin API key" in response.json["message"]

    def test_wrong_secret_is_401(self, api: ApiClient, keys: dict[str, str]) -> None:
        forged = keys["acme-goods"][:-4] + "AAAA"
        assert api.get("/v1/stores/acme-goods", headers=bearer(forged)).status == 401

    def test_another_stores_key_is_403(self, api: ApiClient, keys: dict[str, str]) -> None:
        response = api.get("/v1/stores/acme-goods", headers=bearer(keys["other-shop"]))
        assert response.status == 403
        assert response.json["error"] == "forbidden"
        assert "Acme" not in response.text

    def test_key_naming_an_unknown_store_reveals_nothing(self, api: ApiClient, keys: dict[str, str]) -> None:
        response = api.get("/v1/stores/ghost-shop", headers=bearer("ak_ghost-shop.abcdef"))
        assert response.status == 401

    def test_operator_key_is_not_a_store_key(
        self, api: ApiClient, operator_key: str, keys: dict[str, str]
    ) -> None:
        assert api.get("/v1/stores/acme-goods", headers=bearer(operator_key)).status == 401
