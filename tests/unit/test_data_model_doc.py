"""docs/data-model.md says what infra/ builds: every table, key, index and TTL, and no index beyond.

The document is what a new engineer reads before touching a table; when a key or an index changes in
``infra/aftercare.yaml`` and the page does not, this fails and names the difference.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from aftercare import infra

pytestmark = pytest.mark.unit

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-model.md"

# The section heading each table's resource is documented under.
SECTIONS = {
    "StoresTable": "Stores",
    "OrdersTable": "Orders",
    "OutreachTable": "Outreach",
    "CustomersTable": "Customers",
    "ResponsesTable": "Responses",
    "FlagsTable": "Flags",
    "ReturnsTable": "Returns",
    "IdempotencyTable": "Idempotency",
    "WorkspaceTable": "Workspace",
    "InsightsTable": "Insights",
    "SendRateTable": "SendRate",
}


def _sections() -> dict[str, str]:
    parts = re.split(r"^## ", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)
    found = {}
    for part in parts[1:]:
        heading, _, body = part.partition("\n")
        found[heading.split(" (")[0].strip()] = body
    return found


def _tables() -> dict[str, dict[str, Any]]:
    return infra.resources_of_type(infra.load_template(), "AWS::DynamoDB::Table")


def _mentions(text: str, name: str) -> bool:
    """Named in backticks, or as a column of the section's item table (``| pk | sk |``)."""
    return re.search(rf"`{re.escape(name)}\b", text) is not None or f"| {name} |" in text


def test_every_table_in_infra_has_its_section() -> None:
    tables, sections = _tables(), _sections()
    assert set(tables) == set(SECTIONS), "a table was added or removed: give it a section in data-model.md"
    for resource, heading in SECTIONS.items():
        assert heading in sections, f"{resource} has no '## {heading}' section in data-model.md"


@pytest.mark.parametrize("resource", sorted(SECTIONS))
def test_keys_and_indexes_are_documented_as_built(resource: str) -> None:
    properties = _tables()[resource]["Properties"]
    text = _sections()[SECTIONS[resource]]
    for key in properties["KeySchema"]:
        assert _mentions(text, key["AttributeName"]), f"{resource}: key {key['AttributeName']} undocumented"
    built = {index["IndexName"]: index for index in properties.get("GlobalSecondaryIndexes", [])}
    for name, index in built.items():
        assert f"Index `{name}`" in text, f"{resource}: index {name} is not described"
        for key in index["KeySchema"]:
            assert _mentions(text, key["AttributeName"]), f"{resource}.{name}: {key['AttributeName']}"
    described = set(re.findall(r"Index `([a-z_]+)`", text))
    extra = described - set(built)
    assert not extra, f"{resource}: the page describes indexes infra lacks: {extra}"


def test_time_to_live_attributes_match() -> None:
    retention = _sections()["Retention"]
    built = {
        resource: properties["TimeToLiveSpecification"]["AttributeName"]
        for resource, table in _tables().items()
        if (properties := table["Properties"]).get("TimeToLiveSpecification", {}).get("Enabled")
    }
    documented = set(re.findall(r"`(\w+)\.(\w+)`", retention))
    assert documented == {(SECTIONS[resource], attribute) for resource, attribute in built.items()}


def _item_vocabularies() -> list[tuple[str, str, list[str]]]:
    """(section, what, values) for every status, kind and outcome the item models write."""
    from functions.customers.store import Suppression
    from functions.flags.models import AlertStatus, FlagStatus
    from functions.outreach.models import CancelCause, OutreachKind, OutreachStatus
    from functions.responses.store import AnswerKind, Channel
    from functions.returns.models import Outcome, Status

    return [
        ("Outreach", "status", [s.value for s in OutreachStatus]),
        ("Outreach", "kind", [k.value for k in OutreachKind]),
        ("Outreach", "cancel_cause", [c.value for c in CancelCause]),
        ("Customers", "suppressed reason", [s.value for s in Suppression]),
        ("Responses", "kind", [k.value for k in AnswerKind]),
        ("Responses", "channel", [c.value for c in Channel]),
        ("Flags", "status", [s.value for s in FlagStatus]),
        ("Flags", "alert_status", [s.value for s in AlertStatus]),
        ("Returns", "status", [s.value for s in Status]),
        ("Returns", "outcome", [o.value for o in Outcome]),
    ]


@pytest.mark.parametrize("section, what, values", _item_vocabularies(), ids=lambda v: str(v)[:20])
def test_every_value_the_item_models_write_is_documented(section: str, what: str, values: list[str]) -> None:
    text = _sections()[section]
    missing = [value for value in values if f"`{value}`" not in text]
    assert not missing, f"data-model.md, {section}: {what} values not documented: {missing}"
