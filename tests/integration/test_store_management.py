"""Store management over the admin API: list, update (versioned), rotate secrets and keys, config history.

Every test goes through the real routes against moto's DynamoDB, provisioned from infra/; the clock is the
one clock (frozen at T0 by the ``frozen`` fixture, moved forward to cross a secret's grace period).
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest

from functions.shared import clock
from tests.helpers import ApiClient, ApiResponse, bearer, minimal_store_config
from tests.webhooks import shopify_headers

pytestmark = pytest.mark.integration


# ------------------------------------------------------------------------------------------------ helpers


class Desk:
    """An operator at the admin API, and the stores they created (with their admin keys and secrets)."""

    def __init__(self, api: ApiClient, operator_key: str) -> None:
        self.api = api
        self.operator = bearer(operator_key)
        self.admin_keys: dict[str, str] = {}
        self.secrets: dict[str, dict[str, str]] = {}

    def create(self, store_id: str = "acme-goods", **overrides: Any) -> dict[str, Any]:
        config = {**minimal_store_config(store_id), **overrides}
        response = self.api.post("/v1/admin/stores", json_body={"config": config}, headers=self.operator)
        assert response.status == 201, response.text
        self.admin_keys[store_id] = response.json["admin_key"]
        self.secrets[store_id] = response.json["webhook_secrets"]
        return config

    def show(self, store_id: str = "acme-goods") -> dict[str, Any]:
        response = self.api.get(f"/v1/admin/stores/{store_id}", headers=self.operator)
        assert response.status == 200, response.text
        return dict(response.json)

    def update(
        self, config: dict[str, Any], version: int, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> ApiResponse:
        return self.api.request(
            "PUT",
            f"/v1/admin/stores/{config['id']}",
            json_body={"config": config, "version": version, **extra},
            headers=self.operator if headers is None else headers,
        )

    def update_own(self, path_store: str, config: dict[str, Any], version: int, key: str) -> ApiResponse:
        return self.api.request(
            "PUT",
            f"/v1/stores/{path_store}/config",
            json_body={"config": config, "version": version},
            headers=bearer(key),
        )

    def rotate(self, integration: str, store_id: str = "acme-goods", **body: Any) -> ApiResponse:
        return self.api.post(
            f"/v1/admin/stores/{store_id}/secrets/{integration}/rotate",
            json_body=body or None,
            headers=self.operator,
        )

    def rotate_key(self, store_id: str = "acme-goods") -> ApiResponse:
        return self.api.post(f"/v1/admin/stores/{store_id}/admin-key/rotate", headers=self.operator)

    def history(self, store_id: str = "acme-goods", headers: dict[str, str] | None = None) -> ApiResponse:
        return self.api.get(f"/v1/admin/stores/{store_id}/history", headers=headers or self.operator)

    def shopify_webhook(self, secret: str, store_id: str = "acme-goods") -> int:
        """Status of a signed, harmless Shopify delivery (a topic Aftercare acknowledges and ignores)."""
        body = json.dumps({"id": 1, "email": "x@example.com"}).encode()
        response = self.api.post(
            f"/webhooks/{store_id}/shopify",
            body=body,
            headers=shopify_headers(secret, body, "customers/update"),
        )
        return response.status


@pytest.fixture
def desk(api: ApiClient, operator_key: str, frozen: Any) -> Desk:
    return Desk(api, operator_key)


def changed(response: ApiResponse) -> dict[str, tuple[str, str]]:
    return {c["path"]: (c["old"], c["new"]) for c in response.json["changes"]}


# ------------------------------------------------------------------------------------------------ update


def test_update_shows_a_dotted_diff_bumps_the_version_and_is_recorded(desk: Desk) -> None:
    config = desk.create()
    assert desk.show()["version"] == 1

    config["name"] = "Acme Goods & Sons"
    config["staff"] = {"alert_emails": ["care@acme-goods.example.com", "boss@acme-goods.example.com"]}
    config["outreach"]["product_types"]["gift card"] = {"reviews": False}
    response = desk.update(config, version=1)

    assert response.status == 200, response.text
    assert response.json["version"] == 2
    assert changed(response) == {
        "name": ('"Acme Goods"', '"Acme Goods & Sons"'),
        "staff.alert_emails": (
            '["care@acme-goods.example.com"]',
            '["care@acme-goods.example.com", "boss@acme-goods.example.com"]',
        ),
        'outreach.product_types["gift card"].reviews': ("(not set)", "false"),
        'outreach.product_types["gift card"].review_delay': ("(not set)", "null"),
        'outreach.product_types["gift card"].reminder_delay': ("(not set)", "null"),
        'outreach.product_types["gift card"].nps_delay': ("(not set)", "null"),
    }
    shown = desk.show()
    assert shown["config"]["name"] == "Acme Goods & Sons"
    assert shown["version"] == 2
    assert shown["updated_at"] == clock.isoformat(clock.now())

    entries = desk.history().json["history"]
    assert [e["action"] for e in entries] == ["update", "create"]  # newest first
    assert entries[0]["actor"] == "operator"
    assert entries[0]["version"] == 2
    assert {c["path"] for c in entries[0]["changes"]} == set(changed(response))
    assert entries[0]["summary"].startswith("changed 6 settings: ")
    assert entries[1] == {
        "at": clock.isoformat(clock.now()),
        "actor": "operator",
        "action": "create",
        "summary": "created the store with integrations: generic, shopify",
        "changes": [],
        "version": 1,
    }


def test_a_stale_version_is_refused_with_a_clear_message_and_nothing_changes(desk: Desk) -> None:
    config = desk.create()
    assert desk.update({**config, "name": "First Change"}, version=1).status == 200

    stale = desk.update({**config, "name": "Based On Old Data"}, version=1)

    assert stale.status == 409
    assert stale.json["error"] == "stale_version"
    assert "version 1" in stale.json["message"] and "version 2" in stale.json["message"]
    assert "Re-run" in stale.json["message"]
    assert desk.show()["config"]["name"] == "First Change"
    assert [e["action"] for e in desk.history().json["history"]] == ["update", "create"]


def test_a_version_from_the_future_is_refused_too(desk: Desk) -> None:
    config = desk.create()
    assert desk.update({**config, "name": "Jumping Ahead"}, version=7).status == 409
    assert desk.show()["version"] == 1


def test_of_concurrent_updates_from_the_same_version_exactly_one_wins(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every racer has read version 1 (and passed the version check) before any of them writes."""
    from functions.composition import adapters

    config = desk.create()
    names = [f"Racer {n}" for n in range(4)]
    stores = adapters().stores
    write = stores.update_config
    all_read = threading.Barrier(len(names), timeout=20)
    waited: set[int] = set()

    def write_after_everyone_read(*args: Any) -> None:
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            all_read.wait()
        write(*args)

    monkeypatch.setattr(stores, "update_config", write_after_everyone_read)
    results: dict[str, int] = {}

    def race(name: str) -> None:
        results[name] = desk.update({**config, "name": name}, version=1).status

    threads = [threading.Thread(target=race, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [name for name, status in results.items() if status == 200]
    assert len(winners) == 1, results
    assert sorted(results.values()) == [200, 409, 409, 409]
    shown = desk.show()
    assert shown["config"]["name"] == winners[0]
    assert shown["version"] == 2
    entries = desk.history().json["history"]
    assert [e["action"] for e in entries] == ["update", "create"]
    assert entries[0]["changes"] == [{"path": "name", "old": '"Acme Goods"', "new": json.dumps(winners[0])}]


def test_a_rotation_racing_an_update_delays_neither(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    """An update that loses a race to a rotation (not to another update) is retried, not refused."""
    from functions.composition import adapters

    config = desk.create()
    stores = adapters().stores
    write = stores.update_config
    raced: list[int] = []

    def rotate_first(*args: Any) -> None:
        if not raced:
            raced.append(desk.rotate("generic").status)  # lands between the update's read and its write
        write(*args)

    monkeypatch.setattr(stores, "update_config", rotate_first)
    response = desk.update({**config, "name": "After The Rotation"}, version=1)

    assert raced == [200]
    assert response.status == 200, response.text
    assert response.json["version"] == 2
    assert [e["action"] for e in desk.history().json["history"]] == ["update", "rotate-secret", "create"]


def test_an_invalid_config_is_422_naming_the_field_and_nothing_changes(desk: Desk) -> None:
    config = desk.create()
    broken = {**config, "timezone": "Nowhere/City", "name": "Should Not Stick"}

    response = desk.update(broken, version=1)

    assert response.status == 422
    fields = {f["field"]: f["problem"] for f in response.json["fields"]}
    assert fields["config.timezone"].startswith('"Nowhere/City" is not a time zone; use an IANA name')
    assert desk.show()["config"]["name"] == "Acme Goods"
    assert desk.show()["version"] == 1
    assert len(desk.history().json["history"]) == 1


def test_a_missing_version_is_422(desk: Desk) -> None:
    config = desk.create()
    response = desk.api.request(
        "PUT", "/v1/admin/stores/acme-goods", json_body={"config": config}, headers=desk.operator
    )
    assert response.status == 422
    assert "version" in {f["field"] for f in response.json["fields"]}


def test_the_deployment_rules_of_create_apply_to_updates(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions import composition

    config = desk.create()
    monkeypatch.setenv("AFTERCARE_ALLOW_LOOPBACK_ENDPOINTS", "false")  # as on AWS
    composition.reset()
    config["returns"] = {"refund_endpoint": "http://127.0.0.1:9000/refund"}

    response = desk.update(config, version=1)

    assert response.status == 422
    assert response.json["fields"][0]["field"] == "config.returns.refund_endpoint"
    assert desk.show()["config"]["returns"].get("refund_endpoint") is None
    assert desk.show()["version"] == 1


def test_the_store_id_cannot_change(desk: Desk) -> None:
    config = desk.create()
    response = desk.api.request(
        "PUT",
        "/v1/admin/stores/acme-goods",
        json_body={"config": {**config, "id": "acme-renamed"}, "version": 1},
        headers=desk.operator,
    )
    assert response.status == 422
    assert response.json["fields"][0]["field"] == "config.id"
    assert "cannot change" in response.json["fields"][0]["problem"]
    assert desk.api.get("/v1/admin/stores/acme-renamed", headers=desk.operator).status == 404


def test_an_unknown_store_is_404(desk: Desk) -> None:
    response = desk.update(minimal_store_config("ghost-shop"), version=1)
    assert response.status == 404


def test_an_update_that_changes_nothing_writes_nothing(desk: Desk) -> None:
    config = desk.create()
    response = desk.update(config, version=1)
    assert response.status == 200
    assert response.json["changes"] == []
    assert response.json["version"] == 1
    assert len(desk.history().json["history"]) == 1


def test_enabling_an_integration_issues_its_first_secret_once(desk: Desk) -> None:
    config = desk.create()
    config["integrations"] = {**config["integrations"], "woocommerce": {}}

    response = desk.update(config, version=1)

    assert response.status == 200, response.text
    secret = response.json["webhook_secrets"]["woocommerce"]
    assert secret.startswith("whsec_")
    assert set(response.json["webhook_secrets"]) == {"woocommerce"}  # shopify and generic keep theirs
    assert response.json["store"]["webhook_urls"]["woocommerce"].endswith("/webhooks/acme-goods/woocommerce")
    from functions.composition import adapters

    assert adapters().stores.get_secrets("acme-goods").webhook["woocommerce"] == [secret]
    entry = desk.history().json["history"][0]
    assert "issued a first webhook secret for woocommerce" in entry["summary"]
    assert secret not in desk.history().text


def test_an_update_cannot_replace_an_existing_secret(desk: Desk) -> None:
    config = desk.create()
    response = desk.update(config, version=1, webhook_secrets={"shopify": "shpss_" + "x" * 32})
    assert response.status == 422
    assert response.json["fields"][0]["field"] == "webhook_secrets.shopify"
    assert "rotate-secret" in response.json["fields"][0]["problem"]
    assert desk.shopify_webhook(desk.secrets["acme-goods"]["shopify"]) == 200


class TestStoreAdmin:
    def test_a_store_updates_its_own_config_and_is_recorded_as_its_admin_key(self, desk: Desk) -> None:
        config = desk.create()
        response = desk.update_own(
            "acme-goods", {**config, "name": "Self Service"}, 1, desk.admin_keys["acme-goods"]
        )

        assert response.status == 200, response.text
        assert response.json["version"] == 2
        own = desk.api.get("/v1/stores/acme-goods/history", headers=bearer(desk.admin_keys["acme-goods"]))
        assert own.status == 200
        assert own.json["history"][0]["actor"] == "store admin key"
        assert own.json["history"][0]["changes"] == [
            {"path": "name", "old": '"Acme Goods"', "new": '"Self Service"'}
        ]

    def test_the_admin_of_store_a_cannot_update_or_read_store_b(self, desk: Desk) -> None:
        desk.create("acme-goods")
        other = desk.create("other-shop")

        response = desk.update_own(
            "other-shop", {**other, "name": "Hijacked"}, 1, desk.admin_keys["acme-goods"]
        )

        assert response.status == 403
        assert desk.show("other-shop")["config"]["name"] == "Acme Goods"
        assert desk.show("other-shop")["version"] == 1
        history = desk.api.get("/v1/stores/other-shop/history", headers=bearer(desk.admin_keys["acme-goods"]))
        assert history.status == 403

    def test_a_store_admin_cannot_smuggle_another_store_id_in_the_body(self, desk: Desk) -> None:
        desk.create("acme-goods")
        other = desk.create("other-shop")

        response = desk.update_own(
            "acme-goods", {**other, "name": "Hijacked"}, 1, desk.admin_keys["acme-goods"]
        )

        assert response.status == 422
        assert desk.show("other-shop")["config"]["name"] == "Acme Goods"

    def test_the_operator_routes_refuse_a_store_admin_key(self, desk: Desk) -> None:
        config = desk.create()
        key = bearer(desk.admin_keys["acme-goods"])
        assert desk.update(config, 1, headers=key).status == 401
        assert desk.api.post("/v1/admin/stores/acme-goods/admin-key/rotate", headers=key).status == 401
        assert desk.api.post("/v1/admin/stores/acme-goods/secrets/shopify/rotate", headers=key).status == 401
        assert desk.api.get("/v1/admin/stores", headers=key).status == 401
        assert desk.history(headers=key).status == 401


# ------------------------------------------------------------------------------------------------ secrets


def test_a_rotated_secret_verifies_at_once_and_the_old_one_only_during_the_grace_period(desk: Desk) -> None:
    desk.create()
    old = desk.secrets["acme-goods"]["shopify"]
    assert desk.shopify_webhook(old) == 200

    rotated = desk.rotate("shopify")

    assert rotated.status == 200, rotated.text
    new = rotated.json["secret"]
    assert new != old
    grace_end = later(hours=72)
    assert rotated.json["previous_valid_until"] == grace_end
    assert desk.shopify_webhook(new) == 200
    assert desk.shopify_webhook(old) == 200  # still in its grace period

    clock.clock.advance(timedelta(hours=71, minutes=59))
    assert desk.shopify_webhook(old) == 200
    clock.clock.advance(timedelta(minutes=2))
    assert desk.shopify_webhook(old) == 401  # the grace period is over
    assert desk.shopify_webhook(new) == 200

    entry = desk.history().json["history"][0]
    assert entry["action"] == "rotate-secret"
    assert entry["actor"] == "operator"
    assert (
        entry["summary"]
        == f"rotated the shopify webhook secret; the previous one keeps working until {grace_end}"
    )
    text = desk.history().text
    assert old not in text and new not in text


def later(**delta: float) -> str:
    return clock.isoformat(clock.now() + timedelta(**delta))


def test_the_platforms_secret_can_be_supplied_and_a_zero_grace_stops_the_old_one_at_once(desk: Desk) -> None:
    desk.create()
    old = desk.secrets["acme-goods"]["shopify"]
    dictated = "shpss_" + "d" * 32

    rotated = desk.rotate("shopify", secret=dictated, grace_hours=0)

    assert rotated.status == 200
    assert rotated.json["secret"] == dictated
    assert desk.shopify_webhook(dictated) == 200
    assert desk.shopify_webhook(old) == 401
    assert "stopped working at once" in desk.history().json["history"][0]["summary"]


def test_the_newest_generic_secret_signs_refund_calls(desk: Desk) -> None:
    from functions.composition import adapters

    desk.create()
    new = desk.rotate("generic").json["secret"]
    secrets = adapters().stores.get_secrets("acme-goods").webhook["generic"]
    assert secrets == [new, desk.secrets["acme-goods"]["generic"]]  # [0] signs refund calls


@pytest.mark.parametrize(
    ("integration", "body", "field"),
    [
        ("woocommerce", {}, "integration"),  # not enabled for this store
        ("magento", {}, "integration"),
        ("shopify", {"secret": "short"}, "secret"),
        ("shopify", {"grace_hours": 1000}, "grace_hours"),
        ("shopify", {"grace_hours": -1}, "grace_hours"),
    ],
)
def test_a_bad_rotation_is_422_naming_the_field_and_changes_nothing(
    desk: Desk, integration: str, body: dict[str, Any], field: str
) -> None:
    desk.create()
    response = desk.rotate(integration, **body)
    assert response.status == 422, response.text
    assert response.json["fields"][0]["field"] == field
    assert desk.shopify_webhook(desk.secrets["acme-goods"]["shopify"]) == 200
    assert len(desk.history().json["history"]) == 1


def test_a_secret_in_use_cannot_be_rotated_to(desk: Desk) -> None:
    desk.create()
    response = desk.rotate("shopify", secret=desk.secrets["acme-goods"]["shopify"])
    assert response.status == 422
    assert response.json["fields"][0]["field"] == "secret"


def test_rotating_again_and_again_is_refused_before_secrets_pile_up(desk: Desk) -> None:
    desk.create()
    issued = [desk.secrets["acme-goods"]["shopify"]]
    for _ in range(3):
        response = desk.rotate("shopify")
        assert response.status == 200
        issued.append(response.json["secret"])

    refused = desk.rotate("shopify")

    assert refused.status == 409
    assert "grace period" in refused.json["message"]
    assert all(desk.shopify_webhook(secret) == 200 for secret in issued)  # nothing was dropped
    clock.clock.advance(timedelta(hours=73))
    assert desk.rotate("shopify").status == 200  # the old ones expired: room again
    assert [desk.shopify_webhook(secret) for secret in issued] == [401, 401, 401, 200]


def test_a_rotation_in_a_warm_process_is_seen_at_once_despite_the_cache(desk: Desk) -> None:
    from functions.composition import adapters

    desk.create()
    stores = adapters().stores
    before = stores.get_secrets("acme-goods")  # now cached for 30 s
    new = desk.rotate("shopify", grace_hours=0).json["secret"]
    assert stores.get_secrets("acme-goods").webhook["shopify"] == [new]
    assert before.webhook["shopify"] != [new]


def test_an_update_in_a_warm_process_drops_the_cached_store(desk: Desk) -> None:
    from functions.composition import adapters

    config = desk.create()
    stores = adapters().stores
    assert stores.get("acme-goods", cached=True).config.name == "Acme Goods"
    assert desk.update({**config, "name": "Fresh Name"}, version=1).status == 200
    assert stores.get("acme-goods", cached=True).config.name == "Fresh Name"


# ------------------------------------------------------------------------------------------------ admin key


def test_a_rotated_admin_key_replaces_the_old_one_at_once(desk: Desk) -> None:
    desk.create()
    old = desk.admin_keys["acme-goods"]
    assert desk.api.get("/v1/stores/acme-goods", headers=bearer(old)).status == 200  # warms the cache

    response = desk.rotate_key()

    assert response.status == 200
    new = response.json["admin_key"]
    assert new.startswith("ak_acme-goods.") and new != old
    assert "stopped working at once" in response.json["notice"]
    assert desk.api.get("/v1/stores/acme-goods", headers=bearer(old)).status == 401
    assert desk.api.get("/v1/stores/acme-goods", headers=bearer(new)).status == 200
    entry = desk.history().json["history"][0]
    assert (entry["action"], entry["actor"], entry["version"]) == ("rotate-admin-key", "operator", 1)
    assert old not in desk.history().text and new not in desk.history().text


def test_rotations_on_an_unknown_store_are_404(desk: Desk) -> None:
    assert desk.rotate_key("ghost-shop").status == 404
    assert desk.rotate("shopify", "ghost-shop").status == 404
    assert desk.history("ghost-shop").status == 404


# ------------------------------------------------------------------------------------------------ list


def test_list_shows_every_created_store_in_pages_without_secrets(desk: Desk) -> None:
    for store_id in ("bravo-shop", "alpha-shop", "charlie-shop"):
        desk.create(store_id, name=f"{store_id.split('-')[0].title()} Shop")
    desk.update({**minimal_store_config("bravo-shop"), "name": "Bravo Renamed"}, version=1)

    everything = desk.api.get("/v1/admin/stores", headers=desk.operator)

    assert everything.status == 200
    assert everything.json["next"] is None
    assert [(s["id"], s["name"], s["version"]) for s in everything.json["stores"]] == [
        ("alpha-shop", "Alpha Shop", 1),
        ("bravo-shop", "Bravo Renamed", 2),
        ("charlie-shop", "Charlie Shop", 1),
    ]
    assert all(s["created_at"] == clock.isoformat(clock.now()) for s in everything.json["stores"])
    for store_id, key in desk.admin_keys.items():
        assert key not in everything.text
        assert all(secret not in everything.text for secret in desk.secrets[store_id].values())

    seen, after = [], None
    while True:
        page = desk.api.get(
            "/v1/admin/stores",
            headers=desk.operator,
            query={"limit": "1", **({"after": after} if after else {})},
        )
        assert page.status == 200
        seen += [s["id"] for s in page.json["stores"]]
        after = page.json["next"]
        if after is None:
            break
    assert seen == ["alpha-shop", "bravo-shop", "charlie-shop"]


def test_an_empty_deployment_lists_no_stores(desk: Desk) -> None:
    response = desk.api.get("/v1/admin/stores", headers=desk.operator)
    assert response.json == {"stores": [], "next": None}


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "1001"}, {"limit": "ten"}, {"after": "x" * 65}])
def test_bad_list_queries_are_400(desk: Desk, query: dict[str, str]) -> None:
    response = desk.api.get("/v1/admin/stores", headers=desk.operator, query=query)
    assert response.status == 400
    assert response.json["error"] == "invalid_query"


def test_a_store_created_before_the_registry_is_registered_by_its_next_update(
    desk: Desk, frozen: Any
) -> None:
    """Stores created before this change have no registry item, no version and no history: an update
    (or a rotation) registers them, starts their history and treats the missing version as 1."""
    import boto3

    from functions.composition import adapters

    config = desk.create()
    client = boto3.client("dynamodb")
    name = frozen.tables["StoresTable"]
    client.delete_item(TableName=name, Key={"pk": {"S": "#stores"}, "sk": {"S": "acme-goods"}})
    client.delete_item(TableName=name, Key={"pk": {"S": "acme-goods"}, "sk": {"S": "HISTORY#0000000001"}})
    client.update_item(
        TableName=name,
        Key={"pk": {"S": "acme-goods"}, "sk": {"S": "CONFIG"}},
        UpdateExpression="REMOVE version, change_count, created_by",
    )
    adapters().stores.forget("acme-goods")
    assert adapters().stores.list_ids() == []  # the documented gap
    assert desk.show()["version"] == 1

    response = desk.update({**config, "name": "Registered At Last"}, version=1)

    assert response.status == 200, response.text
    assert adapters().stores.list_ids() == ["acme-goods"]
    listed = desk.api.get("/v1/admin/stores", headers=desk.operator).json["stores"]
    assert [(s["id"], s["name"], s["version"]) for s in listed] == [("acme-goods", "Registered At Last", 2)]
    assert [e["action"] for e in desk.history().json["history"]] == ["update"]


# ------------------------------------------------------------------------------------------------ adapter


def test_history_and_list_ids_as_other_parts_of_aftercare_read_them(desk: Desk) -> None:
    from functions.composition import adapters
    from functions.stores.models import ConfigChange

    config = desk.create()
    desk.create("other-shop")
    for n in range(3):
        assert desk.update({**config, "name": f"Name {n}"}, version=n + 1).status == 200
    desk.rotate("generic")
    desk.rotate_key()

    stores = adapters().stores
    history = stores.history("acme-goods")
    assert all(isinstance(entry, ConfigChange) for entry in history)
    assert [entry.action for entry in history] == [
        "rotate-admin-key",
        "rotate-secret",
        "update",
        "update",
        "update",
        "create",
    ]
    assert [entry.version for entry in history] == [4, 4, 4, 3, 2, 1]
    assert [entry.changes for entry in stores.history("acme-goods", limit=3)][2] == [
        {"path": "name", "old": '"Name 1"', "new": '"Name 2"'}
    ]
    assert len(stores.history("acme-goods", limit=2)) == 2
    assert [entry.action for entry in stores.history("other-shop")] == ["create"]
    assert stores.list_ids() == ["acme-goods", "other-shop"]


def test_list_ids_follows_pages(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.composition import adapters
    from functions.stores import store as adapter

    for n in range(5):
        desk.create(f"shop-{n:02d}")
    monkeypatch.setattr(adapter, "_PAGE", 2)  # five stores in three queries
    assert adapters().stores.list_ids() == [f"shop-{n:02d}" for n in range(5)]
