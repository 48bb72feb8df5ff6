"""The demo store on ``aftercare dev --demo``: a workspace one click away, and weeks of history to look at."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.conftest import DevStackProcess


def admin(devstack: DevStackProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {devstack.state['demo']['admin_key']}"}


def demo_answers(devstack: DevStackProcess) -> list[dict[str, Any]]:
    """Every answer of the demo store in the ten weeks before the stack started (its history)."""
    started = datetime.now(UTC)
    response = requests.get(
        f"{devstack.url}/v1/stores/demo/responses",
        params={
            "from": (started - timedelta(weeks=10)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "to": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "limit": "500",
        },
        headers=admin(devstack),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return list(response.json()["responses"])


@pytest.mark.e2e
@pytest.mark.xdist_group("devstack")
def test_console_button_opens_the_demo_workspace_signed_in(devstack: DevStackProcess) -> None:
    # Given the dev console with the demo store's workspace button
    console = requests.get(f"{devstack.url}/_dev/", timeout=10).text
    action = re.search(r'<form method="post" action="(/_dev/workspace/demo)"', console)
    assert action, "the console offers a button into the demo store's workspace"
    assert devstack.state["demo"]["owner"] in console

    # When the developer presses it
    browser = requests.Session()
    pressed = browser.post(f"{devstack.url}{action.group(1)}", allow_redirects=False, timeout=10)

    # Then they are sent to the workspace with a session cookie fit for plain http on 127.0.0.1
    assert pressed.status_code == 303
    assert pressed.headers["Location"] == "/workspace/"
    cookie = pressed.headers["Set-Cookie"]
    assert cookie.startswith("aftercare_session=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/workspace" in cookie
    assert "Secure" not in cookie

    # And the workspace opens in that session, while a browser without the cookie is asked to sign in
    inbox = browser.get(f"{devstack.url}/workspace/", timeout=30)
    assert inbox.status_code == 200, inbox.text[:500]
    assert "Demo Store" in inbox.text
    assert "Overdue by" in inbox.text  # flags from the history that nobody answered
    assert "Due in" in inbox.text  # and the one that came in just now, its reply still due
    stranger = requests.get(f"{devstack.url}/workspace/", allow_redirects=False, timeout=10)
    assert stranger.status_code == 303
    assert stranger.headers["Location"].startswith("/workspace/sign-in")

    # And the insights have the demo history to show: reviews and NPS answers in week after week
    insights = browser.get(f"{devstack.url}/workspace/insights", params={"weeks": "52"}, timeout=30)
    assert insights.status_code == 200, insights.text[:500]
    for view, columns in (("stars", ["reviews"]), ("nps", ["promoters", "passives", "detractors"])):
        exported = browser.get(
            f"{devstack.url}/workspace/insights.csv", params={"view": view, "weeks": "52"}, timeout=30
        )
        assert exported.status_code == 200, exported.text[:500]
        rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
        assert len([row for row in rows if sum(int(row[c]) for c in columns) > 0]) >= 4, rows


@pytest.mark.e2e
@pytest.mark.xdist_group("devstack")
def test_the_dev_sign_in_refuses_unknown_stores(devstack: DevStackProcess) -> None:
    refused = requests.post(f"{devstack.url}/_dev/workspace/no-such-store", allow_redirects=False, timeout=10)

    assert refused.status_code == 404
    assert refused.json()["error"] == "not_found"
    assert "Set-Cookie" not in refused.headers


@pytest.mark.e2e
@pytest.mark.xdist_group("devstack")
def test_the_demo_store_has_answers_from_several_past_weeks(devstack: DevStackProcess) -> None:
    answers = demo_answers(devstack)
    started = datetime.now(UTC)

    weeks = Counter(
        datetime.fromisoformat(a["responded_at"].replace("Z", "+00:00")).isocalendar()[:2] for a in answers
    )
    assert len(weeks) >= 6, weeks  # eight weeks of history: answers in most of them
    assert {a["kind"] for a in answers} == {"review", "nps"}
    stars = [int(a["score"]) for a in answers if a["kind"] == "review"]
    nps = [int(a["score"]) for a in answers if a["kind"] == "nps"]
    assert min(stars) <= 2 and max(stars) == 5  # a realistic spread, some of it negative
    assert min(nps) <= 6 and max(nps) >= 9
    assert any(a["comment"] for a in answers)
    midnight = started.replace(hour=0, minute=0, second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert len([a for a in answers if a["responded_at"] >= midnight]) <= 1  # one may have come in just now

    # And the negative ones were flagged; staff answered most of them, some still wait
    resolved = requests.get(
        f"{devstack.url}/v1/stores/demo/flags",
        params={"status": "resolved"},
        headers=admin(devstack),
        timeout=30,
    ).json()["flags"]
    assert len([f for f in resolved if f["order_id"].isdigit()]) >= 2


@pytest.mark.e2e
@pytest.mark.xdist_group("devstack")
def test_startup_says_what_demo_data_was_made(devstack: DevStackProcess) -> None:
    banner = "".join(devstack.output)

    assert f"Workspace    {devstack.url}/workspace/" in banner
    assert devstack.state["demo"]["owner"] in banner
    made = re.search(r"Demo data +8 weeks of history: (\d+) orders .*?(\d+) answers", banner)
    assert made, banner
    assert int(made.group(1)) >= 30 and int(made.group(2)) >= 25
    assert devstack.state["demo_data"]["problems"] == []


@pytest.mark.integration
def test_dev_routes_exist_only_in_the_local_stack(api: Any) -> None:
    # Given the app as it is deployed (app.py, without ``aftercare dev`` registering its console)
    import app

    # Then no /_dev route is part of it, so the one-click sign-in cannot be reached
    assert not [path for path in app.app.routes if path.startswith("/_dev")]
    response = api.post(
        "/_dev/workspace/demo", body="", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status == 404
    assert "set-cookie" not in response.headers
