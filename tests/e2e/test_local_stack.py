"""Drive `aftercare dev` over HTTP and through the CLI, as a store developer would."""

from __future__ import annotations

import re
import socket
import time
from datetime import datetime, timedelta

import pytest
import requests

from aftercare.infra import ROOT
from tests.conftest import DevStackProcess, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("devstack")]

EXAMPLE = str(ROOT / "examples" / "store.yaml")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_banner_prints_urls_and_demo_secrets(devstack: DevStackProcess) -> None:
    banner = "".join(devstack.output)
    assert f"Dev console  {devstack.url}/_dev/" in banner
    assert re.search(r"admin_key\s+ak_demo\.", banner)
    assert re.search(r"generic_webhook_secret\s+whsec_", banner)


def test_dev_console_serves_html(devstack: DevStackProcess) -> None:
    response = requests.get(f"{devstack.url}/_dev/", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Simulated clock" in response.text
    assert "Outbox" in response.text


def test_health_and_json_404(devstack: DevStackProcess) -> None:
    assert requests.get(f"{devstack.url}/health", timeout=10).json()["status"] == "ok"
    missing = requests.get(f"{devstack.url}/nothing/here", timeout=10)
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


def test_store_lifecycle_through_the_cli(devstack: DevStackProcess) -> None:
    # Given the running local stack, When an operator creates the example store with the CLI
    created = devstack.cli("store", "create", "--config", EXAMPLE)
    assert created.returncode == 0, created.stderr
    assert "Created store demo-outfitters" in created.stdout
    admin_key = re.search(r"admin API key\s+(\S+)", created.stdout)
    assert admin_key

    # Then `store show` prints the configuration without any secret
    shown = devstack.cli("store", "show", "demo-outfitters")
    assert shown.returncode == 0, shown.stderr
    assert "name: Demo Outfitters" in shown.stdout
    assert admin_key.group(1) not in shown.stdout
    assert "whsec_" not in shown.stdout

    # And the store's own admin key reads it over HTTP, while no key is refused
    headers = {"Authorization": f"Bearer {admin_key.group(1)}"}
    assert (
        requests.get(f"{devstack.url}/v1/stores/demo-outfitters", headers=headers, timeout=10).status_code
        == 200
    )
    assert requests.get(f"{devstack.url}/v1/stores/demo-outfitters", timeout=10).status_code == 401

    # And creating it again is refused without changing it
    again = devstack.cli("store", "create", "--config", EXAMPLE)
    assert again.returncode == 4
    assert "already exists" in again.stderr


def test_invalid_store_config_is_explained_and_not_created(
    devstack: DevStackProcess, tmp_path: object
) -> None:
    from pathlib import Path

    bad = Path(str(tmp_path)) / "bad.yaml"
    bad.write_text("id: broken-store\nname: Broken\nsender: {email: nobody, name: B}\ntimezone: Moon/Base\n")

    result = devstack.cli("store", "create", "--config", str(bad))

    assert result.returncode == 3
    assert 'sender.email: "nobody" is not an email address' in result.stderr
    assert 'timezone: "Moon/Base" is not a time zone; use an IANA name, e.g. "' in result.stderr
    assert "staff: required but missing; add it, e.g. staff: " in result.stderr
    assert devstack.cli("store", "show", "broken-store").returncode == 4


def test_cli_against_an_explicit_endpoint_needs_the_operator_key(devstack: DevStackProcess) -> None:
    result = devstack.cli("store", "show", "demo", "--endpoint", devstack.url, "--operator-key", "wrong")
    assert result.returncode == 4
    assert "401" in result.stderr
    ok = devstack.cli(
        "store", "show", "demo", "--endpoint", devstack.url, "--operator-key", devstack.state["operator_key"]
    )
    assert ok.returncode == 0
    assert "id: demo" in ok.stdout


def test_advancing_the_clock(devstack: DevStackProcess) -> None:
    before = parse_time(requests.get(f"{devstack.url}/_dev/clock", timeout=10).json()["now"])

    summary = requests.post(f"{devstack.url}/_dev/clock", json={"advance": "P1D"}, timeout=60).json()

    after = parse_time(summary["now"])
    assert timedelta(days=1) <= after - before < timedelta(days=1, minutes=5)
    assert summary["advanced_seconds"] == 86400
    assert parse_time(requests.get(f"{devstack.url}/_dev/clock", timeout=10).json()["now"]) >= after


@pytest.mark.parametrize("advance", ["soon", "", "-P1D", "P9999D"])
def test_bad_clock_advance_is_422(devstack: DevStackProcess, advance: str) -> None:
    response = requests.post(f"{devstack.url}/_dev/clock", json={"advance": advance}, timeout=10)
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "advance"


def test_the_terminal_logs_one_line_per_request(devstack: DevStackProcess) -> None:
    # When someone calls the API (a query string may carry a token)
    requests.get(f"{devstack.url}/health?token=not-for-the-log", timeout=10)

    # Then the terminal shows method, path, status and time, without the query
    deadline = time.monotonic() + 10
    while not any(re.match(r"GET\s+/health 200 \d+ ms$", line.strip()) for line in devstack.output):
        assert time.monotonic() < deadline, "".join(devstack.output[-20:])
        time.sleep(0.05)
    assert not any("not-for-the-log" in line for line in devstack.output)


def test_outbox_is_a_json_list(devstack: DevStackProcess) -> None:
    response = requests.get(f"{devstack.url}/_dev/outbox", timeout=10)
    assert response.status_code == 200
    assert isinstance(response.json(), list)


def test_demo_store_is_ready_to_use(devstack: DevStackProcess) -> None:
    demo = devstack.state["demo"]
    headers = {"Authorization": f"Bearer {demo['admin_key']}"}
    store = requests.get(f"{devstack.url}/v1/stores/demo", headers=headers, timeout=10).json()
    assert store["webhook_urls"]["shopify"] == f"{devstack.url}/webhooks/demo/shopify"


def test_ctrl_c_stops_everything_cleanly(tmp_path: object) -> None:
    import json
    from pathlib import Path

    port = free_port()
    workdir = Path(str(tmp_path))
    stack = DevStackProcess(workdir, port, demo=False)
    pointer = workdir / ".aftercare" / "dev.json"
    assert json.loads(pointer.read_text())["port"] == port  # the default stack for the CLI

    code = stack.stop()

    assert code == 0
    assert not pointer.exists()
    assert stack.state["pid"] is None  # the stack's own file stays (its secrets), marked stopped
    time.sleep(0.2)
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more
