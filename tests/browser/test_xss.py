"""Hostile text in every field a customer or store controls never runs as script, in emails or pages."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from aftercare.infra import ROOT
from tests.conftest import DevStackProcess
from tests.webhooks import body_of, generic_event, generic_headers, generic_order

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("devstack")]

PAYLOAD = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>"><svg onload="window.__xss=1">'


def no_script_ran(page: Any) -> None:
    assert page.evaluate("window.__xss === undefined")


def test_hostile_text_stays_text_everywhere(page: Any, devstack: DevStackProcess, tmp_path: Path) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    config = yaml.safe_load((ROOT / "examples" / "store.yaml").read_text())
    config["id"], config["name"] = "xss-shop", f"Shop {PAYLOAD}"
    config["sender"]["name"] = "Shop"
    (tmp_path / "store.yaml").write_text(yaml.safe_dump(config))
    created = devstack.cli("store", "create", "--config", str(tmp_path / "store.yaml"))
    assert created.returncode == 0, created.stderr
    secret = re.search(r"generic secret\s+(\S+)", created.stdout).group(1)  # type: ignore[union-attr]

    now = requests.get(f"{devstack.url}/_dev/clock", timeout=10).json()["now"]
    order = generic_order(
        "XSS-1",
        [("l1", "tour", "experience"), ("l2", "shirt", "clothing")],  # the shirt can be returned
        customer={"email": "xss@example.com", "name": f"Eve {PAYLOAD}", "locale": "en"},
    )
    order["name"] = "#1<svg onload=window.__xss=1>"  # order names are at most 64 characters
    order["line_items"][0]["name"] = f"Tour {PAYLOAD}"
    order["line_items"][1]["name"] = f"Shirt {PAYLOAD}"
    raw = body_of(generic_event("order.delivered", order, occurred_at=now))
    assert (
        requests.post(
            f"{devstack.url}/webhooks/xss-shop/events",
            data=raw,
            headers=generic_headers([secret], raw),
            timeout=10,
        ).status_code
        == 200
    )
    requests.post(f"{devstack.url}/_dev/clock", json={"advance": "P1DT1H"}, timeout=300)
    email = next(
        m
        for m in requests.get(f"{devstack.url}/_dev/outbox", timeout=10).json()
        if m["to"] == ["xss@example.com"]
    )

    page.set_content(email["html"])  # the email as a client would render it
    no_script_ran(page)
    assert PAYLOAD in page.inner_text("body")

    survey = next(link["href"] for link in email["links"] if "/s/" in link["href"])
    page.goto(survey)
    no_script_ran(page)
    page.fill("#comment", PAYLOAD)
    page.get_by_role("button").click()
    page.wait_for_load_state()
    no_script_ran(page)
    assert page.locator("#comment").input_value() == PAYLOAD

    returns = next(link["href"] for link in email["links"] if "/r/" in link["href"])
    page.goto(returns)
    no_script_ran(page)
    assert f"Shirt {PAYLOAD}" in page.inner_text("body")

    alert = None
    for _ in range(100):
        alert = next(
            (
                m
                for m in requests.get(f"{devstack.url}/_dev/outbox", timeout=10).json()
                if (m["subject"].startswith("[Needs a reply]") and "xss" in m["from"].lower())
                or (m["subject"].startswith("[Needs a reply]") and "Tour" in m["subject"])
            ),
            None,
        )
        if alert:
            break
        time.sleep(0.1)
    assert alert is not None
    page.set_content(alert["html"])
    no_script_ran(page)
    page.goto(next(link["href"] for link in alert["links"] if "/staff/" in link["href"]))
    no_script_ran(page)
    assert PAYLOAD in page.get_by_test_id("comment").inner_text()

    page.goto(f"{devstack.url}/_dev/outbox/{email['id']}/view")  # the dev console shows it too
    no_script_ran(page)
    assert dialogs == []
