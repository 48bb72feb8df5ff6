"""What the CLI says to an operator on the running local stack when something is off, and what it does
not say there: an unknown store is named with the stores that exist, a bad store.yaml is explained setting
by setting, and creating a store warns about no SES verification the local stack does not do."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from aftercare.infra import ROOT
from tests.conftest import DevStackProcess
from tests.helpers import minimal_store_config

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("devstack")]

EVENT = str(ROOT / "examples" / "events" / "generic-order-delivered.json")


def test_send_event_to_an_unknown_store_names_the_known_ones(devstack: DevStackProcess) -> None:
    # When an event is sent to a store that does not exist
    result = devstack.cli("send-event", "--store", "dem", "--integration", "generic", "--file", EVENT)

    # Then the CLI says so, suggests the close one and lists the known stores (not "No generic secret")
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"Unknown store 'dem' at {devstack.url}. Did you mean 'demo'? Known stores: " in result.stderr
    assert "demo" in result.stderr.split("Known stores: ")[1]
    assert "No generic secret" not in result.stderr


def test_a_bad_store_file_is_explained_setting_by_setting(devstack: DevStackProcess, tmp_path: Path) -> None:
    config = minimal_store_config("cli-explained")
    config["currency"] = "usd"
    config["default_lcoale"] = "en"
    config["alerts"] = {"sla": "4 hourz"}
    path = tmp_path / "store.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")

    result = devstack.cli("store", "create", "--config", str(path))

    assert result.returncode == 3
    assert result.stderr.splitlines()[1:] == [
        '  - currency: "usd" is not a currency code; use three capital letters (ISO 4217), e.g. "EUR"',
        '  - alerts.sla: "4 hourz" is not a duration; use e.g. "P1D" or "1 day" '
        '(ISO 8601; 12 hours is "PT12H")',
        '  - default_lcoale: unknown setting "default_lcoale"; did you mean default_locale?',
    ]


def test_creating_a_store_on_the_local_stack_asks_for_no_ses_verification(
    devstack: DevStackProcess, tmp_path: Path
) -> None:
    path = tmp_path / "store.yaml"
    path.write_text(yaml.safe_dump(minimal_store_config("cli-no-ses")), encoding="utf-8")

    result = devstack.cli("store", "create", "--config", str(path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Created store cli-no-ses" in result.stdout
    assert "SES" not in result.stdout and "DNS" not in result.stdout
