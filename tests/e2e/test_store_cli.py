"""An operator manages stores on the running local stack with the `aftercare store` commands."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.conftest import DevStackProcess
from tests.helpers import minimal_store_config

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("devstack")]


def cli(devstack: DevStackProcess, *args: str) -> Any:
    """The command as an operator runs it, with nothing on stdin (no terminal to answer a question)."""
    return subprocess.run(
        [devstack.command, *args],
        cwd=devstack.workdir,
        env=devstack.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def ok(result: Any) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return str(result.stdout)


def write_config(devstack: DevStackProcess, config: dict[str, Any]) -> str:
    path = Path(devstack.workdir) / f"{config['id']}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return str(path)


def admin_get(devstack: DevStackProcess, path: str, key: str) -> requests.Response:
    return requests.get(f"{devstack.url}{path}", headers={"Authorization": f"Bearer {key}"}, timeout=10)


def shopify_status(devstack: DevStackProcess, store_id: str, secret: str, tmp_path: Path) -> str:
    body = tmp_path / "customer.json"
    body.write_text(json.dumps({"id": 1, "email": "x@example.com"}), encoding="utf-8")
    result = cli(
        devstack,
        "send-event",
        "--store",
        store_id,
        "--integration",
        "shopify",
        "--topic",
        "customers/update",
        "--file",
        str(body),
        "--secret",
        secret,
    )
    return str(result.stdout).split(" ", 1)[0]


@pytest.fixture
def cli_shop(devstack: DevStackProcess, request: pytest.FixtureRequest) -> dict[str, Any]:
    """A fresh store for this test (the session's stack is shared)."""
    store_id = f"cli-{request.node.name[5:25].replace('_', '-').strip('-')}"
    config = minimal_store_config(store_id)
    created = ok(cli(devstack, "store", "create", "--config", write_config(devstack, config)))
    admin_key = created.split("admin API key")[1].split()[0]
    secrets = devstack.state["stores"][store_id]
    return {"config": config, "admin_key": admin_key, "secrets": secrets}


def test_list_shows_the_demo_store_and_new_ones(devstack: DevStackProcess, cli_shop: dict[str, Any]) -> None:
    listed = ok(cli(devstack, "store", "list"))
    lines = listed.splitlines()
    assert lines[0].split() == ["ID", "VERSION", "CREATED", "NAME"]
    ids = [line.split()[0] for line in lines[1:]]
    assert "demo" in ids and cli_shop["config"]["id"] in ids
    as_json = json.loads(ok(cli(devstack, "store", "list", "--json")))
    assert {s["id"] for s in as_json} == set(ids)
    assert cli_shop["admin_key"] not in listed


def test_update_shows_the_difference_asks_and_applies(
    devstack: DevStackProcess, cli_shop: dict[str, Any]
) -> None:
    config = {**cli_shop["config"], "name": "Renamed By CLI", "timezone": "Europe/Berlin"}
    path = write_config(devstack, config)
    store_id = config["id"]

    declined = cli(devstack, "store", "update", "--config", path)  # no terminal, no --yes: nothing happens

    assert declined.returncode == 1
    assert 'name: "Acme Goods" -> "Renamed By CLI"' in declined.stdout
    assert 'timezone: "UTC" -> "Europe/Berlin"' in declined.stdout
    assert "Nothing changed" in declined.stdout
    assert "Acme Goods" in ok(cli(devstack, "store", "show", store_id))

    applied = ok(cli(devstack, "store", "update", "--config", path, "--yes"))

    assert f"Updated store {store_id}: now at version 2." in applied
    shown = yaml.safe_load(ok(cli(devstack, "store", "show", store_id)))
    assert (shown["config"]["name"], shown["version"]) == ("Renamed By CLI", 2)
    again = ok(cli(devstack, "store", "update", "--config", path))
    assert "Nothing to change" in again
    history = ok(cli(devstack, "store", "history", store_id))
    assert history.splitlines()[0].endswith("v2  operator  update: changed 2 settings: name, timezone")
    assert '    name: "Acme Goods" -> "Renamed By CLI"' in history


def test_an_update_based_on_a_version_changed_meanwhile_is_refused(
    devstack: DevStackProcess, cli_shop: dict[str, Any]
) -> None:
    store_id = cli_shop["config"]["id"]
    mine = write_config(devstack, {**cli_shop["config"], "name": "Mine"})
    slow = subprocess.Popen(
        [devstack.command, "store", "update", "--config", mine],
        cwd=devstack.workdir,
        env=devstack.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert slow.stdout is not None
    seen = ""
    while not seen.endswith("[y/N] "):  # it has read version 1 and waits for an answer
        char = slow.stdout.read(1)
        assert char, seen
        seen += char
    theirs = {**cli_shop["config"], "name": "Theirs"}
    path = Path(devstack.workdir) / "theirs.yaml"
    path.write_text(yaml.safe_dump(theirs), encoding="utf-8")
    ok(cli(devstack, "store", "update", "--config", str(path), "--yes"))

    out, err = slow.communicate("y\n", timeout=60)

    assert slow.returncode == 4, out + err
    assert "409:" in err and "Re-run the update" in err
    assert yaml.safe_load(ok(cli(devstack, "store", "show", store_id)))["config"]["name"] == "Theirs"


def test_an_invalid_file_is_refused_before_anything_is_sent(
    devstack: DevStackProcess, cli_shop: dict[str, Any]
) -> None:
    path = write_config(devstack, {**cli_shop["config"], "timezone": "Nowhere/City"})
    refused = cli(devstack, "store", "update", "--config", path, "--yes")
    assert refused.returncode == 3
    assert 'timezone: "Nowhere/City" is not a time zone; use an IANA name' in refused.stderr


def test_rotating_a_secret_keeps_the_old_one_working_for_now_and_send_event_uses_the_new(
    devstack: DevStackProcess, cli_shop: dict[str, Any], tmp_path: Path
) -> None:
    store_id = cli_shop["config"]["id"]
    old = cli_shop["secrets"]["shopify"]
    dictated = "shpss_" + "c" * 32

    rotated = ok(
        cli(devstack, "store", "rotate-secret", store_id, "--integration", "shopify", "--secret", dictated)
    )

    assert dictated in rotated
    assert "The previous secret keeps working until" in rotated
    assert devstack.state["stores"][store_id]["shopify"] == dictated
    assert shopify_status(devstack, store_id, dictated, tmp_path) == "200"
    assert shopify_status(devstack, store_id, old, tmp_path) == "200"
    assert shopify_status(devstack, store_id, "shpss_" + "f" * 32, tmp_path) == "401"

    ok(cli(devstack, "store", "rotate-secret", store_id, "--integration", "generic", "--grace-hours", "0"))
    history = ok(cli(devstack, "store", "history", store_id))
    assert (
        "rotate-secret: rotated the generic webhook secret; the previous one stopped working at once"
        in history
    )
    assert dictated not in history


def test_rotating_the_admin_key_locks_out_the_old_one_at_once(
    devstack: DevStackProcess, cli_shop: dict[str, Any]
) -> None:
    store_id = cli_shop["config"]["id"]
    old = cli_shop["admin_key"]
    assert admin_get(devstack, f"/v1/stores/{store_id}", old).status_code == 200

    rotated = ok(cli(devstack, "store", "rotate-admin-key", store_id))

    new = rotated.splitlines()[1].strip()
    assert new.startswith(f"ak_{store_id}.")
    assert "The previous key stopped working at once." in rotated
    assert admin_get(devstack, f"/v1/stores/{store_id}", old).status_code == 401
    assert admin_get(devstack, f"/v1/stores/{store_id}", new).status_code == 200
    own = admin_get(devstack, f"/v1/stores/{store_id}/history", new).json()["history"]
    assert [entry["action"] for entry in own] == ["rotate-admin-key", "create"]


def test_an_operator_shortens_a_retention_and_applies_it_to_what_the_store_holds(
    devstack: DevStackProcess, cli_shop: dict[str, Any]
) -> None:
    # Given a store whose owner wants answers kept one year instead of two
    config = {**cli_shop["config"], "retention": {"answers": "P365D"}}
    store_id = config["id"]

    # When the operator updates it and applies the retention
    updated = ok(cli(devstack, "store", "update", "--config", write_config(devstack, config), "--yes"))
    applied = ok(cli(devstack, "store", "apply-retention", store_id))

    # Then the difference names the setting, the store shows it, and the command says what it changed
    assert 'retention.answers: "P2Y" -> "P1Y"' in updated  # the diff reads whole years as years
    assert f"already holds, run: aftercare store apply-retention {store_id}" in updated
    shown = yaml.safe_load(ok(cli(devstack, "store", "show", store_id)))
    assert shown["config"]["retention"] == {
        "orders": "P3Y",
        "answers": "P1Y",
        "returns": "P7Y",
    }  # 365-day years
    assert f"Applied the retention of store {store_id}" in applied
    assert "0 orders, 0 requests, 0 answers, 0 flags, 0 returns" in applied  # a new store holds nothing yet


def test_a_retention_out_of_range_is_refused_naming_the_setting(
    devstack: DevStackProcess, cli_shop: dict[str, Any]
) -> None:
    config = {**cli_shop["config"], "retention": {"orders": "P30D"}}
    refused = cli(devstack, "store", "update", "--config", write_config(devstack, config), "--yes")
    assert refused.returncode != 0
    assert 'retention.orders: "P30D" is too short; use a duration from P90D to P3650D' in (
        refused.stdout + refused.stderr
    )
