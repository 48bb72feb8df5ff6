"""The local stack keeps its state across restarts (``.aftercare/stack-<port>/``), ``--fresh`` starts empty,
and two stacks on two ports never trip over each other's files."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from aftercare.infra import ROOT
from tests.conftest import DevStackProcess, free_port
from tests.helpers import wait_for
from tests.webhooks import body_of, generic_event, generic_headers, generic_order

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("devstack")]

EXAMPLE = ROOT / "examples" / "store.yaml"


def now_of(stack: DevStackProcess) -> datetime:
    text = requests.get(f"{stack.url}/_dev/clock", timeout=10).json()["now"]
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def outbox(stack: DevStackProcess) -> list[dict[str, Any]]:
    return list(requests.get(f"{stack.url}/_dev/outbox", timeout=30).json())


def send(stack: DevStackProcess, store: str, secret: str, payload: dict[str, Any]) -> None:
    raw = body_of(payload)
    response = requests.post(
        f"{stack.url}/webhooks/{store}/events", data=raw, headers=generic_headers([secret], raw), timeout=30
    )
    assert response.status_code == 200, response.text


def test_a_restarted_stack_has_its_stores_emails_clock_and_pending_return(tmp_path: Path) -> None:
    port = free_port()
    # Given a stack with a store, an order, a return waiting for the store's approval and a clock moved ahead
    first = DevStackProcess(tmp_path, port, demo=False)
    try:
        created = first.cli("store", "create", "--config", str(EXAMPLE))
        assert created.returncode == 0, created.stderr
        secret = re.search(r"generic secret\s+(\S+)", created.stdout).group(1)  # type: ignore[union-attr]
        admin_key = re.search(r"admin API key\s+(\S+)", created.stdout).group(1)  # type: ignore[union-attr]
        store = "demo-outfitters"
        order = generic_order(
            "KEEP-1",
            [("l1", "coat", "clothing")],
            customer={"email": "ida@example.com", "name": "Ida", "locale": "en"},
        )
        order["line_items"][0]["price"] = "120.00"  # above auto-approval: staff must decide
        send(first, store, secret, generic_event("order.delivered", order))
        returned = {
            "id": "R-KEEP-1",
            "order_id": "KEEP-1",
            "items": [{"line_item_id": "l1"}],
            "reason": "fit",
        }
        send(first, store, secret, generic_event("return.requested", order, **{"return": returned}))
        approval = wait_for(
            lambda: next(
                (m for m in outbox(first) if any("/approve/" in x["href"] for x in m["links"])), None
            )
        )
        requests.post(f"{first.url}/_dev/clock", json={"advance": "PT20H"}, timeout=120)
        before_now = now_of(first)
        before_mail = outbox(first)
        assert first.stop() == 0
    finally:
        first.stop()

    # When it starts again on the same port
    second = DevStackProcess(tmp_path, port, demo=False)
    try:
        # Then the store, its secrets (remembered by the CLI), the outbox and the clock are there
        shown = second.cli("store", "show", store)
        assert shown.returncode == 0, shown.stderr
        assert [m["id"] for m in outbox(second)] == [
            m["id"] for m in before_mail
        ]  # nothing lost, none resent
        assert before_now <= now_of(second) < before_now + timedelta(minutes=5)
        headers = {"Authorization": f"Bearer {admin_key}"}
        assert requests.get(f"{second.url}/v1/stores/{store}", headers=headers, timeout=10).status_code == 200
        assert second.state["stores"][store]["generic"] == secret  # send-event still signs for it

        # And the return still waits, and the link from before the restart approves it
        link = next(x["href"] for x in approval["links"] if "/approve/" in x["href"])
        page = requests.get(link, timeout=10).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        decided = requests.post(link, data={"csrf": csrf, "decision": "approve", "note": ""}, timeout=30)
        assert decided.status_code == 200, decided.text

        found = re.search(r"ret-[0-9]{16}", approval["text"] + approval["html"])
        assert found
        return_id = found.group(0)

        def status() -> str:
            view = requests.get(
                f"{second.url}/v1/stores/{store}/returns/{return_id}", headers=headers, timeout=10
            )
            return str(view.json()["return"]["status"])

        def moved_on() -> str | None:
            now = status()
            return now if now != "awaiting approval" else None

        assert wait_for(moved_on) == "awaiting the item"  # approved: the customer is told to send it back
        new = wait_for(lambda: [m for m in outbox(second) if m["id"] not in {x["id"] for x in before_mail}])
        assert [m["to"] for m in new] == [["ida@example.com"]]  # the instructions to send it back, once
    finally:
        second.stop()

    # And --fresh forgets everything
    fresh = DevStackProcess(tmp_path, port, demo=False, extra=("--fresh",))
    try:
        assert fresh.cli("store", "show", store).returncode == 4
        assert outbox(fresh) == []
        assert now_of(fresh) < before_now - timedelta(hours=10)
    finally:
        fresh.stop()


def test_a_second_stack_on_another_port_leaves_the_first_ones_files_alone(tmp_path: Path) -> None:
    first = DevStackProcess(tmp_path, free_port(), demo=False)
    try:
        pointer = tmp_path / ".aftercare" / "dev.json"
        second = DevStackProcess(tmp_path, free_port(), demo=False)
        try:
            assert json.loads(pointer.read_text())["port"] == first.port  # the first stays the default
            assert f"pass --endpoint {second.url}" in "".join(second.output)
            # the CLI reaches each: the default without --endpoint, the other with it
            assert first.cli("store", "list").returncode == 0
            with_endpoint = second.cli("store", "list", "--endpoint", second.url)
            assert with_endpoint.returncode == 0, with_endpoint.stderr
        finally:
            assert second.stop() == 0
        # Stopping the second kept the first's files: the CLI still reaches the first without --endpoint
        assert json.loads(pointer.read_text())["port"] == first.port
        assert first.state["pid"] is not None
        assert first.cli("store", "list").returncode == 0
    finally:
        first.stop()


def test_a_port_in_use_is_one_line_with_the_port_to_use_instead(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [str(Path(sys.executable).parent / "aftercare"), "dev", "--port", str(port)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    [line] = result.stderr.strip().splitlines()
    assert re.fullmatch(
        rf"aftercare: Port {port} is in use \(another local stack\?\)\. "
        r"Start on another port: make run PORT=\d+ \(or aftercare dev --port \d+\)\.",
        line,
    )


def test_demo_on_a_saved_stack_reuses_the_demo_store_and_its_history(tmp_path: Path) -> None:
    # Given a stack started with --demo and stopped
    port = free_port()
    first = DevStackProcess(tmp_path, port)
    demo, mail = first.state["demo"], [m["id"] for m in outbox(first)]
    assert first.stop() == 0
    saved = tmp_path / ".aftercare" / f"stack-{port}" / "state.json"
    assert saved.stat().st_mode & 0o077 == 0  # secrets inside: the owner's only
    assert yaml.safe_load(saved.read_text())["version"] == 1

    # When it starts with --demo again
    second = DevStackProcess(tmp_path, port)
    try:
        # Then it says what it restored, and the demo store, its secrets and its history are the same ones
        assert "Restored" in "".join(second.output)
        assert "Making 8 weeks of demo history" not in "".join(second.output)
        assert second.state["demo"] == demo
        assert [m["id"] for m in outbox(second)] == mail
        listed = second.cli("store", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert [s["id"] for s in json.loads(listed.stdout)].count("demo") == 1
    finally:
        second.stop()
