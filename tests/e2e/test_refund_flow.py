"""A detractor's flag → staff offer a refund → the store's endpoint gets one signed call → outcome email."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from aftercare.infra import ROOT
from functions.shared.signatures import verify_generic
from tests.conftest import DevStackProcess
from tests.refund_receiver import RefundReceiver
from tests.webhooks import body_of, generic_event, generic_headers, generic_order

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("devstack")]


def wait_for(check: Any, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def outbox(devstack: DevStackProcess) -> list[dict[str, Any]]:
    return list(requests.get(f"{devstack.url}/_dev/outbox", timeout=10).json())


def test_staff_refund_reaches_the_store_once_and_is_audited(
    devstack: DevStackProcess, tmp_path: Path
) -> None:
    receiver = RefundReceiver()
    try:
        config = yaml.safe_load((ROOT / "examples" / "store.yaml").read_text())
        config["id"], config["returns"]["refund_endpoint"] = "refund-shop", receiver.url
        (tmp_path / "store.yaml").write_text(yaml.safe_dump(config))
        created = devstack.cli("store", "create", "--config", str(tmp_path / "store.yaml"))
        assert created.returncode == 0, created.stderr
        secret = re.search(r"generic secret\s+(\S+)", created.stdout).group(1)  # type: ignore[union-attr]
        admin_key = re.search(r"admin API key\s+(\S+)", created.stdout).group(1)  # type: ignore[union-attr]

        now = requests.get(f"{devstack.url}/_dev/clock", timeout=10).json()["now"]
        order = generic_order(
            "RF-1",
            [("l1", "mug", "homeware")],
            customer={"email": "mia@example.com", "name": "Mia", "locale": "en"},
        )
        order["line_items"][0]["price"] = "9.00"  # below the store's keep-it amount: no need to send it back
        raw = body_of(generic_event("order.delivered", order, occurred_at=now))
        assert (
            requests.post(
                f"{devstack.url}/webhooks/refund-shop/events",
                data=raw,
                headers=generic_headers([secret], raw),
                timeout=10,
            ).status_code
            == 200
        )
        requests.post(f"{devstack.url}/_dev/clock", json={"advance": "P7DT1H"}, timeout=300)
        request = wait_for(
            lambda: next((m for m in outbox(devstack) if m["to"] == ["mia@example.com"]), None)
        )

        one_star = next(link["href"] for link in request["links"] if "/s/" in link["href"])
        requests.post(one_star, data={"score": "1", "comment": "Chipped when it arrived"}, timeout=10)
        alert = wait_for(
            lambda: next(
                (
                    m
                    for m in outbox(devstack)
                    if "RF-1" in m["subject"] and m["subject"].startswith("[Needs a reply]")
                ),
                None,
            )
        )
        staff = next(link["href"] for link in alert["links"] if "/staff/" in link["href"])
        page = requests.get(staff, timeout=10).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        offered = requests.post(
            staff,
            data={
                "csrf": csrf,
                "action_id": "offer-1",
                "action": "offer",
                "offer": "refund",
                "note": "Sorry about the mug",
            },
            timeout=30,
        ).text
        return_id = re.search(r"(ret-[0-9]{16})", offered).group(1)  # type: ignore[union-attr]

        [call] = wait_for(lambda: receiver.calls)
        assert verify_generic(call["body"], call["headers"]["x-aftercare-signature"], [secret], _wall()).valid
        assert call["json"]["return_id"] == return_id and call["json"]["amount"] == "9.00"
        outcome = wait_for(
            lambda: next(
                (m for m in outbox(devstack) if m["to"] == ["mia@example.com"] and "Good news" in m["text"]),
                None,
            )
        )
        assert "You do not need to send anything back." in outcome["text"]

        def audit() -> list[str]:
            view = requests.get(
                f"{devstack.url}/v1/stores/refund-shop/returns/{return_id}",
                headers={"Authorization": f"Bearer {admin_key}"},
                timeout=10,
            ).json()
            return [step["step"] for step in view["audit"]] if view["return"]["status"] == "completed" else []

        assert wait_for(audit) == ["requested", "eligible", "refund issued", "customer emailed", "completed"]
        time.sleep(1.5)
        assert len(receiver.calls) == 1  # never twice
    finally:
        receiver.close()


def _wall() -> Any:
    from functions.shared.clock import wall_now

    return wall_now()
